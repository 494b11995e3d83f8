"""Consumption per register and calendar month or year, from the meter readings, in SQL.

Between two consecutive counted readings of a register (accepted or corrected; a
reading waiting for review or rejected counts for nothing) the consumption is taken as
steady: each step between readings is apportioned to the months it overlaps by time
(`lag` over the readings per register, one row per step and month). A month that holds
no reading of its own gets its consumption only from the step around it, interpolated:
it is flagged `estimated`; a year is estimated when one of its months is. Nothing is
extrapolated: before the first reading and after the last there is no consumption, and
`covered_from` / `covered_until` say which part of a period the readings span. After a
counter reset (`Meter.counter_reset_at`) the readings before and after it are two
counts: no step joins them, so the time between them has no consumption.

Months and years are calendar months and years in Germany (Europe/Berlin): a reading
at 23:30 UTC on 31 January belongs to February.
"""

from __future__ import annotations

import enum
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Result
from sqlalchemy.sql import Executable

from db.models.enums import MeterReadingStatus

ZONE = "Europe/Berlin"
COUNTED = (MeterReadingStatus.ACCEPTED.value, MeterReadingStatus.CORRECTED.value)


class Interval(enum.StrEnum):
    MONTH = "MONTH"
    YEAR = "YEAR"


@dataclass(frozen=True)
class Consumption:
    """The consumption of one register in one period, in the meter's unit."""

    period: date  # the first day of the month or year
    value: Decimal
    estimated: bool
    covered_from: datetime
    covered_until: datetime


# The pieces other statements share (gql/domain/costs.py): SQL from constants of this
# module only, every value a bind parameter (:counted, :zone, :unit, :since, :until).


def steps_of(registers: str) -> str:
    """CTEs `counted` and `steps`: the steps between consecutive counted readings of each
    register whose id the relation `registers` lists in its column `register_id`, per
    register and count (window function `lag`; a counter reset starts a new count)."""
    return f"""
counted AS (
    SELECT reading.register_id, reading.read_at, reading.value,
           meter.counter_reset_at IS NOT NULL
               AND reading.read_at >= meter.counter_reset_at AS after_reset
    FROM meter_reading AS reading
    JOIN meter ON meter.id = reading.meter_id
    WHERE reading.register_id IN (SELECT register_id FROM {registers})
      AND reading.status = ANY(:counted)
), steps AS (
    SELECT register_id,
           lag(read_at) OVER count_ AS started, lag(value) OVER count_ AS start_value,
           read_at AS ended, value AS end_value
    FROM counted
    WINDOW count_ AS (PARTITION BY register_id, after_reset ORDER BY read_at)
)"""  # noqa: S608  # nosec B608 - `registers` is a name in the caller's SQL, not input


# The calendar months (in Germany) a row of `steps` overlaps, as `month` (first_day,
# starts, ends), for a CROSS JOIN LATERAL; and the condition that keeps real steps.
MONTHS_OF_STEP = """
    CROSS JOIN LATERAL (
        SELECT local_month::date AS first_day,
               local_month AT TIME ZONE :zone AS starts,
               (local_month + interval '1 month') AT TIME ZONE :zone AS ends
        FROM generate_series(
            date_trunc('month', steps.started AT TIME ZONE :zone),
            date_trunc('month', steps.ended AT TIME ZONE :zone),
            interval '1 month'
        ) AS local_month
    ) AS month"""
REAL_STEP = "steps.started IS NOT NULL AND steps.ended > steps.started"

# Whether the step has a reading of its own in `month` (else the month is estimated).
READ_IN_MONTH = """((steps.started >= month.starts AND steps.started < month.ends)
               OR (steps.ended >= month.starts AND steps.ended < month.ends))"""


def apportioned(piece_from: str, piece_until: str) -> str:
    """SQL: the part of the step's consumption between the two times (steady use)."""
    return f"""((steps.end_value - steps.start_value)
               * extract(epoch FROM {piece_until} - {piece_from})
               / extract(epoch FROM steps.ended - steps.started))"""


def period_of(day: str) -> str:
    """SQL: the first day of the month or year (`:unit`) holding `day`."""
    return f"date_trunc(:unit, {day})::date"


# The periods `:since` and `:until` pick (both days' periods included; null: no bound),
# for the first day `first_day` of a month.
IN_PERIODS = """(CAST(:since AS date) IS NULL
       OR date_trunc(:unit, first_day) >= date_trunc(:unit, CAST(:since AS date)))
  AND (CAST(:until AS date) IS NULL OR date_trunc(:unit, first_day) <= CAST(:until AS date))"""

_PIECE_FROM = "greatest(steps.started, month.starts)"
_PIECE_UNTIL = "least(steps.ended, month.ends)"

# Steps between consecutive readings per register and count, apportioned over the
# calendar months they overlap; months summed per period.
_SQL = sa.text(
    f"""
WITH registers AS (
    SELECT id AS register_id FROM meter_register WHERE id = ANY(:register_ids)
), {steps_of("registers")}, pieces AS (
    SELECT steps.register_id, month.first_day,
           {_PIECE_FROM} AS piece_from, {_PIECE_UNTIL} AS piece_until,
           {apportioned(_PIECE_FROM, _PIECE_UNTIL)} AS amount,
           {READ_IN_MONTH} AS read_in_month
    FROM steps
    {MONTHS_OF_STEP}
    WHERE {REAL_STEP}
), months AS (
    SELECT register_id, first_day, sum(amount) AS amount,
           min(piece_from) AS covered_from, max(piece_until) AS covered_until,
           NOT bool_or(read_in_month) AS estimated
    FROM pieces
    GROUP BY register_id, first_day
)
SELECT register_id, {period_of("first_day")} AS period,
       round(sum(amount), 3) AS value, bool_or(estimated) AS estimated,
       min(covered_from) AS covered_from, max(covered_until) AS covered_until
FROM months
WHERE {IN_PERIODS}
GROUP BY register_id, period
ORDER BY register_id, period
"""  # noqa: S608  # nosec B608 - constants of this module; values are bind parameters
)

Execute = Callable[[Executable], Awaitable[Result[Any]]]


async def per_register(
    execute: Execute,
    register_ids: Sequence[uuid.UUID],
    *,
    interval: Interval,
    since: date | None,
    until: date | None,
) -> list[list[Consumption]]:
    """The consumption of each register per month or year, oldest first, in one
    statement for all of them. `since` and `until` pick the periods that hold those
    days (both included; None: no bound); `since` after `until` gives nothing.
    The caller passes registers it reached through the scope."""
    rows = await execute(
        _SQL.bindparams(
            register_ids=list(register_ids),
            counted=list(COUNTED),
            zone=ZONE,
            unit=interval.value.lower(),
            since=since,
            until=until,
        )
    )
    found: dict[uuid.UUID, list[Consumption]] = defaultdict(list)
    for row in rows:
        found[row.register_id].append(
            Consumption(
                period=row.period,
                value=Decimal(row.value),
                estimated=bool(row.estimated),
                covered_from=row.covered_from,
                covered_until=row.covered_until,
            )
        )
    return [found[register_id] for register_id in register_ids]
