"""Consumption, the billing account, the installment interval and readings of every
register at once, through GraphQL over the demo data (Anna Becker's heat pump meter
and its contract): what customers and staff read, the refusals, the audit events and
staff mails, and that other contacts, other organizations and other roles get nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from db.models.enums import Grant
from gql.domain import notifications, readings
from tests.conftest import ACTORS, GraphQLClient, global_id

HEAT_PUMP = demo.demo_id("meter:musterstadt:V-2024-2000001")
HEAT_PUMP_CONTRACT = demo.demo_id("contract:musterstadt:V-2024-2000001")
POWER_CONTRACT = demo.demo_id("contract:musterstadt:V-2023-1000001")
HT = demo.demo_id(f"register:{HEAT_PUMP}:1.8.1")
NT = demo.demo_id(f"register:{HEAT_PUMP}:1.8.2")

CONSUMPTION = """query($id: ID!, $interval: ConsumptionInterval, $from: Date, $to: Date) {
  node(id: $id) { ... on MeterRegister { obisCode
    consumption(interval: $interval, from: $from, to: $to) {
      period value unit estimated coveredFrom coveredUntil } } } }"""


async def _consumption(gql: GraphQLClient, actor: Any, register: uuid.UUID, **args: Any) -> Any:
    data, errors = await gql(CONSUMPTION, actor, id=global_id("MeterRegister", register), **args)
    return data, errors


async def test_anna_sees_her_heat_pumps_consumption_per_month_and_year(
    gql: GraphQLClient,
) -> None:
    data, errors = await _consumption(gql, "customer", HT)
    assert errors == []
    assert data is not None
    months = data["node"]["consumption"]
    assert {m["unit"] for m in months} == {"kWh"}
    # Read on the first of each month from December 2025 to November 2026 (the June
    # reading on 20 May): June has no reading of its own.
    assert [m["period"] for m in months][:2] == ["2025-12-01", "2026-01-01"]
    assert months[-1]["period"] == "2026-11-01"
    estimated = [m["period"] for m in months if m["estimated"]]
    assert estimated == ["2026-06-01"]
    # 11 steps of 310 kWh; each month rounded to three decimals on its own.
    assert abs(sum(Decimal(m["value"]) for m in months) - Decimal(3410)) <= Decimal("0.006")
    data, errors = await _consumption(gql, "customer", HT, interval="YEAR")
    assert errors == []
    assert data is not None
    years = data["node"]["consumption"]
    assert [(y["period"], y["estimated"]) for y in years] == [
        ("2025-01-01", False),
        ("2026-01-01", True),
    ]
    assert sum(Decimal(y["value"]) for y in years) == Decimal("3410.000")
    data, errors = await _consumption(
        gql, "agent", NT, **{"from": "2026-05-01", "to": "2026-06-30"}
    )
    assert errors == []
    assert data is not None
    picked = data["node"]["consumption"]
    assert [(m["period"], m["estimated"]) for m in picked] == [
        ("2026-05-01", False),
        ("2026-06-01", True),
    ]


async def test_consumption_is_nobody_elses(gql: GraphQLClient) -> None:
    for actor in ("other_customer", "other_admin", "other_org_customer", "anonymous"):
        data, errors = await _consumption(gql, actor, HT)
        assert (data, errors) == ({"node": None}, []), actor
    # The installer sees the registers of the meters of its orders, not their consumption.
    power_meter = demo.demo_id("meter:musterstadt:V-2023-1000001")
    register = demo.demo_id(f"register:{power_meter}:1.8.0")
    data, errors = await _consumption(gql, "installer", register)
    assert data is not None
    assert data["node"]["obisCode"] == "1.8.0"
    assert data["node"]["consumption"] is None
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.METER_READ})
    data, errors = await _consumption(gql, without, HT)
    assert (errors[0].extensions or {}).get("grant") == "meter:read"


ACCOUNT = """query($contract: ID, $from: Date, $to: Date, $status: [PaymentStatus!]) {
  viewer { contact { billingAccount(contractId: $contract, from: $from, to: $to) {
    balance openAmount overdueAmount paidAmount
    nextInstallment { amount dueDate billed contract { number } }
    contracts { number }
    items(status: $status, first: 50) { totalCount edges { node { kind status amount dueDate } } }
  } } } }"""


async def _account(gql: GraphQLClient, actor: Any = "customer", **variables: Any) -> Any:
    data, errors = await gql(ACCOUNT, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return data["viewer"]["contact"]["billingAccount"]


async def test_annas_billing_account_with_filters_by_contract_period_and_status(
    gql: GraphQLClient,
) -> None:
    heat = global_id("Contract", HEAT_PUMP_CONTRACT)
    account = await _account(gql, contract=heat)
    assert [c["number"] for c in account["contracts"]] == ["V-2024-2000001"]
    assert Decimal(account["balance"]) == Decimal("-110.00")
    # 12 installments and the invoice paid, the refund paid back, December's open.
    assert Decimal(account["paidAmount"]) == 12 * Decimal("110.00") + Decimal("86.40") - Decimal(
        "24.10"
    )
    assert Decimal(account["openAmount"]) == Decimal("110.00")
    assert account["nextInstallment"] == {
        "amount": "110.00",
        "dueDate": "2026-12-15",
        "billed": True,
        "contract": {"number": "V-2024-2000001"},
    }
    assert account["items"]["totalCount"] == 15
    first_quarter = await _account(gql, contract=heat, **{"from": "2026-01-01", "to": "2026-03-31"})
    kinds = [e["node"]["kind"] for e in first_quarter["items"]["edges"]]
    assert kinds == ["INSTALLMENT", "REFUND", "INSTALLMENT", "INVOICE", "INSTALLMENT"]
    assert Decimal(first_quarter["balance"]) == Decimal("-110.00")  # whatever the period
    open_only = await _account(gql, contract=heat, status=["OPEN", "OVERDUE"])
    assert [e["node"]["dueDate"] for e in open_only["items"]["edges"]] == ["2026-12-15"]
    # All of Anna's contracts: three.
    everything = await _account(gql)
    assert [c["number"] for c in everything["contracts"]] == [
        "V-2023-1000001",
        "V-2023-1000002",
        "V-2024-2000001",
    ]


async def test_a_billing_account_is_nobody_elses(gql: GraphQLClient) -> None:
    # Jonas naming Anna's contract: an empty account, nothing of hers.
    foreign = await _account(gql, "other_customer", contract=global_id("Contract", POWER_CONTRACT))
    assert (foreign["contracts"], foreign["items"]["totalCount"]) == ([], 0)
    assert foreign["nextInstallment"] is None
    # Another type's ID as the contract: empty too.
    wrong = await _account(gql, contract=global_id("Meter", HEAT_PUMP))
    assert wrong["contracts"] == []
    # Anna's contact by ID: other customers and organizations see no contact at all.
    query = """query($id: ID!) { node(id: $id) { ... on Contact { billingAccount {
      balance items { totalCount } } } } }"""
    anna = global_id("Contact", demo.demo_id("contact:musterstadt:c00"))
    for actor in ("other_customer", "other_admin", "other_org_customer", "anonymous"):
        data, errors = await gql(query, actor, id=anna)
        assert (data, errors) == ({"node": None}, []), actor
    data, errors = await gql(query, "agent", id=anna)
    assert errors == []
    assert data is not None
    assert data["node"]["billingAccount"]["items"]["totalCount"] > 15
    # The installer's own contact has no billing account for it to read.
    data, errors = await gql(ACCOUNT, "installer")
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.PAYMENT_READ})
    data, errors = await gql(ACCOUNT, without)
    assert (errors[0].extensions or {}).get("grant") == "payment:read"


# --- Installment interval ---------------------------------------------------------------------

INTERVAL = """mutation($input: ChangeInstallmentIntervalInput!) {
  changeInstallmentInterval(input: $input) {
    __typename
    ... on ContractChanged { contract { installmentInterval installmentAmount } }
    ... on ChangeRequested { changeRequest { attribute newValue } }
    ... on MutationError { code message field parameters { name value } } } }"""
OPTIONS = """query($id: ID!) { node(id: $id) { ... on Contract { installmentIntervalOptions {
  interval current allowed amount code message nextPossibleAt needsApproval } } } }"""


async def _change_interval(
    gql: GraphQLClient, interval: str, actor: Any = "customer", contract: uuid.UUID | None = None
) -> Any:
    contract_id = global_id("Contract", contract or HEAT_PUMP_CONTRACT)
    data, errors = await gql(
        INTERVAL, actor, input={"contractId": contract_id, "interval": interval}
    )
    assert errors == [], errors
    assert data is not None
    return data["changeInstallmentInterval"]


async def test_the_interval_changes_within_the_rule_and_the_amount_follows(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    data, errors = await gql(OPTIONS, "customer", id=global_id("Contract", HEAT_PUMP_CONTRACT))
    assert errors == []
    assert data is not None
    options = {o["interval"]: o for o in data["node"]["installmentIntervalOptions"]}
    assert options["QUARTERLY"]["allowed"]
    assert options["QUARTERLY"]["amount"] == "330.00"
    assert options["MONTHLY"]["current"]
    assert not options["MONTHLY"]["allowed"]
    assert options["BIMONTHLY"]["code"] == "INTERVAL_NOT_ALLOWED"
    assert "vierteljährlich" in options["BIMONTHLY"]["message"]  # Anna reads German

    not_offered = await _change_interval(gql, "BIMONTHLY")
    assert (not_offered["code"], not_offered["field"]) == ("INTERVAL_NOT_ALLOWED", "interval")
    assert {"name": "allowedIntervals", "value": "MONTHLY, QUARTERLY, HALF_YEARLY, YEARLY"} in (
        not_offered["parameters"]
    )
    done = await _change_interval(gql, "QUARTERLY")
    assert done == {
        "__typename": "ContractChanged",
        "contract": {"installmentInterval": "QUARTERLY", "installmentAmount": "330.00"},
    }
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "contract.installment_interval_changed"
        )
    )
    assert event is not None
    assert event.data == {
        "from": "MONTHLY",
        "to": "QUARTERLY",
        "amount_from": "110.00",
        "amount_to": "330.00",
    }
    mail = await session.scalar(
        sa.select(models.OutboundEmail).where(models.OutboundEmail.kind == notifications.KIND)
    )
    assert mail is not None
    assert "Zahlungsintervall" in mail.subject
    # The cadence: one change per 12 months, the amount's own cadence aside.
    again = await _change_interval(gql, "YEARLY")
    assert again["code"] == "CADENCE_EXCEEDED"
    data, errors = await gql(OPTIONS, "customer", id=global_id("Contract", HEAT_PUMP_CONTRACT))
    assert data is not None
    yearly = {o["interval"]: o for o in data["node"]["installmentIntervalOptions"]}["YEARLY"]
    assert (yearly["allowed"], yearly["code"]) == (False, "CADENCE_EXCEEDED")
    assert yearly["nextPossibleAt"] is not None


async def test_the_interval_waits_for_approval_when_the_portal_says_so(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"approval_required_attributes": ["contract.installment_interval"]}
    )
    await session.flush()
    waiting = await _change_interval(gql, "HALF_YEARLY")
    assert waiting["__typename"] == "ChangeRequested"
    assert waiting["changeRequest"]["attribute"] == "INSTALLMENT_INTERVAL"
    assert waiting["changeRequest"]["newValue"] == {
        "installment_interval": "HALF_YEARLY",
        "installment_amount": "660.00",
    }
    contract = await session.get_one(models.Contract, HEAT_PUMP_CONTRACT)
    await session.refresh(contract)
    assert contract.installment_interval is models.InstallmentInterval.MONTHLY
    # Approved by the agent: interval and amount change together, and the cadence counts it.
    request = await session.scalar(
        sa.select(models.ChangeRequest.id).where(
            models.ChangeRequest.attribute == "contract.installment_interval"
        )
    )
    assert request is not None
    approve = """mutation($input: ApproveChangeRequestInput!) {
      approveChangeRequest(input: $input) { __typename ... on MutationError { code } } }"""
    data, errors = await gql(
        approve, "agent", input={"changeRequestId": global_id("ChangeRequest", request)}
    )
    assert errors == []
    assert data == {"approveChangeRequest": {"__typename": "ChangeRequestDecided"}}
    await session.refresh(contract)
    assert (contract.installment_interval, contract.installment_amount) == (
        models.InstallmentInterval.HALF_YEARLY,
        Decimal("660.00"),
    )
    again = await _change_interval(gql, "YEARLY")
    assert again["code"] == "CADENCE_EXCEEDED"


SETTINGS = """mutation($input: UpdatePortalSettingsInput!) { updatePortalSettings(input: $input) {
  __typename ... on PortalPayload { portal { draftSettings } }
  ... on MutationError { code field } } }"""
PUBLISH = (
    """mutation($input: PublishPortalInput!) { publishPortal(input: $input) { __typename } }"""
)


async def test_staff_configure_the_allowed_intervals(gql: GraphQLClient) -> None:
    portal = global_id("Portal", demo.demo_id("portal:musterstadt-kunden"))

    async def configure(actor: str, rule: dict[str, Any]) -> Any:
        data, errors = await gql(
            SETTINGS,
            actor,
            input={"id": portal, "changes": {"rules": {"installmentInterval": rule}}},
        )
        return data, errors

    data, errors = await configure("admin", {"allowedIntervals": ["MONTHLY", "MONTHLY"]})
    assert errors == []
    assert data is not None
    refused = data["updatePortalSettings"]
    assert (refused["code"], refused["field"]) == (
        "INVALID_INPUT",
        "changes.rules.installmentInterval.allowedIntervals",
    )
    data, errors = await configure("admin", {"allowedIntervals": ["YEARLY"], "cadence": None})
    assert errors == []
    assert data is not None
    draft = data["updatePortalSettings"]["portal"]["draftSettings"]
    assert draft["rules"]["installmentInterval"]["allowedIntervals"] == ["YEARLY"]
    data, errors = await gql(PUBLISH, "admin", input={"id": portal})
    assert errors == []
    # Published: the customer is offered yearly only, and may take it at once.
    options = await gql(OPTIONS, "customer", id=global_id("Contract", HEAT_PUMP_CONTRACT))
    assert options[0] is not None
    allowed = [
        o["interval"] for o in options[0]["node"]["installmentIntervalOptions"] if o["allowed"]
    ]
    assert allowed == ["YEARLY"]
    done = await _change_interval(gql, "YEARLY")
    assert done["contract"] == {"installmentInterval": "YEARLY", "installmentAmount": "1320.00"}
    # Customers and other organizations' staff configure nothing.
    for actor in ("customer", "agent", "other_admin"):
        data, errors = await configure(actor, {"enabled": False})
        refusal = (data or {}).get("updatePortalSettings")
        codes = [(e.extensions or {}).get("code") for e in errors]
        assert codes == ["FORBIDDEN"] or refusal == {
            "__typename": "MutationError",
            "code": "NOT_FOUND",
            "field": "id",
        }, (actor, data, codes)


async def test_only_the_contracts_customer_changes_the_interval(gql: GraphQLClient) -> None:
    foreign = await _change_interval(gql, "QUARTERLY", "other_customer")
    assert (foreign["code"], foreign["field"]) == ("NOT_FOUND", "contractId")
    for actor in ("agent", "installer", "other_admin", "anonymous"):
        data, errors = await gql(
            INTERVAL,
            actor,
            input={"contractId": global_id("Contract", HEAT_PUMP_CONTRACT), "interval": "YEARLY"},
        )
        assert data == {"changeInstallmentInterval": None}, actor
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"], actor
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.INSTALLMENT_UPDATE})
    data, errors = await gql(
        INTERVAL,
        without,
        input={"contractId": global_id("Contract", HEAT_PUMP_CONTRACT), "interval": "YEARLY"},
    )
    assert (errors[0].extensions or {}).get("grant") == "installment:update"


# --- Every register at once -------------------------------------------------------------------

SUBMIT_ALL = """mutation($input: SubmitMeterReadingsInput!) { submitMeterReadings(input: $input) {
  __typename
  ... on MeterReadingsSubmitted { created readings { id value status register { obisCode } } }
  ... on MeterReadingRefused { code reason message field register unit allowedMin allowedMax
                               parameters { name value } }
  ... on MutationError { code message field } } }"""


async def plausible(session: AsyncSession, register: uuid.UUID) -> Decimal:
    """The middle of what the register's band allows now."""
    rows = (
        await session.execute(
            sa.select(models.MeterReading.read_at, models.MeterReading.value)
            .where(models.MeterReading.register_id == register)
            .order_by(models.MeterReading.read_at)
        )
    ).all()
    points = [readings.Point(at, value) for at, value in rows]
    band = readings.expected_band(points, points[-1], datetime.now(UTC))
    assert band is not None
    return ((band[0] + band[1]) / 2).quantize(readings.DECIMALS)


