"""Meter readings (seed 001 "Zählerstand"): the checks a submitted reading must pass,
as a plain function, with one error code per reason (the reasons epilot's metering API
gives, and a plausibility band from past consumption).

Plausibility: the average daily consumption of the register's accepted readings of the
last year predicts the consumption since the previous reading; a value whose
consumption lies outside 30 % to 200 % of that prediction (with at least 5 units of
slack either way) is refused with the allowed range, unless the customer confirms it,
in which case it is stored for staff review. With fewer than two earlier readings
there is no band.
"""

from __future__ import annotations

import enum
import functools
import operator
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from db import models, raw
from db.models.enums import MeterReadingSource, MeterReadingStatus, MeterStatus
from gql.auth.actor import Actor, Role
from gql.domain import audit, documents
from gql.domain.errors import DomainError, InvalidInput, Parameter, RuleViolation
from gql.domain.notifications import (
    Audience,
    Notifier,
    audience_columns,
    audience_of,
    audience_portal,
    customer_change,
    live_setting,
)
from gql.domain.scope import (
    OneVisible,
    PerShape,
    find_visible,
    locked_visible,
    one_visible,
    transient,
    visible,
)

DECIMALS = Decimal("0.001")
FUTURE_TOLERANCE = timedelta(minutes=5)
BAND_LOW, BAND_HIGH, SLACK = Decimal("0.3"), Decimal("2.0"), Decimal(5)


class ReadingRefused(DomainError):
    """A reading that can not be stored; `code` says why."""

    def __init__(
        self,
        code: str,
        message: str,
        field: str = "value",
        allowed: tuple[Decimal, Decimal] | None = None,
        parameters: Mapping[str, Parameter | None] | None = None,
    ) -> None:
        low, high = allowed or (None, None)
        super().__init__(
            message,
            code=code,
            field=field,
            parameters={"allowedMin": low, "allowedMax": high, **(parameters or {})},
        )
        self.allowed = allowed


@dataclass(frozen=True)
class Point:
    read_at: datetime
    value: Decimal


@dataclass(frozen=True)
class Checked:
    value: Decimal
    status: MeterReadingStatus


def parse_value(raw: str | Decimal, digits: int) -> Decimal:
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except InvalidOperation as error:
        raise ReadingRefused("INVALID_VALUE", "Enter the number on the meter.") from error
    if not value.is_finite() or value < 0:
        raise ReadingRefused("INVALID_VALUE", "Enter the number on the meter.")
    if value != value.quantize(DECIMALS):
        raise ReadingRefused("TOO_MANY_DECIMALS", "At most three decimals.")
    if value >= Decimal(10) ** digits:
        raise ReadingRefused(
            "TOO_MANY_DIGITS",
            f"The meter shows at most {digits} digits.",
            parameters={"digits": digits},
        )
    return value.quantize(DECIMALS)


# A reading's time, as the key of sorts and comparisons (in C: no Python call per reading).
_READ_AT = operator.attrgetter("read_at")


def expected_band(
    history: Sequence[Point], previous: Point, read_at: datetime
) -> tuple[Decimal, Decimal] | None:
    """The values plausible at `read_at` from the average daily consumption."""
    points = sorted(history, key=_READ_AT)
    if len(points) < 2:
        return None
    days = Decimal((points[-1].read_at - points[0].read_at).total_seconds()) / Decimal(86400)
    if days <= 0:
        return None
    daily = (points[-1].value - points[0].value) / days
    elapsed = Decimal((read_at - previous.read_at).total_seconds()) / Decimal(86400)
    predicted = daily * elapsed
    low = previous.value + max(predicted * BAND_LOW - SLACK, Decimal(0))
    high = previous.value + predicted * BAND_HIGH + SLACK
    return low.quantize(DECIMALS), high.quantize(DECIMALS)


@dataclass(frozen=True)
class Stored:
    """A reading of a register as stored (rejected ones included: they still block
    their time)."""

    read_at: datetime
    value: Decimal
    status: MeterReadingStatus


@dataclass(frozen=True)
class Neighbours:
    """What a reading at one moment is compared with: the nearest counted readings
    before and after it, whether its time is taken, and the accepted readings of the
    year before it (for the band)."""

    previous: Point | None
    later: Point | None
    same_time: bool
    history: list[Point]


# The accepted readings a band is drawn from: those of the year before the moment.
BAND_HISTORY = timedelta(days=366)


