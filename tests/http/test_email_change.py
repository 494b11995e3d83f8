"""A portal user changes their login email: `requestEmailChange` mails a link to the new
address, `confirmEmailChange` switches the email, tells the old address, ends the other
sessions and (when the portal says so) changes the contact's email. Over HTTP through the
ASGI app, with mails read from a real SMTP server on loopback."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gql.domain import throttle
from tests.account_helpers import PORTAL, REQUEST_RESET, RESET, mails, token_of
from tests.conftest import ACTORS, CUSTOMER_PORTAL, contact_id
from tests.http_helpers import call, login, post, staff_token
from tests.smtp import SmtpServer

ANNA, ANNA_PASSWORD = "anna.becker@example.org", "Demo-Kunde-1"
NEW = "anna.neu@example.org"
REQUEST = """mutation($input: RequestEmailChangeInput!) { requestEmailChange(input: $input) {
  __typename
  ... on EmailChangeRequested { email expiresIn }
  ... on MutationError { code field message } } }"""
CONFIRM = """mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) {
  __typename
  ... on EmailChangeConfirmed { email revokedSessions contactEmail }
  ... on MutationError { code field message } } }"""
VIEWER = "{ viewer { role } }"


async def logged_in(client: httpx.AsyncClient, email: str = ANNA) -> str:
    result = await login(client, email, ANNA_PASSWORD, PORTAL)
    assert result["__typename"] == "LoggedIn", result
    return str(result["accessToken"])


async def request_change(
    client: httpx.AsyncClient, token: str, new: str = NEW, password: str = ANNA_PASSWORD
) -> Any:
    return await call(client, REQUEST, token, newEmail=new, password=password)


async def link_token(
    smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession], to: str = NEW
) -> str:
    received = [mail for mail in await mails(smtp, sessions) if mail.recipients == [to]]
    assert received, [mail.recipients for mail in smtp.sink.mails]
    return token_of(received[-1], "confirm-email")


async def confirm(client: httpx.AsyncClient, token: str) -> Any:
    return await call(client, CONFIRM, token=token)


async def anna(session: AsyncSession) -> models.PortalUser:
    return await session.get_one(
        models.PortalUser, ACTORS["customer"].subject_id, populate_existing=True
    )


async def works(client: httpx.AsyncClient, token: str) -> bool:
    body = (await post(client, VIEWER, token)).json()
    return bool(body.get("data")) and body["data"]["viewer"] == {"role": "CUSTOMER"}


async def test_a_customer_changes_her_login_email_through_the_new_mailbox(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    here, elsewhere = await logged_in(client), await logged_in(client)
    requested = await request_change(client, here)
    assert requested == {"__typename": "EmailChangeRequested", "email": NEW, "expiresIn": 86400}
    # Nothing changes before the confirmation.
    assert (await anna(session)).email == ANNA
    [link_mail] = [m for m in await mails(smtp, sessions) if m.recipients == [NEW]]
    assert link_mail.subject == (
        "Bitte bestätigen Sie Ihre neue E-Mail-Adresse für das Kundenportal Stadtwerke Musterstadt"
    )
    token = token_of(link_mail, "confirm-email")
    stored = await session.scalar(sa.select(models.EmailChange.token_hash))
    assert stored is not None
    assert token not in stored  # hashed

    confirmed = await confirm(client, token)
    assert confirmed == {
        "__typename": "EmailChangeConfirmed",
        "email": NEW,
        "revokedSessions": 1,
        "contactEmail": "CHANGED",  # the demo portal says so
    }
    assert (await anna(session)).email == NEW
    contact = await session.get_one(
        models.Contact, contact_id("musterstadt", "c00"), populate_existing=True
    )
    assert contact.email == NEW
    # The session the change was asked from stays; the other one ended.
    assert await works(client, here)
    assert not await works(client, elsewhere)
    # The old address is told, with the new one masked.
    [notice] = [m for m in await mails(smtp, sessions) if m.recipients == [ANNA]]
    assert "a***@example.org" in notice.text
    assert NEW not in notice.text
    assert notice.subject == (
        "Ihre Anmelde-E-Mail-Adresse für das Kundenportal Stadtwerke Musterstadt wurde geändert"
    )
    # The new email logs in, the old one no longer.
    assert (await login(client, NEW, ANNA_PASSWORD, PORTAL))["__typename"] == "LoggedIn"
    assert (await login(client, ANNA, ANNA_PASSWORD, PORTAL))["code"] == "INVALID_CREDENTIALS"
    # The link works once.
    again = await confirm(client, token)
    assert (again["code"], again["field"]) == ("INVALID_TOKEN", "token")
    event = models.AuditEvent
    actions = set(
        await session.scalars(
            sa.select(event.action).where(event.actor_id == ACTORS["customer"].subject_id)
        )
    )
    assert {"email_change.requested", "portal_user.email_changed", "contact.updated"} <= actions


async def test_without_the_portal_setting_the_contact_keeps_its_email(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"email_change_updates_contact": False}
    )
    await session.commit()
    await request_change(client, await logged_in(client))
    confirmed = await confirm(client, await link_token(smtp, sessions))
    assert (confirmed["email"], confirmed["contactEmail"]) == (NEW, "UNCHANGED")
    contact = await session.get_one(
        models.Contact, contact_id("musterstadt", "c00"), populate_existing=True
    )
    assert contact.email == ANNA


async def test_an_address_of_another_user_of_the_portal_is_refused_only_at_confirmation(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    jonas = "jonas.wolf@example.org"
    token = await logged_in(client)
    free = await request_change(client, token)
    taken = await request_change(client, token, jonas)
    # The requester can not tell a taken address from a free one.
    assert taken == {**free, "email": jonas}
    refused = await confirm(client, await link_token(smtp, sessions, jonas))
    assert (refused["code"], refused["field"]) == ("CONFLICT", "token")
    assert (await anna(session)).email == ANNA
    assert await works(client, token)
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "email_change.refused_taken")
    )
    assert event is not None
    assert event.data == {"to": jonas}


async def test_an_address_of_another_portal_or_organization_may_be_taken(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    """Lena has an access on Nachbarstadt's portal, the installer on Musterstadt's
    partner portal: neither is a user of Anna's portal."""
    token = await logged_in(client)
    for address in ("lena.fischer@example.org", "montage@elektro-schmidt.example"):
        await request_change(client, token, address)
        confirmed = await confirm(client, await link_token(smtp, sessions, address))
        assert confirmed["email"] == address
        assert (await anna(session)).email == address


