"""Lockout per (account, address) and per account, the address flood guard, the client
address behind trusted proxies, and password/code checks outside `login` under the same
lockout: over HTTP, with the client address set on the ASGI transport."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import demo, models
from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.domain import authentication, throttle
from gql.settings import Settings, SettingsError
from tests.test_auth import CUSTOMERS, login, portal_gid, post

ANNA = ("anna.becker@example.org", "Demo-Kunde-1")
OFFICE = "203.0.113.5"


@pytest.fixture
async def at(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """`at(address, **settings)`: an HTTP client whose TCP peer is `address`, on an app
    with those settings changed (one app per settings), on the test's transaction."""
    apps: dict[tuple[tuple[str, Any], ...], Any] = {}
    async with AsyncExitStack() as stack:

        def client(address: str, **changes: Any) -> httpx.AsyncClient:
            key = tuple(sorted(changes.items()))
            if key not in apps:
                settings = replace(test_settings, **changes)
                apps[key] = create_app(settings, Database(sessions=sessions), tokens)
            transport = httpx.ASGITransport(app=apps[key], client=(address, 40000))
            opened = httpx.AsyncClient(transport=transport, base_url="http://portal.test")
            stack.push_async_callback(opened.aclose)
            return opened

        yield client


async def anna_logs_in(client: httpx.AsyncClient, password: str = ANNA[1]) -> str:
    return str((await login(client, ANNA[0], password, portal_gid(CUSTOMERS)))["__typename"])


def gid(login: demo.DemoLogin) -> str | None:
    return portal_gid(login.portal) if login.portal else None


# --- The office behind one address ---------------------------------------------------------


async def test_an_office_behind_one_address_is_not_locked_by_its_colleagues(
    at: Callable[..., httpx.AsyncClient],
) -> None:
    """Everyone of a utility's office (staff and portal users of several portals) behind
    one address: one person hammering their account, everyone else mistyping a few
    times, and email typos - more failures than a per-address limit would allow - and
    every colleague still logs in, and the hammering one from home."""
    office = at(OFFICE)
    for _ in range(30):
        assert await anna_logs_in(office, "falsch") == "LoginError"
    colleagues = [account for account in demo.LOGINS if account.email != ANNA[0]]
    for account in colleagues:
        for attempt in range(4):  # one short of the pair's limit
            result = await login(office, account.email, f"typo-{attempt}", gid(account))
            assert result["code"] == "INVALID_CREDENTIALS"
    for n in range(10):
        await login(office, f"anna.beker{n}@example.org", ANNA[1], portal_gid(CUSTOMERS))
    for account in colleagues:
        result = await login(office, account.email, account.password, gid(account))
        assert result["__typename"] == "LoggedIn", account.email
    # Anna's own lock holds only at the office.
    assert await anna_logs_in(office) == "LoginError"
    assert await anna_logs_in(at("198.51.100.20")) == "LoggedIn"


async def test_failures_from_one_address_lock_only_that_pair_many_addresses_the_account(
    at: Callable[..., httpx.AsyncClient], test_settings: Settings
) -> None:
    attacker = at("198.51.100.66")
    for _ in range(test_settings.max_login_failures):
        assert await anna_logs_in(attacker, "Sommer2026!") == "LoginError"
    # The right password from the attacker's address: refused, like a wrong one.
    assert await anna_logs_in(attacker) == "LoginError"
    # Anna from home is not locked out, and her login clears only her own pair.
    assert await anna_logs_in(at("192.0.2.10")) == "LoggedIn"
    assert await anna_logs_in(attacker) == "LoginError"

    # Guesses spread over many addresses: the account locks everywhere.
    per_address = test_settings.max_login_failures
    for n in range(test_settings.max_account_failures // per_address):
        guesser = at(f"198.51.100.{100 + n}")
        for _ in range(per_address):
            assert await anna_logs_in(guesser, "Winter2026!") == "LoginError"
    assert await anna_logs_in(at("192.0.2.10")) == "LoginError"
    assert await anna_logs_in(at("192.0.2.11")) == "LoginError"


async def test_an_ipv6_client_is_its_64_network(
    at: Callable[..., httpx.AsyncClient], test_settings: Settings
) -> None:
    """A subscriber's /64 offers 2^64 addresses: a new one per guess must not escape the
    pair's lock; a neighbouring /64 is someone else."""
    for n in range(test_settings.max_login_failures):
        assert await anna_logs_in(at(f"2001:db8:1:2::{n + 1:x}"), "Sommer2026!") == "LoginError"
    assert await anna_logs_in(at("2001:db8:1:2:ffff::99")) == "LoginError"
    assert await anna_logs_in(at("2001:db8:1:3::1")) == "LoggedIn"


async def test_an_address_flooding_many_accounts_is_refused_everywhere_else_not(
    at: Callable[..., httpx.AsyncClient],
) -> None:
    flood = 25
    sprayer = at("198.51.100.99", address_flood_failures=flood)
    for n in range(flood):
        result = await login(sprayer, f"user{n}@example.org", "Sommer2026!", portal_gid(CUSTOMERS))
        assert result["code"] == "INVALID_CREDENTIALS"
    # No account reached a limit, yet the address is refused: also Anna's right password.
    assert await anna_logs_in(sprayer) == "LoginError"
    assert await anna_logs_in(at("198.51.100.98", address_flood_failures=flood)) == "LoggedIn"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAX_ACCOUNT_FAILURES", "4"),  # below MAX_LOGIN_FAILURES
        ("MAX_ACCOUNT_FAILURES", "101"),
        ("MAX_LOGIN_FAILURES", "0"),
        ("ADDRESS_FLOOD_FAILURES", "19"),  # below MAX_ACCOUNT_FAILURES
        ("ADDRESS_FLOOD_WINDOW_SECONDS", "10"),
        ("LOCKOUT_WAIT_SECONDS", "0"),
        ("MAX_ADDRESS_FAILURES", "20"),  # replaced; its old meaning must not linger
    ],
)
def test_lockout_and_proxy_settings_are_checked_at_startup(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError):
        Settings.from_env()


