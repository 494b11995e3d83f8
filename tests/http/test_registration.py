"""Registration, activation, password reset, invitations and the iPM flow, end to end:
GraphQL over HTTP, PostgreSQL, and mails received by a real SMTP server on loopback."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import demo, models
from db.portal_settings import SelfRegistration
from gql import delivery
from gql.auth.actor import Actor, Role
from gql.delivery import RetryPolicy
from gql.domain import portal_access, registration
from gql.domain.audit import Origin
from gql.domain.registration import AccessConfig
from gql.settings import Settings
from tests.account_helpers import (
    ACCEPT,
    ACTIVATE,
    ACTIVATE_USER,
    ASSIGN,
    DEACTIVATE_USER,
    INVITE,
    INVITE_ALL,
    PASSWORD,
    PORTAL,
    REGISTER,
    REQUEST_RESET,
    RESEND,
    RESET,
    SET_PASSWORD,
    WORKER,
    mails,
    token_of,
)
from tests.conftest import (
    CUSTOMER_PORTAL,
    MUSTERSTADT,
    NACHBAR_PORTAL,
    contact_id,
    global_id,
)
from tests.http_helpers import call, login, post, staff_token
from tests.smtp import SmtpServer

OTHER_PORTAL = global_id("Portal", NACHBAR_PORTAL)
MICHAEL = contact_id("musterstadt", "c03")  # shares familie.schulz@example.org with Petra
JULIA = contact_id("musterstadt", "c06")


def registration_input(
    email: str, customer_number: str = "K-100007", **extra: Any
) -> dict[str, Any]:
    return {
        "portalId": PORTAL,
        "email": email,
        "password": PASSWORD,
        "identifiers": [{"key": "contact.customer_number", "value": customer_number}],
        "acceptedTerms": True,
        **extra,
    }


async def user_by_email(session: AsyncSession, email: str) -> models.PortalUser | None:
    return await session.scalar(
        sa.select(models.PortalUser)
        .where(models.PortalUser.portal_id == CUSTOMER_PORTAL, models.PortalUser.email == email)
        .execution_options(populate_existing=True)
    )


async def set_self_registration(session: AsyncSession, policy: SelfRegistration) -> None:
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    settings = portal.published_settings
    portal.published_settings = settings.model_copy(
        update={
            "registration": settings.registration.model_copy(update={"self_registration": policy})
        }
    )
    await session.commit()


@pytest.fixture
async def schulz_without_access(session: AsyncSession) -> None:
    """Petra and Michael Schulz share an email; the demo gives Petra access, remove it."""
    await session.execute(
        sa.delete(models.PortalUser).where(models.PortalUser.email == "familie.schulz@example.org")
    )
    await session.commit()


# --- The matching and self-registration table ---------------------------------------------

# Short names, so that each case is one line.
DENY = SelfRegistration.DENY
WITHOUT_CONTACT = SelfRegistration.ALLOW_WITHOUT_CONTACT
WITH_CONTACT = SelfRegistration.ALLOW_WITH_CONTACT
SCHULZ = "familie.schulz@example.org"
NEU = "neu@example.org"
SENT = "ACTIVATION_SENT"
REGISTRATION_CASES = [
    # (email, customer number, self-registration, expected outcome, status, contact)
    ("julia.richter@example.org", "K-100007", DENY, "REGISTERED_ASSIGNED", SENT, "K-100007"),
    # Every identifier must match: her email with a wrong customer number is nobody's.
    ("julia.richter@example.org", "K-999999", DENY, "DENIED", None, None),
    ("julia.richter@example.org", "K-999999", WITHOUT_CONTACT, "REGISTERED_PENDING", SENT, None),
    (SCHULZ, "K-100004", DENY, "REGISTERED_ASSIGNED", SENT, "K-100004"),
    (SCHULZ, "k-100003 ", DENY, "REGISTERED_ASSIGNED", SENT, "K-100003"),
    (SCHULZ, "K-100001", WITHOUT_CONTACT, "REGISTERED_PENDING", SENT, None),
    (SCHULZ, "K-100001", DENY, "DENIED", None, None),
    (NEU, "K-999999", WITHOUT_CONTACT, "REGISTERED_PENDING", SENT, None),
    (NEU, "K-999999", WITH_CONTACT, "CONTACT_CREATED", SENT, "created"),
    (NEU, "K-999999", DENY, "DENIED", None, None),
    ("anna.becker@example.org", "K-100001", WITH_CONTACT, "EXISTS", "ACTIVE", "K-100001"),
]


@pytest.mark.parametrize(
    ("email", "number", "policy", "outcome", "status", "contact"), REGISTRATION_CASES
)
async def test_every_branch_of_the_matching_table(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    schulz_without_access: None,
    email: str,
    number: str,
    policy: SelfRegistration,
    outcome: str,
    status: str | None,
    contact: str | None,
) -> None:
    await set_self_registration(session, policy)
    config = AccessConfig.from_settings(test_settings)
    await registration.register(
        session,
        config,
        portal_id=CUSTOMER_PORTAL,
        email=email.upper(),
        password=PASSWORD,
        identifiers={"contact.customer_number": number},
        language=None,
        accepted_terms=True,
        origin=Origin(),
        now=datetime.now(UTC),
    )
    await session.commit()
    [result] = await registration.answer_requests(sessions, config)
    assert result.kind == outcome
    user = await user_by_email(session, email)
    if status is None:
        assert user is None
        return
    assert user is not None
    assert user.registration_status == status
    if contact is None:
        assert (user.assignment_status, user.contact_id) == (models.AssignmentStatus.PENDING, None)
        return
    assert user.assignment_status is models.AssignmentStatus.ASSIGNED
    assigned = await session.get_one(models.Contact, user.contact_id)
    if contact == "created":
        assert (assigned.email, assigned.customer_number) == (email, None)
    else:
        assert assigned.customer_number == contact


# --- Over HTTP: answers, mails, links -----------------------------------------------------


async def test_register_activate_and_log_in(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await call(client, REGISTER, **registration_input("Julia.Richter@Example.org "))
    assert answer["__typename"] == "RequestReceived"
    [mail] = await mails(smtp, sessions)
    assert mail.recipients == ["julia.richter@example.org"]
    assert (
        mail.subject
        == "Bitte bestätigen Sie Ihre Registrierung im Kundenportal Stadtwerke Musterstadt"
    )
    assert mail.text.startswith("Hallo Julia,")
    token = token_of(mail, "activate")
    assert token in mail.html

    assert (await login(client, "julia.richter@example.org", PASSWORD, PORTAL))[
        "code"
    ] == "INVALID_CREDENTIALS"
    other = await call(client, ACTIVATE, portalId=OTHER_PORTAL, token=token)
    assert other["code"] == "INVALID_TOKEN"
    tampered = await call(client, ACTIVATE, portalId=PORTAL, token=token[:-2] + "xx")
    assert tampered["code"] == "INVALID_TOKEN"
    done = await call(client, ACTIVATE, portalId=PORTAL, token=token)
    assert done == {
        "__typename": "AccountActivated",
        "email": "julia.richter@example.org",
        "canLogIn": True,
    }
    reused = await call(client, ACTIVATE, portalId=PORTAL, token=token)
    assert reused["code"] == "INVALID_TOKEN"
    result = await login(client, "julia.richter@example.org", PASSWORD, PORTAL)
    assert (result["__typename"], result["role"]) == ("LoggedIn", "CUSTOMER")


async def test_answers_do_not_tell_who_exists(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    known = await post(client, REGISTER, input=registration_input("anna.becker@example.org"))
    unknown = await post(client, REGISTER, input=registration_input("niemand@example.org"))
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content

    for email in ("anna.becker@example.org", "niemand@example.org"):
        await post(client, REQUEST_RESET, input={"portalId": PORTAL, "email": email})
    known = await post(
        client, REQUEST_RESET, input={"portalId": PORTAL, "email": "anna.becker@example.org"}
    )
    unknown = await post(
        client, REQUEST_RESET, input={"portalId": PORTAL, "email": "x@example.org"}
    )
    assert known.content == unknown.content

    # What differs went into the mails.
    subjects = sorted(m.subject for m in await mails(smtp, sessions))
    assert "Sie haben bereits einen Zugang zum Kundenportal Stadtwerke Musterstadt" in subjects
    assert subjects.count("Neues Passwort für das Kundenportal Stadtwerke Musterstadt") == 2


async def test_bad_input_is_refused_field_by_field(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"password": "1234567890"}, "password"),
        ({"acceptedTerms": False}, "acceptedTerms"),
        ({"identifiers": []}, "identifiers.contact.customer_number"),
        ({"identifiers": [{"key": "contract.number", "value": "1"}]}, "identifiers"),
        ({"language": "fr"}, "language"),
        ({"portalId": global_id("Portal", demo.demo_id("nope"))}, "portalId"),
    ]
    for change, field in cases:
        result = await call(client, REGISTER, **{**registration_input("x@example.org"), **change})
        assert (result["__typename"], result["field"]) == ("MutationError", field), change


async def test_resending_replaces_the_link_and_english_is_english(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await call(client, REGISTER, **registration_input("julia.richter@example.org", language="en"))
    await call(client, RESEND, portalId=PORTAL, email="julia.richter@example.org")
    first, second = await mails(smtp, sessions)
    assert first.subject.startswith("Please confirm your registration")
    tokens = {token_of(first, "activate"), token_of(second, "activate")}
    assert len(tokens) == 2
    results = [await call(client, ACTIVATE, portalId=PORTAL, token=t) for t in tokens]
    assert sorted(r["__typename"] for r in results) == ["AccountActivated", "MutationError"]


async def test_an_expired_link_is_refused(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await call(client, REGISTER, **registration_input("julia.richter@example.org"))
    [mail] = await mails(smtp, sessions)
    await session.execute(
        sa.update(models.OneTimeCode)
        .where(models.OneTimeCode.purpose == "activation")
        .values(expires_at=sa.func.now() - timedelta(seconds=1))
    )
    await session.commit()
    expired = await call(client, ACTIVATE, portalId=PORTAL, token=token_of(mail, "activate"))
    assert expired["code"] == "INVALID_TOKEN"


async def test_a_password_reset_ends_every_session(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = (await login(client, "anna.becker@example.org", "Demo-Kunde-1", PORTAL))["accessToken"]
    await call(client, REQUEST_RESET, portalId=PORTAL, email="ANNA.becker@example.org")
    [mail] = await mails(smtp, sessions)
    link = token_of(mail, "reset-password")

    weak = await call(client, RESET, portalId=PORTAL, token=link, password="anna.becker")
    assert (weak["code"], weak["field"]) == ("INVALID_INPUT", "password")
    done = await call(client, RESET, portalId=PORTAL, token=link, password=PASSWORD)
    assert done == {"__typename": "PasswordReset", "email": "anna.becker@example.org"}
    assert (await post(client, "{ viewer { role } }", token)).status_code == 401
    again = await call(client, RESET, portalId=PORTAL, token=link, password=PASSWORD + "x")
    assert again["code"] == "INVALID_TOKEN"
    assert (await login(client, "anna.becker@example.org", PASSWORD, PORTAL))["role"] == "CUSTOMER"


async def test_mail_requests_are_rate_limited(
    client: httpx.AsyncClient, smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for _ in range(5):
        answer = await call(client, REQUEST_RESET, portalId=PORTAL, email="anna.becker@example.org")
        assert answer["__typename"] == "RequestReceived"  # the same answer throughout
    assert len(await mails(smtp, sessions)) == 3  # MAIL_REQUESTS_PER_EMAIL
    for n in range(17):
        await call(client, REQUEST_RESET, portalId=PORTAL, email=f"x{n}@example.org")
    limited = await call(client, REQUEST_RESET, portalId=PORTAL, email="y@example.org")
    assert limited["code"] == "RATE_LIMITED"  # 20 per address and hour


# --- Staff: invitations and iPM ---------------------------------------------------------------


async def test_an_invited_contact_sets_a_password_and_logs_in(
    client: httpx.AsyncClient,
    agent: str,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    julia = global_id("Contact", JULIA)
    invited = await call(client, INVITE, agent, portalId=PORTAL, contactId=julia)
    assert invited["portalUser"]["registrationStatus"] == "INVITED"
    assert invited["portalUser"]["assignmentStatus"] == "ASSIGNED"
    [mail] = await mails(smtp, sessions)
    assert mail.subject == "Ihre Einladung zum Kundenportal Stadtwerke Musterstadt"
    link = token_of(mail, "invitation")

    done = await call(client, ACCEPT, portalId=PORTAL, token=link, password=PASSWORD)
    assert done["canLogIn"] is True
    assert (await login(client, "julia.richter@example.org", PASSWORD, PORTAL))[
        "role"
    ] == "CUSTOMER"
    again = await call(client, INVITE, agent, portalId=PORTAL, contactId=julia)
    assert again["code"] == "CONFLICT"
    other = await staff_token(client, "admin@nachbarstadt.example", "Demo-Admin-2")
    foreign = await call(client, INVITE, other, portalId=PORTAL, contactId=julia)
    assert foreign["code"] == "NOT_FOUND"


WITHOUT_ACCESS = """query($portal: ID) {
  contacts(filter: {hasPortalUser: false, portalId: $portal}, first: 100) {
    edges { node { email contracts { totalCount } } } } }"""


async def without_access(client: httpx.AsyncClient, token: str) -> list[str]:
    """Emails of the contacts with a contract that the list shows without access."""
    response = await post(client, WITHOUT_ACCESS, token, portal=PORTAL)
    edges = response.json()["data"]["contacts"]["edges"]
    return [
        e["node"]["email"]
        for e in edges
        if e["node"]["email"] and e["node"]["contracts"]["totalCount"] > 0
    ]


async def test_inviting_everyone_twice_sends_each_invitation_once(
    client: httpx.AsyncClient,
    agent: str,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    schulz_without_access: None,
) -> None:
    first = await call(client, INVITE_ALL, agent, portalId=PORTAL, limit=5)
    assert first["invited"] == 5
    rest = await call(client, INVITE_ALL, agent, portalId=PORTAL, limit=5000)
    assert first["remaining"] == rest["invited"] + (rest["skipped"] - first["skipped"]) > 0
    assert rest["remaining"] == 0
    again = await call(client, INVITE_ALL, agent, portalId=PORTAL)
    # Those left without access are reported every time, never invited twice.
    assert again == {
        "__typename": "BulkInvitationPayload",
        "invited": 0,
        "skipped": rest["skipped"],
        "remaining": 0,
    }
    # ... and they are exactly whom the contact list shows without access: one rule.
    left = await without_access(client, agent)
    assert len(left) == again["skipped"] > 0
    assert "familie.schulz@example.org" in left  # Michael or Petra, whoever came second
    received = await mails(smtp, sessions)
    recipients = [m.recipients[0] for m in received]
    assert len(recipients) == len(set(recipients)) == first["invited"] + rest["invited"]
    # Petra and Michael Schulz: one invitation for their shared address.
    assert recipients.count("familie.schulz@example.org") == 1
    invited = await session.scalar(
        sa.select(sa.func.count()).where(
            models.PortalUser.portal_id == CUSTOMER_PORTAL,
            models.PortalUser.registration_status == models.RegistrationStatus.INVITED,
        )
    )
    assert invited == len(recipients) + 1  # plus the demo's invited user


async def test_ipm_staff_set_a_password_then_activate_and_deactivate(
    client: httpx.AsyncClient, agent: str, session: AsyncSession
) -> None:
    julia = global_id("Contact", JULIA)
    created = await call(
        client, SET_PASSWORD, agent, portalId=PORTAL, contactId=julia, password=PASSWORD
    )
    user = created["portalUser"]
    assert (user["registrationStatus"], user["assignmentStatus"]) == ("DISABLED", "ASSIGNED")
    assert (await login(client, "julia.richter@example.org", PASSWORD, PORTAL))[
        "code"
    ] == "INVALID_CREDENTIALS"

    row = await user_by_email(session, "julia.richter@example.org")
    assert row is not None
    user_id = global_id("PortalUser", row.id)
    assert (await call(client, ACTIVATE_USER, agent, id=user_id))["portalUser"][
        "registrationStatus"
    ] == "ACTIVE"
    token = (await login(client, "julia.richter@example.org", PASSWORD, PORTAL))["accessToken"]
    deactivated = await call(client, DEACTIVATE_USER, agent, id=user_id)
    assert deactivated["revokedSessions"] == 1
    assert (await post(client, "{ viewer { role } }", token)).status_code == 401
    assert (await login(client, "julia.richter@example.org", PASSWORD, PORTAL))[
        "code"
    ] == "INVALID_CREDENTIALS"

    weak = await call(
        client, SET_PASSWORD, agent, portalId=PORTAL, contactId=julia, password="kurz"
    )
    assert (weak["code"], weak["field"]) == ("INVALID_INPUT", "password")


async def test_batches_commit_one_by_one_and_a_rerun_invites_nobody(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, test_settings: Settings
) -> None:
    system = Actor(Role.ADMIN, MUSTERSTADT)
    progress: list[tuple[int, int]] = []

    async def run() -> portal_access.BulkInvitation:
        return await portal_access.invite_in_batches(
            sessions,
            system,
            AccessConfig.from_settings(test_settings),
            portal_id=CUSTOMER_PORTAL,
            batch=4,
            active_contract_only=False,
            on_batch=lambda done, remaining: progress.append((done.invited, remaining)),
            now=lambda: datetime.now(UTC),
        )

    first = await run()
    assert first.invited > 4
    assert progress[0][0] == 4
    assert progress[-1][1] == 0
    assert len(progress) >= 2
    assert (await run()).invited == 0
    outbox = await session.scalar(
        sa.select(sa.func.count()).where(models.OutboundEmail.kind == "invitation")
    )
    assert outbox == first.invited
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "portal.contacts_invited")
    )
    assert event is not None
    assert event.actor_type is models.ActorType.SYSTEM


async def test_a_registration_without_a_contact_waits_for_staff(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    agent: str,
) -> None:
    await call(client, REGISTER, **registration_input("neu.kunde@example.org", "K-999999"))
    received = await mails(smtp, sessions)
    [mail] = [m for m in received if m.recipients == ["neu.kunde@example.org"]]
    assert mail.text.startswith("Hallo,")  # no contact, no name
    # The portal's notified staff (the agent, in the demo) are told, with what was entered.
    [staff] = [m for m in received if m.recipients == ["agent@musterstadt.example"]]
    assert staff.subject == (
        "Kundenportal Stadtwerke Musterstadt: Registrierung wartet auf Zuordnung"
        " (neu.kunde@example.org)"
    )
    assert "Kundennummer: K-999999" in staff.text
    assert "assignmentStatus=PENDING" in staff.text
    assert len(received) == 2
    done = await call(client, ACTIVATE, portalId=PORTAL, token=token_of(mail, "activate"))
    assert done == {
        "__typename": "AccountActivated",
        "email": "neu.kunde@example.org",
        "canLogIn": False,
    }
    refused = await login(client, "neu.kunde@example.org", PASSWORD, PORTAL)
    assert refused["code"] == "INVALID_CREDENTIALS"

    # Staff assign the access to Julia's contact: the customer is told and logs in.
    smtp.sink.mails.clear()
    user = global_id("PortalUser", (await user_id_of(sessions, "neu.kunde@example.org")))
    assigned = await call(
        client, ASSIGN, agent, portalUserId=user, contactId=global_id("Contact", JULIA)
    )
    assert assigned["portalUser"]["assignmentStatus"] == "ASSIGNED"
    [told] = await mails(smtp, sessions)
    assert told.recipients == ["neu.kunde@example.org"]
    assert told.subject == "Ihr Zugang zum Kundenportal Stadtwerke Musterstadt ist freigeschaltet"
    assert told.text.startswith("Hallo Julia,")
    assert "K-100007" in told.text
    assert "https://musterstadt.portale.example/portal/login" in told.text
    assert (await login(client, "neu.kunde@example.org", PASSWORD, PORTAL))["role"] == "CUSTOMER"


async def user_id_of(sessions: async_sessionmaker[AsyncSession], email: str) -> Any:
    async with sessions() as db:
        return await db.scalar(
            sa.select(models.PortalUser.id).where(models.PortalUser.email == email)
        )


# --- The mail worker answers the queued requests ------------------------------------------


async def queued(session: AsyncSession) -> int:
    return int(
        await session.scalar(sa.select(sa.func.count()).select_from(models.AccountRequest)) or 0
    )


async def test_reset_request_answered_by_the_worker_with_mail_and_audit(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    await call(client, REQUEST_RESET, portalId=PORTAL, email="anna.becker@example.org")
    # The request looked nobody up: it queued a row and wrote no mail.
    assert await queued(session) == 1
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.OutboundEmail)) == 0

    stop, sent = asyncio.Event(), asyncio.Event()

    async def send(message: EmailMessage) -> None:
        await smtp.transport(message)
        sent.set()

    answer = registration.answering(sessions, WORKER)
    worker = asyncio.create_task(
        delivery.run_worker(sessions, send, RetryPolicy(), stop, poll_seconds=0.05, prepare=answer)
    )
    async with asyncio.timeout(10):
        await sent.wait()
    stop.set()
    await worker

    [mail] = smtp.sink.mails
    assert (mail.recipients, mail.subject) == (
        ["anna.becker@example.org"],
        "Neues Passwort für das Kundenportal Stadtwerke Musterstadt",
    )
    assert await queued(session) == 0
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "portal_user.password_reset_requested"
        )
    )
    assert event is not None
    assert str(event.ip_address) == "127.0.0.1"  # the request's, kept in the queue


async def test_a_request_the_worker_can_not_answer_is_dropped_and_the_queue_goes_on(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    session.add(
        models.AccountRequest(
            organization_id=MUSTERSTADT,
            portal_id=CUSTOMER_PORTAL,
            action="no_such_action",
            email="anna.becker@example.org",
            created_at=now - timedelta(seconds=1),
        )
    )
    await registration.request_password_reset(
        session,
        WORKER,
        portal_id=CUSTOMER_PORTAL,
        email="anna.becker@example.org",
        origin=Origin(),
        now=now,
    )
    await session.commit()
    outcomes = await registration.answer_requests(sessions, WORKER)
    assert [outcome.kind for outcome in outcomes] == ["FAILED", "LINK_SENT"]
    assert await queued(session) == 0