def neighbours(stored: Sequence[Stored], moment: datetime, reset: datetime | None) -> Neighbours:
    """Rejected readings count for nothing; after a counter reset a reading is compared
    only with those of the same count (before or from the reset)."""
    # The stored times are in UTC: the moment too, so that each comparison below is
    # made in C (a parsed input's zone is dateutil's, whose offset is Python code).
    moment = moment.astimezone(UTC)
    counted = [
        row
        for row in stored
        if row.status is not MeterReadingStatus.REJECTED
        and (reset is None or (row.read_at >= reset) == (moment >= reset))
    ]
    before = [row for row in counted if row.read_at < moment]
    after = [row for row in counted if row.read_at > moment]
    previous = max(before, key=_READ_AT, default=None)
    later = min(after, key=_READ_AT, default=None)
    return Neighbours(
        previous=Point(previous.read_at, previous.value) if previous else None,
        later=Point(later.read_at, later.value) if later else None,
        same_time=any(row.read_at == moment for row in stored),
        history=[
            Point(row.read_at, row.value)
            for row in before
            if row.status is MeterReadingStatus.ACCEPTED and row.read_at >= moment - BAND_HISTORY
        ],
    )


def read_at_window(
    now: datetime, contract_start: datetime | None, contract_end: datetime | None
) -> tuple[datetime | None, datetime]:
    """The earliest and latest time a reading may have: within the contract period,
    not in the future (a few minutes of clock difference allowed)."""
    latest = now + FUTURE_TOLERANCE
    return contract_start, min(latest, contract_end) if contract_end else latest


@dataclass(frozen=True)
class ValueLimits:
    """The values a reading may have: `minimum` to `maximum` at all (the neighbours,
    the meter's digits), `band` without confirmation (None: no band)."""

    minimum: Decimal
    maximum: Decimal
    band: tuple[Decimal, Decimal] | None

    @property
    def lowest_plausible(self) -> Decimal:
        return self.minimum if self.band is None else max(self.minimum, self.band[0])

    @property
    def highest_plausible(self) -> Decimal:
        return self.maximum if self.band is None else min(self.maximum, self.band[1])


def value_limits(
    previous: Point | None,
    later: Point | None,
    history: Sequence[Point],
    read_at: datetime,
    digits: int,
) -> ValueLimits:
    largest = Decimal(10) ** digits - DECIMALS
    return ValueLimits(
        minimum=previous.value if previous is not None else Decimal(0),
        maximum=min(later.value, largest) if later is not None else largest,
        band=expected_band(history, previous, read_at) if previous is not None else None,
    )


def check_reading(
    *,
    raw_value: str | Decimal,
    read_at: datetime,
    now: datetime,
    meter_status: MeterStatus,
    digits: int,
    contract_start: datetime | None,
    contract_end: datetime | None,
    previous: Point | None,
    later: Point | None,
    same_time: bool,
    history: Sequence[Point],
    override_plausibility: bool,
    unit: str | None = None,
) -> Checked:
    """The value to store and its status, or the reason it is refused; `unit` (the
    meter's) goes into an IMPLAUSIBLE refusal with the expected range."""
    if meter_status is not MeterStatus.ACTIVE:
        raise ReadingRefused("METER_DECOMMISSIONED", "The meter is no longer in use.", "meterId")
    value = parse_value(raw_value, digits)
    earliest, latest = read_at_window(now, contract_start, contract_end)
    if read_at > now + FUTURE_TOLERANCE:
        raise ReadingRefused("READ_AT_IN_FUTURE", "A reading can not be in the future.", "readAt")
    if (earliest and read_at < earliest) or read_at > latest:
        raise ReadingRefused(
            "OUTSIDE_CONTRACT_PERIOD", "The date lies outside the contract period.", "readAt"
        )
    if same_time:
        raise ReadingRefused(
            "DUPLICATE_READING", "There is a reading for this register at that time.", "readAt"
        )
    limits = value_limits(previous, later, history, read_at, digits)
    if previous is not None and value < limits.minimum:
        raise ReadingRefused(
            "LESS_THAN_PREVIOUS",
            f"The value is below the previous reading ({previous.value} on"
            f" {previous.read_at.date().isoformat()}).",
            parameters={"previousValue": previous.value, "previousReadAt": previous.read_at},
        )
    if later is not None and value > limits.maximum:
        raise ReadingRefused(
            "GREATER_THAN_LATER",
            f"The value is above a later reading ({later.value} on"
            f" {later.read_at.date().isoformat()}).",
            parameters={"laterValue": later.value, "laterReadAt": later.read_at},
        )
    band = limits.band
    if band is not None and not band[0] <= value <= band[1]:
        if not override_plausibility:
            raise ReadingRefused(
                "IMPLAUSIBLE",
                f"The value is unusual for this meter (expected {band[0]} to {band[1]});"
                " check it, or confirm it to send it for review.",
                allowed=band,
                parameters={"unit": unit},
            )
        return Checked(value, MeterReadingStatus.PENDING_REVIEW)
    return Checked(value, MeterReadingStatus.ACCEPTED)


@dataclass(frozen=True)
class ReadingRange:
    """What `check_reading` accepts for a register at `read_at`, asked in advance."""

    accepts_readings: bool
    read_at: datetime
    earliest_read_at: datetime | None
    latest_read_at: datetime
    limits: ValueLimits
    previous: Point | None


