"""submitMeterReading through GraphQL: the demo data's steady consumption, the error
codes that need the database, safe retries (also concurrent ones), and who may submit."""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models, raw
from db.models.enums import Grant, MeterReadingStatus
from db.session import create_engine
from gql.domain import notifications, readings, scope
from gql.domain.audit import Origin
from gql.domain.notifications import Notifier
from tests.conftest import ACTORS, GraphQLClient, global_id
from tests.meter_helpers import SUBMIT, anna_meter, plausible_value, submit

REJECTED = MeterReadingStatus.REJECTED
NOTIFY = Notifier(sender="portal@example.org", staff_app_url="http://staff.example")


async def test_a_reading_is_stored_once_per_client_key(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    meter_id, last = await anna_meter(session)
    value = await plausible_value(session, meter_id, last)
    meter = global_id("Meter", meter_id)
    first = await submit(gql, meterId=meter, value=value, clientKey="app-1")
    assert first["__typename"] == "MeterReadingSubmitted", first
    stored = (first["created"], first["reading"]["status"], first["reading"]["source"])
    assert stored == (True, "ACCEPTED", "CUSTOMER")
    retry = await submit(gql, meterId=meter, value=value, clientKey="app-1")
    assert retry["created"] is False
    assert retry["reading"]["id"] == first["reading"]["id"]
    count = await session.scalar(
        sa.select(sa.func.count()).where(models.MeterReading.client_key == "app-1")
    )
    assert count == 1


async def test_errors_that_need_the_database(gql: GraphQLClient, session: AsyncSession) -> None:
    meter_id, last = await anna_meter(session)
    meter = global_id("Meter", meter_id)
    below = await submit(gql, meterId=meter, value=str(last.value - 1), clientKey="a")
    assert below["reason"] == "LESS_THAN_PREVIOUS"
    odd = await submit(gql, meterId=meter, value=str(last.value + 100000), clientKey="b")
    assert odd["reason"] == "IMPLAUSIBLE"
    assert odd["allowedMin"] is not None
    confirmed = await submit(
        gql,
        meterId=meter,
        value=str(last.value + 100000),
        clientKey="c",
        overridePlausibility=True,
    )
    assert confirmed["reading"]["status"] == "PENDING_REVIEW"
    duplicate = await submit(
        gql, meterId=meter, value=str(last.value), clientKey="d", readAt=last.read_at.isoformat()
    )
    assert duplicate["reason"] == "DUPLICATE_READING"
    unknown = await submit(gql, meterId=meter, value="1", clientKey="e", register="9.9.9")
    assert (unknown["reason"], unknown["field"]) == ("REGISTER_UNKNOWN", "register")
    jonas_meter = await session.scalar(
        sa.select(models.Meter.id)
        .join(models.Contract, models.Contract.id == models.Meter.contract_id)
        .where(models.Contract.contact_id == ACTORS["other_customer"].contact_id)
        .limit(1)
    )
    assert jonas_meter is not None
    foreign = await submit(gql, meterId=global_id("Meter", jonas_meter), value="1", clientKey="f")
    assert (foreign["reason"], foreign["field"]) == ("METER_NOT_FOUND", "meterId")


async def test_staff_submit_for_any_meter_and_the_grant_is_needed(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    meter_id, last = await anna_meter(session)
    value = await plausible_value(session, meter_id, last)
    by_agent = await submit(
        gql, "agent", meterId=global_id("Meter", meter_id), value=value, clientKey="staff-1"
    )
    assert by_agent["reading"]["source"] == "STAFF"
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.METER_READING_CREATE.value})
    data, errors = await gql(
        SUBMIT,
        without,
        input={"meterId": global_id("Meter", meter_id), "value": value, "clientKey": "x"},
    )
    assert data == {"submitMeterReading": None}
    assert (errors[0].extensions or {}).get("grant") == "meter_reading:create"


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url, pool_size=4)
    makers = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield makers
    finally:
        async with makers() as db, db.begin():
            await db.execute(
                sa.delete(models.MeterReading).where(
                    models.MeterReading.client_key.like("concurrent-%")
                )
            )
            await db.execute(
                sa.delete(models.AuditEvent).where(
                    models.AuditEvent.action == "meter_reading.submitted"
                )
            )
            await db.execute(  # the agent was notified of the reading
                sa.delete(models.OutboundEmail).where(
                    models.OutboundEmail.kind == notifications.KIND
                )
            )
        await engine.dispose()


