"""The rules read in advance (`Contract.installmentRules`, `dueDateRules`,
`paymentMethodOptions`, `MeterRegister.readingRange`) against the mutations that
enforce them, at their bounds, and `dryRun`, which answers as the mutation would and
writes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import InstallmentRules
from gql.domain import rules
from tests.conftest import ACTORS, GraphQLClient, global_id
from tests.factories import customers_first_contract
from tests.meter_helpers import SUBMIT, anna_meter

CENT = Decimal("0.01")
STEP = Decimal("0.001")

RULES = """query($id: ID!) { node(id: $id) { ... on Contract {
  installmentAmount dueDay paymentMethod
  installmentRules { enabled minAmount maxAmount changePossible nextChangeAt needsApproval }
  dueDateRules { enabled allowedDays nextDueDate changePossible changeableUntil nextChangeOn
    needsApproval }
  paymentMethodOptions { method current allowed reason message nextPossibleAt needsApproval }
} } }"""
INSTALLMENT = """mutation($input: ChangeInstallmentInput!) { changeInstallment(input: $input) {
  __typename ... on InstallmentChanged { contract { installmentAmount } }
  ... on ChangeRequested { changeRequest { attribute newValue } }
  ... on InstallmentRefused { reason allowedMin allowedMax nextPossibleAt }
  ... on MutationError { code message field } } }"""
PAYMENT = """mutation($input: ChangePaymentMethodInput!) { changePaymentMethod(input: $input) {
  __typename ... on ContractChanged { contract { paymentMethod ibanMasked } }
  ... on ChangeRequested { changeRequest { attribute newValue } }
  ... on MutationError { code message field } } }"""
DUE = """mutation($input: ChangeDueDateInput!) { changeDueDate(input: $input) {
  __typename ... on ContractChanged { contract { dueDay } }
  ... on ChangeRequested { changeRequest { attribute newValue } }
  ... on MutationError { code message field } } }"""
RANGE = """query($id: ID!, $at: DateTime) { node(id: $id) { ... on MeterRegister {
  readingRange(readAt: $at) { obisCode acceptsReadings readAt earliestReadAt latestReadAt
    minimumValue maximumValue lowestPlausibleValue highestPlausibleValue
    previousValue previousReadAt } } } }"""


async def anna_contract_id(session: AsyncSession) -> uuid.UUID:
    return (await customers_first_contract(session)).id


async def ask(gql: GraphQLClient, query: str, actor: Any = "customer", **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def contract_rules(
    gql: GraphQLClient, contract_id: uuid.UUID, actor: Any = "customer"
) -> Any:
    return await ask(gql, RULES, actor, id=global_id("Contract", contract_id))


async def written(session: AsyncSession, contract_id: uuid.UUID) -> dict[str, Any]:
    """Everything a self-service mutation writes: its rows, and the contract's values."""
    counts = {
        model.__tablename__: await session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (
            models.AuditEvent,
            models.OutboundEmail,
            models.ChangeRequest,
            models.MeterReading,
        )
    }
    contract = models.Contract
    row = (
        await session.execute(
            sa.select(
                contract.installment_amount,
                contract.payment_method,
                contract.iban,
                contract.due_day,
            ).where(contract.id == contract_id)
        )
    ).one()
    return {**counts, "contract": tuple(row)}


async def require_approval(session: AsyncSession, *attributes: str) -> None:
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"approval_required_attributes": list(attributes)}
    )
    await session.commit()


# --- Installment ---------------------------------------------------------------------------


