"""Prices and costs of a contract, without GraphQL: the price in force per register,
a price change inside a month, the base price per day, VAT, register prices before the
general one, and no price giving no money (the consumption stays)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain import audit, costs, prices
from gql.domain.consumption import Interval
from gql.domain.errors import DomainError, InvalidInput, NotFound
from tests import factories
from tests.conftest import ACTORS

BERLIN = ZoneInfo("Europe/Berlin")


def midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=BERLIN)


async def _contract(
    session: AsyncSession, registers: tuple[str, ...] = ("1.8.0",), **over: object
) -> tuple[models.Contract, dict[str, uuid.UUID]]:
    contact = await factories.make_contact(session, customer_number="K-PRICE-1")
    contract = await factories.make_contract(session, contact, number="V-PRICE-1", **over)
    meter = await factories.make_meter(session, contract, number="Z-PRICE-1")
    register = await session.scalar(
        sa.select(models.MeterRegister).where(models.MeterRegister.meter_id == meter.id)
    )
    assert register is not None
    register.obis_code = registers[0]
    ids = {registers[0]: register.id}
    for code in registers[1:]:
        added = models.MeterRegister(
            organization_id=meter.organization_id,
            meter_id=meter.id,
            obis_code=code,
            name=code,
            digits=6,
        )
        session.add(added)
        await session.flush()
        ids[code] = added.id
    await session.flush()
    return contract, ids


async def _read(
    session: AsyncSession,
    contract: models.Contract,
    register_id: uuid.UUID,
    at: datetime,
    value: str,
) -> None:
    register = await session.get_one(models.MeterRegister, register_id)
    session.add(
        models.MeterReading(
            organization_id=contract.organization_id,
            meter_id=register.meter_id,
            register_id=register_id,
            value=Decimal(value),
            read_at=at,
            source=models.MeterReadingSource.CUSTOMER,
            status=models.MeterReadingStatus.ACCEPTED,
        )
    )
    await session.flush()


async def _price(
    session: AsyncSession,
    contract: models.Contract,
    valid_from: date,
    working: str,
    base: str = "0",
    vat: str = "19",
    obis_code: str | None = None,
) -> models.ContractPrice:
    return await prices.set_price(
        session,
        ACTORS["admin"],
        contract.id,
        valid_from=valid_from,
        obis_code=obis_code,
        working_price=Decimal(working),
        base_price_per_year=Decimal(base),
        vat_rate=Decimal(vat),
        origin=audit.Origin(),
    )


async def _costs(
    session: AsyncSession, contract: models.Contract, interval: Interval = Interval.MONTH
) -> dict[date, costs.Cost]:
    found = await costs.per_contract(
        session.execute, [contract.id], interval=interval, since=None, until=None
    )
    return {cost.period_start: cost for cost in found[0]}


async def test_a_price_change_inside_a_month_prices_each_part_at_its_own_price(
    session: AsyncSession,
) -> None:
    contract, ids = await _contract(session)
    # 10 kWh a day through June (no change of clocks in June).
    await _read(session, contract, ids["1.8.0"], midnight(2025, 6, 1), "1000")
    await _read(session, contract, ids["1.8.0"], midnight(2025, 7, 1), "1300")
    await _price(session, contract, date(2024, 1, 1), "0.30")
    await _price(session, contract, date(2025, 6, 16), "0.40")

    june = (await _costs(session, contract))[date(2025, 6, 1)]

    # 150 kWh at 0.30 and 150 kWh at 0.40.
    assert (june.consumption, june.unit, june.period_end) == (
        Decimal("300.000"),
        "kWh",
        date(2025, 6, 30),
    )
    assert (june.working_net, june.base_net, june.net) == (
        Decimal("105.00"),
        Decimal("0.00"),
        Decimal("105.00"),
    )
    assert (june.vat, june.gross, june.estimated, june.priced) == (
        Decimal("19.95"),
        Decimal("124.95"),
        False,
        True,
    )


async def test_the_base_price_counts_per_covered_day_of_the_year_and_supply(
    session: AsyncSession,
) -> None:
    contract, ids = await _contract(session, start_date=date(2025, 6, 11))
    await _read(session, contract, ids["1.8.0"], midnight(2025, 6, 1), "0")
    await _read(session, contract, ids["1.8.0"], midnight(2025, 8, 1), "0")
    await _price(session, contract, date(2025, 1, 1), "0.30", base="365.00", vat="7")

    found = await _costs(session, contract)

    # 1 EUR a day: June from the contract's start (20 days), all of July, none of
    # August (the readings end on its first day).
    assert found[date(2025, 6, 1)].base_net == Decimal("20.00")
    assert found[date(2025, 7, 1)].base_net == Decimal("31.00")
    assert found[date(2025, 7, 1)].vat == Decimal("2.17")
    assert found[date(2025, 7, 1)].gross == Decimal("33.17")
    assert found[date(2025, 8, 1)].base_net == Decimal("0.00")
    yearly = (await _costs(session, contract, Interval.YEAR))[date(2025, 1, 1)]
    assert (yearly.base_net, yearly.period_end) == (Decimal("51.00"), date(2025, 12, 31))


async def test_a_leap_year_day_costs_a_366th(session: AsyncSession) -> None:
    contract, ids = await _contract(session, start_date=date(2024, 1, 1))
    await _read(session, contract, ids["1.8.0"], midnight(2024, 1, 1), "0")
    await _read(session, contract, ids["1.8.0"], midnight(2024, 2, 1), "0")
    await _price(session, contract, date(2024, 1, 1), "0.30", base="366.00")

    assert (await _costs(session, contract))[date(2024, 1, 1)].base_net == Decimal("31.00")


async def test_a_register_price_comes_before_the_general_one(session: AsyncSession) -> None:
    contract, ids = await _contract(session, registers=("1.8.1", "1.8.2"))
    for code, used in (("1.8.1", "300"), ("1.8.2", "150")):
        await _read(session, contract, ids[code], midnight(2025, 6, 1), "0")
        await _read(session, contract, ids[code], midnight(2025, 7, 1), used)
    await _price(session, contract, date(2025, 1, 1), "0.50", base="0")
    await _price(session, contract, date(2025, 1, 1), "0.20", obis_code="1.8.2")

    june = (await _costs(session, contract))[date(2025, 6, 1)]

    # HT has no price of its own: the general one; NT its own.
    assert [(r.obis_code, r.consumption, r.net) for r in june.registers] == [
        ("1.8.1", Decimal("300.000"), Decimal("150.00")),
        ("1.8.2", Decimal("150.000"), Decimal("30.00")),
    ]
    assert (june.consumption, june.working_net) == (Decimal("450.000"), Decimal("180.00"))
    on_day = await prices.ids_in_force(
        session.execute,
        [
            (contract.id, "1.8.1", date(2025, 6, 1)),
            (contract.id, "1.8.2", date(2025, 6, 1)),
            (contract.id, None, date(2025, 6, 1)),
            (contract.id, None, date(2024, 12, 31)),
        ],
    )
    general = await session.scalar(
        sa.select(models.ContractPrice.id).where(
            models.ContractPrice.contract_id == contract.id,
            models.ContractPrice.obis_code.is_(None),
        )
    )
    assert on_day[0] == on_day[2] == general
    assert on_day[1] not in (None, general)
    assert on_day[3] is None


async def test_the_base_price_counts_once_whatever_rows_carry_it(session: AsyncSession) -> None:
    """HT and NT rows both carrying the tariff's base price: it counts once."""
    contract, ids = await _contract(session, registers=("1.8.1", "1.8.2"))
    for code in ("1.8.1", "1.8.2"):
        await _read(session, contract, ids[code], midnight(2025, 7, 1), "0")
        await _read(session, contract, ids[code], midnight(2025, 8, 1), "0")
    await _price(session, contract, date(2025, 1, 1), "0.30", base="365", obis_code="1.8.1")
    await _price(session, contract, date(2025, 1, 1), "0.20", base="365", obis_code="1.8.2")

    assert (await _costs(session, contract))[date(2025, 7, 1)].base_net == Decimal("31.00")


