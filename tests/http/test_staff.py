"""Staff management over HTTP: invitations that really arrive by SMTP, role changes and
disabling that end sessions at once, the last ADMIN, and changing one's password."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gql import delivery
from gql.delivery import RetryPolicy
from tests.conftest import ACTORS, global_id
from tests.http_helpers import impersonate, login, portal_gid, post, staff_token
from tests.smtp import SmtpServer

STAFF_RESULT = """
    __typename
    ... on StaffUserPayload {
      revokedSessions
      staffUser { email name role isActive invitationPending language }
    }
    ... on MutationError { code message field }
"""
INVITE = (
    "mutation($input: InviteStaffUserInput!) { inviteStaffUser(input: $input) {"
    + STAFF_RESULT
    + "} }"
)
UPDATE = (
    "mutation($input: UpdateStaffUserInput!) { updateStaffUser(input: $input) {"
    + STAFF_RESULT
    + "} }"
)
DISABLE = (
    "mutation($input: StaffUserIdInput!) { disableStaffUser(input: $input) {" + STAFF_RESULT + "} }"
)
ENABLE = (
    "mutation($input: StaffUserIdInput!) { enableStaffUser(input: $input) {" + STAFF_RESULT + "} }"
)
ACCEPT = """
mutation($input: AcceptStaffInvitationInput!) {
  acceptStaffInvitation(input: $input) {
    __typename
    ... on StaffInvitationAccepted { email }
    ... on MutationError { code message field }
  }
}
"""
CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) {
    __typename
    ... on PasswordChanged { revokedSessions }
    ... on MutationError { code message field }
  }
}
"""
AGENT = global_id("StaffUser", ACTORS["agent"].subject_id)  # type: ignore[arg-type]
ADMIN = global_id("StaffUser", ACTORS["admin"].subject_id)  # type: ignore[arg-type]
NEW_PASSWORD = "Zählerstand-2026!"


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> str:
    return await staff_token(client, "admin@musterstadt.example", "Demo-Admin-1")


async def call(client: httpx.AsyncClient, query: str, bearer: str | None, **input: Any) -> Any:
    body = (await post(client, query, bearer, input=input)).json()
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def deliver(
    sessions: async_sessionmaker[AsyncSession], smtp: SmtpServer
) -> delivery.DeliveryReport:
    return await delivery.deliver_due(sessions, smtp.transport, RetryPolicy())


def token_in(text: str) -> str:
    match = re.search(r"/accept-invitation\?token=([\w-]+)", text)
    assert match, text
    return match.group(1)