async def _submit_all(gql: GraphQLClient, actor: Any = "customer", **input: Any) -> Any:
    data, errors = await gql(
        SUBMIT_ALL, actor, input={"meterId": global_id("Meter", HEAT_PUMP), **input}
    )
    assert errors == [], errors
    assert data is not None
    return data["submitMeterReadings"]


async def _count(session: AsyncSession) -> int:
    reading = models.MeterReading
    return int(
        await session.scalar(sa.select(sa.func.count()).where(reading.meter_id == HEAT_PUMP)) or 0
    )


async def test_ht_and_nt_are_stored_together_or_not_at_all(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    ht, nt = await plausible(session, HT), await plausible(session, NT)
    before = await _count(session)
    # NT far too high: refused with its expected range and unit, and HT is not stored.
    odd = await _submit_all(
        gql,
        clientKey="both-1",
        readings=[
            {"register": "1.8.1", "value": str(ht)},
            {"register": "1.8.2", "value": str(nt + 5000)},
        ],
    )
    assert (odd["code"], odd["field"], odd["register"], odd["unit"]) == (
        "IMPLAUSIBLE",
        "readings.1.value",
        "1.8.2",
        "kWh",
    )
    low, high = Decimal(odd["allowedMin"]), Decimal(odd["allowedMax"])
    assert low < nt < high
    assert f"{low}".replace(".", ",") in odd["message"]
    assert "kWh" in odd["message"]
    assert {"name": "unit", "value": "kWh"} in odd["parameters"]
    assert await _count(session) == before
    # Only one register: refused, nothing stored.
    partial = await _submit_all(
        gql, clientKey="both-2", readings=[{"register": "1.8.1", "value": str(ht)}]
    )
    assert (partial["code"], partial["field"]) == ("INVALID_INPUT", "readings")
    assert "1.8.2" in partial["message"]
    twice = await _submit_all(
        gql,
        clientKey="both-3",
        readings=[{"register": "1.8.1", "value": str(ht)}, {"register": "1.8.1", "value": "1"}],
    )
    assert (twice["code"], twice["field"]) == ("INVALID_INPUT", "readings.1.register")
    assert await _count(session) == before
    # Both plausible: stored together, one staff mail for both.
    done = await _submit_all(
        gql,
        clientKey="both-4",
        readings=[
            {"register": "1.8.2", "value": str(nt)},
            {"register": "1.8.1", "value": str(ht).replace(".", ",")},
        ],
    )
    assert done["__typename"] == "MeterReadingsSubmitted", done
    assert [(r["register"]["obisCode"], Decimal(r["value"])) for r in done["readings"]] == [
        ("1.8.2", nt),
        ("1.8.1", ht),
    ]
    assert await _count(session) == before + 2
    events = (
        await session.scalars(
            sa.select(models.AuditEvent).where(
                models.AuditEvent.action == "meter_reading.submitted"
            )
        )
    ).all()
    assert len(events) == 2
    mails = (
        await session.scalars(
            sa.select(models.OutboundEmail).where(models.OutboundEmail.kind == notifications.KIND)
        )
    ).all()
    assert len(mails) == 1
    # A retry with the same key stores nothing and answers the same readings.
    retry = await _submit_all(
        gql,
        clientKey="both-4",
        readings=[{"register": "1.8.2", "value": str(nt)}, {"register": "1.8.1", "value": "1"}],
    )
    assert retry["created"] is False
    assert {r["id"] for r in retry["readings"]} == {r["id"] for r in done["readings"]}


async def test_readings_of_every_register_wait_for_review_when_the_portal_says_so(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"approval_required_attributes": ["meter_reading"]}
    )
    await session.flush()
    ht, nt = await plausible(session, HT), await plausible(session, NT)
    stored = await _submit_all(
        gql,
        clientKey="review-1",
        readings=[{"register": "1.8.1", "value": str(ht)}, {"register": "1.8.2", "value": str(nt)}],
    )
    assert {r["status"] for r in stored["readings"]} == {"PENDING_REVIEW"}


