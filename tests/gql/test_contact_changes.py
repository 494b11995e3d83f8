"""Customers edit their contact data; approval-required groups wait for staff
(gql.domain.contact_changes), and staff are notified of every customer change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.demo import demo_id
from gql.domain import contact_changes, notifications
from gql.domain.audit import Origin
from gql.domain.errors import InvalidInput
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, global_id
from tests.meter_helpers import anna_meter, plausible_value, submit

UPDATE = """mutation($input: UpdateMyContactInput!) { updateMyContact(input: $input) {
  __typename ... on MyContactUpdated { applied contact { phone lastName }
    changeRequests { id attribute status oldValue newValue } }
  ... on MutationError { code message field detail } } }"""
APPROVE = """mutation($id: ID!) { approveChangeRequest(input: {changeRequestId: $id}) {
  __typename ... on ChangeRequestDecided { changeRequest { status decidedBy { name } } }
  ... on MutationError { code message field detail } } }"""
REJECT = """mutation($id: ID!, $reason: Line!) {
  rejectChangeRequest(input: {changeRequestId: $id, reason: $reason}) {
  __typename ... on ChangeRequestDecided { changeRequest { status reason } }
  ... on MutationError { code message field detail } } }"""
MINE = "{ viewer { myChangeRequests { totalCount edges { node { attribute status } } } } }"
ANNA_ADDRESS = global_id("ChangeRequest", demo_id("change-request:musterstadt:anna-address"))
ANNA_CONTACT = ACTORS["customer"].contact_id


async def run(gql: GraphQLClient, query: str, actor: str, **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def anna(session: AsyncSession) -> models.Contact:
    return await session.get_one(models.Contact, ANNA_CONTACT, populate_existing=True)


async def staff_mails(session: AsyncSession) -> list[models.OutboundEmail]:
    mail = models.OutboundEmail
    rows = await session.scalars(
        sa.select(mail).where(mail.kind == notifications.KIND).order_by(mail.created_at, mail.id)
    )
    return list(rows.all())


# --- Cleaning, on the plain function -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"phone": " +49 30  1234567 "}, {"phone": "+49 30 1234567"}),
        ({"phone": ""}, {"phone": None}),
        ({"email": " Anna.Neu@Example.ORG "}, {"email": "anna.neu@example.org"}),
        ({"postal_code": "10115"}, {"postal_code": "10115"}),
        ({"country": "at", "postal_code": "1010"}, {"country": "AT", "postal_code": "1010"}),
        ({"last_name": "  Becker-Neu "}, {"last_name": "Becker-Neu"}),
        ({"first_name": ""}, {"first_name": None}),
    ],
)
def test_values_are_cleaned(changes: dict[str, str], expected: dict[str, str | None]) -> None:
    current = models.Contact(country="DE")
    assert contact_changes.clean(changes, current) == expected


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"email": "anna@"}, "email"),
        ({"postal_code": "1234"}, "postalCode"),  # four digits are Austrian, not German
        ({"country": "Deutschland"}, "country"),
        ({"last_name": "  "}, "lastName"),
        ({"street": "x" * 201}, "street"),
    ],
)
def test_bad_values_name_their_field(changes: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        contact_changes.clean(changes, models.Contact(country="DE"))
    assert refused.value.field == field


# --- Through GraphQL -------------------------------------------------------------------------


async def test_free_attributes_change_at_once_and_approval_ones_wait(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    result = await run(gql, UPDATE, "customer", input={"phone": "+49 30 999", "lastName": "Neu"})
    assert result["__typename"] == "MyContactUpdated"
    assert result["applied"] == ["PHONE"]
    assert result["contact"] == {"phone": "+49 30 999", "lastName": "Becker"}
    [request] = result["changeRequests"]
    assert (request["attribute"], request["status"]) == ("NAME", "PENDING")
    assert request["oldValue"] == {"first_name": "Anna", "last_name": "Becker"}
    assert request["newValue"] == {"first_name": "Anna", "last_name": "Neu"}
    assert (await anna(session)).last_name == "Becker"  # not yet

    mine = await run(gql, MINE, "customer")
    assert mine["myChangeRequests"]["totalCount"] == 2  # with the demo's address request
    other = await run(gql, MINE, "other_customer")
    assert other["myChangeRequests"]["totalCount"] == 0

    # The agent is notified twice: the phone changed, the name waits.
    mails = await staff_mails(session)
    assert [m.recipient for m in mails] == ["agent@musterstadt.example"] * 2
    assert {m.subject for m in mails} == {
        "Kundenportal Stadtwerke Musterstadt: Kontaktdaten geändert (Anna Becker)",
        "Kundenportal Stadtwerke Musterstadt: Änderung wartet auf Freigabe (Anna Becker)",
    }
    waiting = next(m for m in mails if "Freigabe" in m.subject)
    assert "last_name: Becker -> Neu" in waiting.body_text
    assert "/change-requests" in waiting.body_text

    # The customer can not approve; the agent can, and then the contact changes.
    data, errors = await gql(APPROVE, "customer", id=request["id"])
    assert data == {"approveChangeRequest": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    approved = await run(gql, APPROVE, "agent", id=request["id"])
    assert approved["changeRequest"] == {"status": "APPROVED", "decidedBy": {"name": "Ali Agent"}}
    assert (await anna(session)).last_name == "Neu"
    again = await run(gql, APPROVE, "agent", id=request["id"])
    assert (again["code"], again["field"]) == ("RULE_VIOLATED", "changeRequestId")


async def test_a_second_request_for_a_waiting_group_is_refused(gql: GraphQLClient) -> None:
    result = await run(gql, UPDATE, "customer", input={"street": "Birkenweg"})
    assert (result["code"], result["field"]) == ("CONFLICT", "street")
    assert "already waiting" in result["detail"]


async def test_approving_after_the_contact_changed_is_a_conflict(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contact = await anna(session)
    contact.house_number = "99"  # changed in the CRM since Anna asked
    await session.flush()
    result = await run(gql, APPROVE, "agent", id=ANNA_ADDRESS)
    assert (result["code"], result["field"]) == ("CONFLICT", "changeRequestId")
    assert "houseNumber" in result["detail"]
    assert (await anna(session)).street != "Lindenweg"
    rejected = await run(gql, REJECT, "agent", id=ANNA_ADDRESS, reason="Bitte neu stellen")
    assert rejected["changeRequest"] == {"status": "REJECTED", "reason": "Bitte neu stellen"}


async def test_the_demo_address_change_is_approved(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    listed = await run(gql, "{ changeRequests(filter: {status: PENDING}) { totalCount } }", "agent")
    assert listed == {"totalCount": 1}
    await run(gql, APPROVE, "agent", id=ANNA_ADDRESS)
    contact = await anna(session)
    assert (contact.street, contact.house_number) == ("Lindenweg", "7")
    # Now Anna may ask again.
    result = await run(gql, UPDATE, "customer", input={"houseNumber": "7a"})
    assert [r["attribute"] for r in result["changeRequests"]] == ["ADDRESS"]


async def test_staff_of_another_organization_see_and_decide_nothing(gql: GraphQLClient) -> None:
    listed = await run(gql, "{ changeRequests { totalCount } }", "other_admin")
    assert listed == {"totalCount": 0}
    result = await run(gql, APPROVE, "other_admin", id=ANNA_ADDRESS)
    assert result["code"] == "NOT_FOUND"


async def test_nothing_to_change_and_bad_input_are_refused(gql: GraphQLClient) -> None:
    same = await run(gql, UPDATE, "customer", input={"lastName": "Becker"})
    assert (same["code"], same["field"]) == ("INVALID_INPUT", "input")
    bad = await run(gql, UPDATE, "customer", input={"postalCode": "ABC"})
    assert (bad["code"], bad["field"]) == ("INVALID_INPUT", "postalCode")


async def test_marketing_consent_never_waits(gql: GraphQLClient, session: AsyncSession) -> None:
    before = (await anna(session)).marketing_consent
    result = await run(gql, UPDATE, "customer", input={"marketingConsent": not before})
    assert result["applied"] == ["MARKETING_CONSENT"]
    assert result["changeRequests"] == []
    assert (await anna(session)).marketing_consent is (not before)


async def test_only_portal_users_changes_notify_staff(session: AsyncSession) -> None:
    contact = await anna(session)
    notify = notifications.Notifier("portal@example.org", "http://staff.example")
    for actor in ("agent", "customer"):
        await notifications.customer_change(
            session, notify, ACTORS[actor], contact, "contact.updated", Origin(), {}
        )
    await session.flush()
    mails = await staff_mails(session)
    assert [m.recipient for m in mails] == ["agent@musterstadt.example"]
    events = await session.scalars(
        sa.select(models.AuditEvent.actor_type).where(models.AuditEvent.action == "contact.updated")
    )
    assert sorted(events.all()) == ["PORTAL_USER", "STAFF"]


async def test_staff_notifications_use_the_portals_edited_template(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """STAFF_NOTIFICATION is a portal template like every other: the portal's edited
    text (in the staff user's language) is what the notified staff receive."""
    update = """mutation($input: UpdateEmailTemplateInput!) { updateEmailTemplate(input: $input) {
      __typename ... on MutationError { code field } } }"""
    edited = {
        "portalId": global_id("Portal", CUSTOMER_PORTAL),
        "kind": "STAFF_NOTIFICATION",
        "language": "de",
        "subject": "[{{ portal.name }}] {{ change.summary }}",
        "bodyText": "{{ staff.name }}: {{ customer.name }} ({{ contact.customer_number }},"
        " {{ user.email }}) {% for line in change.details %}{{ line }}{% endfor %}",
        "bodyHtml": "<p>{{ change.summary }}{{ change.link }}</p>",
    }
    saved = await run(gql, update, "admin", input=edited)
    assert saved == {"__typename": "EmailTemplatePayload"}
    notify = notifications.Notifier("portal@example.org", "http://staff.example")
    await notifications.customer_change(
        session,
        notify,
        ACTORS["customer"],
        await anna(session),
        "contact.updated",
        Origin(),
        {},
        details=["Telefon: 030 1234567"],
    )
    await session.flush()
    [sent] = await staff_mails(session)
    assert sent.subject == "[Kundenportal Stadtwerke Musterstadt] Kontaktdaten geändert"
    assert sent.body_text == (
        "Ali Agent: Anna Becker (K-100001, anna.becker@example.org) Telefon: 030 1234567"
    )


# --- Offers ----------------------------------------------------------------------------------

RESPOND = """mutation($id: ID!, $accept: Boolean!, $reason: Line) {
  respondToOffer(input: {orderId: $id, accept: $accept, reason: $reason}) {
  __typename ... on OfferAnswered { order { status offerDeclineReason offerAnsweredAt }
    journey { journeyId label } }
  ... on MutationError { code message field detail } } }"""
OFFER = global_id("Order", demo_id("order:musterstadt:4"))
NOT_AN_OFFER = global_id("Order", demo_id("order:musterstadt:0"))


async def test_accepting_an_offer_opens_the_order_and_names_the_journey(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    result = await run(gql, RESPOND, "customer", id=OFFER, accept=True)
    assert result["order"]["status"] == "OPEN"
    assert result["order"]["offerAnsweredAt"] is not None
    assert result["journey"] == {
        "journeyId": "angebot-angenommen",
        "label": "Nächste Schritte zu Ihrer Anlage",
    }
    again = await run(gql, RESPOND, "customer", id=OFFER, accept=False)
    assert (again["code"], again["detail"]) == (
        "RULE_VIOLATED",
        "This offer was already answered.",
    )
    [mail] = await staff_mails(session)
    assert mail.subject.endswith("Angebot angenommen (Anna Becker)")


async def test_declining_records_the_reason(gql: GraphQLClient) -> None:
    with_reason = await run(gql, RESPOND, "customer", id=OFFER, accept=True, reason="zu teuer")
    assert (with_reason["code"], with_reason["field"]) == ("RULE_VIOLATED", "reason")
    result = await run(gql, RESPOND, "customer", id=OFFER, accept=False, reason=" zu  teuer ")
    assert result["order"]["status"] == "DECLINED"
    assert result["order"]["offerDeclineReason"] == "zu teuer"
    assert result["journey"]["journeyId"] == "angebot-abgelehnt"


async def test_only_offers_of_the_customer_can_be_answered(gql: GraphQLClient) -> None:
    not_offer = await run(gql, RESPOND, "customer", id=NOT_AN_OFFER, accept=True)
    assert (not_offer["code"], not_offer["detail"]) == (
        "RULE_VIOLATED",
        "This order is not an offer.",
    )
    foreign = await run(gql, RESPOND, "other_customer", id=OFFER, accept=True)
    assert (foreign["code"], foreign["field"]) == ("NOT_FOUND", "orderId")


# --- Contract changes and readings that need approval ----------------------------------------

INSTALLMENT = """mutation($id: ID!, $amount: Decimal!) {
  changeInstallment(input: {contractId: $id, amount: $amount}) {
  __typename ... on ChangeRequested { changeRequest { id attribute oldValue newValue
    contract { number } } }
  ... on InstallmentChanged { contract { installmentAmount } }
  ... on InstallmentRefused { reason } ... on MutationError { code message field detail } } }"""
DUE_DAY = """mutation($id: ID!) { changeDueDate(input: {contractId: $id, dueDay: 20}) {
  __typename ... on ChangeRequested { changeRequest { id attribute } }
  ... on MutationError { code message field detail } } }"""


async def require_approval(session: AsyncSession, *attributes: str) -> None:
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"approval_required_attributes": list(attributes)}
    )
    await session.flush()


