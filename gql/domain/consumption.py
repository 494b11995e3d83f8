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


# Steps between consecutive readings per register and count (window function `lag`),
# apportioned over the calendar months they overlap; months summed per period.
_SQL = sa.text(
    """
WITH counted AS (
    SELECT reading.register_id, reading.read_at, reading.value,
           meter.counter_reset_at IS NOT NULL
               AND reading.read_at >= meter.counter_reset_at AS after_reset
    FROM meter_reading AS reading
    JOIN meter ON meter.id = reading.meter_id
    WHERE reading.register_id = ANY(:register_ids) AND reading.status = ANY(:counted)
), steps AS (
    SELECT register_id,
           lag(read_at) OVER count_ AS started, lag(value) OVER count_ AS start_value,
           read_at AS ended, value AS end_value
    FROM counted
    WINDOW count_ AS (PARTITION BY register_id, after_reset ORDER BY read_at)
), pieces AS (
    SELECT steps.register_id, month.first_day,
           greatest(steps.started, month.starts) AS piece_from,
           least(steps.ended, month.ends) AS piece_until,
           (steps.end_value - steps.start_value)
               * extract(epoch FROM least(steps.ended, month.ends)
                                    - greatest(steps.started, month.starts))
               / extract(epoch FROM steps.ended - steps.started) AS amount,
           (steps.started >= month.starts AND steps.started < month.ends)
               OR (steps.ended >= month.starts AND steps.ended < month.ends) AS read_in_month
    FROM steps
    CROSS JOIN LATERAL (
        SELECT local_month::date AS first_day,
               local_month AT TIME ZONE :zone AS starts,
               (local_month + interval '1 month') AT TIME ZONE :zone AS ends
        FROM generate_series(
            date_trunc('month', steps.started AT TIME ZONE :zone),
            date_trunc('month', steps.ended AT TIME ZONE :zone),
            interval '1 month'
        ) AS local_month
    ) AS month
    WHERE steps.started IS NOT NULL AND steps.ended > steps.started
), months AS (
    SELECT register_id, first_day, sum(amount) AS amount,
           min(piece_from) AS covered_from, max(piece_until) AS covered_until,
           NOT bool_or(read_in_month) AS estimated
    FROM pieces
    GROUP BY register_id, first_day
)
SELECT register_id, date_trunc(:unit, first_day)::date AS period,
       round(sum(amount), 3) AS value, bool_or(estimated) AS estimated,
       min(covered_from) AS covered_from, max(covered_until) AS covered_until
FROM months
WHERE (CAST(:since AS date) IS NULL
       OR date_trunc(:unit, first_day) >= date_trunc(:unit, CAST(:since AS date)))
  AND (CAST(:until AS date) IS NULL OR date_trunc(:unit, first_day) <= CAST(:until AS date))
GROUP BY register_id, period
ORDER BY register_id, period
"""
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