def reading_range(
    *,
    meter_status: MeterStatus,
    digits: int,
    contract_start: datetime | None,
    contract_end: datetime | None,
    counter_reset_at: datetime | None,
    stored: Sequence[Stored],
    read_at: datetime | None,
    now: datetime,
) -> ReadingRange:
    """The range of a reading taken at `read_at` (default now), from the same functions
    `check_reading` and `submit` use (the window, the neighbours, the limits)."""
    moment = read_at or now
    near = neighbours(stored, moment, counter_reset_at)
    earliest, latest = read_at_window(now, contract_start, contract_end)
    return ReadingRange(
        accepts_readings=meter_status is MeterStatus.ACTIVE,
        read_at=moment,
        earliest_read_at=earliest,
        latest_read_at=latest,
        limits=value_limits(near.previous, near.later, near.history, moment, digits),
        previous=near.previous,
    )


Execute = Callable[[Executable], Awaitable[Result[Any]]]


async def stored_readings(
    execute: Execute, register_ids: Sequence[uuid.UUID]
) -> list[list[Stored]]:
    """Every reading of each register, in one statement (a submission asks for one
    register, `MeterRegister.readingRange` for a page of them)."""
    reading = models.MeterReading
    rows = await execute(
        sa.select(reading.register_id, reading.read_at, reading.value, reading.status).where(
            reading.register_id.in_(register_ids)
        )
    )
    found: dict[uuid.UUID, list[Stored]] = defaultdict(list)
    for row in rows:
        found[row.register_id].append(Stored(row.read_at, row.value, row.status))
    return [found[register_id] for register_id in register_ids]


@dataclass(frozen=True)
class Period:
    start: datetime | None
    end: datetime | None


def period_of(start_date: date | None, end_date: date | None) -> Period:
    """The supply period of a contract from its first and last day."""
    return Period(_start_of(start_date), _end_of(end_date))


async def contract_periods(
    execute: Execute, contract_ids: Sequence[uuid.UUID | None]
) -> list[Period]:
    """The supply periods of contracts (of meters the caller sees; installers see no
    contract, but their readings must lie in its period too)."""
    contract = models.Contract
    rows = await execute(
        sa.select(contract.id, contract.start_date, contract.end_date).where(
            contract.id.in_([key for key in contract_ids if key is not None])
        )
    )
    found = {row.id: period_of(row.start_date, row.end_date) for row in rows}
    return [found.get(contract_id, Period(None, None)) for contract_id in contract_ids]


# --- Submitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitted:
    reading: Any
    created: bool


SOURCE_OF_ROLE = {
    Role.CUSTOMER: MeterReadingSource.CUSTOMER,
    Role.INSTALLER: MeterReadingSource.INSTALLER,
    Role.ADMIN: MeterReadingSource.STAFF,
    Role.AGENT: MeterReadingSource.STAFF,
}


def _client_key(client_key: str) -> str:
    key = client_key.strip()
    if not key or len(key) > 64:
        raise InvalidInput("client_key_invalid", field="clientKey")
    return key


async def _meter(db: AsyncSession, actor: Actor, meter_id: uuid.UUID | None) -> models.Meter:
    """The meter, locked: concurrent retries wait for each other and store one row."""
    meter = await one_visible(db, models.Meter, meter_id, actor, lock=True)
    if meter is None:
        raise ReadingRefused("METER_NOT_FOUND", "No such meter.", "meterId")
    return meter


async def _registers(db: AsyncSession, meter: models.Meter) -> list[models.MeterRegister]:
    register = models.MeterRegister
    statement = (
        sa.select(register).where(register.meter_id == meter.id).order_by(register.obis_code)
    )
    return list((await db.scalars(statement)).all())


def _codes(registers: Sequence[models.MeterRegister | Register]) -> str:
    return ", ".join(register.obis_code for register in registers)


AnyRegister = TypeVar("AnyRegister", models.MeterRegister, "Register")


def choose_register(
    registers: Sequence[AnyRegister], register: str | None, field: str = "register"
) -> AnyRegister:
    """The register named by its OBIS code; none named: the meter's only one."""
    if register:
        chosen = next((r for r in registers if r.obis_code == register.strip()), None)
        if chosen is None:
            raise ReadingRefused(
                "REGISTER_UNKNOWN",
                f"The meter has the registers {_codes(registers)}.",
                field,
                parameters={"registers": _codes(registers)},
            )
        return chosen
    if len(registers) == 1:
        return registers[0]
    raise ReadingRefused(
        "REGISTER_REQUIRED",
        f"Choose a register: {_codes(registers)}.",
        field,
        parameters={"registers": _codes(registers)},
    )


def _check(
    meter: models.Meter,
    digits: int,
    period: Period,
    near: Neighbours,
    *,
    raw_value: str,
    moment: datetime,
    override_plausibility: bool,
    now: datetime,
) -> Checked:
    """`check_reading` of a value for a register with `digits`, against the contract's
    `period` and the register's readings `near` the moment."""
    return check_reading(
        raw_value=raw_value,
        read_at=moment,
        now=now,
        meter_status=meter.status,
        digits=digits,
        contract_start=period.start,
        contract_end=period.end,
        previous=near.previous,
        later=near.later,
        same_time=near.same_time,
        history=near.history,
        override_plausibility=override_plausibility,
        unit=meter.unit,
    )


