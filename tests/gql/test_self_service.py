"""Self-service through GraphQL with the demo portal's rules (10 % / 10 %, one change per
three months): the change, the refusals with their range or date, the grant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import Grant
from gql.domain import rules, self_service
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, global_id
from tests.factories import customers_first_contract

CHANGE = """mutation($input: ChangeInstallmentInput!) { changeInstallment(input: $input) {
  __typename
  ... on InstallmentChanged { contract { installmentAmount } }
  ... on InstallmentRefused { reason code field message allowedMin allowedMax nextPossibleAt }
  ... on MutationError { code message field } } }"""


async def anna_contract(session: AsyncSession) -> models.Contract:
    contract = await customers_first_contract(session)
    return contract


async def change(gql: GraphQLClient, contract: Any, amount: str, actor: Any = "customer") -> Any:
    data, errors = await gql(
        CHANGE, actor, input={"contractId": global_id("Contract", contract), "amount": amount}
    )
    assert errors == [], errors
    assert data is not None
    return data["changeInstallment"]


async def test_within_the_range_then_not_again_for_three_months(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract = await anna_contract(session)
    contract_id, current = contract.id, contract.installment_amount
    high = (current * Decimal("1.10")).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
    too_high = await change(gql, contract_id, str(high + Decimal("0.01")))
    assert too_high["reason"] == "OUT_OF_RANGE"
    assert Decimal(str(too_high["allowedMax"])) == high
    done = await change(gql, contract_id, str(high))
    assert Decimal(str(done["contract"]["installmentAmount"])) == high
    again = await change(gql, contract_id, str(current))
    assert again["reason"] == again["code"] == "CADENCE_EXCEEDED"
    assert again["nextPossibleAt"] is not None
    # How often, not which amount, refuses it: no field to mark in the form.
    assert again["field"] is None
    assert too_high["field"] == "amount"
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "contract.installment_changed"
        )
    )
    assert event is not None
    assert event.data == {"from": str(current), "to": str(high)}


async def test_bad_amounts_and_foreign_contracts(gql: GraphQLClient, session: AsyncSession) -> None:
    contract_id = (await anna_contract(session)).id
    assert (await change(gql, contract_id, "85.555"))["field"] == "amount"
    jonas = await session.scalar(
        sa.select(models.Contract.id).where(
            models.Contract.contact_id == ACTORS["other_customer"].contact_id
        )
    )
    foreign = await change(gql, jonas, "50.00")
    assert (foreign["code"], foreign["field"]) == ("NOT_FOUND", "contractId")


async def test_refused_without_the_grant_and_for_staff(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract_id = (await anna_contract(session)).id
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.INSTALLMENT_UPDATE.value})
    for actor in (without, "agent", "installer"):
        data, errors = await gql(
            CHANGE,
            actor,
            input={"contractId": global_id("Contract", contract_id), "amount": "90.00"},
        )
        assert data == {"changeInstallment": None}
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    impersonated = replace(customer, impersonator_id=ACTORS["agent"].subject_id)
    _, errors = await gql(
        CHANGE,
        impersonated,
        input={"contractId": global_id("Contract", contract_id), "amount": "90.00"},
    )
    assert "impersonating" in errors[0].message


PAYMENT = """mutation($input: ChangePaymentMethodInput!) { changePaymentMethod(input: $input) {
  __typename ... on ContractChanged { contract { paymentMethod ibanMasked accountHolder } }
  ... on MutationError { code message field parameters { name value } } } }"""
DUE = """mutation($input: ChangeDueDateInput!) { changeDueDate(input: $input) {
  __typename ... on ContractChanged { contract { dueDay } }
  ... on MutationError { code message field parameters { name value } } } }"""


async def test_payment_method_through_graphql(gql: GraphQLClient, session: AsyncSession) -> None:
    contract_id = global_id("Contract", (await anna_contract(session)).id)

    def sepa_debit(iban: str) -> dict[str, Any]:
        return {
            "contractId": contract_id,
            "method": "SEPA_DEBIT",
            "iban": iban,
            "accountHolder": "Anna Becker",
            "mandateAccepted": True,
        }

    refused = await gql(PAYMENT, "customer", input=sepa_debit("DE89370400440532013001"))
    # A wrong checksum is refused while the request is read (the Iban scalar).
    assert refused[0] is None
    assert "at .iban: This is not a valid IBAN." in refused[1][0].message
    data, errors = await gql(PAYMENT, "customer", input=sepa_debit("DE89 3704 0044 0532 0130 00"))
    assert errors == [], errors
    assert data is not None
    assert data["changePaymentMethod"]["contract"] == {
        "paymentMethod": "SEPA_DEBIT",
        "ibanMasked": "DE89 **** **** **** **30 00",
        "accountHolder": "Anna Becker",
    }


async def test_jonas_can_not_change_while_a_payment_is_overdue(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract = await session.scalar(
        sa.select(models.Contract)
        .where(models.Contract.contact_id == ACTORS["other_customer"].contact_id)
        .limit(1)
    )
    assert contract is not None
    payment = await session.scalar(
        sa.select(models.Payment).where(models.Payment.contract_id == contract.id).limit(1)
    )
    assert payment is not None
    payment.status = models.PaymentStatus.OVERDUE
    await session.commit()
    data, _ = await gql(
        PAYMENT,
        "other_customer",
        input={"contractId": global_id("Contract", contract.id), "method": "TRANSFER"},
    )
    assert data is not None
    refused = data["changePaymentMethod"]
    # The rule's own code and amount, not RULE_VIOLATED; the customer reads German.
    assert refused["code"] == "OVERDUE_PAYMENTS"
    [overdue] = refused["parameters"]
    assert overdue["name"] == "overdueAmount"
    assert Decimal(overdue["value"]) > 0
    assert refused["message"].startswith(
        f"{overdue['value'].replace('.', ',')} EUR sind überfällig"
    )


async def test_due_date_through_graphql(gql: GraphQLClient, session: AsyncSession) -> None:
    contract = await anna_contract(session)
    contract_id = global_id("Contract", contract.id)
    data, errors = await gql(DUE, "customer", input={"contractId": contract_id, "dueDay": 31})
    assert errors == []
    assert data is not None
    assert data["changeDueDate"]["field"] == "dueDay"

    today = datetime.now(UTC).date()
    # A due day whose next date is far enough away: editable.
    far = next(d for d in range(1, 29) if (rules.next_due_date(d, today) - today).days >= 6)
    contract.due_day = far
    await session.commit()
    new_day = far % 28 + 1
    data, _ = await gql(DUE, "customer", input={"contractId": contract_id, "dueDay": new_day})
    assert data is not None
    assert data["changeDueDate"] == {
        "__typename": "ContractChanged",
        "contract": {"dueDay": new_day},
    }

    # Due in the next days: refused.
    near = next(d for d in range(1, 29) if (rules.next_due_date(d, today) - today).days < 5)
    contract = await anna_contract(session)
    contract.due_day = near
    await session.commit()
    data, _ = await gql(DUE, "customer", input={"contractId": contract_id, "dueDay": near % 28 + 1})
    assert data is not None
    refused = data["changeDueDate"]
    assert refused["code"] == "TOO_CLOSE_TO_DUE_DATE"
    due = rules.next_due_date(near, today)
    assert refused["message"].startswith(f"Die nächste Zahlung ist am {due:%d.%m.%Y} fällig")
    assert refused["parameters"] == [
        {"name": "nextDueDate", "value": due.isoformat()},
        {"name": "daysBefore", "value": "5"},
    ]


async def test_published_rules_parsed_once_per_text_and_again_when_they_change(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """The rules and approvals are parsed once per text of them (self_service._published),
    and a portal's new rules are the ones checked from the next request on."""
    contract = await anna_contract(session)
    twice = str(contract.installment_amount * 2)
    for _ in range(2):
        assert (await change(gql, contract.id, twice))["reason"] == "OUT_OF_RANGE"
    before = self_service._published.cache_info()
    assert (await change(gql, contract.id, twice))["reason"] == "OUT_OF_RANGE"
    after = self_service._published.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)

    portal = models.Portal
    await session.execute(
        sa.update(portal)
        .where(portal.id == CUSTOMER_PORTAL)
        .values(
            published_settings=sa.func.jsonb_set(
                portal.published_settings,
                ["rules", "installment", "increment_percent"],
                sa.func.to_jsonb(sa.literal(150)),
            )
        )
    )
    changed = await change(gql, contract.id, twice)
    assert changed["__typename"] == "InstallmentChanged", changed
    assert self_service._published.cache_info().misses == after.misses + 1
