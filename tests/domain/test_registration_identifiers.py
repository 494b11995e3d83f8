"""Which contact a registration belongs to (seed 001 "Registrierungsprozess", seed 002):
every identifier the portal configures must match, the email only when it is one of
them; a portal may identify by contract number alone. Without GraphQL or HTTP."""

from __future__ import annotations

import pydantic
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import Identifier, IdentifierEntity, Registration
from gql.domain import registration
from gql.domain.errors import InvalidInput
from tests.conftest import CUSTOMER_PORTAL, contact_id

EMAIL = Identifier(entity=IdentifierEntity.CONTACT, attribute="email")
CUSTOMER_NUMBER = Identifier(entity=IdentifierEntity.CONTACT, attribute="customer_number")
CONTRACT_NUMBER = Identifier(entity=IdentifierEntity.CONTRACT, attribute="number")
LAST_NAME = Identifier(entity=IdentifierEntity.CONTACT, attribute="last_name")

ANNA = contact_id("musterstadt", "c00")
JULIA = contact_id("musterstadt", "c06")  # julia.richter@example.org, K-100007
JULIA_CONTRACT = "V-2023-1000013"
ANNA_CONTRACT = "V-2023-1000001"
PETRA = contact_id("musterstadt", "c02")  # familie.schulz@example.org, K-100003
MICHAEL = contact_id("musterstadt", "c03")  # familie.schulz@example.org, K-100004


# --- The rule without a database ----------------------------------------------------------


def test_required_matches_compares_the_login_email_for_the_email_identifier() -> None:
    pairs = registration.required_matches(
        [EMAIL, CUSTOMER_NUMBER], "a@example.org", {"contact.customer_number": "K-1"}
    )
    assert pairs == [(EMAIL, "a@example.org"), (CUSTOMER_NUMBER, "K-1")]


def test_required_matches_without_the_email_identifier_ignores_the_email() -> None:
    pairs = registration.required_matches(
        [CONTRACT_NUMBER], "a@example.org", {"contract.number": "V-1"}
    )
    assert pairs == [(CONTRACT_NUMBER, "V-1")]


@pytest.mark.parametrize("given", [{}, {"contact.customer_number": ""}])
def test_required_matches_with_a_value_missing_matches_nobody(given: dict[str, str]) -> None:
    # E.g. the portal added an identifier after the registration was queued.
    assert registration.required_matches([EMAIL, CUSTOMER_NUMBER], "a@example.org", given) is None


def test_a_portal_may_identify_without_the_email() -> None:
    settings = Registration(identifiers=[CONTRACT_NUMBER])
    assert [i.key for i in settings.identifiers] == ["contract.number"]
    later = Registration(identifiers=[CUSTOMER_NUMBER, EMAIL])
    assert [i.key for i in later.identifiers] == ["contact.customer_number", "contact.email"]


@pytest.mark.parametrize("identifiers", [[], [EMAIL, EMAIL]])
def test_no_identifier_or_a_repeated_one_is_refused(identifiers: list[Identifier]) -> None:
    with pytest.raises(pydantic.ValidationError):
        Registration(identifiers=identifiers)


def test_the_email_is_never_asked_twice() -> None:
    from db.portal_settings import PortalSettings

    settings = PortalSettings(registration=Registration(identifiers=[EMAIL, CUSTOMER_NUMBER]))
    assert registration.clean_identifiers(settings, {"contact.customer_number": " K-1 "}) == {
        "contact.customer_number": "K-1"
    }
    only_contract = PortalSettings(registration=Registration(identifiers=[CONTRACT_NUMBER]))
    with pytest.raises(InvalidInput) as missing:
        registration.clean_identifiers(only_contract, {})
    assert missing.value.field == "identifiers.contract.number"


# --- Against the demo's contacts ----------------------------------------------------------


async def portal_identifying_by(session: AsyncSession, *identifiers: Identifier) -> models.Portal:
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    settings = portal.live_settings
    portal.published_settings = settings.model_copy(
        update={"registration": Registration(identifiers=list(identifiers))}
    )
    return portal


@pytest.mark.parametrize(
    ("email", "number", "expected"),
    [
        ("julia.richter@example.org", "K-100007", JULIA),
        ("JULIA.richter@example.org", " k-100007 ", JULIA),  # case and spaces do not count
        # The right email with a wrong customer number is nobody's (it used to be Julia's).
        ("julia.richter@example.org", "K-999999", None),
        ("julia.richter@example.org", "K-100001", None),  # Anna's number
        ("someone@example.org", "K-100007", None),  # Julia's number, another email
        # Two contacts share the email: the customer number tells them apart.
        ("familie.schulz@example.org", "K-100004", MICHAEL),
        ("familie.schulz@example.org", "K-100003", PETRA),
    ],
)
async def test_email_and_customer_number_must_both_match(
    session: AsyncSession, email: str, number: str, expected: object
) -> None:
    portal = await portal_identifying_by(session, EMAIL, CUSTOMER_NUMBER)
    found = await registration.match_contact(
        session, portal, email, {"contact.customer_number": number}
    )
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(
    ("email", "contract", "expected"),
    [
        ("julia.richter@example.org", JULIA_CONTRACT, JULIA),
        # Contract number alone: any email registers for the contract's holder.
        ("new.address@example.org", JULIA_CONTRACT, JULIA),
        ("julia.richter@example.org", "V-2099-0000000", None),
        # The contract's holder, whatever the email.
        ("julia.richter@example.org", ANNA_CONTRACT, ANNA),
    ],
)
async def test_a_portal_identifying_by_contract_number_alone(
    session: AsyncSession, email: str, contract: str, expected: object
) -> None:
    portal = await portal_identifying_by(session, CONTRACT_NUMBER)
    found = await registration.match_contact(session, portal, email, {"contract.number": contract})
    assert (found.id if found else None) == expected


async def test_contract_number_and_email_must_belong_to_the_same_contact(
    session: AsyncSession,
) -> None:
    portal = await portal_identifying_by(session, EMAIL, CONTRACT_NUMBER)
    match = registration.match_contact
    julia = await match(
        session, portal, "julia.richter@example.org", {"contract.number": JULIA_CONTRACT}
    )
    assert julia is not None
    assert julia.id == JULIA
    crossed = await match(
        session, portal, "julia.richter@example.org", {"contract.number": ANNA_CONTRACT}
    )
    assert crossed is None


async def test_a_value_the_portal_no_longer_asks_for_is_ignored_and_a_new_one_matches_nobody(
    session: AsyncSession,
) -> None:
    by_name = await portal_identifying_by(session, EMAIL, LAST_NAME)
    # Queued with a customer number before the portal switched to the last name.
    queued = {"contact.customer_number": "K-100007"}
    assert (
        await registration.match_contact(session, by_name, "julia.richter@example.org", queued)
        is None
    )
    assert (
        await registration.match_contact(
            session,
            by_name,
            "julia.richter@example.org",
            {**queued, "contact.last_name": "richter"},
        )
    ) is not None
