"""Staff create and edit customer contacts (seed 004): checked like a customer's own
change, audited, the email entered is the login email invitations go to; nobody else
may, and no organization reaches another's contacts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain import contacts
from gql.domain.errors import InvalidInput
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, contact_id, global_id

RESULT = """__typename ... on ContactPayload { contact { id email customerNumber displayName
  phone address { postalCode city country } } }
  ... on MutationError { code field }"""
CREATE = f"mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ {RESULT} }} }}"
UPDATE = f"mutation($input: UpdateContactInput!) {{ updateContact(input: $input) {{ {RESULT} }} }}"
INVITE = """mutation($input: InviteContactInput!) { inviteContact(input: $input) {
  __typename ... on MutationError { code field } } }"""
PORTAL = global_id("Portal", CUSTOMER_PORTAL)
SABINE = contact_id("musterstadt", "c04")  # invited to the customer portal, never accepted
ANNA = contact_id("musterstadt", "c00")


async def run(gql: GraphQLClient, query: str, actor: str, **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def events(session: AsyncSession, action: str) -> list[models.AuditEvent]:
    event = models.AuditEvent
    rows = await session.scalars(
        sa.select(event).where(event.action == action).order_by(event.created_at, event.id)
    )
    return list(rows.all())


# --- The rule, without a database ---------------------------------------------------------


def blank() -> models.Contact:
    return models.Contact(country="DE")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"first_name": "Eva"}, "lastName"),  # neither last name nor company
        ({"last_name": "Berg", "phone": "abc"}, "phone"),
        ({"last_name": "Berg", "postal_code": "1234"}, "postalCode"),  # DE has five digits
        ({"last_name": "Berg", "email": "kein-at-zeichen"}, "email"),
        ({"last_name": "Berg", "customer_number": "K" * 41}, "customerNumber"),
        ({"company_name": "x" * 201}, "companyName"),
        ({"last_name": "Berg", "country": "Deutschland"}, "country"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        contacts.clean(values, blank())
    assert refused.value.field == field


def test_values_are_normalised() -> None:
    cleaned = contacts.clean(
        {
            "company_name": "  Bäckerei   Korn ",
            "email": "Info@Baeckerei-Korn.example",
            "postal_code": "12345",
            "customer_number": " K-200001 ",
        },
        blank(),
    )
    assert cleaned == {
        "company_name": "Bäckerei Korn",
        "email": "info@baeckerei-korn.example",
        "postal_code": "12345",
        "customer_number": "K-200001",
    }


def test_an_empty_email_clears_it_and_a_company_needs_no_last_name() -> None:
    assert contacts.clean({"company_name": "Korn GmbH", "email": ""}, blank()) == {
        "company_name": "Korn GmbH",
        "email": None,
    }


def test_clearing_the_last_name_of_a_person_is_refused() -> None:
    person = models.Contact(country="DE", last_name="Berg")
    with pytest.raises(InvalidInput) as refused:
        contacts.clean({"last_name": None}, person)
    assert refused.value.field == "lastName"


# --- Through GraphQL ---------------------------------------------------------------------


async def test_an_agent_creates_a_contact_and_invites_it_with_the_email_entered(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    created = await run(
        gql,
        CREATE,
        "agent",
        input={
            "firstName": "Eva",
            "lastName": "Berg",
            "email": "Eva.Berg@Example.org",
            "customerNumber": "K-200001",
            "postalCode": "12345",
            "city": "Musterstadt",
        },
    )
    contact = created["contact"]
    assert contact["email"] == "eva.berg@example.org"
    assert contact["displayName"] == "Eva Berg"
    assert contact["address"]["country"] == "DE"
    [event] = await events(session, "contact.created")
    assert event.actor_id == ACTORS["agent"].subject_id
    assert "email" in event.data["fields"]

    invited = await run(
        gql, INVITE, "agent", input={"portalId": PORTAL, "contactId": contact["id"]}
    )
    assert invited == {"__typename": "PortalUserPayload"}
    mail = models.OutboundEmail
    recipients = await session.scalars(sa.select(mail.recipient).where(mail.kind == "invitation"))
    assert list(recipients) == ["eva.berg@example.org"]


async def test_a_customer_number_is_unique_in_the_organization(gql: GraphQLClient) -> None:
    taken = await run(
        gql, CREATE, "agent", input={"lastName": "Berg", "customerNumber": "K-100001"}
    )
    assert (taken["code"], taken["field"]) == ("CONFLICT", "customerNumber")
    # Another organization's numbers are its own.
    elsewhere = await run(
        gql, CREATE, "other_admin", input={"lastName": "Berg", "customerNumber": "K-100001"}
    )
    assert elsewhere["__typename"] == "ContactPayload"


async def test_a_refused_value_is_named(gql: GraphQLClient) -> None:
    refused = await run(gql, CREATE, "admin", input={"lastName": "Berg", "postalCode": "99"})
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "postalCode")
    nameless = await run(gql, CREATE, "admin", input={"firstName": "Eva"})
    assert (nameless["code"], nameless["field"]) == ("INVALID_INPUT", "lastName")


async def test_an_agent_edits_a_contact_and_the_change_is_audited(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    anna = global_id("Contact", ANNA)
    changed = await run(gql, UPDATE, "agent", input={"contactId": anna, "phone": "+49 30 123456"})
    assert changed["contact"]["phone"] == "+49 30 123456"
    [event] = await events(session, "contact.updated")
    assert event.data["to"] == {"phone": "+49 30 123456"}
    assert event.data["from"]["phone"] == "+49 30 5550000"
    same = await run(gql, UPDATE, "agent", input={"contactId": anna, "phone": "+49 30 123456"})
    assert (same["code"], same["field"]) == ("INVALID_INPUT", "input")


async def test_an_open_invitation_follows_a_corrected_email(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    user = models.PortalUser
    sabine = await session.scalar(sa.select(user).where(user.contact_id == SABINE))
    assert sabine is not None
    assert sabine.registration_status is models.RegistrationStatus.INVITED
    code = models.OneTimeCode(
        organization_id=sabine.organization_id,
        purpose="invitation",
        portal_user_id=sabine.id,
        code_hash="0" * 64,
        expires_at=datetime(2100, 1, 1, tzinfo=UTC),
    )
    session.add(code)
    await session.flush()
    await run(
        gql,
        UPDATE,
        "agent",
        input={"contactId": global_id("Contact", SABINE), "email": "sabine.neu@example.org"},
    )
    await session.refresh(sabine)
    await session.refresh(code)
    assert sabine.email == "sabine.neu@example.org"
    assert code.used_at is not None  # the link sent to the old address stopped working


async def test_an_access_in_use_keeps_its_login_email(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await run(
        gql,
        UPDATE,
        "agent",
        input={"contactId": global_id("Contact", ANNA), "email": "anna.neu@example.org"},
    )
    user = models.PortalUser
    logins = await session.scalars(sa.select(user.email).where(user.contact_id == ANNA))
    assert "anna.becker@example.org" in list(logins)


@pytest.mark.parametrize("actor", ["customer", "other_customer", "installer", "anonymous"])
async def test_portal_users_and_strangers_can_not_keep_contacts(
    gql: GraphQLClient, session: AsyncSession, actor: str
) -> None:
    for query, payload in (
        (CREATE, {"lastName": "Berg"}),
        (UPDATE, {"contactId": global_id("Contact", ANNA), "phone": "+49 30 999999"}),
    ):
        data, errors = await gql(query, actor, input=payload)
        assert data is not None
        assert next(iter(data.values())) is None
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    assert await events(session, "contact.created") == []
    assert await events(session, "contact.updated") == []


async def test_another_organization_does_not_reach_the_contact(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    foreign = await run(
        gql,
        UPDATE,
        "other_admin",
        input={"contactId": global_id("Contact", ANNA), "phone": "+49 30 999999"},
    )
    assert (foreign["code"], foreign["field"]) == ("NOT_FOUND", "contactId")
    anna = await session.get_one(models.Contact, ANNA, populate_existing=True)
    assert anna.phone == "+49 30 5550000"
