"""Passwordless login: a six-digit code mailed on request (`requestLoginCode`, answered by
the mail worker and delivered by a real SMTP server on loopback) logs a portal user in
with `loginWithCode`; and `loginOptions`, what the login page offers. Over HTTP through
the ASGI app, on the demo world (its customer portal offers passwordless login)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.portal_settings import TwoFactorPolicy
from gql.domain import audit, authentication, login_codes, throttle
from gql.domain.authentication import identity_config
from gql.settings import Settings
from tests.account_helpers import PORTAL, mails
from tests.conftest import (
    ACTORS,
    CUSTOMER_PORTAL,
    INSTALLER_PORTAL,
    NACHBAR_PORTAL,
    global_id,
)
from tests.http_helpers import call, login, post, staff_token
from tests.smtp import SmtpServer

ANNA = "anna.becker@example.org"
REQUEST = """mutation($input: PortalEmailInput!) { requestLoginCode(input: $input) {
  __typename ... on RequestReceived { message } ... on MutationError { code field } } }"""
LOGIN_WITH_CODE = """mutation($input: LoginWithCodeInput!) { loginWithCode(input: $input) {
  __typename
  ... on LoggedIn { accessToken role }
  ... on SecondFactorRequired { enrollmentRequired methods }
  ... on LoginError { code field message } } }"""
OPTIONS = """query($input: LoginOptionsInput!) { loginOptions(input: $input) {
  methods providers { slug name } } }"""
PARTNERS = global_id("Portal", INSTALLER_PORTAL)
NACHBAR = global_id("Portal", NACHBAR_PORTAL)


async def request_code(client: httpx.AsyncClient, email: str, portal: str = PORTAL) -> Any:
    return await call(client, REQUEST, portalId=portal, email=email)


async def with_code(
    client: httpx.AsyncClient, code: str, email: str = ANNA, portal: str = PORTAL
) -> Any:
    return await call(client, LOGIN_WITH_CODE, portalId=portal, email=email, code=code)


async def code_for(
    smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession], email: str = ANNA
) -> str:
    received = [mail for mail in await mails(smtp, sessions) if mail.recipients == [email]]
    assert received, "no mail"
    match = re.search(r"\b(\d{6})\b", received[-1].text)
    assert match, received[-1].text
    assert match.group(1) in received[-1].html
    return match.group(1)


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


async def offer_passwordless(session: AsyncSession, portal_id: Any, **update: Any) -> None:
    portal = await session.get_one(models.Portal, portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"passwordless_login": True, **update}
    )
    await session.commit()


async def audit_actions(session: AsyncSession, user_id: Any) -> list[str]:
    event = models.AuditEvent
    rows = await session.scalars(
        sa.select(event.action).where(event.entity_id == user_id).order_by(event.created_at)
    )
    return list(rows)


async def test_a_customer_logs_in_with_a_mailed_code_once(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    received = await request_code(client, ANNA)
    assert received["__typename"] == "RequestReceived"
    [mail] = [m for m in await mails(smtp, sessions) if m.recipients == [ANNA]]
    code = re.search(r"\b(\d{6})\b", mail.text)
    assert code is not None
    assert mail.subject == (
        f"Ihr Anmeldecode für das Kundenportal Stadtwerke Musterstadt: {code.group(1)}"
    )
    assert "Hallo Anna" in mail.text
    assert "10 Minuten" in mail.text

    done = await with_code(client, code.group(1))
    assert (done["__typename"], done["role"]) == ("LoggedIn", "CUSTOMER")
    viewer = (await post(client, "{ viewer { role } }", done["accessToken"])).json()
    assert viewer == {"data": {"viewer": {"role": "CUSTOMER"}}}
    # Single use.
    again = await with_code(client, code.group(1))
    assert (again["__typename"], again["code"]) == ("LoginError", "INVALID_CODE")
    # The code is stored hashed, never as itself.
    stored = await session.scalar(
        sa.select(models.OneTimeCode.code_hash).where(
            models.OneTimeCode.purpose == login_codes.PURPOSE
        )
    )
    assert stored is not None
    assert code.group(1) not in stored
    actions = await audit_actions(session, ACTORS["customer"].subject_id)
    assert {"login.code_sent", "login.code_accepted", "login.succeeded"} <= set(actions)


async def test_a_new_code_replaces_the_older_one(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await request_code(client, ANNA)
    first = await code_for(smtp, sessions)
    await request_code(client, ANNA)
    second = await code_for(smtp, sessions)
    if first != second:  # equal once in a million
        assert (await with_code(client, first))["code"] == "INVALID_CODE"
    assert (await with_code(client, second))["__typename"] == "LoggedIn"


@pytest.mark.parametrize(
    "email",
    [
        "niemand@example.org",  # no account
        "neu.interessent@example.org",  # registered, not activated: may not log in
        "lena.fischer@example.org",  # an account of another organization's portal
    ],
)
async def test_who_may_not_log_in_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    email: str,
) -> None:
    known = await request_code(client, ANNA)
    other = await request_code(client, email)
    assert other == known
    assert [m.recipients for m in await mails(smtp, sessions)] == [[ANNA]]


async def test_codes_are_rate_limited_per_email_silently(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answers = [await request_code(client, ANNA) for _ in range(4)]
    assert all(answer["__typename"] == "RequestReceived" for answer in answers)
    assert len(await mails(smtp, sessions)) == 3  # MAIL_REQUESTS_PER_EMAIL


async def test_a_portal_without_passwordless_login_refuses_both_steps(
    client: httpx.AsyncClient,
) -> None:
    refused = await request_code(client, "lena.fischer@example.org", NACHBAR)
    assert (refused["code"], refused["field"]) == ("RULE_VIOLATED", "portalId")
    login_refused = await with_code(client, "123456", "lena.fischer@example.org", NACHBAR)
    assert (login_refused["__typename"], login_refused["code"]) == ("LoginError", "RULE_VIOLATED")


async def test_an_expired_code_is_refused(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await request_code(client, ANNA)
    code = await code_for(smtp, sessions)
    await session.execute(
        sa.update(models.OneTimeCode)
        .where(models.OneTimeCode.purpose == login_codes.PURPOSE)
        .values(expires_at=sa.func.now() - timedelta(seconds=1))
    )
    await session.commit()
    assert (await with_code(client, code))["code"] == "INVALID_CODE"


async def test_a_code_works_only_on_the_portal_it_was_sent_for(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    """Another portal of the organization and another organization's portal, both
    offering passwordless login, refuse Anna's code; it still works where it belongs."""
    await offer_passwordless(session, INSTALLER_PORTAL)
    await offer_passwordless(session, NACHBAR_PORTAL)
    await request_code(client, ANNA)
    code = await code_for(smtp, sessions)
    for portal in (PARTNERS, NACHBAR):
        refused = await with_code(client, code, ANNA, portal)
        assert (refused["__typename"], refused["code"]) == ("LoginError", "INVALID_CODE")
    assert (await with_code(client, code))["__typename"] == "LoggedIn"