async def test_a_new_request_replaces_the_waiting_one(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = await logged_in(client)
    await request_change(client, token)
    first = await link_token(smtp, sessions)
    await request_change(client, token, "anna.zwei@example.org")
    second = await link_token(smtp, sessions, "anna.zwei@example.org")
    assert (await confirm(client, first))["code"] == "INVALID_TOKEN"
    assert (await confirm(client, second))["email"] == "anna.zwei@example.org"


async def test_an_expired_link_is_refused(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await request_change(client, await logged_in(client))
    token = await link_token(smtp, sessions)
    await session.execute(
        sa.update(models.EmailChange).values(expires_at=sa.func.now() - timedelta(seconds=1))
    )
    await session.commit()
    assert (await confirm(client, token))["code"] == "INVALID_TOKEN"
    assert (await confirm(client, "no-such-token"))["code"] == "INVALID_TOKEN"
    assert (await anna(session)).email == ANNA


async def test_a_link_of_a_user_who_may_no_longer_log_in_is_refused(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await request_change(client, await logged_in(client))
    token = await link_token(smtp, sessions)
    user = await anna(session)
    user.registration_status = models.RegistrationStatus.DISABLED
    await session.commit()
    assert (await confirm(client, token))["code"] == "INVALID_TOKEN"


async def test_a_wrong_password_is_refused_and_counted(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    token = await logged_in(client)
    refused = await request_change(client, token, password="Falsch-Passwort-1")
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "password")
    failures = await session.scalar(
        sa.select(models.LoginThrottle.failures).where(
            models.LoginThrottle.key == throttle.account_key(ANNA, CUSTOMER_PORTAL)
        )
    )
    assert failures == 1
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.EmailChange)) == 0
    assert await mails(smtp, sessions) == []
    for _ in range(4):
        await request_change(client, token, password="Falsch-Passwort-1")
    # Locked after five: the owner is told so, even with the right password.
    locked = await request_change(client, token)
    assert locked["code"] == "RATE_LIMITED"


async def test_the_current_address_and_too_many_requests_are_refused(
    client: httpx.AsyncClient,
) -> None:
    token = await logged_in(client)
    same = await request_change(client, token, ANNA.upper())
    assert (same["code"], same["field"]) == ("INVALID_INPUT", "newEmail")
    for n in range(3):  # MAIL_REQUESTS_PER_EMAIL an hour
        assert (await request_change(client, token, f"anna.{n}@example.org"))["email"]
    assert (await request_change(client, token))["code"] == "RATE_LIMITED"


async def test_links_sent_to_the_old_address_stop_working(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await call(client, REQUEST_RESET, portalId=PORTAL, email=ANNA)
    reset = token_of(
        [m for m in await mails(smtp, sessions) if m.recipients == [ANNA]][-1], "reset-password"
    )
    await request_change(client, await logged_in(client))
    await confirm(client, await link_token(smtp, sessions))
    refused = await call(client, RESET, portalId=PORTAL, token=reset, password="Neues-Kennwort-26")
    assert refused["code"] == "INVALID_TOKEN"


async def test_staff_have_no_portal_login_email_to_change(client: httpx.AsyncClient) -> None:
    token = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    body = (
        await post(client, REQUEST, token, input={"newEmail": NEW, "password": "Demo-Agent-1"})
    ).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"]["requestEmailChange"] is None
