"""Consumption per month and year, computed in SQL over a register's readings, without
GraphQL: apportioned by time between readings, estimated where a month has no
reading, nothing extrapolated, counter resets and uncounted readings respected, and
calendar months in German time."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from db import models
from gql.domain import consumption
from gql.domain.consumption import Interval
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


async def _register(session: AsyncSession, key: str = "1") -> tuple[models.Meter, uuid.UUID]:
    contact = await factories.make_contact(session, customer_number=f"K-TEST-{key}")
    contract = await factories.make_contract(session, contact, number=f"V-TEST-{key}")
    made = await factories.make_meter(session, contract, number=f"Z-TEST-{key}")
    register_id = await session.scalar(
        sa.select(models.MeterRegister.id).where(models.MeterRegister.meter_id == made.id)
    )
    assert register_id is not None
    return made, register_id


async def _read(
    session: AsyncSession,
    meter: models.Meter,
    register_id: uuid.UUID,
    at: datetime,
    value: str,
    status: models.MeterReadingStatus = models.MeterReadingStatus.ACCEPTED,
) -> None:
    session.add(
        models.MeterReading(
            organization_id=meter.organization_id,
            meter_id=meter.id,
            register_id=register_id,
            value=Decimal(value),
            read_at=at,
            source=models.MeterReadingSource.CUSTOMER,
            status=status,
        )
    )
    await session.flush()


async def _per(
    session: AsyncSession,
    register_id: uuid.UUID,
    interval: Interval = Interval.MONTH,
    since: date | None = None,
    until: date | None = None,
) -> list[consumption.Consumption]:
    return (
        await consumption.per_register(
            session.execute, [register_id], interval=interval, since=since, until=until
        )
    )[0]


async def test_a_step_is_apportioned_by_time_and_a_month_without_reading_is_estimated(
    session: AsyncSession,
) -> None:
    meter, register = await _register(session)
    # 1 November to 1 February (local midnight, no clock change): 10 kWh a day; no
    # reading in December and January.
    await _read(session, meter, register, local(2025, 11, 1), "1000")
    await _read(session, meter, register, local(2025, 11, 11), "1100")
    await _read(session, meter, register, local(2026, 2, 1), "1920")
    months = await _per(session, register)
    assert [(m.period, m.value, m.estimated) for m in months] == [
        (date(2025, 11, 1), Decimal("300.000"), False),  # 100 + 20 of the next step's 82 days
        (date(2025, 12, 1), Decimal("310.000"), True),  # 31 of its 82 days
        (date(2026, 1, 1), Decimal("310.000"), True),
        (date(2026, 2, 1), Decimal("0.000"), False),  # the reading at its very start
    ]
    assert months[0].covered_from == local(2025, 11, 1)
    assert months[2].covered_until == local(2026, 2, 1)
    assert sum(m.value for m in months) == Decimal(920)


async def test_nothing_is_extrapolated_and_partial_months_say_what_they_cover(
    session: AsyncSession,
) -> None:
    meter, register = await _register(session)
    await _read(session, meter, register, local(2026, 1, 16), "1000")
    await _read(session, meter, register, local(2026, 2, 16), "1310")
    months = await _per(session, register)
    assert [(m.period, m.value, m.estimated) for m in months] == [
        (date(2026, 1, 1), Decimal("160.000"), False),
        (date(2026, 2, 1), Decimal("150.000"), False),
    ]
    assert (months[0].covered_from, months[0].covered_until) == (
        local(2026, 1, 16),
        local(2026, 2, 1),
    )
    assert months[1].covered_until == local(2026, 2, 16)
    one = await _register(session, "2")
    await _read(session, one[0], one[1], local(2026, 1, 16), "5")
    assert await _per(session, one[1]) == []  # one reading: no consumption at all


async def test_months_are_german_calendar_months(session: AsyncSession) -> None:
    meter, register = await _register(session)
    # 23:30 UTC on 31 January is 00:30 on 1 February in Germany.
    await _read(session, meter, register, datetime(2026, 1, 31, 23, 30, tzinfo=UTC), "100")
    await _read(session, meter, register, local(2026, 2, 28, 12), "200")
    months = await _per(session, register)
    assert [(m.period, m.estimated) for m in months] == [(date(2026, 2, 1), False)]
    assert months[0].value == Decimal("100.000")


async def test_years_sum_their_months_and_are_estimated_when_one_is(
    session: AsyncSession,
) -> None:
    meter, register = await _register(session)
    await _read(session, meter, register, local(2025, 12, 1), "1000")
    await _read(session, meter, register, local(2026, 1, 1), "1310")
    await _read(session, meter, register, local(2026, 3, 1), "1900")  # February has none
    await _read(session, meter, register, local(2026, 12, 31), "4000")
    years = await _per(session, register, Interval.YEAR)
    assert [(y.period, y.value, y.estimated) for y in years] == [
        (date(2025, 1, 1), Decimal("310.000"), False),
        (date(2026, 1, 1), Decimal("2690.000"), True),
    ]
    only_2026 = await _per(session, register, Interval.YEAR, since=date(2026, 6, 30))
    assert [y.period for y in only_2026] == [date(2026, 1, 1)]
    assert only_2026[0].value == Decimal("2690.000")  # the whole year, not from June


async def test_since_and_until_pick_the_months_holding_those_days(
    session: AsyncSession,
) -> None:
    meter, register = await _register(session)
    for month, value in ((1, "0"), (2, "100"), (3, "200"), (4, "300"), (5, "400")):
        await _read(session, meter, register, local(2026, month, 15), value)
    picked = await _per(session, register, since=date(2026, 2, 28), until=date(2026, 3, 1))
    assert [m.period for m in picked] == [date(2026, 2, 1), date(2026, 3, 1)]
    assert await _per(session, register, since=date(2026, 4, 1), until=date(2026, 3, 1)) == []


async def test_uncounted_readings_and_counter_resets_are_respected(
    session: AsyncSession,
) -> None:
    meter, register = await _register(session)
    await _read(session, meter, register, local(2026, 1, 1), "900")
    await _read(session, meter, register, local(2026, 2, 1), "1210")
    # A rejected outlier and one waiting for review count for nothing.
    await _read(
        session, meter, register, local(2026, 2, 10), "99999", models.MeterReadingStatus.REJECTED
    )
    await _read(
        session,
        meter,
        register,
        local(2026, 2, 12),
        "50000",
        models.MeterReadingStatus.PENDING_REVIEW,
    )
    # A new meter under the same number from 1 March: counting starts again at 0.
    meter.counter_reset_at = local(2026, 3, 1)
    await _read(session, meter, register, local(2026, 3, 1), "0")
    await _read(session, meter, register, local(2026, 4, 1), "310")
    months = await _per(session, register)
    assert [(m.period, m.value) for m in months] == [
        (date(2026, 1, 1), Decimal("310.000")),
        (date(2026, 2, 1), Decimal("0.000")),  # the old meter's last reading, nothing after
        (date(2026, 3, 1), Decimal("310.000")),  # the new count, never 0 - 1210
        (date(2026, 4, 1), Decimal("0.000")),
    ]
    assert all(m.value >= 0 for m in months)


async def test_many_registers_in_one_statement_each_their_own(
    session: AsyncSession,
) -> None:
    meter, first = await _register(session)
    second = models.MeterRegister(
        organization_id=meter.organization_id,
        meter_id=meter.id,
        obis_code="1.8.2",
        name="NT",
        digits=6,
    )
    session.add(second)
    await session.flush()
    await _read(session, meter, first, local(2026, 1, 1), "0")
    await _read(session, meter, first, local(2026, 2, 1), "31")
    await _read(session, meter, second.id, local(2026, 1, 1), "0")
    await _read(session, meter, second.id, local(2026, 2, 1), "62")
    statements: list[str] = []

    async def counted(statement: Executable) -> Result[Any]:
        statements.append(str(statement))
        return await session.execute(statement)

    found = await consumption.per_register(
        counted, [second.id, first, uuid.uuid4()], interval=Interval.MONTH, since=None, until=None
    )
    assert len(statements) == 1
    assert [[m.value for m in rows] for rows in found] == [
        [Decimal("62.000"), Decimal("0.000")],
        [Decimal("31.000"), Decimal("0.000")],
        [],
    ]