async def _submit(
    db: AsyncSession, meter_id: uuid.UUID, value: str, key: str, read_at: datetime | None
) -> readings.Submitted:
    return await readings.submit(
        db,
        ACTORS["customer"],
        meter_id=meter_id,
        register=None,
        raw_value=value,
        read_at=read_at,
        client_key=key,
        override_plausibility=False,
        origin=Origin(),
        notify=NOTIFY,
        now=datetime.now(UTC),
    )


async def test_concurrent_submissions_of_one_client_key_store_one_row(
    committed: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    meter_id, last = await anna_meter(session)
    value = await plausible_value(session, meter_id, last)

    async def one() -> readings.Submitted:
        async with committed() as db, db.begin():
            return await _submit(db, meter_id, value, "concurrent-1", None)

    results = await asyncio.gather(*(one() for _ in range(4)))
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.reading.id for r in results}) == 1
    async with committed() as db:
        count = await db.scalar(
            sa.select(sa.func.count()).where(models.MeterReading.client_key == "concurrent-1")
        )
    assert count == 1


@pytest.mark.parametrize("earlier", [timedelta(0), timedelta(hours=1)], ids=["same", "before"])
async def test_a_submission_another_came_before_is_checked_again_with_the_meter_locked(
    committed: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
    earlier: timedelta,
) -> None:
    """The first reads the meter and its facts without a lock; another submission for
    the same register, at the same time or an hour before, is stored before the first
    writes: the first writes nothing then (the meter is not the version it read), reads
    again with the meter locked and is checked against the other's reading - refused as
    a duplicate at the same time, stored after it (and the meter touched again) else."""
    meter_id, last = await anna_meter(session)
    value = await plausible_value(session, meter_id, last)
    at = datetime.now(UTC) - timedelta(minutes=1)

    async def one(db: AsyncSession, key: str, read_at: datetime) -> readings.Submitted:
        return await _submit(db, meter_id, value, key, read_at)

    facts = readings._METER_AND_FACTS
    read = facts.fetchone
    reads = []

    async def another_comes_between(*args: Any, **kwargs: Any) -> Any:
        found = await read(*args, **kwargs)
        reads.append(found)
        monkeypatch.setattr(facts, "fetchone", read)  # once: the other reads as usual
        async with committed() as other, other.begin():
            stored = await one(other, "concurrent-2", at - earlier)
        assert stored.created
        return found

    async def versions() -> Any:
        async with committed() as db:
            return await db.scalar(
                sa.select(raw.version(models.Meter.__table__)).where(models.Meter.id == meter_id)
            )

    lock = scope.locked_visible
    locks = []

    async def counted_lock(*args: Any, **kwargs: Any) -> Any:
        locks.append(args)
        return await lock(*args, **kwargs)

    before = await versions()
    monkeypatch.setattr(facts, "fetchone", another_comes_between)
    monkeypatch.setattr(readings, "locked_visible", counted_lock)
    async with committed() as db, db.begin():
        if earlier:
            assert (await one(db, "concurrent-1", at)).created
        else:
            with pytest.raises(readings.ReadingRefused) as refused:
                await one(db, "concurrent-1", at)
            assert refused.value.code == "DUPLICATE_READING"
    assert (len(reads), len(locks)) == (1, 1)  # the first read, then the locked way once
    async with committed() as db:
        stored = (
            await db.execute(
                sa.select(models.MeterReading.client_key, models.MeterReading.read_at)
                .where(models.MeterReading.client_key.like("concurrent-%"))
                .order_by(models.MeterReading.read_at)
            )
        ).all()
    expected = [("concurrent-2", at - earlier)] + ([("concurrent-1", at)] if earlier else [])
    assert [tuple(row) for row in stored] == expected
    assert await versions() != before