async def test_without_a_price_the_consumption_stays_and_the_money_is_none(
    session: AsyncSession,
) -> None:
    contract, ids = await _contract(session)
    await _read(session, contract, ids["1.8.0"], midnight(2025, 6, 1), "0")
    await _read(session, contract, ids["1.8.0"], midnight(2025, 8, 1), "610")
    await _price(session, contract, date(2025, 7, 15), "0.30")

    found = await _costs(session, contract)

    june, july = found[date(2025, 6, 1)], found[date(2025, 7, 1)]
    assert june.consumption == Decimal("300.000")
    assert (june.priced, june.net, june.vat, june.gross) == (False, None, None, None)
    # July is priced from the 15th only: still no money for July.
    assert (july.priced, july.net, july.registers[0].net) == (False, None, None)
    assert july.estimated  # no reading of its own in July


async def test_another_contracts_prices_do_not_count(session: AsyncSession) -> None:
    contract, ids = await _contract(session)
    await _read(session, contract, ids["1.8.0"], midnight(2025, 6, 1), "0")
    await _read(session, contract, ids["1.8.0"], midnight(2025, 7, 1), "300")
    other = await factories.make_contract(
        session, await session.get_one(models.Contact, contract.contact_id), number="V-PRICE-2"
    )
    await _price(session, other, date(2024, 1, 1), "0.30")

    assert not (await _costs(session, contract))[date(2025, 6, 1)].priced