async def test_an_invited_colleague_sets_a_password_from_the_email_and_logs_in(
    client: httpx.AsyncClient,
    admin: str,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    invited = await call(
        client,
        INVITE,
        admin,
        email=" Petra.Neu@Musterstadt.example",
        name="Petra Neu",
        role="AGENT",
        language="de",
    )
    assert invited["staffUser"] == {
        "email": "petra.neu@musterstadt.example",
        "name": "Petra Neu",
        "role": "AGENT",
        "isActive": True,
        "invitationPending": True,
        "language": "de",
    }
    # No password yet: no login.
    refused = await login(client, "petra.neu@musterstadt.example", NEW_PASSWORD)
    assert refused["__typename"] == "LoginError"

    assert (await deliver(sessions, smtp)).sent == 1
    [received] = smtp.sink.mails
    assert received.recipients == ["petra.neu@musterstadt.example"]
    assert received.subject == "Einladung zu Stadtwerke Musterstadt"
    assert "Miriam Admin hat Sie als AGENT für Stadtwerke Musterstadt eingeladen." in received.text
    token = token_in(received.text)
    assert token in received.html

    weak = await call(client, ACCEPT, None, token=token, password="1234567890")
    assert (weak["code"], weak["field"]) == ("INVALID_INPUT", "password")
    accepted = await call(client, ACCEPT, None, token=token, password=NEW_PASSWORD)
    assert accepted == {
        "__typename": "StaffInvitationAccepted",
        "email": invited["staffUser"]["email"],
    }
    again = await call(client, ACCEPT, None, token=token, password=NEW_PASSWORD)
    assert (again["code"], again["field"]) == ("INVALID_TOKEN", "token")

    result = await login(client, "petra.neu@musterstadt.example", NEW_PASSWORD)
    assert (result["__typename"], result["role"]) == ("LoggedIn", "AGENT")


async def test_inviting_again_replaces_the_link(
    client: httpx.AsyncClient,
    admin: str,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for language in ("de", "en"):
        await call(
            client,
            INVITE,
            admin,
            email="max@musterstadt.example",
            name="Max",
            role="ADMIN",
            language=language,
        )
    assert (await deliver(sessions, smtp)).sent == 2
    by_subject = {mail.subject: mail for mail in smtp.sink.mails}
    first = by_subject["Einladung zu Stadtwerke Musterstadt"]
    second = by_subject["Invitation to Stadtwerke Musterstadt"]  # the language of the last
    old = await call(client, ACCEPT, None, token=token_in(first.text), password=NEW_PASSWORD)
    assert old["code"] == "INVALID_TOKEN"
    new = await call(client, ACCEPT, None, token=token_in(second.text), password=NEW_PASSWORD)
    assert new["__typename"] == "StaffInvitationAccepted"


async def test_an_expired_link_is_refused(
    client: httpx.AsyncClient,
    admin: str,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await call(client, INVITE, admin, email="spaet@musterstadt.example", name="S", role="AGENT")
    await deliver(sessions, smtp)
    await session.execute(
        sa.update(models.OneTimeCode)
        .where(models.OneTimeCode.purpose == "staff_invitation")
        .values(expires_at=sa.func.now() - timedelta(seconds=1))
    )
    await session.commit()
    [received] = smtp.sink.mails
    expired = await call(client, ACCEPT, None, token=token_in(received.text), password=NEW_PASSWORD)
    assert expired["code"] == "INVALID_TOKEN"
    forged = await call(client, ACCEPT, None, token="x" * 43, password=NEW_PASSWORD)
    assert forged["code"] == "INVALID_TOKEN"


async def test_an_existing_staff_email_is_not_invited(
    client: httpx.AsyncClient, admin: str
) -> None:
    for email in ("agent@musterstadt.example", "admin@nachbarstadt.example"):
        result = await call(client, INVITE, admin, email=email, name="X", role="AGENT")
        assert result["field"] == "email", result


async def test_a_role_change_and_disabling_end_sessions_at_once(
    client: httpx.AsyncClient, admin: str
) -> None:
    agent = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    promoted = await call(client, UPDATE, admin, id=AGENT, role="ADMIN")
    assert (promoted["staffUser"]["role"], promoted["revokedSessions"]) == ("ADMIN", 1)
    assert (await post(client, "{ viewer { role } }", agent)).status_code == 401

    agent = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    assert (await post(client, "{ viewer { role } }", agent)).json()["data"]["viewer"] == {
        "role": "ADMIN"
    }
    disabled = await call(client, DISABLE, admin, id=AGENT)
    assert (disabled["staffUser"]["isActive"], disabled["revokedSessions"]) == (False, 1)
    assert (await post(client, "{ viewer { role } }", agent)).status_code == 401
    refused = await login(client, "agent@musterstadt.example", "Demo-Agent-1")
    assert refused["code"] == "INVALID_CREDENTIALS"

    enabled = await call(client, ENABLE, admin, id=AGENT)
    assert enabled["staffUser"]["isActive"] is True
    assert (await login(client, "agent@musterstadt.example", "Demo-Agent-1"))["role"] == "ADMIN"


async def test_the_last_admin_stays(client: httpx.AsyncClient, admin: str) -> None:
    demoted = await call(client, UPDATE, admin, id=ADMIN, role="AGENT")
    assert (demoted["code"], demoted["field"]) == ("RULE_VIOLATED", "id")
    itself = await call(client, DISABLE, admin, id=ADMIN)
    assert itself["code"] == "RULE_VIOLATED"
    # With a second admin, the first may step down.
    await call(client, UPDATE, admin, id=AGENT, role="ADMIN")
    stepped_down = await call(client, UPDATE, admin, id=ADMIN, role="AGENT")
    assert stepped_down["staffUser"]["role"] == "AGENT"


async def test_another_organization_finds_no_staff(client: httpx.AsyncClient) -> None:
    other = await staff_token(client, "admin@nachbarstadt.example", "Demo-Admin-2")
    for query in (DISABLE, ENABLE):
        assert (await call(client, query, other, id=AGENT))["code"] == "NOT_FOUND"
    result = await call(client, UPDATE, other, id=AGENT, role="ADMIN")
    assert result["code"] == "NOT_FOUND"
    body = (await post(client, "{ staffUsers { edges { node { email } } } }", other)).json()
    emails = {edge["node"]["email"] for edge in body["data"]["staffUsers"]["edges"]}
    assert emails == {"admin@nachbarstadt.example"}


async def test_changing_the_password_ends_the_other_sessions(client: httpx.AsyncClient) -> None:
    portal = portal_gid("musterstadt-kunden")
    here = (await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal))["accessToken"]
    there = (await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal))["accessToken"]

    wrong = await call(
        client, CHANGE_PASSWORD, here, currentPassword="falsch", newPassword=NEW_PASSWORD
    )
    assert (wrong["code"], wrong["field"]) == ("INVALID_INPUT", "currentPassword")
    same_as_email = await call(
        client,
        CHANGE_PASSWORD,
        here,
        currentPassword="Demo-Kunde-1",
        newPassword="Anna.Becker@example.org",
    )
    assert (same_as_email["code"], same_as_email["field"]) == ("INVALID_INPUT", "newPassword")

    changed = await call(
        client, CHANGE_PASSWORD, here, currentPassword="Demo-Kunde-1", newPassword=NEW_PASSWORD
    )
    assert changed == {"__typename": "PasswordChanged", "revokedSessions": 1}
    assert (await post(client, "{ viewer { role } }", there)).status_code == 401
    assert (await post(client, "{ viewer { role } }", here)).status_code == 200
    assert (await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal))[
        "code"
    ] == "INVALID_CREDENTIALS"
    result = await login(client, "anna.becker@example.org", NEW_PASSWORD, portal)
    assert result["__typename"] == "LoggedIn"


async def test_an_impersonating_agent_can_not_change_the_password(
    client: httpx.AsyncClient,
) -> None:
    agent = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    token = (await impersonate(client, agent))["accessToken"]
    body = (
        await post(
            client,
            CHANGE_PASSWORD,
            token,
            input={"currentPassword": "Demo-Kunde-1", "newPassword": NEW_PASSWORD},
        )
    ).json()
    assert body["data"]["changePassword"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