REVIEW = """mutation($input: ReviewMeterReadingInput!) { reviewMeterReading(input: $input) {
  __typename ... on MeterReadingReviewed { reading { value status } }
  ... on MutationError { code message field } } }"""
TO_REVIEW = "{ meterReadingsToReview { totalCount edges { node { id value } } } }"


async def test_staff_review_confirmed_outliers(gql: GraphQLClient, session: AsyncSession) -> None:
    meter_id, reading = await anna_meter(session)
    last = readings.Point(reading.read_at, reading.value)  # plain values: the test commits
    meter = global_id("Meter", meter_id)
    for n in (1, 2, 3):  # each far above the one before: each needs review
        await submit(
            gql,
            meterId=meter,
            value=str(last.value + 100000 * n),
            clientKey=f"r{n}",
            overridePlausibility=True,
            readAt=(last.read_at + timedelta(days=n)).isoformat(),
        )
    data, errors = await gql(TO_REVIEW, "agent")
    assert errors == []
    assert data is not None
    ids = [edge["node"]["id"] for edge in data["meterReadingsToReview"]["edges"]]
    assert len(ids) == 3
    _, customer_errors = await gql(TO_REVIEW, "customer")
    assert [(e.extensions or {}).get("code") for e in customer_errors] == ["FORBIDDEN"]

    async def review(reading: str, decision: str, value: str | None = None) -> Any:
        data, errors = await gql(
            REVIEW,
            "agent",
            input={"readingId": reading, "decision": decision, "correctedValue": value},
        )
        assert errors == [], errors
        assert data is not None
        return data["reviewMeterReading"]

    assert (await review(ids[0], "REJECT"))["reading"]["status"] == "REJECTED"
    out_of_order = await review(ids[1], "CORRECT", str(last.value - 1))
    assert out_of_order["field"] == "correctedValue"
    corrected = await review(ids[1], "CORRECT", str(last.value + 100050))
    assert corrected["reading"]["status"] == "CORRECTED"
    assert (await review(ids[2], "ACCEPT"))["reading"]["status"] == "ACCEPTED"
    again = await review(ids[2], "REJECT")
    assert again["code"] == "RULE_VIOLATED"
    data, _ = await gql(TO_REVIEW, "agent")
    assert data == {"meterReadingsToReview": {"totalCount": 0, "edges": []}}


RESET = """mutation($input: ResetMeterCounterInput!) { resetMeterCounter(input: $input) {
  __typename ... on MeterCounterReset { meter { counterResetAt } }
  ... on MutationError { code message field } } }"""