async def _checked(
    db: AsyncSession,
    actor: Actor,
    meter: models.Meter,
    register: models.MeterRegister,
    *,
    raw_value: str,
    moment: datetime,
    override_plausibility: bool,
    now: datetime,
) -> Checked:
    """`check_reading` over the register's stored readings and the contract's period,
    and the portal's approval of portal users' readings."""
    period = (await contract_periods(db.execute, [meter.contract_id]))[0]
    near = neighbours(
        (await stored_readings(db.execute, [register.id]))[0], moment, meter.counter_reset_at
    )
    checked = _check(
        meter,
        register.digits,
        period,
        near,
        raw_value=raw_value,
        moment=moment,
        override_plausibility=override_plausibility,
        now=now,
    )
    if checked.status is MeterReadingStatus.ACCEPTED and await _needs_approval(db, actor):
        checked = Checked(checked.value, MeterReadingStatus.PENDING_REVIEW)
    return checked


def _reading(
    actor: Actor,
    meter: models.Meter,
    register: models.MeterRegister | Register,
    checked: Checked,
    moment: datetime,
    key: str,
    photo: models.Document | None = None,
) -> models.MeterReading:
    """The reading to store (`db.raw.built`: for `db.raw.Writes`, or added to the
    session)."""
    return raw.built(
        models.MeterReading,
        {
            "organization_id": meter.organization_id,
            "meter_id": meter.id,
            "register_id": register.id,
            "value": checked.value,
            "read_at": moment,
            "source": SOURCE_OF_ROLE[actor.role],
            "status": checked.status,
            "client_key": key,
            "submitted_by_portal_user_id": actor.subject_id if actor.is_portal_user else None,
            "submitted_by_staff_user_id": actor.impersonator_id
            or (actor.subject_id if actor.is_staff else None),
            "photo_document_id": photo.id if photo is not None else None,
        },
    )


def _line(meter: models.Meter, register: models.MeterRegister, reading: models.MeterReading) -> str:
    return (
        f"{meter.number} {register.obis_code}: {reading.value} {meter.unit},"
        f" {reading.read_at:%Y-%m-%d}, {reading.status.value}"
    )


