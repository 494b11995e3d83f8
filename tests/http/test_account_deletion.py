"""A portal user closes their access (`deleteMyAccount`): the portal user goes with its
sessions, codes, links and second factors, the CRM contact stays, the audit trail stays
pseudonymised, and a confirmation arrives at a real SMTP server on loopback."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import demo, models
from gql.domain import throttle, two_factor
from gql.domain.authentication import identity_config
from gql.settings import Settings
from tests.account_helpers import PORTAL, mails
from tests.conftest import ACTORS, CUSTOMER_PORTAL, contact_id
from tests.http_helpers import call, impersonate, login, post, staff_token
from tests.smtp import SmtpServer

ANNA, ANNA_PASSWORD = "anna.becker@example.org", "Demo-Kunde-1"
ANNA_ID = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:{ANNA}")
DELETE = """mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) {
  __typename ... on AccountDeleted { email } ... on MutationError { code field } } }"""
REQUEST_CHANGE = """mutation($input: RequestEmailChangeInput!) {
  requestEmailChange(input: $input) { __typename } }"""
REQUEST_CODE = """mutation($input: PortalEmailInput!) {
  requestLoginCode(input: $input) { __typename } }"""
VIEWER = "{ viewer { role } }"


async def logged_in(
    client: httpx.AsyncClient, email: str = ANNA, password: str = ANNA_PASSWORD
) -> str:
    result = await login(client, email, password, PORTAL)
    assert result["__typename"] == "LoggedIn", result
    return str(result["accessToken"])


async def delete(client: httpx.AsyncClient, token: str, password: str = ANNA_PASSWORD) -> Any:
    return await call(client, DELETE, token, password=password)


async def rows_of(session: AsyncSession, model: Any, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).select_from(model).where(model.portal_user_id == user_id)
        )
        or 0
    )


def about(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    event = models.AuditEvent
    return sa.or_(
        event.actor_id == user_id, event.on_behalf_of_id == user_id, event.entity_id == user_id
    )


async def test_a_customer_closes_her_access_and_only_that(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    test_settings: Settings,
) -> None:
    token = await logged_in(client)
    agent = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    acting = (await impersonate(client, agent))["accessToken"]
    assert (await post(client, VIEWER, acting)).json()["data"]["viewer"]["role"] == "CUSTOMER"
    # Everything that hangs off the access: a second factor with recovery codes, a
    # waiting change of the email, a login code.
    user = await session.get_one(models.PortalUser, ANNA_ID)
    box = identity_config(test_settings).box
    enrollment = await two_factor.enroll(session, user, box, "Stadtwerke Musterstadt")
    now = datetime.now(UTC)
    await two_factor.confirm(session, user, box, pyotp.TOTP(enrollment.secret).at(now), now)
    # Failure counters naming her email (from another address) and Jonas's.
    anna_key = throttle.account_key(ANNA, CUSTOMER_PORTAL)
    jonas_key = throttle.account_key("jonas.wolf@example.org", CUSTOMER_PORTAL)
    for key in (f"pair:192.0.2.7:{anna_key}", anna_key, jonas_key):
        session.add(models.LoginThrottle(key=key, failures=2, last_failure_at=now))
    await session.commit()
    await call(
        client, REQUEST_CHANGE, token, newEmail="anna.neu@example.org", password=ANNA_PASSWORD
    )
    await call(client, REQUEST_CODE, portalId=PORTAL, email=ANNA)
    await mails(smtp, sessions)
    smtp.sink.mails.clear()
    for model in (
        models.AuthSession,
        models.OneTimeCode,
        models.TotpCredential,
        models.RecoveryCode,
        models.EmailChange,
    ):
        assert await rows_of(session, model, ANNA_ID) > 0, model
    events_before = await session.scalar(sa.select(sa.func.count()).where(about(ANNA_ID)))
    assert events_before
    # Among them some with the client's address and the email (what must go).
    with_address = sa.select(sa.func.count()).where(
        about(ANNA_ID), models.AuditEvent.ip_address.is_not(None)
    )
    assert await session.scalar(with_address)
    with_email = sa.select(sa.func.count()).where(
        about(ANNA_ID), sa.cast(models.AuditEvent.data, sa.Text).contains("@")
    )
    assert await session.scalar(with_email)
    others = models.AuditEvent.actor_id == ACTORS["agent"].subject_id
    agents_before = (
        await session.execute(
            sa.select(models.AuditEvent.id, models.AuditEvent.ip_address).where(
                others, models.AuditEvent.on_behalf_of_id.is_(None)
            )
        )
    ).all()

    assert await delete(client, token) == {"__typename": "AccountDeleted", "email": ANNA}

    session.expire_all()
    assert await session.get(models.PortalUser, ANNA_ID) is None
    for model in (
        models.AuthSession,
        models.OneTimeCode,
        models.TotpCredential,
        models.RecoveryCode,
        models.EmailChange,
    ):
        assert await rows_of(session, model, ANNA_ID) == 0, model
    counters = set(await session.scalars(sa.select(models.LoginThrottle.key)))
    assert counters == {jonas_key}
    # The customer stays in the CRM, with her contracts.
    contact = await session.get(models.Contact, contact_id("musterstadt", "c00"))
    assert contact is not None
    assert contact.email == ANNA
    # Every token of the access is dead at once, the impersonation's too.
    for dead in (token, acting):
        body = (await post(client, VIEWER, dead)).json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await login(client, ANNA, ANNA_PASSWORD, PORTAL))["code"] == "INVALID_CREDENTIALS"

    # The audit trail stays, under a pseudonym, without addresses, agents or emails.
    assert await session.scalar(sa.select(sa.func.count()).where(about(ANNA_ID))) == 0
    closing = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "portal_user.deleted_by_self"
        )
    )
    assert closing is not None
    pseudonym = closing.actor_id
    assert pseudonym is not None
    trail = (await session.scalars(sa.select(models.AuditEvent).where(about(pseudonym)))).all()
    assert len(trail) == events_before + 1
    assert {"login.succeeded", "email_change.requested", "login.code_sent"} <= {
        event.action for event in trail
    }
    for event in trail:
        assert (event.ip_address, event.user_agent) == (None, None), event.action
        assert "@" not in json.dumps(event.data), (event.action, event.data)
    # Other people's events keep theirs.
    agents_after = (
        await session.execute(
            sa.select(models.AuditEvent.id, models.AuditEvent.ip_address).where(
                others, models.AuditEvent.on_behalf_of_id.is_(None)
            )
        )
    ).all()
    assert agents_after == agents_before

    [mail] = await mails(smtp, sessions)
    assert mail.recipients == [ANNA]
    assert mail.subject == "Ihr Zugang zum Kundenportal Stadtwerke Musterstadt ist gelöscht"
    assert "Hallo Anna" in mail.text


async def test_a_wrong_password_is_refused_and_counted(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    token = await logged_in(client)
    refused = await delete(client, token, "Falsch-Passwort-1")
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "password")
    assert await session.get(models.PortalUser, ANNA_ID) is not None
    failures = await session.scalar(
        sa.select(models.LoginThrottle.failures).where(
            models.LoginThrottle.key == throttle.account_key(ANNA, CUSTOMER_PORTAL)
        )
    )
    assert failures == 1
    failed = await session.scalar(
        sa.select(models.AuditEvent.action).where(
            models.AuditEvent.action == "account_deletion.password_failed"
        )
    )
    assert failed is not None
    assert await mails(smtp, sessions) == []
    for _ in range(4):
        await delete(client, token, "Falsch-Passwort-1")
    assert (await delete(client, token))["code"] == "RATE_LIMITED"
    assert await session.get(models.PortalUser, ANNA_ID) is not None


async def test_another_users_access_and_trail_are_untouched(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    jonas = ACTORS["other_customer"].subject_id
    assert jonas is not None
    await logged_in(client, "jonas.wolf@example.org", "Demo-Kunde-2")
    lena = await client.post(
        "/graphql",
        json={
            "query": "mutation($i: LoginInput!) { login(input: $i) { __typename } }",
            "variables": {
                "i": {
                    "email": "lena.fischer@example.org",
                    "password": "Demo-Kunde-3",
                    "portalId": "UG9ydGFsOmMyNzEyOTY5LTY5ZTctNTZjMS04Zjg0LWQ2MTI5ZGRhMWI4OQ==",
                }
            },
        },
    )
    assert lena.json()["data"]["login"]["__typename"] == "LoggedIn"
    before = (
        await session.execute(
            sa.select(
                models.AuditEvent.id, models.AuditEvent.actor_id, models.AuditEvent.ip_address
            )
            .where(models.AuditEvent.actor_id.in_([jonas, ACTORS["other_org_customer"].subject_id]))
            .order_by(models.AuditEvent.id)
        )
    ).all()
    assert len({row.actor_id for row in before}) == 2  # both logged in
    assert await delete(client, await logged_in(client)) == {
        "__typename": "AccountDeleted",
        "email": ANNA,
    }
    after = (
        await session.execute(
            sa.select(
                models.AuditEvent.id, models.AuditEvent.actor_id, models.AuditEvent.ip_address
            )
            .where(models.AuditEvent.id.in_([row.id for row in before]))
            .order_by(models.AuditEvent.id)
        )
    ).all()
    assert after == before
    assert await session.get(models.PortalUser, jonas) is not None
    assert (await login(client, "jonas.wolf@example.org", "Demo-Kunde-2", PORTAL))[
        "__typename"
    ] == "LoggedIn"


async def test_staff_can_not_use_it(client: httpx.AsyncClient) -> None:
    token = await staff_token(client, "admin@musterstadt.example", "Demo-Admin-1")
    body = (await post(client, DELETE, token, input={"password": "Demo-Admin-1"})).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"]["deleteMyAccount"] is None