async def test_wrong_codes_count_toward_the_login_lockout(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await request_code(client, ANNA)
    code = await code_for(smtp, sessions)
    for _ in range(5):  # MAX_LOGIN_FAILURES from one address
        assert (await with_code(client, other_than(code)))["code"] == "INVALID_CODE"
    failures = await session.scalar(
        sa.select(models.LoginThrottle.failures).where(
            models.LoginThrottle.key == throttle.account_key(ANNA, CUSTOMER_PORTAL)
        )
    )
    assert failures == 5
    # Locked: the right code is refused alike, and so is the right password.
    assert (await with_code(client, code))["code"] == "INVALID_CODE"
    password = await login(client, ANNA, "Demo-Kunde-1", PORTAL)
    assert password["code"] == "INVALID_CREDENTIALS"
    actions = await audit_actions(session, ACTORS["customer"].subject_id)
    assert actions.count("login.code_failed") == 5
    assert "login.locked_out" in actions
    assert "login.code_refused_locked" in actions


async def test_wrong_codes_for_an_unknown_email_count_alike(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        refused = await with_code(client, "123456", "niemand@example.org")
        assert refused["code"] == "INVALID_CODE"
    # Locked like a known address would be, so the lock tells nothing either.
    assert (await with_code(client, "123456", "niemand@example.org"))["code"] == "INVALID_CODE"


async def test_a_malformed_code_is_refused_without_counting(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    refused = await with_code(client, "12ab56")
    assert (refused["code"], refused["field"]) == ("INVALID_CODE", "code")
    counted = await session.scalar(sa.select(sa.func.count()).select_from(models.LoginThrottle))
    assert counted == 0


async def test_a_code_dies_after_five_wrong_tries_from_anywhere(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    smtp: SmtpServer,
    client: httpx.AsyncClient,
    test_settings: Settings,
) -> None:
    """Spread over five addresses the lockout of one pair never triggers, nor the
    account's (20); the code itself gives up after five wrong tries."""
    await request_code(client, ANNA)
    code = await code_for(smtp, sessions)
    config = identity_config(test_settings)
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    now = datetime.now(UTC)

    async def attempt(value: str, address: str) -> authentication.LoginOutcome:
        return await authentication.login_with_code(
            session,
            config,
            portal=portal,
            email=ANNA,
            code=value,
            origin=audit.Origin(address),
            now=now,
        )

    for n in range(login_codes.MAX_ATTEMPTS):
        refused = await attempt(other_than(code), f"192.0.2.{n + 1}")
        assert refused == authentication.WRONG_LOGIN_CODE
    assert await attempt(code, "192.0.2.99") == authentication.WRONG_LOGIN_CODE


async def test_the_portals_second_factor_policy_applies_after_a_code(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    """A portal requiring a second factor asks for it after a code as after a password;
    a mailed code can not be the second factor of a login by mailed code."""
    await offer_passwordless(session, CUSTOMER_PORTAL, two_factor=TwoFactorPolicy.REQUIRED)
    await request_code(client, ANNA)
    answer = await with_code(client, await code_for(smtp, sessions))
    assert answer == {
        "__typename": "SecondFactorRequired",
        "enrollmentRequired": True,
        "methods": ["ENROLL_TOTP"],
    }
    by_password = await login(client, ANNA, "Demo-Kunde-1", PORTAL)
    assert by_password["__typename"] == "SecondFactorRequired"


# --- What the login page offers -------------------------------------------------------------


async def options(client: httpx.AsyncClient, portal: str, email: str | None) -> Any:
    given = {"email": email} if email is not None else {}
    body = (await post(client, OPTIONS, input={"portalId": portal, **given})).json()
    assert "errors" not in body, body
    return body["data"]["loginOptions"]


async def test_login_options_are_the_same_for_every_address(client: httpx.AsyncClient) -> None:
    # The demo customer portal also offers its local OpenID provider.
    demo = [{"slug": "demo", "name": "Demo-Login"}]
    expected = {"methods": ["PASSWORD", "EMAIL_CODE"], "providers": demo}
    for email in (ANNA, "niemand@example.org", "neu.interessent@example.org", None):
        assert await options(client, PORTAL, email) == expected
    only_password = {"methods": ["PASSWORD"], "providers": []}
    assert await options(client, NACHBAR, "lena.fischer@example.org") == only_password
    assert await options(client, NACHBAR, "niemand@example.org") == only_password
    assert await options(client, NACHBAR, None) == only_password


async def test_an_address_given_to_login_options_is_checked(client: httpx.AsyncClient) -> None:
    body = (await post(client, OPTIONS, input={"portalId": PORTAL, "email": "keine"})).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["field"] == "email"


async def test_login_options_follow_the_portals_setting_and_need_an_active_portal(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await offer_passwordless(session, NACHBAR_PORTAL)
    assert await options(client, NACHBAR, "x@example.org") == {
        "methods": ["PASSWORD", "EMAIL_CODE"],
        "providers": [],
    }
    portal = await session.get_one(models.Portal, NACHBAR_PORTAL)
    portal.status = models.PortalStatus.INACTIVE
    await session.commit()
    assert await options(client, NACHBAR, "x@example.org") is None
    assert await options(client, global_id("Contact", NACHBAR_PORTAL), "x@example.org") is None


UPDATE_SETTINGS = """mutation($input: UpdatePortalSettingsInput!) {
  updatePortalSettings(input: $input) { __typename ... on MutationError { code field } } }"""
PUBLISH = (
    """mutation($input: PublishPortalInput!) { publishPortal(input: $input) { __typename } }"""
)


async def test_staff_turn_passwordless_login_on_by_publishing_the_setting(
    client: httpx.AsyncClient,
) -> None:
    admin = await staff_token(client, "admin@nachbarstadt.example", "Demo-Admin-2")
    changes = {"passwordlessLogin": True, "emailChangeUpdatesContact": True}
    updated = await call(client, UPDATE_SETTINGS, admin, id=NACHBAR, changes=changes)
    assert updated["__typename"] == "PortalPayload"
    # The draft alone changes nothing for the login page.
    assert await options(client, NACHBAR, "x@example.org") == {
        "methods": ["PASSWORD"],
        "providers": [],
    }
    assert (await call(client, PUBLISH, admin, id=NACHBAR))["__typename"] == "PortalPayload"
    assert await options(client, NACHBAR, "x@example.org") == {
        "methods": ["PASSWORD", "EMAIL_CODE"],
        "providers": [],
    }
    received = await request_code(client, "lena.fischer@example.org", NACHBAR)
    assert received["__typename"] == "RequestReceived"
    wrong_type = await call(
        client, UPDATE_SETTINGS, admin, id=NACHBAR, changes={"passwordlessLogin": "ja"}
    )
    assert (wrong_type["code"], wrong_type["field"]) == (
        "INVALID_INPUT",
        "changes.passwordlessLogin",
    )