@pytest.mark.parametrize(
    ("working", "base", "vat", "field"),
    [
        ("-0.000001", "0", "19", "workingPrice"),
        ("100.000001", "0", "19", "workingPrice"),
        ("0.1234567", "0", "19", "workingPrice"),
        ("0.30", "-0.01", "19", "basePricePerYear"),
        ("0.30", "100000.01", "19", "basePricePerYear"),
        ("0.30", "120.001", "19", "basePricePerYear"),
        ("0.30", "120", "-0.01", "vatRate"),
        ("0.30", "120", "100.01", "vatRate"),
        ("0.30", "120", "19.001", "vatRate"),
    ],
)
def test_a_price_outside_its_limits_is_refused_naming_the_field(
    working: str, base: str, vat: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        prices.check_price(Decimal(working), Decimal(base), Decimal(vat))
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("working", "base", "vat"),
    [("0", "0", "0"), ("100", "100000", "100"), ("0.123456", "120.50", "19.00")],
)
def test_a_price_at_its_limits_is_taken(working: str, base: str, vat: str) -> None:
    assert prices.check_price(Decimal(working), Decimal(base), Decimal(vat)) == (
        Decimal(working),
        Decimal(base),
        Decimal(vat),
    )


async def test_setting_a_price_twice_on_a_day_replaces_it_and_is_audited(
    session: AsyncSession,
) -> None:
    contract, _ = await _contract(session)
    first = await _price(session, contract, date(2025, 1, 1), "0.30")
    again = await _price(session, contract, date(2025, 1, 1), "0.32")

    assert again.id == first.id
    assert again.working_price == Decimal("0.32")
    actions = await session.scalars(
        sa.select(models.AuditEvent.action).where(models.AuditEvent.entity_id == first.id)
    )
    assert list(actions) == ["contract_price.set", "contract_price.set"]


async def test_a_price_for_a_register_the_contract_lacks_is_refused(
    session: AsyncSession,
) -> None:
    contract, _ = await _contract(session)
    with pytest.raises(DomainError) as refused:
        await _price(session, contract, date(2025, 1, 1), "0.30", obis_code="1.8.2")
    assert (refused.value.code, refused.value.field) == ("REGISTER_UNKNOWN", "obisCode")
    assert refused.value.parameters == {"registers": "1.8.0"}


async def test_a_price_after_the_contracts_end_is_refused(session: AsyncSession) -> None:
    contract, _ = await _contract(session, end_date=date(2025, 12, 31))
    await _price(session, contract, date(2025, 12, 31), "0.30")
    with pytest.raises(InvalidInput) as refused:
        await _price(session, contract, date(2026, 1, 1), "0.30")
    assert refused.value.field == "validFrom"


async def test_another_organizations_staff_find_no_contract(session: AsyncSession) -> None:
    contract, _ = await _contract(session)
    with pytest.raises(NotFound) as refused:
        await prices.set_price(
            session,
            ACTORS["other_admin"],
            contract.id,
            valid_from=date(2025, 1, 1),
            obis_code=None,
            working_price=Decimal("0.30"),
            base_price_per_year=Decimal("0"),
            vat_rate=Decimal("19"),
            origin=audit.Origin(),
        )
    assert refused.value.field == "contractId"