async def test_after_a_counter_reset_a_lower_reading_is_accepted(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    meter_id, last = await anna_meter(session)
    meter = global_id("Meter", meter_id)
    low = await submit(gql, meterId=meter, value="12.5", clientKey="after-reset")
    assert low["reason"] == "LESS_THAN_PREVIOUS"

    reset_at = last.read_at + timedelta(days=1)
    data, errors = await gql(
        RESET, "customer", input={"meterId": meter, "at": reset_at.isoformat()}
    )
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    data, errors = await gql(RESET, "agent", input={"meterId": meter, "at": future})
    assert data is not None
    assert (data["resetMeterCounter"]["code"], data["resetMeterCounter"]["field"]) == (
        "INVALID_INPUT",
        "at",
    )
    data, errors = await gql(RESET, "agent", input={"meterId": meter, "at": reset_at.isoformat()})
    assert errors == []
    assert data is not None
    assert data["resetMeterCounter"]["meter"] == {"counterResetAt": reset_at.isoformat()}

    accepted = await submit(gql, meterId=meter, value="12.5", clientKey="after-reset")
    assert accepted["reading"]["status"] == "ACCEPTED"
    # A reading before the reset is still checked against the older ones.
    before = await submit(
        gql,
        meterId=meter,
        value="13",
        clientKey="before-reset",
        readAt=(reset_at - timedelta(hours=1)).isoformat(),
    )
    assert before["reason"] == "LESS_THAN_PREVIOUS"


async def test_a_submission_reads_a_year_of_its_meter_and_counts_as_with_all_of_it(
    session: AsyncSession,
) -> None:
    """A meter read daily for three years but for a year without readings, rejected
    readings among them (the newest before the gap too) and a counter reset a fortnight
    ago: the submission's facts hold the year before its moment and each register's
    newest counted reading before that, and `neighbours` finds in them what it finds in
    the whole history, for moments now, in the gap, before, at and after the reset and
    at the year's edge."""
    meter_id, _ = await anna_meter(session)
    meter = await session.get_one(models.Meter, meter_id)
    registers = list(
        await session.scalars(
            sa.select(models.MeterRegister).where(models.MeterRegister.meter_id == meter_id)
        )
    )
    await session.execute(
        sa.delete(models.MeterReading).where(models.MeterReading.meter_id == meter_id)
    )
    now = datetime.now(UTC).replace(microsecond=0)
    reset = now - timedelta(days=15)
    meter.counter_reset_at = reset
    for register in registers:
        for day in range(3 * 365, 0, -1):
            if 30 < day < 400:
                continue  # not read for a year (as by a yearly reading)
            at = now - timedelta(days=day, hours=register.digits % 5)
            counted = at - reset if at >= reset else at - (reset - timedelta(days=3 * 365))
            session.add(
                models.MeterReading(
                    organization_id=meter.organization_id,
                    meter_id=meter_id,
                    register_id=register.id,
                    read_at=at,
                    value=Decimal(int(counted.total_seconds() // 3600)),
                    # Every seventh rejected, the newest before the gap too.
                    status=REJECTED
                    if day % 7 == 0 or 400 <= day <= 403
                    else MeterReadingStatus.PENDING_REVIEW
                    if day % 3 == 1
                    else MeterReadingStatus.ACCEPTED,
                    source=models.MeterReadingSource.IMPORT,
                    client_key=f"history-{register.obis_code}-{day}",
                )
            )
    await session.flush()
    full = await readings.stored_readings(session.execute, [r.id for r in registers])
    moments = [
        now,
        now - timedelta(days=31),  # its year within the gap: the previous is older
        now - timedelta(days=90, hours=5),  # backdated, in the gap
        reset,
        reset - timedelta(hours=1),  # before the reset: compared with older ones
        now - readings.BAND_HISTORY,
        now - timedelta(days=500),
    ]
    actor = ACTORS["customer"]
    for moment in moments:
        since = moment - readings.BAND_HISTORY
        row = await readings._FACTS.fetchone(
            session,
            actor,
            meter_id=meter_id,
            contract_id=meter.contract_id,
            client_key="none",
            since=since,
        )
        assert row is not None
        facts = readings._read_facts(actor, row)
        # The same from the statement that reads the meter first (unlocked).
        first = await readings._METER_AND_FACTS.fetchone(
            session, actor, meter_id, client_key="none", since=since
        )
        assert first is not None
        assert readings._read_facts(actor, first).stored == facts.stored
        for register, stored in zip(registers, full, strict=True):
            kept = facts.stored.get(register.id, [])
            year = [each for each in stored if each.read_at >= since]
            older = [
                each for each in stored if each.read_at < since and each.status is not REJECTED
            ]
            assert len(kept) == len(year) + (1 if older else 0) < len(stored)
            found, expected = (readings.neighbours(each, moment, reset) for each in (kept, stored))
            # The history in any order: the band sorts it.
            by_time = operator.attrgetter("read_at")
            assert replace(found, history=sorted(found.history, key=by_time)) == replace(
                expected, history=sorted(expected.history, key=by_time)
            ), (moment, register.obis_code)