async def submit(
    db: AsyncSession,
    actor: Actor,
    *,
    meter_id: uuid.UUID | None,
    register: str | None,
    raw_value: str,
    read_at: datetime | None,
    client_key: str,
    override_plausibility: bool,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> Submitted:
    """Store a reading of a meter the actor may see. The same `client_key` for the same
    meter returns the reading stored the first time (safe retries).

    Two statements when no other submission for the meter comes between: the meter and
    the facts read together without a lock, then the reading, the audit event and the
    mails written in one statement that is its own transaction, only if the meter is
    still the version read (every submission touches its meter: `Writes.unless_changed`).
    When one came between, nothing was written and the submission is made again the
    safe way: the meter locked first, the facts read after the lock (so they include
    what the other committed), the writes in the same transaction.
    """
    key = _client_key(client_key)
    moment = read_at or now
    since = moment - BAND_HISTORY  # the readings read: `_counted_readings`
    found = (
        None
        if meter_id is None
        else await _METER_AND_FACTS.fetchone(db, actor, meter_id, client_key=key, since=since)
    )
    if found is None:
        raise ReadingRefused("METER_NOT_FOUND", "No such meter.", "meterId")
    store = functools.partial(
        _store,
        db,
        actor,
        register=register,
        raw_value=raw_value,
        moment=moment,
        key=key,
        override_plausibility=override_plausibility,
        origin=origin,
        notify=notify,
        now=now,
    )
    meter = transient(models.Meter, found)
    done = await store(meter, _read_facts(actor, found), version_read=found["version"])
    if done is not None:
        return done
    locked = await locked_visible(db, models.Meter, meter_id, actor)
    if locked is None:
        raise ReadingRefused("METER_NOT_FOUND", "No such meter.", "meterId")
    facts = await _submission_facts(db, actor, locked, key, since)
    done = await store(locked, facts, version_read=None)
    assert done is not None  # the meter is locked: nothing came between
    return done


async def _store(
    db: AsyncSession,
    actor: Actor,
    meter: models.Meter,
    facts: SubmissionFacts,
    *,
    register: str | None,
    raw_value: str,
    moment: datetime,
    key: str,
    override_plausibility: bool,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
    version_read: str | None,
) -> Submitted | None:
    """`submit`'s checks against `facts`, then its writes: only if the meter is still
    `version_read` (None when the meter is locked), else None (nothing written)."""
    if facts.earlier_id is not None:
        return Submitted(await db.get_one(models.MeterReading, facts.earlier_id), created=False)
    chosen = choose_register(facts.registers, register)
    near = neighbours(facts.stored.get(chosen.id, []), moment, meter.counter_reset_at)
    checked = _check(
        meter,
        chosen.digits,
        facts.period,
        near,
        raw_value=raw_value,
        moment=moment,
        override_plausibility=override_plausibility,
        now=now,
    )
    if checked.status is MeterReadingStatus.ACCEPTED and facts.needs_approval:
        checked = Checked(checked.value, MeterReadingStatus.PENDING_REVIEW)
    stored = _reading(actor, meter, chosen, checked, moment, key)
    writes = raw.Writes().insert([stored])  # one statement: the reading, audit, mails
    await customer_change(
        db,
        notify,
        actor,
        stored,
        "meter_reading.submitted",
        origin,
        {"meter_id": str(meter.id), "value": str(checked.value), "status": checked.status.value},
        details=[
            f"{meter.number} {chosen.obis_code}: {checked.value} {meter.unit},"
            f" {moment:%Y-%m-%d}, {checked.status.value}"
        ],
        audience=facts.audience,
        writes=writes,
    )
    if version_read is None:
        writes.update(meter)  # touched: a submission that read it before writes nothing
        await writes.run(db)
    elif not await writes.unless_changed(meter, version_read).run(db, alone=True):
        return None
    return Submitted(stored, created=True)


# --- Every register at once, with a photo ------------------------------------------------------


@dataclass(frozen=True)
class RegisterValue:
    """One register's value in a submission of all of a meter's registers."""

    register: str
    raw_value: str


@dataclass(frozen=True)
class Photo:
    """The photo of the meter's display as uploaded (see `documents.read_limited`)."""

    data: bytes
    file_name: str | None


@dataclass(frozen=True)
class SubmittedAll:
    readings: list[models.MeterReading]  # in the order of the registers given
    photo: models.Document | None
    created: bool


def register_key(client_key: str, register: models.MeterRegister) -> str:
    """The idempotency key of one register's reading in a submission of all of them."""
    key = f"{client_key}:{register.obis_code}"
    if len(key) > 64:
        raise InvalidInput("client_key_invalid", field="clientKey")
    return key


def match_registers(
    registers: Sequence[models.MeterRegister], values: Sequence[RegisterValue]
) -> list[models.MeterRegister]:
    """The register of each value: every register of the meter exactly once (HT and NT
    are read together, or not at all).

    Raises:
        ReadingRefused: REGISTER_UNKNOWN naming `readings.<i>.register`.
        InvalidInput: a register twice; a register without a value.
    """
    chosen: list[models.MeterRegister] = []
    for index, value in enumerate(values):
        register = choose_register(registers, value.register, f"readings.{index}.register")
        if register in chosen:
            raise InvalidInput("register_repeated", field=f"readings.{index}.register")
        chosen.append(register)
    if len(chosen) != len(registers):
        missing = [register for register in registers if register not in chosen]
        raise InvalidInput(
            "readings_incomplete", field="readings", parameters={"registers": _codes(missing)}
        )
    return chosen


def check_photo(data: bytes) -> documents.FileType:
    """A photo is an image: PNG, JPEG, TIFF or HEIC, sniffed from its content.

    Raises:
        InvalidInput: anything else (a PDF, a program), with the detected type.
    """
    try:
        kind = documents.check_type(data)
    except documents.UploadRefused as refused:
        raise InvalidInput(
            "photo_not_an_image", field="photo", parameters={"detectedType": refused.detected_type}
        ) from refused
    if not kind.mime.startswith("image/"):
        raise InvalidInput(
            "photo_not_an_image", field="photo", parameters={"detectedType": kind.mime}
        )
    return kind


async def submit_all(
    db: AsyncSession,
    actor: Actor,
    storage: documents.DocumentStorage,
    *,
    meter_id: uuid.UUID | None,
    values: Sequence[RegisterValue],
    read_at: datetime | None,
    client_key: str,
    override_plausibility: bool,
    photo: Photo | None,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> SubmittedAll:
    """Store a reading of every register of a meter at one moment, all or none: each is
    checked like `submit`'s (a refusal names `readings.<i>.value`), and only when every
    one passes are they stored, with the photo (a METER_PHOTO document of the contract's
    holder) if one came. The same `client_key` returns what the first submission
    stored. Staff are told once, with every register's line.

    Raises:
        ReadingRefused: a register's value is refused (nothing is stored).
        InvalidInput: registers missing or repeated; the photo is not an image, or the
            meter belongs to no contract to keep it with.
    """
    key = _client_key(client_key)
    meter = await _meter(db, actor, meter_id)
    registers = await _registers(db, meter)
    chosen = match_registers(registers, values)
    keys = [register_key(key, register) for register in chosen]
    reading = models.MeterReading
    earlier = (
        await db.scalars(
            sa.select(reading).where(reading.meter_id == meter.id, reading.client_key.in_(keys))
        )
    ).all()
    if earlier:
        by_key = {row.client_key: row for row in earlier}
        document = None
        if earlier[0].photo_document_id is not None:
            document = await db.get(models.Document, earlier[0].photo_document_id)
        rows = [by_key[k] for k in keys if k in by_key]
        return SubmittedAll(rows, document, created=False)
    moment = read_at or now
    checked: list[Checked] = []
    for index, (register, value) in enumerate(zip(chosen, values, strict=True)):
        try:
            checked.append(
                await _checked(
                    db,
                    actor,
                    meter,
                    register,
                    raw_value=value.raw_value,
                    moment=moment,
                    override_plausibility=override_plausibility,
                    now=now,
                )
            )
        except ReadingRefused as refused:
            field = refused.field if refused.field in ("meterId", "readAt") else "value"
            raise ReadingRefused(
                refused.code,
                refused.key,
                field if field != "value" else f"readings.{index}.value",
                refused.allowed,
                {**refused.parameters, "register": register.obis_code},
            ) from refused
    kind = check_photo(photo.data) if photo is not None else None
    document = None
    if photo is not None and kind is not None:
        document = await _store_photo(db, actor, storage, meter, photo, kind, moment, origin)
    stored = [
        _reading(actor, meter, register, result, moment, k, document)
        for register, result, k in zip(chosen, checked, keys, strict=True)
    ]
    db.add_all(stored)
    meter.updated_at = now  # touched: a submission that read it before writes nothing
    await db.flush()
    lines = [_line(meter, register, row) for register, row in zip(chosen, stored, strict=True)]
    if document is not None:
        lines.append(f"Foto / photo: {document.name}")
    for position, row in enumerate(stored):
        data = {
            "meter_id": str(meter.id),
            "value": str(row.value),
            "status": row.status.value,
            "photo_document_id": str(document.id) if document is not None else None,
        }
        if position == 0:  # one mail to staff for the whole submission
            await customer_change(
                db, notify, actor, row, "meter_reading.submitted", origin, data, details=lines
            )
        else:
            audit.about(db, actor, row, "meter_reading.submitted", origin, data)
    return SubmittedAll(stored, document, created=True)


async def _store_photo(
    db: AsyncSession,
    actor: Actor,
    storage: documents.DocumentStorage,
    meter: models.Meter,
    photo: Photo,
    kind: documents.FileType,
    moment: datetime,
    origin: audit.Origin,
) -> models.Document:
    """The photo as a document of the contract's holder; stored last, so a failure
    leaves no row (the caller wraps the transaction in `documents.undo_on_failure`)."""
    contract = (
        await db.get(models.Contract, meter.contract_id) if meter.contract_id is not None else None
    )
    if contract is None:
        raise InvalidInput("photo_needs_contract", field="photo")
    name = photo.file_name or f"Zaehlerstand {meter.number} {moment:%Y-%m-%d}"
    document = models.Document(
        id=uuid.uuid4(),
        organization_id=meter.organization_id,
        contact_id=contract.contact_id,
        contract_id=contract.id,
        name=documents.clean_file_name(name, kind),
        type=models.DocumentType.METER_PHOTO,
        mime_type=kind.mime,
        size_bytes=len(photo.data),
        storage_key=documents.new_key(meter.organization_id),
        uploaded_by_id=actor.subject_id if actor.is_portal_user else None,
    )
    db.add(document)
    await db.flush()
    audit.about(
        db,
        actor,
        document,
        documents.UPLOADED,
        origin,
        {
            "name": document.name,
            "mime_type": kind.mime,
            "size_bytes": len(photo.data),
            "type": document.type.value,
            "meter_id": str(meter.id),
        },
    )
    await storage.put(document.storage_key, photo.data)
    return document


APPROVAL = "approval_required_attributes"  # the live setting that says it


def _wants_approval(attributes: Any) -> Any:
    """Whether a portal whose `approvalRequiredAttributes` are `attributes` (JSONB)
    wants staff to approve every reading its users submit (seed 003)."""
    return attributes.has_key("meter_reading")


def _approval_wanted(actor: Actor) -> Any:
    """`_wants_approval` of the portal of a portal user, as a scalar subquery: read
    alone (the submission's facts read it with the audience, `_facts`)."""
    approval = _wants_approval(live_setting(APPROVAL))
    return sa.select(approval).where(models.Portal.id == actor.portal_id).scalar_subquery()


async def _needs_approval(db: AsyncSession, actor: Actor) -> bool:
    if not actor.is_portal_user:
        return False
    return bool(await db.scalar(sa.select(_approval_wanted(actor))))


@dataclass(frozen=True)
class Register:
    id: uuid.UUID
    obis_code: str
    digits: int


@dataclass(frozen=True)
class SubmissionFacts:
    """What a submission is checked against, read in one statement once the meter is
    locked: a reading stored before with the same client key, the meter's registers
    and their readings, the contract's period, whether the portal wants staff to
    approve every reading (seed 003), and who is told (portal users' submissions)."""

    earlier_id: uuid.UUID | None
    registers: list[Register]
    stored: dict[uuid.UUID, list[Stored]]  # those `neighbours` can count at the moment
    period: Period
    needs_approval: bool
    audience: Audience | None


def _counted_readings(meter_id: Any) -> Any:
    """The readings of the meter `meter_id` that `neighbours` can count at the moment
    whose `BAND_HISTORY` begins at the parameter `since`: those from `since` on (the
    history, every reading after the moment, one at the moment itself) and, per
    register, the newest not rejected before `since` (the previous reading when none in
    the history comes before the moment). Whatever its counter reset, that one is the
    previous reading if any before `since` is: a reading before it is older, and one
    rejected never counts. So a submission reads a year of its meter, not its whole
    history (daily readings for years)."""
    reading, register = models.MeterReading, models.MeterRegister
    columns = (reading.register_id, reading.read_at, reading.value, reading.status)
    since = sa.bindparam("since", type_=sa.DateTime(timezone=True))
    # `meter_id` may be a column of the statement around (the meter read first): that
    # table is correlated, never read again here.
    recent = (
        sa.select(*columns)
        .where(reading.meter_id == meter_id, reading.read_at >= since)
        .correlate_except(reading)
    )
    before = (
        sa.select(*columns)
        .where(
            reading.register_id == register.id,
            reading.read_at < since,
            reading.status != MeterReadingStatus.REJECTED,
        )
        .order_by(reading.read_at.desc())
        .limit(1)
        .lateral("before")
    )
    older = (
        sa.select(*before.c)
        .select_from(register)
        .join(before, sa.true())
        .where(register.meter_id == meter_id)
        .correlate_except(register, before)
    )
    return sa.union_all(recent, older)


def _facts(actor: Actor, meter_id: Any, contract_id: Any, meter: Any = None) -> sa.Select[Any]:
    """The statement of `SubmissionFacts` for the meter `meter_id` of the contract
    `contract_id` (SQL expressions: parameters, or the columns of the `meter` table the
    statement reads first) and the client key `client_key` (a parameter), for `actor`
    (symbolic: built once per kind of caller, `scope.PerShape`)."""
    reading, register, contract = models.MeterReading, models.MeterRegister, models.Contract
    registers = (
        sa.select(
            sa.func.array_agg(aggregate_order_by(register.id, register.obis_code)).label("ids"),
            sa.func.array_agg(aggregate_order_by(register.obis_code, register.obis_code)).label(
                "codes"
            ),
            sa.func.array_agg(aggregate_order_by(register.digits, register.obis_code)).label(
                "digits"
            ),
        )
        .where(register.meter_id == meter_id)
        .lateral("registers")
    )
    kept = _counted_readings(meter_id).subquery("kept")
    readings = (
        sa.select(
            sa.func.array_agg(kept.c.register_id).label("register_ids"),
            sa.func.array_agg(kept.c.read_at).label("read_ats"),
            sa.func.array_agg(kept.c.value).label("values"),
            sa.func.array_agg(sa.cast(kept.c.status, sa.Text)).label("statuses"),
        )
        .select_from(kept)
        .lateral("readings")
    )
    earlier = (
        sa.select(reading.id)
        .where(
            reading.meter_id == meter_id,
            reading.client_key == sa.bindparam("client_key", type_=sa.String),
        )
        .limit(1)
        .scalar_subquery()
    )
    period = sa.select(contract.start_date, contract.end_date).where(contract.id == contract_id)
    columns: list[sa.ColumnElement[Any]] = [
        earlier.label("earlier_id"),
        period.with_only_columns(contract.start_date).scalar_subquery().label("start_date"),
        period.with_only_columns(contract.end_date).scalar_subquery().label("end_date"),
    ]
    first = registers if meter is None else sa.join(meter, registers, sa.true())
    first = first.join(readings, sa.true())
    if actor.is_portal_user:
        # The portal's settings unpacked once for the approval and the audience.
        portal = audience_portal(actor, APPROVAL).subquery("actor_portal")
        columns += [
            _wants_approval(portal.c[APPROVAL]).label("needs_approval"),
            *audience_columns(actor, portal),
        ]
        first = first.outerjoin(portal, sa.true())
    return sa.select(*columns, registers, readings).select_from(first)


def _facts_statement(actor: Actor) -> sa.Select[Any]:
    """`_facts` of the meter `meter_id` of the contract `contract_id` (parameters): read
    after the meter is locked."""
    meter_id = sa.bindparam("meter_id", type_=sa.Uuid)
    return _facts(actor, meter_id, sa.bindparam("contract_id", type_=sa.Uuid))


_FACTS = PerShape(_facts_statement)


def _meter_and_facts(actor: Actor) -> sa.Select[Any]:
    """The meter `row_id` the actor may see, its version (`db.raw.version`) and `_facts`
    of it, in one statement without a lock."""
    meter = models.Meter
    table = meter.__table__
    return (
        _facts(actor, meter.id, meter.contract_id, table)
        .add_columns(*table.columns, raw.version(table).label("version"))
        .where(meter.id == sa.bindparam("row_id", type_=sa.Uuid), visible(meter, actor))
    )


_METER_AND_FACTS = OneVisible(_meter_and_facts)


# A stored status by its name, as the facts' statement reads them (a dict lookup, not
# the enum's call, for each of the meter's readings).
_STATUS_OF = {status.value: status for status in MeterReadingStatus}


def _read_facts(actor: Actor, row: Mapping[str, Any]) -> SubmissionFacts:
    """`SubmissionFacts` from a row of `_facts`."""
    stored: dict[uuid.UUID, list[Stored]] = defaultdict(list)
    for register_id, read_at, value, status in zip(
        row["register_ids"] or (),
        row["read_ats"] or (),
        row["values"] or (),
        row["statuses"] or (),
        strict=True,
    ):
        stored[register_id].append(Stored(read_at, value, _STATUS_OF[status]))
    return SubmissionFacts(
        earlier_id=row["earlier_id"],
        registers=[
            Register(*values)
            for values in zip(
                row["ids"] or (), row["codes"] or (), row["digits"] or (), strict=True
            )
        ],
        stored=stored,
        period=Period(_start_of(row["start_date"]), _end_of(row["end_date"])),
        needs_approval=actor.is_portal_user and bool(row["needs_approval"]),
        audience=audience_of(SimpleNamespace(**row)) if actor.is_portal_user else None,
    )


async def _submission_facts(
    db: AsyncSession, actor: Actor, meter: models.Meter, key: str, since: datetime
) -> SubmissionFacts:
    row = await _FACTS.fetchone(
        db, actor, meter_id=meter.id, contract_id=meter.contract_id, client_key=key, since=since
    )
    assert row is not None  # aggregates without GROUP BY: always one row
    return _read_facts(actor, row)


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)


def _end_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.max, tzinfo=UTC)