async def test_installment_bounds_in_advance_are_the_mutations_bounds(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract_id = await anna_contract_id(session)
    gid = global_id("Contract", contract_id)
    advance = (await contract_rules(gql, contract_id))["installmentRules"]
    assert advance["enabled"]
    assert advance["changePossible"]
    assert advance["nextChangeAt"] is None
    assert advance["needsApproval"] is False
    low, high = Decimal(str(advance["minAmount"])), Decimal(str(advance["maxAmount"]))

    async def change(amount: Decimal, dry_run: bool) -> Any:
        payload = {"contractId": gid, "amount": str(amount), "dryRun": dry_run}
        return await ask(gql, INSTALLMENT, input=payload)

    for outside in (low - CENT, high + CENT):
        refused = await change(outside, dry_run=True)
        assert refused["reason"] == "OUT_OF_RANGE"
        assert (Decimal(str(refused["allowedMin"])), Decimal(str(refused["allowedMax"]))) == (
            low,
            high,
        )
    before = await written(session, contract_id)
    tried = await change(low, dry_run=True)
    assert tried == {
        "__typename": "InstallmentChanged",
        "contract": {"installmentAmount": str(low)},
    }
    assert await written(session, contract_id) == before

    done = await change(high, dry_run=False)
    assert done["contract"] == {"installmentAmount": str(high)}

    # The cadence (one change per three months) now answers when; the mutation agrees.
    after = (await contract_rules(gql, contract_id))["installmentRules"]
    assert after["changePossible"] is False
    assert after["nextChangeAt"] is not None
    refused = await change(high - CENT, dry_run=True)
    assert refused["reason"] == "CADENCE_EXCEEDED"
    assert refused["nextPossibleAt"] == after["nextChangeAt"]
    # The range moved with the amount (the demo portal: 10 % either way).
    ten_percent = InstallmentRules(increment_percent=Decimal(10), decrement_percent=Decimal(10))
    assert Decimal(str(after["minAmount"])) == rules.installment_range(high, ten_percent).minimum


async def test_staff_read_the_rules_of_the_customer_portal(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract_id = await anna_contract_id(session)
    as_customer = await contract_rules(gql, contract_id)
    for staff in ("admin", "agent"):
        assert await contract_rules(gql, contract_id, staff) == as_customer


async def test_approval_is_announced_and_the_dry_run_requests_nothing(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await require_approval(session, "contract.installment", "contract.due_day")
    contract_id = await anna_contract_id(session)
    advance = await contract_rules(gql, contract_id)
    assert advance["installmentRules"]["needsApproval"] is True
    assert advance["dueDateRules"]["needsApproval"] is True
    assert {option["needsApproval"] for option in advance["paymentMethodOptions"]} == {False}

    amount = Decimal(str(advance["installmentRules"]["maxAmount"]))
    payload = {"contractId": global_id("Contract", contract_id), "amount": str(amount)}
    before = await written(session, contract_id)
    tried = await ask(gql, INSTALLMENT, input={**payload, "dryRun": True})
    assert tried == {
        "__typename": "ChangeRequested",
        "changeRequest": {
            "attribute": "INSTALLMENT",
            "newValue": {"installment_amount": str(amount)},
        },
    }
    assert await written(session, contract_id) == before
    assert (await ask(gql, INSTALLMENT, input=payload)) == tried
    assert (await written(session, contract_id))["change_request"] == before["change_request"] + 1


# --- Payment method ------------------------------------------------------------------------


async def test_payment_method_options_are_what_the_mutation_accepts(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract_id = await anna_contract_id(session)
    options = (await contract_rules(gql, contract_id))["paymentMethodOptions"]
    assert {option["method"] for option in options} == {"SEPA_DEBIT", "TRANSFER"}
    assert all(option["allowed"] and option["reason"] is None for option in options)
    transfer = {"contractId": global_id("Contract", contract_id), "method": "TRANSFER"}
    before = await written(session, contract_id)
    tried = await ask(gql, PAYMENT, input={**transfer, "dryRun": True})
    assert tried == {
        "__typename": "ContractChanged",
        "contract": {"paymentMethod": "TRANSFER", "ibanMasked": None},
    }
    assert await written(session, contract_id) == before

    # Two changes a year: after two real ones, the options and the mutation say when.
    sepa = {
        "contractId": transfer["contractId"],
        "method": "SEPA_DEBIT",
        "iban": "DE89370400440532013000",
        "accountHolder": "Anna Becker",
        "mandateAccepted": True,
    }
    assert (await ask(gql, PAYMENT, input=transfer))["__typename"] == "ContractChanged"
    assert (await ask(gql, PAYMENT, input=sepa))["__typename"] == "ContractChanged"
    options = (await contract_rules(gql, contract_id))["paymentMethodOptions"]
    assert {(o["allowed"], o["reason"]) for o in options} == {(False, "CADENCE_EXCEEDED")}
    assert [o["method"] for o in options if o["current"]] == ["SEPA_DEBIT"]
    refused = await ask(gql, PAYMENT, input={**transfer, "dryRun": True})
    assert refused["code"] == "CADENCE_EXCEEDED"
    assert refused["field"] is None  # the number of changes refuses it, not a value
    assert options[0]["message"] == refused["message"]
    assert options[0]["nextPossibleAt"] is not None


async def test_overdue_payments_block_every_method_in_advance_too(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    contract_id = await session.scalar(
        sa.select(models.Contract.id)
        .where(models.Contract.contact_id == ACTORS["other_customer"].contact_id)
        .order_by(models.Contract.number)
        .limit(1)
    )
    assert contract_id is not None
    await session.execute(
        sa.update(models.Payment)
        .where(models.Payment.contract_id == contract_id)
        .values(status=models.PaymentStatus.OVERDUE)
    )
    await session.commit()
    options = (await contract_rules(gql, contract_id, "other_customer"))["paymentMethodOptions"]
    assert {(o["allowed"], o["reason"]) for o in options} == {(False, "OVERDUE_PAYMENTS")}
    refused = await ask(
        gql,
        PAYMENT,
        "other_customer",
        input={"contractId": global_id("Contract", contract_id), "method": "TRANSFER"},
    )
    assert refused["code"] == "OVERDUE_PAYMENTS"
    assert refused["message"] == options[0]["message"]


# --- Due date ------------------------------------------------------------------------------


@pytest.mark.parametrize("days_to_due", [0, 3, 4, 5, 6, 20])
async def test_due_date_rules_are_what_the_mutation_accepts(
    gql: GraphQLClient, session: AsyncSession, days_to_due: int
) -> None:
    """Due days whose next date is 0 to 20 days away (the demo portal: until 5 days
    before): the answer in advance and the mutation agree today."""
    today = datetime.now(UTC).date()
    current = next(
        (d for d in range(1, 29) if (rules.next_due_date(d, today) - today).days == days_to_due),
        None,
    )
    if current is None:
        pytest.skip(f"no due day is {days_to_due} days away today")
    contract_id = await anna_contract_id(session)
    await session.execute(
        sa.update(models.Contract).where(models.Contract.id == contract_id).values(due_day=current)
    )
    await session.commit()
    advance = (await contract_rules(gql, contract_id))["dueDateRules"]
    assert advance["enabled"]
    assert current not in advance["allowedDays"]
    assert advance["nextDueDate"] == rules.next_due_date(current, today).isoformat()
    tried = await ask(
        gql,
        DUE,
        input={
            "contractId": global_id("Contract", contract_id),
            "dueDay": advance["allowedDays"][0],
            "dryRun": True,
        },
    )
    accepted = tried["__typename"] == "ContractChanged"
    assert advance["changePossible"] is accepted
    assert (advance["changeableUntil"] is not None) is accepted
    if accepted:
        assert advance["nextChangeOn"] == today.isoformat()
    else:
        assert tried["field"] == "dueDay"
        assert advance["nextChangeOn"] > today.isoformat()


# --- Meter readings ------------------------------------------------------------------------


async def test_reading_range_bounds_are_the_mutations_bounds(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    meter_id, last = await anna_meter(session)
    last_value, register_id = last.value, last.register_id
    # Rows are expired by each dry run's rollback: keep plain values.
    obis_code = (await session.get_one(models.MeterRegister, register_id)).obis_code
    contract_id = await anna_contract_id(session)
    at = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    allowed = await ask(gql, RANGE, id=global_id("MeterRegister", register_id), at=at.isoformat())
    allowed = allowed["readingRange"]
    assert allowed["obisCode"] == obis_code
    assert allowed["acceptsReadings"]
    assert Decimal(str(allowed["previousValue"])) == last_value
    assert allowed["lowestPlausibleValue"] != allowed["minimumValue"]  # a band applies
    low = Decimal(str(allowed["lowestPlausibleValue"]))
    high = Decimal(str(allowed["highestPlausibleValue"]))
    minimum = Decimal(str(allowed["minimumValue"]))
    before = await written(session, contract_id)

    async def submit(value: Decimal, override: bool = False) -> Any:
        return await ask(
            gql,
            SUBMIT,
            input={
                "meterId": global_id("Meter", meter_id),
                "register": obis_code,
                "value": str(value),
                "readAt": at.isoformat(),
                "clientKey": f"range-{value}-{override}",
                "overridePlausibility": override,
                "dryRun": True,
            },
        )

    for value in (low, high):
        stored = await submit(value)
        assert stored["__typename"] == "MeterReadingSubmitted", stored
        assert (stored["created"], stored["reading"]["status"]) == (True, "ACCEPTED")
        assert Decimal(str(stored["reading"]["value"])) == value
    for value in (low - STEP, high + STEP):
        refused = await submit(value)
        assert refused["reason"] == "IMPLAUSIBLE"
        assert (refused["allowedMin"], refused["allowedMax"]) == (str(low), str(high))
    assert (await submit(minimum, override=True))["reading"]["status"] == "PENDING_REVIEW"
    assert (await submit(minimum - STEP, override=True))["reason"] == "LESS_THAN_PREVIOUS"
    assert await written(session, contract_id) == before


async def test_installers_read_the_range_of_meters_they_handle(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """Installers see no contract, yet their readings must lie in its period: the range
    says so without showing the contract."""
    register_id = await session.scalar(
        sa.select(models.MeterRegister.id)
        .join(models.Meter, models.Meter.id == models.MeterRegister.meter_id)
        .join(models.Order, models.Order.meter_id == models.Meter.id)
        .where(models.Order.partner_contact_id == ACTORS["installer"].contact_id)
        .limit(1)
    )
    assert register_id is not None
    allowed = (await ask(gql, RANGE, "installer", id=global_id("MeterRegister", register_id)))[
        "readingRange"
    ]
    assert allowed["earliestReadAt"] is not None
    assert allowed["latestReadAt"] is not None


# --- Dry run -------------------------------------------------------------------------------


async def _mutations(session: AsyncSession) -> dict[str, tuple[str, dict[str, Any]]]:
    contract_id = await anna_contract_id(session)
    gid = global_id("Contract", contract_id)
    meter_id, last = await anna_meter(session)
    last_value = last.value
    amount = (
        await session.scalar(
            sa.select(models.Contract.installment_amount).where(models.Contract.id == contract_id)
        )
    ) or Decimal(0)
    today = datetime.now(UTC).date()
    far = next(d for d in range(1, 29) if (rules.next_due_date(d, today) - today).days >= 6)
    await session.execute(
        sa.update(models.Contract).where(models.Contract.id == contract_id).values(due_day=far)
    )
    await session.commit()
    return {
        "installment": (INSTALLMENT, {"contractId": gid, "amount": str(amount + CENT)}),
        "payment_method": (PAYMENT, {"contractId": gid, "method": "TRANSFER"}),
        "due_date": (DUE, {"contractId": gid, "dueDay": far % 28 + 1}),
        "meter_reading": (
            SUBMIT,
            {
                "meterId": global_id("Meter", meter_id),
                "value": str(last_value),
                "clientKey": "dry-run",
                "overridePlausibility": True,
            },
        ),
    }


@pytest.mark.parametrize("kind", ["installment", "payment_method", "due_date", "meter_reading"])
@pytest.mark.parametrize("approval", [False, True])
async def test_dry_run_answers_as_the_mutation_and_writes_nothing(
    gql: GraphQLClient, session: AsyncSession, kind: str, approval: bool
) -> None:
    if approval:
        await require_approval(
            session,
            "contract.installment",
            "contract.payment_method",
            "contract.due_day",
            "meter_reading",
        )
    contract_id = await anna_contract_id(session)
    query, payload = (await _mutations(session))[kind]
    before = await written(session, contract_id)

    tried = await ask(gql, query, input={**payload, "dryRun": True})

    assert await written(session, contract_id) == before
    done = await ask(gql, query, input=payload)
    if kind == "meter_reading":  # a new row each time: its id differs
        done["reading"].pop("id")
        tried["reading"].pop("id")
    assert done == tried
    assert done["__typename"] in (
        "InstallmentChanged",
        "ContractChanged",
        "ChangeRequested",
        "MeterReadingSubmitted",
    ), done
    after = await written(session, contract_id)
    # The real change writes what the dry run did not: an audit event, a mail to the
    # portal's staff, and the change, its request or the reading.
    assert after["audit_event"] > before["audit_event"]
    assert after["email_outbox"] > before["email_outbox"]
    assert after != before
