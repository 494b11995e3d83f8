"""What registration and approvals tell and record besides the access itself: the
marketing consent with its text and time (seed 001 "Datenschutzeinstellungen"), the
replacement registration link (seed 002), the staff mail about a pending registration
(ECP onMapAPendingUser) and the customer's mails when assigned and when a change
request is decided."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.demo import MARKETING_CONSENT_DE, demo_id
from db.portal_settings import PortalSettings, Registration
from gql.domain import consent, registration
from gql.domain.errors import InvalidInput
from gql.settings import Settings
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, contact_id, global_id

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
JULIA = contact_id("musterstadt", "c06")
REGISTER = """mutation($input: RegisterInput!) { register(input: $input) {
  __typename ... on MutationError { code field parameters { name value } } } }"""
ASSIGN = """mutation($input: AssignPortalUserInput!) { assignPortalUser(input: $input) {
  __typename ... on MutationError { code } } }"""
UPDATE = """mutation($input: UpdateMyContactInput!) { updateMyContact(input: $input) {
  __typename ... on MutationError { code field } } }"""
APPROVE = """mutation($id: ID!) { approveChangeRequest(input: {changeRequestId: $id}) {
  __typename ... on MutationError { code } } }"""
REJECT = """mutation($id: ID!, $reason: Line!) {
  rejectChangeRequest(input: {changeRequestId: $id, reason: $reason}) {
  __typename ... on MutationError { code } } }"""
CONSENT = """query($id: ID!) { node(id: $id) { ... on Contact {
  marketingConsent marketingConsentAt marketingConsentText } } }"""
ANNA_ADDRESS = global_id("ChangeRequest", demo_id("change-request:musterstadt:anna-address"))


def registering(email: str, number: str, **extra: Any) -> dict[str, Any]:
    return {
        "portalId": PORTAL,
        "email": email,
        "password": "Zählerstand-2026!",
        "identifiers": [{"key": "contact.customer_number", "value": number}],
        "acceptedTerms": True,
        **extra,
    }


async def run(gql: GraphQLClient, query: str, actor: str, **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def worker(session: AsyncSession, test_settings: Settings) -> None:
    """The mail worker answers the queued registrations."""
    config = registration.AccessConfig.from_settings(test_settings)
    while await registration.answer_next(session, config, datetime.now(UTC)) is not None:
        pass


async def outbox(session: AsyncSession, kind: str) -> list[models.OutboundEmail]:
    mail = models.OutboundEmail
    rows = await session.scalars(
        sa.select(mail).where(mail.kind == kind).order_by(mail.created_at, mail.id)
    )
    return list(rows.all())


async def live(session: AsyncSession, **changes: Any) -> PortalSettings:
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    settings = portal.live_settings.model_copy(update=changes)
    portal.published_settings = settings
    await session.flush()
    return settings


# --- The replacement registration link -----------------------------------------------------


async def test_a_portal_with_a_replacement_link_refuses_its_own_registration(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    settings = (await session.get_one(models.Portal, CUSTOMER_PORTAL)).live_settings
    link = "https://musterstadt.example/journeys/registrierung"
    await live(
        session,
        registration=Registration.model_validate(
            {**settings.registration.model_dump(), "registration_link": link}
        ),
    )
    refused = await run(
        gql, REGISTER, "anonymous", input=registering("julia.richter@example.org", "K-100007")
    )
    assert refused["code"] == "REGISTRATION_ELSEWHERE"
    assert refused["parameters"] == [{"name": "registrationLink", "value": link}]
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.AccountRequest)) == 0


async def test_without_a_replacement_link_the_portal_registers(gql: GraphQLClient) -> None:
    answer = await run(
        gql, REGISTER, "anonymous", input=registering("julia.richter@example.org", "K-100007")
    )
    assert answer == {"__typename": "RequestReceived"}


# --- Marketing consent -----------------------------------------------------------------------


def test_consent_needs_a_text_in_the_language_agreed_in() -> None:
    settings = PortalSettings(languages=["de", "en"], marketing_consent_text={"de": " Ja. "})
    assert consent.agreed_text(settings, "de", True) == "Ja."
    assert consent.agreed_text(settings, "de", False) is None
    assert consent.agreed_text(settings, "en", False) is None  # not agreeing needs no text
    with pytest.raises(InvalidInput) as refused:
        consent.agreed_text(settings, "en", True)
    assert (refused.value.key, refused.value.field) == (
        "marketing_consent_without_text",
        "marketingConsent",
    )


async def test_consent_given_while_registering_is_recorded_with_text_and_time(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    before = datetime.now(UTC)
    await run(
        gql,
        REGISTER,
        "anonymous",
        input=registering("julia.richter@example.org", "K-100007", marketingConsent=True),
    )
    await worker(session, test_settings)
    julia = await session.get_one(models.Contact, JULIA, populate_existing=True)
    assert julia.marketing_consent is True
    assert julia.marketing_consent_text == MARKETING_CONSENT_DE
    assert julia.marketing_consent_at is not None
    assert julia.marketing_consent_at >= before
    shown = await run(gql, CONSENT, "agent", id=global_id("Contact", JULIA))
    assert shown["marketingConsentText"] == MARKETING_CONSENT_DE


async def test_consent_in_english_records_the_english_text(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    await run(
        gql,
        REGISTER,
        "anonymous",
        input=registering(
            "julia.richter@example.org", "K-100007", marketingConsent=True, language="en"
        ),
    )
    await worker(session, test_settings)
    julia = await session.get_one(models.Contact, JULIA, populate_existing=True)
    assert julia.marketing_consent_text == "I would like to hear about new tariffs."


async def test_consent_on_a_portal_without_a_text_is_refused(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await live(session, marketing_consent_text={})
    refused = await run(
        gql,
        REGISTER,
        "anonymous",
        input=registering("julia.richter@example.org", "K-100007", marketingConsent=True),
    )
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "marketingConsent")


async def test_a_pending_registrations_consent_waits_for_the_assignment(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    await run(
        gql,
        REGISTER,
        "anonymous",
        input=registering("neu.kunde@example.org", "K-999999", marketingConsent=True),
    )
    await worker(session, test_settings)
    user = await session.scalar(
        sa.select(models.PortalUser).where(models.PortalUser.email == "neu.kunde@example.org")
    )
    assert user is not None
    assert user.contact_id is None
    assert user.marketing_consent_text == MARKETING_CONSENT_DE
    await run(
        gql,
        ASSIGN,
        "agent",
        input={
            "portalUserId": global_id("PortalUser", user.id),
            "contactId": global_id("Contact", JULIA),
        },
    )
    julia = await session.get_one(models.Contact, JULIA, populate_existing=True)
    assert (julia.marketing_consent, julia.marketing_consent_text) == (True, MARKETING_CONSENT_DE)
    held = await session.scalar(
        sa.select(models.PortalUser.marketing_consent_text).where(models.PortalUser.id == user.id)
    )
    assert held is None


async def test_not_agreeing_while_registering_does_not_withdraw(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    julia = await session.get_one(models.Contact, JULIA)
    consent.give(julia, "Früher zugestimmt.", datetime(2025, 1, 1, tzinfo=UTC))
    await session.flush()
    await run(
        gql, REGISTER, "anonymous", input=registering("julia.richter@example.org", "K-100007")
    )
    await worker(session, test_settings)
    julia = await session.get_one(models.Contact, JULIA, populate_existing=True)
    assert julia.marketing_consent_text == "Früher zugestimmt."


async def test_a_customer_withdrawing_and_giving_consent_is_recorded(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    anna_id = ACTORS["customer"].contact_id
    assert anna_id is not None
    assert await run(gql, UPDATE, "customer", input={"marketingConsent": False}) == {
        "__typename": "MyContactUpdated"
    }
    anna = await session.get_one(models.Contact, anna_id, populate_existing=True)
    assert (anna.marketing_consent, anna.marketing_consent_text) == (False, None)
    withdrawn_at = anna.marketing_consent_at
    assert withdrawn_at is not None
    await run(gql, UPDATE, "customer", input={"marketingConsent": True})
    anna = await session.get_one(models.Contact, anna_id, populate_existing=True)
    assert (anna.marketing_consent, anna.marketing_consent_text) == (True, MARKETING_CONSENT_DE)
    mine = await run(gql, CONSENT, "customer", id=global_id("Contact", anna_id))
    assert mine["marketingConsentText"] == MARKETING_CONSENT_DE


async def test_other_roles_and_organizations_do_not_see_a_consent(gql: GraphQLClient) -> None:
    anna_id = ACTORS["customer"].contact_id
    assert anna_id is not None
    anna = global_id("Contact", anna_id)
    for actor in ("installer", "other_admin", "other_customer", "other_org_customer"):
        data, errors = await gql(CONSENT, actor, id=anna)
        assert data is not None
        node = data["node"]
        assert node is None or node["marketingConsentText"] is None, actor
        if node is not None:  # the installer sees Anna's name (an order), not her consent
            assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"] * 3


# --- Mails: pending registration to staff; assigned and decided to the customer -------------


async def test_staff_are_told_of_a_pending_registration_only_when_notified(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    await run(gql, REGISTER, "anonymous", input=registering("neu.kunde@example.org", "K-999999"))
    await worker(session, test_settings)
    [mail] = await outbox(session, "pending_user")
    assert mail.recipient == "agent@musterstadt.example"
    assert "Kundennummer: K-999999" in mail.body_text

    await live(session, notify_staff_user_ids=[])
    await run(gql, REGISTER, "anonymous", input=registering("noch.wer@example.org", "K-999998"))
    await worker(session, test_settings)
    assert len(await outbox(session, "pending_user")) == 1
    # A registration that matches a contact waits for nobody: no staff mail either.
    await live(session, notify_staff_user_ids=[str(ACTORS["agent"].subject_id)])
    await run(
        gql, REGISTER, "anonymous", input=registering("julia.richter@example.org", "K-100007")
    )
    await worker(session, test_settings)
    assert len(await outbox(session, "pending_user")) == 1


async def test_the_customer_is_told_when_a_change_request_is_approved(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    assert await run(gql, APPROVE, "agent", id=ANNA_ADDRESS) == {
        "__typename": "ChangeRequestDecided"
    }
    [mail] = await outbox(session, "change_request_decided")
    assert mail.recipient == "anna.becker@example.org"
    assert mail.subject == "Ihre Änderung wurde übernommen: Adresse"
    assert mail.body_text.startswith("Hallo Anna,")
    assert "https://musterstadt.portale.example/portal/login" in mail.body_text


async def test_the_customer_is_told_why_a_change_request_is_rejected(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    anna.language = "en"
    await session.flush()
    reason = "Please send us a copy of the new lease."
    assert await run(gql, REJECT, "agent", id=ANNA_ADDRESS, reason=reason) == {
        "__typename": "ChangeRequestDecided"
    }
    [mail] = await outbox(session, "change_request_decided")
    assert mail.subject == "Your change was declined: Address"
    assert f"Reason: {reason}" in mail.body_text
    assert reason in mail.body_html


async def test_nobody_is_told_of_a_decision_others_may_not_make(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    for actor in ("customer", "other_customer", "installer", "other_admin"):
        data, errors = await gql(APPROVE, actor, id=ANNA_ADDRESS)
        answer = (data or {}).get("approveChangeRequest")
        codes = [(e.extensions or {}).get("code") for e in errors]
        assert codes == ["FORBIDDEN"] or answer == {
            "__typename": "MutationError",
            "code": "NOT_FOUND",
        }, actor
    assert await outbox(session, "change_request_decided") == []