async def test_contract_changes_wait_for_approval_when_the_portal_says_so(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await require_approval(session, "contract.installment", "contract.due_day")
    contract = await session.scalar(
        sa.select(models.Contract)
        .where(models.Contract.contact_id == ANNA_CONTACT)
        .order_by(models.Contract.number)
        .limit(1)
    )
    assert contract is not None
    before = contract.installment_amount
    wanted = (before * Decimal("1.05")).quantize(Decimal("0.01"))
    contract_id = global_id("Contract", contract.id)

    result = await run(gql, INSTALLMENT, "customer", id=contract_id, amount=str(wanted))
    assert result["__typename"] == "ChangeRequested"
    request = result["changeRequest"]
    assert request["attribute"] == "INSTALLMENT"
    assert request["oldValue"] == {"installment_amount": str(before)}
    assert request["newValue"] == {"installment_amount": str(wanted)}
    assert request["contract"] == {"number": contract.number}
    await session.refresh(contract)
    assert contract.installment_amount == before  # not yet
    # Out of range is still refused at once, before any request.
    too_much = await run(gql, INSTALLMENT, "customer", id=contract_id, amount=str(before * 2))
    assert too_much == {"__typename": "InstallmentRefused", "reason": "OUT_OF_RANGE"}

    await run(gql, APPROVE, "agent", id=request["id"])
    await session.refresh(contract)
    assert contract.installment_amount == wanted
    # The approved change counts for the cadence (once per 3 months).
    again = await run(gql, INSTALLMENT, "customer", id=contract_id, amount=str(before))
    assert again == {"__typename": "InstallmentRefused", "reason": "CADENCE_EXCEEDED"}

    due = await run(gql, DUE_DAY, "customer", id=contract_id)
    assert (due["__typename"], due["changeRequest"]["attribute"]) == ("ChangeRequested", "DUE_DAY")
    await run(gql, APPROVE, "agent", id=due["changeRequest"]["id"])
    await session.refresh(contract)
    assert contract.due_day == 20


async def test_readings_wait_for_review_when_the_portal_says_so(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await require_approval(session, "meter_reading")
    meter_id, last = await anna_meter(session)
    value = await plausible_value(session, meter_id, last)
    result = await submit(gql, meterId=global_id("Meter", meter_id), value=value, clientKey="ok")
    assert result["reading"]["status"] == "PENDING_REVIEW"
    by_staff = await submit(
        gql,
        "agent",
        meterId=global_id("Meter", meter_id),
        value=str(Decimal(value) + 1),
        clientKey="staff",
    )
    assert by_staff["reading"]["status"] == "ACCEPTED"


async def test_a_new_iban_waits_and_staff_mails_mask_it(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await require_approval(session, "contract.iban")
    contract = await session.scalar(
        sa.select(models.Contract)
        .where(models.Contract.contact_id == ANNA_CONTACT)
        .order_by(models.Contract.number)
        .limit(1)
    )
    assert contract is not None
    query = """mutation($id: ID!) { changePaymentMethod(input: {contractId: $id,
      method: SEPA_DEBIT, iban: "DE02 1203 0000 0000 2020 51", accountHolder: "Anna Becker",
      mandateAccepted: true}) { __typename ... on ChangeRequested { changeRequest {
      id attribute newValue } } ... on MutationError { code message field detail } } }"""
    result = await run(gql, query, "customer", id=global_id("Contract", contract.id))
    request = result["changeRequest"]
    assert request["attribute"] == "PAYMENT_METHOD"
    assert request["newValue"]["iban"] == "DE02120300000000202051"
    [mail] = [m for m in await staff_mails(session) if "Freigabe" in m.subject]
    assert "...2051" in mail.body_text
    assert "DE02120300000000202051" not in mail.body_text
    await run(gql, APPROVE, "agent", id=request["id"])
    await session.refresh(contract)
    assert (contract.iban, contract.payment_method) == (
        "DE02120300000000202051",
        models.PaymentMethod.SEPA_DEBIT,
    )