async def test_the_refusal_speaks_english_to_an_english_customer(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == ACTORS["customer"].subject_id)
        .values(language="en")
    )
    nt = await plausible(session, NT)
    odd = await _submit_all(
        gql,
        clientKey="en-1",
        readings=[{"register": "1.8.1", "value": "1"}, {"register": "1.8.2", "value": str(nt)}],
    )
    assert (odd["code"], odd["field"], odd["register"]) == (
        "LESS_THAN_PREVIOUS",
        "readings.0.value",
        "1.8.1",
    )
    assert odd["message"].startswith("The value is below the previous reading")


async def test_readings_of_someone_elses_meter_are_refused(gql: GraphQLClient) -> None:
    values = [{"register": "1.8.1", "value": "1"}, {"register": "1.8.2", "value": "1"}]
    for actor in ("other_customer", "other_admin", "other_org_customer"):
        refused = await _submit_all(gql, actor, clientKey="x-1", readings=values)
        assert (refused["code"], refused["field"]) == ("METER_NOT_FOUND", "meterId"), actor
    data, errors = await gql(
        SUBMIT_ALL,
        "anonymous",
        input={"meterId": global_id("Meter", HEAT_PUMP), "clientKey": "x", "readings": values},
    )
    assert data == {"submitMeterReadings": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]


async def test_the_next_installment_comes_from_the_plan_without_an_open_item(
    gql: GraphQLClient,
) -> None:
    power = await _account(gql, contract=global_id("Contract", POWER_CONTRACT))
    upcoming = power["nextInstallment"]
    assert upcoming["billed"] is False
    due = date.fromisoformat(upcoming["dueDate"])
    assert due.day == 15
    assert due >= datetime.now(UTC).date()