def test_the_flood_guard_is_no_lockout_by_default() -> None:
    assert Settings().address_flood_failures >= 100


# --- Password and code checks outside login ------------------------------------------------

CHANGE_PASSWORD = """mutation($current: Line!) {
  changePassword(input: {currentPassword: $current, newPassword: "Neues-Passwort-2026"}) {
    __typename ... on MutationError { code field } } }"""
DISABLE = """mutation($code: Line!) { disableTotp(input: {code: $code}) {
  __typename ... on TwoFactorError { code } } }"""
REGENERATE = """mutation($code: Line!) { regenerateRecoveryCodes(input: {code: $code}) {
  __typename ... on TwoFactorError { code } } }"""
ENROLL = "mutation { enrollTotp(input: {}) { ... on TotpEnrollment { secret } } }"
CONFIRM = """mutation($c: Line!) { confirmTotp(input: {code: $c}) {
  ... on TotpConfirmed { recoveryCodes } } }"""
VERIFY = """mutation($t: Line!, $c: Line!) { verifyTwoFactor(input: {mfaToken: $t, code: $c}) {
  ... on LoggedIn { accessToken } } }"""


async def _token_with_totp(client: httpx.AsyncClient) -> tuple[str, pyotp.TOTP, list[str]]:
    """Anna with TOTP set up, logged in with both factors (the code of the next step is
    still unused)."""
    first = await login(client, *ANNA, portal_gid(CUSTOMERS))
    token = first["accessToken"]
    secret = (await post(client, ENROLL, token)).json()["data"]["enrollTotp"]["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = await post(client, CONFIRM, token, c=totp.at(time.time() - 30))
    codes = confirmed.json()["data"]["confirmTotp"]["recoveryCodes"]
    mfa = (await login(client, *ANNA, portal_gid(CUSTOMERS)))["mfaToken"]
    done = await post(client, VERIFY, t=mfa, c=totp.now())
    return done.json()["data"]["verifyTwoFactor"]["accessToken"], totp, codes


def _answer(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body
    return dict(next(iter(body["data"].values())))


@pytest.mark.parametrize("check", ["changePassword", "disableTotp", "regenerateRecoveryCodes"])
async def test_guesses_with_a_stolen_token_count_and_lock(
    at: Callable[..., httpx.AsyncClient], test_settings: Settings, check: str
) -> None:
    """Someone holding Anna's access token guesses her password or a code: each guess
    counts towards the lockout, which then refuses even the right answer, and the
    attacker's address may not log in as Anna either."""
    thief = at("198.51.100.66")
    if check == "changePassword":
        token = (await login(thief, *ANNA, portal_gid(CUSTOMERS)))["accessToken"]
        query, wrong = CHANGE_PASSWORD, {"current": "Sommer2026!"}
        right = {"current": ANNA[1]}
        refused = {"__typename": "MutationError", "code": "INVALID_INPUT"}
        locked = {"__typename": "MutationError", "code": "RATE_LIMITED"}
    else:
        token, totp, codes = await _token_with_totp(thief)
        query, wrong = (DISABLE if check == "disableTotp" else REGENERATE), {"code": "000000"}
        right = {"code": codes[0] if check == "disableTotp" else totp.at(time.time() + 30)}
        refused = {"__typename": "TwoFactorError", "code": "INVALID_CODE"}
        locked = {"__typename": "TwoFactorError", "code": "RATE_LIMITED"}
    for _ in range(test_settings.max_login_failures):
        answer = _answer(await post(thief, query, token, **wrong))
        assert {k: answer[k] for k in refused} == refused
    answer = _answer(await post(thief, query, token, **right))
    assert {k: answer[k] for k in locked} == locked
    assert await anna_logs_in(thief) == "LoginError"


async def test_a_burst_of_concurrent_guesses_gets_no_more_checks_than_the_limit(
    engine: AsyncEngine, test_settings: Settings
) -> None:
    """Eight guesses at once, each on its own connection and committed: only as many
    are checked as the pair's limit allows; the others find it locked. (Without the
    per-account serialization more pass the lock check than failures are counted.)"""
    policy = authentication.identity_config(test_settings).lockout
    email = f"burst-{uuid.uuid4()}@example.org"
    keys = throttle.Keys.of(email, None, "198.51.100.66")
    checked = 0

    async def check() -> bool:
        nonlocal checked
        checked += 1
        await asyncio.sleep(0.05)  # a password hash takes a while
        return False

    async def guess() -> throttle.Checked:
        async with AsyncSession(engine) as session, session.begin():
            return await throttle.guarded(session, policy, keys, check, datetime.now(UTC))

    try:
        answers = await asyncio.gather(*(guess() for _ in range(8)))
    finally:
        async with AsyncSession(engine) as session, session.begin():
            counters = models.LoginThrottle.key.in_([keys.account, keys.pair])
            await session.execute(sa.delete(models.LoginThrottle).where(counters))
            await session.execute(
                sa.delete(models.RateCounter).where(models.RateCounter.key == keys.flood)
            )
    assert checked == policy.max_failures
    assert sum(answer.locked for answer in answers) == 8 - policy.max_failures