class Decision(enum.StrEnum):
    ACCEPT = "ACCEPT"
    CORRECT = "CORRECT"
    REJECT = "REJECT"


async def review(
    db: AsyncSession,
    actor: Actor,
    *,
    reading_id: uuid.UUID | None,
    decision: Decision,
    corrected_value: str | None,
    origin: audit.Origin,
) -> Any:
    """Staff decide on a reading waiting for review: accept it, correct its value
    (still between its neighbours), or reject it (it then counts for nothing)."""
    reading = await find_visible(
        db,
        models.MeterReading,
        reading_id,
        actor,
        what="meter reading",
        field="readingId",
        lock=True,
    )
    if reading.status is not MeterReadingStatus.PENDING_REVIEW:
        raise RuleViolation(
            "reading_not_waiting_for_review", parameters={"status": reading.status.value}
        )
    data: dict[str, Any] = {"decision": decision.value, "value": str(reading.value)}
    if decision is Decision.CORRECT:
        register = await db.get_one(models.MeterRegister, reading.register_id)
        value = parse_value(corrected_value or "", register.digits)
        table = models.MeterReading
        neighbours = sa.and_(
            table.register_id == reading.register_id,
            table.id != reading.id,
            table.status != MeterReadingStatus.REJECTED,
        )
        below = await db.scalar(
            sa.select(sa.func.max(table.value)).where(neighbours, table.read_at < reading.read_at)
        )
        above = await db.scalar(
            sa.select(sa.func.min(table.value)).where(neighbours, table.read_at > reading.read_at)
        )
        if (below is not None and value < below) or (above is not None and value > above):
            raise ReadingRefused(
                "OUT_OF_ORDER",
                f"The value must lie between the neighbouring readings ({below} and {above}).",
                "correctedValue",
                parameters={"lowerValue": below, "upperValue": above},
            )
        data["corrected"] = str(value)
        reading.value = value
        reading.status = MeterReadingStatus.CORRECTED
    elif decision is Decision.ACCEPT:
        reading.status = MeterReadingStatus.ACCEPTED
    else:
        reading.status = MeterReadingStatus.REJECTED
    await db.flush()
    audit.about(db, actor, reading, "meter_reading.reviewed", origin, data)
    return reading


async def reset_counter(
    db: AsyncSession,
    actor: Actor,
    *,
    meter_id: uuid.UUID | None,
    at: datetime,
    origin: audit.Origin,
    now: datetime,
) -> models.Meter:
    """Staff record that a meter's count started again at `at` (it rolled over past its
    last digit, or the device was replaced under the same number): readings from then on
    are checked against each other only, so the first one may be below the last before."""
    meter = await find_visible(
        db, models.Meter, meter_id, actor, what="meter", field="meterId", lock=True
    )
    if at > now:
        raise InvalidInput("reset_in_future", field="at")
    reading = models.MeterReading
    after = await db.scalar(
        sa.select(sa.func.count()).where(reading.meter_id == meter.id, reading.read_at >= at)
    )
    audit.about(
        db,
        actor,
        meter,
        "meter.counter_reset",
        origin,
        {
            "from": meter.counter_reset_at.isoformat() if meter.counter_reset_at else None,
            "to": at.isoformat(),
            "readings_after": int(after or 0),
        },
    )
    meter.counter_reset_at = at
    await db.flush()
    return meter
