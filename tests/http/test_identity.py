"""Sessions, lockout and TOTP: over HTTP where the client's view matters, through the
domain services with a controlled clock where time matters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import OctKey
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import TwoFactorPolicy
from gql.auth.tokens import InvalidToken, TokenService
from gql.domain import audit, authentication, throttle, two_factor
from gql.domain.authentication import Authenticated, Refused
from gql.settings import Settings
from tests.conftest import ACTORS
from tests.http_helpers import CUSTOMERS, login, portal_gid, post

ANNA = ("anna.becker@example.org", "Demo-Kunde-1")
VIEWER = "{ viewer { role } }"
REFRESH = """
mutation($refresh: Line!) { refreshSession(input: {refreshToken: $refresh}) {
  __typename ... on LoggedIn { accessToken refreshToken } ... on LoginError { code } } }
"""
ORIGIN = audit.Origin("198.51.100.7", "pytest")


async def anna_login(client: httpx.AsyncClient) -> dict[str, Any]:
    result = await login(client, *ANNA, portal_gid(CUSTOMERS))
    assert result["__typename"] == "LoggedIn", result
    return result


async def status(client: httpx.AsyncClient, token: str) -> int:
    return (await post(client, VIEWER, token)).status_code


# --- Tokens: the forgeries ------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_alg_none_is_refused(tokens: TokenService) -> None:
    claims = jwt.decode(tokens.issue(ACTORS["admin"]), tokens.keys, algorithms=["ES256"]).claims
    unsigned = f"{_b64({'alg': 'none', 'kid': tokens.signing_key.kid})}.{_b64(claims)}."
    with pytest.raises(InvalidToken):
        tokens.verify(unsigned)


def test_hs256_signed_with_the_public_key_is_refused(tokens: TokenService) -> None:
    """Algorithm confusion: an attacker HMACs with the (public) EC key as secret."""
    claims = jwt.decode(tokens.issue(ACTORS["admin"]), tokens.keys, algorithms=["ES256"]).claims
    public_pem = tokens.signing_key.as_pem(private=False)
    with pytest.raises(ValueError, match="Asymmetric public keys"):
        OctKey.import_key(public_pem)  # joserfc refuses to build such a key at all
    signing_input = f"{_b64({'alg': 'HS256', 'kid': tokens.signing_key.kid})}.{_b64(claims)}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(InvalidToken):
        tokens.verify(forged)


def test_an_unknown_kid_is_refused(tokens: TokenService) -> None:
    token = tokens.issue(ACTORS["admin"])
    _, payload, signature = token.split(".")
    other = _b64({"alg": "ES256", "kid": "retired-or-unknown", "typ": "JWT"})
    with pytest.raises(InvalidToken):
        tokens.verify(f"{other}.{payload}.{signature}")


# --- Sessions --------------------------------------------------------------------------------


async def test_a_token_without_a_session_is_refused(
    client: httpx.AsyncClient, tokens: TokenService
) -> None:
    """Tokens are only good with their server-side session (no `sid`: no access)."""
    assert await status(client, tokens.issue(ACTORS["customer"])) == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    first = await anna_login(client)
    refreshed = await post(client, REFRESH, token=None, refresh=first["refreshToken"])
    second = refreshed.json()["data"]["refreshSession"]
    assert second["__typename"] == "LoggedIn"
    assert second["refreshToken"] != first["refreshToken"]
    assert await status(client, second["accessToken"]) == 200

    # The first refresh token again: stolen. The whole family ends, also the new tokens.
    reused = await post(client, REFRESH, refresh=first["refreshToken"])
    assert reused.json()["data"]["refreshSession"] == {
        "__typename": "LoginError",
        "code": "INVALID_SESSION",
    }
    assert await status(client, second["accessToken"]) == 401
    assert await status(client, first["accessToken"]) == 401
    again = await post(client, REFRESH, refresh=second["refreshToken"])
    assert again.json()["data"]["refreshSession"]["code"] == "INVALID_SESSION"


async def test_an_unknown_refresh_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await post(client, REFRESH, refresh="not-a-refresh-token")
    assert response.json()["data"]["refreshSession"]["code"] == "INVALID_SESSION"


async def test_logout_ends_the_session_at_once(client: httpx.AsyncClient) -> None:
    session = await anna_login(client)
    other = await anna_login(client)
    response = await post(client, "mutation { logout { revokedSessions } }", session["accessToken"])
    assert response.json() == {"data": {"logout": {"revokedSessions": 1}}}
    assert await status(client, session["accessToken"]) == 401
    refreshed = await post(client, REFRESH, refresh=session["refreshToken"])
    assert refreshed.json()["data"]["refreshSession"]["code"] == "INVALID_SESSION"
    assert await status(client, other["accessToken"]) == 200  # another device stays


async def test_logout_everywhere_ends_every_session(client: httpx.AsyncClient) -> None:
    sessions = [await anna_login(client) for _ in range(3)]
    response = await post(
        client, "mutation { logoutEverywhere { revokedSessions } }", sessions[0]["accessToken"]
    )
    assert response.json() == {"data": {"logoutEverywhere": {"revokedSessions": 3}}}
    for session in sessions:
        assert await status(client, session["accessToken"]) == 401


async def test_disabling_an_account_ends_its_refreshes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tokens = await anna_login(client)
    user = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    user.registration_status = models.RegistrationStatus.DISABLED
    await session.flush()
    refreshed = await post(client, REFRESH, refresh=tokens["refreshToken"])
    assert refreshed.json()["data"]["refreshSession"]["code"] == "INVALID_SESSION"


# --- Lockout ---------------------------------------------------------------------------------


@pytest.fixture
def config(test_settings: Settings) -> authentication.IdentityConfig:
    return authentication.identity_config(test_settings)


async def _attempt(
    session: AsyncSession,
    config: authentication.IdentityConfig,
    password: str,
    now: datetime,
    origin: audit.Origin = ORIGIN,
) -> authentication.LoginOutcome:
    return await authentication.login(
        session,
        config,
        email=ANNA[0],
        password=password,
        portal_id=ACTORS["customer"].portal_id,
        origin=origin,
        now=now,
    )


async def test_five_failures_lock_the_account_at_that_address_and_the_lock_expires(
    session: AsyncSession, config: authentication.IdentityConfig
) -> None:
    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for i in range(5):
        assert isinstance(
            await _attempt(session, config, "wrong", t0 + timedelta(seconds=i)), Refused
        )
    # The 6th try, with the right password, during the lockout: the same refusal.
    locked = await _attempt(session, config, ANNA[1], t0 + timedelta(seconds=10))
    assert locked == Refused()
    # One minute after the 5th failure the lock is over.
    assert isinstance(
        await _attempt(session, config, ANNA[1], t0 + timedelta(seconds=65)), Authenticated
    )
    actions = (
        await session.scalars(
            sa.select(models.AuditEvent.action)
            .where(models.AuditEvent.entity_id == ACTORS["customer"].subject_id)
            .order_by(models.AuditEvent.created_at)
        )
    ).all()
    assert actions.count("login.failed") == 5
    assert "login.locked_out" in actions
    assert "login.refused_locked" in actions


async def test_waits_grow_per_failure_and_are_capped(
    session: AsyncSession, config: authentication.IdentityConfig
) -> None:
    policy = config.lockout
    assert policy.lock_duration(4, 5) is None
    assert policy.lock_duration(5, 5) == timedelta(minutes=1)
    assert policy.lock_duration(6, 5) == timedelta(minutes=2)
    assert policy.lock_duration(40, 5) == timedelta(minutes=15)

    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for i in range(5):
        await _attempt(session, config, "wrong", t0 + timedelta(seconds=i))
    # After the first lock, one more failure locks for two minutes.
    await _attempt(session, config, "wrong", t0 + timedelta(seconds=70))
    assert await _attempt(session, config, ANNA[1], t0 + timedelta(seconds=150)) == Refused()
    assert isinstance(
        await _attempt(session, config, ANNA[1], t0 + timedelta(seconds=191)), Authenticated
    )


async def test_failures_are_forgotten_after_the_reset_time(
    session: AsyncSession, config: authentication.IdentityConfig
) -> None:
    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for i in range(4):
        await _attempt(session, config, "wrong", t0 + timedelta(seconds=i))
    later = t0 + timedelta(hours=13)
    await _attempt(session, config, "wrong", later)  # counts as the first again
    assert isinstance(
        await _attempt(session, config, ANNA[1], later + timedelta(seconds=1)), Authenticated
    )


async def test_one_address_spraying_many_accounts_is_refused_until_the_window_ends(
    session: AsyncSession, test_settings: Settings
) -> None:
    config = authentication.identity_config(replace(test_settings, address_flood_failures=30))
    t0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    for i in range(30):
        await authentication.login(
            session,
            config,
            email=f"victim{i}@example.org",
            password="Sommer2026!",
            portal_id=ACTORS["customer"].portal_id,
            origin=ORIGIN,
            now=t0 + timedelta(seconds=i),
        )
    # Anna's right password from that address is refused; from another address it works.
    assert await _attempt(session, config, ANNA[1], t0 + timedelta(seconds=40)) == Refused()
    elsewhere = audit.Origin("203.0.113.9", "pytest")
    outcome = await _attempt(session, config, ANNA[1], t0 + timedelta(seconds=41), elsewhere)
    assert isinstance(outcome, Authenticated)
    # The window (an hour) over, the address may log in again.
    later = t0 + timedelta(hours=1, seconds=1)
    assert isinstance(await _attempt(session, config, ANNA[1], later), Authenticated)


async def test_unknown_emails_are_counted_like_known_ones(
    session: AsyncSession, config: authentication.IdentityConfig
) -> None:
    """A lockout must not reveal which emails exist."""
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    keys = throttle.Keys.of("niemand@example.org", ACTORS["customer"].portal_id, None)
    for _ in range(5):
        await authentication.login(
            session,
            config,
            email="niemand@example.org",
            password="x",
            portal_id=ACTORS["customer"].portal_id,
            origin=audit.Origin(None, None),
            now=now,
        )
    assert await throttle.refused(session, config.lockout, keys, now)


# --- TOTP ------------------------------------------------------------------------------------

ENROLL = """mutation($t: Line) { enrollTotp(input: {mfaToken: $t}) {
  __typename ... on TotpEnrollment { secret uri qrCodeSvg } ... on TwoFactorError { code } } }"""
CONFIRM = """mutation($c: Line!, $t: Line) { confirmTotp(input: {code: $c, mfaToken: $t}) {
  __typename ... on TotpConfirmed { recoveryCodes session { accessToken } }
  ... on TwoFactorError { code } } }"""
VERIFY = """mutation($t: Line!, $c: Line!) { verifyTwoFactor(input: {mfaToken: $t, code: $c}) {
  __typename ... on LoggedIn { accessToken } ... on LoginError { code field } } }"""


async def _enable_totp(client: httpx.AsyncClient) -> tuple[pyotp.TOTP, list[str], str]:
    """Set up TOTP for Anna; returns the authenticator, the recovery codes and the code
    that confirmed the set-up."""
    token = (await anna_login(client))["accessToken"]
    enrolled = (await post(client, ENROLL, token)).json()["data"]["enrollTotp"]
    assert enrolled["__typename"] == "TotpEnrollment"
    assert enrolled["uri"].startswith("otpauth://totp/")
    assert enrolled["qrCodeSvg"].startswith("<svg")
    totp = pyotp.TOTP(enrolled["secret"])
    # Not active before it is confirmed: login still needs no second factor.
    assert (await anna_login(client))["__typename"] == "LoggedIn"
    wrong = (await post(client, CONFIRM, token, c="000000")).json()["data"]["confirmTotp"]
    assert wrong == {"__typename": "TwoFactorError", "code": "INVALID_CODE"}
    code = totp.now()
    confirmed = (await post(client, CONFIRM, token, c=code)).json()["data"]["confirmTotp"]
    assert confirmed["__typename"] == "TotpConfirmed"
    assert len(set(confirmed["recoveryCodes"])) == 10
    return totp, confirmed["recoveryCodes"], code


async def test_totp_login_needs_the_second_step(client: httpx.AsyncClient) -> None:
    totp, _, confirming_code = await _enable_totp(client)
    first = await login(client, *ANNA, portal_gid(CUSTOMERS))
    assert first["__typename"] == "SecondFactorRequired"
    mfa = first["mfaToken"]
    wrong = (await post(client, VERIFY, t=mfa, c="123456")).json()["data"]["verifyTwoFactor"]
    # Said at the code field (the login page shows it there).
    assert wrong == {"__typename": "LoginError", "code": "INVALID_CODE", "field": "code"}
    # The code that confirmed the set-up can not be replayed.
    replay = (await post(client, VERIFY, t=mfa, c=confirming_code)).json()["data"][
        "verifyTwoFactor"
    ]
    assert replay["__typename"] == "LoginError"
    following = totp.at(time.time() + 30)
    done = (await post(client, VERIFY, t=mfa, c=following)).json()["data"]["verifyTwoFactor"]
    assert done["__typename"] == "LoggedIn"
    assert await status(client, done["accessToken"]) == 200
    # The mfaToken is single use.
    used = (await post(client, VERIFY, t=mfa, c=following)).json()["data"]["verifyTwoFactor"]
    assert (used["code"], used["field"]) == ("INVALID_CODE", "mfaToken")


async def test_a_recovery_code_works_once(client: httpx.AsyncClient) -> None:
    _, codes, _ = await _enable_totp(client)
    for expected in ("LoggedIn", "LoginError"):
        mfa = (await login(client, *ANNA, portal_gid(CUSTOMERS)))["mfaToken"]
        result = (await post(client, VERIFY, t=mfa, c=codes[0].upper())).json()["data"]
        assert result["verifyTwoFactor"]["__typename"] == expected


async def test_totp_accepts_one_step_around_and_never_twice(
    session: AsyncSession, config: authentication.IdentityConfig
) -> None:
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    enrollment = await two_factor.enroll(session, anna, config.box, "Stadtwerke Musterstadt")
    totp = pyotp.TOTP(enrollment.secret)
    t0 = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
    assert not await two_factor.verify(session, anna, config.box, totp.at(t0), t0)  # unconfirmed
    await two_factor.confirm(session, anna, config.box, totp.at(t0), t0)

    later = t0 + timedelta(seconds=120)
    two_steps_ago = totp.at(later - timedelta(seconds=60))
    one_step_ago = totp.at(later - timedelta(seconds=30))
    assert not await two_factor.verify(session, anna, config.box, two_steps_ago, later)
    assert await two_factor.verify(session, anna, config.box, one_step_ago, later)
    assert not await two_factor.verify(session, anna, config.box, one_step_ago, later)
    # Even a valid code of an older step than the last used one is refused.
    assert not await two_factor.verify(session, anna, config.box, two_steps_ago, later)
    assert await two_factor.verify(session, anna, config.box, totp.at(later), later)


async def test_the_secret_is_encrypted_at_rest(
    session: AsyncSession, config: authentication.IdentityConfig
) -> None:
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    enrollment = await two_factor.enroll(session, anna, config.box, "Stadtwerke Musterstadt")
    await session.flush()
    stored = await session.scalar(
        sa.select(models.TotpCredential.secret_encrypted).where(
            models.TotpCredential.portal_user_id == anna.id
        )
    )
    assert stored is not None
    assert enrollment.secret not in stored
    assert config.box.decrypt(stored) == enrollment.secret


async def test_disable_needs_a_code(client: httpx.AsyncClient) -> None:
    _, codes, _ = await _enable_totp(client)
    mfa = (await login(client, *ANNA, portal_gid(CUSTOMERS)))["mfaToken"]
    token = (await post(client, VERIFY, t=mfa, c=codes[1])).json()["data"]["verifyTwoFactor"]
    access = token["accessToken"]
    disable = "mutation($c: Line!) { disableTotp(input: {code: $c}) { __typename } }"
    refused = await post(client, disable, access, c="000000")
    assert refused.json()["data"]["disableTotp"]["__typename"] == "TwoFactorError"
    done = await post(client, disable, access, c=codes[2])
    assert done.json()["data"]["disableTotp"]["__typename"] == "TotpDisabled"
    assert (await anna_login(client))["__typename"] == "LoggedIn"  # no second step any more


async def test_a_portal_can_require_enrolment_before_login(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"two_factor": TwoFactorPolicy.REQUIRED}
    )
    await session.flush()
    first = await login(client, *ANNA, portal_gid(CUSTOMERS))
    assert first["__typename"] == "SecondFactorRequired"
    assert first["enrollmentRequired"] is True
    mfa = first["mfaToken"]
    enrolled = (await post(client, ENROLL, t=mfa)).json()["data"]["enrollTotp"]
    totp = pyotp.TOTP(enrolled["secret"])
    confirmed = (await post(client, CONFIRM, c=totp.now(), t=mfa)).json()["data"]["confirmTotp"]
    assert await status(client, confirmed["session"]["accessToken"]) == 200
