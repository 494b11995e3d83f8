"""The costs of a contract per calendar month or year (compare epilot's `getCosts`),
computed in one SQL statement from the consumption (gql/domain/consumption.py, whose
pieces it reuses) and the contract's prices (gql/domain/prices.py).

- **Working price**: each step between two readings of a register is apportioned by
  time to the months it overlaps *and* to the spans between price changes
  (`prices.in_force` per register: its own row, else the general one), so a price
  change inside a month prices each part of the month's consumption at its own price.
- **Base price**: per day of the period that the readings cover (from the day of the
  first reading to the day before that of the last, as the consumption: nothing is
  extrapolated) and on which the contract supplies (from its start to its end), the
  base price per year / the days of that year (365 or 366). The base
  price is the contract's, not a register's: of the rows in force that day (the latest
  general row and the latest row of each register) the highest counts once, so it may
  be given on the general row only or on every row alike.
- **VAT** at the rate of the row the amount was priced with.
- **Rounding**: the energy and the base part are each rounded to the cent, `net` is
  their sum, `vat` the VAT of the unrounded amounts rounded to the cent, `gross`
  `net + vat`; consumption to three decimals per register, as `consumption` does.
- **Missing prices**: where part of a period's consumption or of its supply days has
  no price in force (before the first price row), the money of that period is None
  (`priced` false): the consumption is known, its costs are not.
- **Estimated** periods are those whose consumption is (a month without a reading).

The periods listed are those with consumption (as `consumption` lists them); nothing
is extrapolated. The consumption of the contract's registers is summed when they share
a unit (a contract's meters measure one commodity); otherwise only per register.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from gql.domain import prices
from gql.domain.consumption import (
    COUNTED,
    IN_PERIODS,
    MONTHS_OF_STEP,
    READ_IN_MONTH,
    REAL_STEP,
    ZONE,
    Execute,
    Interval,
    apportioned,
    period_of,
    steps_of,
)


@dataclass(frozen=True)
class RegisterCost:
    """One register's part of a period."""

    register_id: uuid.UUID
    obis_code: str
    consumption: Decimal
    unit: str
    estimated: bool
    net: Decimal | None  # the working price part; None when a price is missing


@dataclass(frozen=True)
class Cost:
    """A contract's costs in one month or year, EUR."""

    period_start: date
    period_end: date  # the last day
    consumption: Decimal | None  # None when the registers' units differ
    unit: str | None
    estimated: bool
    priced: bool
    working_net: Decimal | None
    base_net: Decimal | None
    net: Decimal | None
    vat: Decimal | None
    gross: Decimal | None
    registers: list[RegisterCost]


_PIECE_FROM = "greatest(steps.started, month.starts, slice.starts)"
_PIECE_UNTIL = "least(steps.ended, month.ends, slice.ends)"

# The days of a base price segment within the covered days of a period.
_SEGMENT_DAYS = """least(covered.after_last, segment.ends_before)
               - greatest(covered.first_day, segment.starts_on)"""

_SQL = sa.text(
    f"""
WITH registers AS (
    SELECT meter.contract_id, register.id AS register_id, register.obis_code, meter.unit
    FROM meter_register AS register
    JOIN meter ON meter.id = register.meter_id
    JOIN contract ON contract.id = meter.contract_id
                 AND contract.organization_id = meter.organization_id
    WHERE meter.contract_id = ANY(:contract_ids)
), bounds AS (
    -- Where a register's price may change: each row's first day for it; null: ever before.
    SELECT registers.register_id, registers.contract_id, registers.obis_code, bound.day
    FROM registers
    CROSS JOIN LATERAL (
        SELECT NULL::date AS day
        UNION
        SELECT price.valid_from FROM contract_price AS price
        WHERE price.contract_id = registers.contract_id
          AND (price.obis_code IS NULL OR price.obis_code = registers.obis_code)
    ) AS bound
), slices AS (
    SELECT bounds.register_id,
           coalesce(bounds.day::timestamp AT TIME ZONE :zone, '-infinity') AS starts,
           coalesce((lead(bounds.day) OVER register_)::timestamp AT TIME ZONE :zone,
                    'infinity') AS ends,
           price.working_price, price.vat_rate
    FROM bounds
    LEFT JOIN contract_price AS price
           ON price.id = {prices.in_force("bounds.contract_id", "bounds.obis_code", "bounds.day")}
    WINDOW register_ AS (PARTITION BY bounds.register_id ORDER BY bounds.day NULLS FIRST)
), {steps_of("registers")}, pieces AS (
    SELECT steps.register_id, month.first_day, slice.working_price, slice.vat_rate,
           {_PIECE_FROM} AS piece_from, {_PIECE_UNTIL} AS piece_until,
           {apportioned(_PIECE_FROM, _PIECE_UNTIL)} AS amount,
           {READ_IN_MONTH} AS read_in_month
    FROM steps
    {MONTHS_OF_STEP}
    JOIN slices AS slice ON slice.register_id = steps.register_id
                        AND slice.starts < least(steps.ended, month.ends)
                        AND slice.ends > greatest(steps.started, month.starts)
    WHERE {REAL_STEP}
), months AS (
    SELECT register_id, first_day, sum(amount) AS amount,
           sum(amount * working_price) AS net,
           sum(amount * working_price * vat_rate / 100) AS vat,
           bool_and(working_price IS NOT NULL) AS priced,
           NOT bool_or(read_in_month) AS estimated,
           min(piece_from) AS covered_from, max(piece_until) AS covered_until
    FROM pieces
    WHERE {IN_PERIODS}
    GROUP BY register_id, first_day
), working AS (
    SELECT registers.contract_id, registers.register_id, registers.obis_code, registers.unit,
           {period_of("months.first_day")} AS period,
           round(sum(months.amount), 3) AS amount, sum(months.net) AS net,
           sum(months.vat) AS vat, bool_and(months.priced) AS priced,
           bool_or(months.estimated) AS estimated,
           min(months.covered_from) AS covered_from, max(months.covered_until) AS covered_until
    FROM months
    JOIN registers ON registers.register_id = months.register_id
    GROUP BY registers.contract_id, registers.register_id, registers.obis_code,
             registers.unit, period
), base_segments AS (
    -- The contract's base price from each day a row starts until the next such day:
    -- the highest of the rows then in force (the latest general row and the latest row
    -- of each register).
    SELECT contracts.contract_id, bound.day AS starts_on,
           coalesce(lead(bound.day) OVER contract_, 'infinity') AS ends_before,
           price.base_price_per_year, price.vat_rate
    FROM (SELECT DISTINCT contract_id FROM working) AS contracts
    CROSS JOIN LATERAL (
        SELECT DISTINCT valid_from AS day FROM contract_price
        WHERE contract_id = contracts.contract_id
    ) AS bound
    CROSS JOIN LATERAL (
        SELECT in_force.base_price_per_year, in_force.vat_rate
        FROM (
            SELECT DISTINCT ON (row_.obis_code) row_.base_price_per_year, row_.vat_rate
            FROM contract_price AS row_
            WHERE row_.contract_id = contracts.contract_id AND row_.valid_from <= bound.day
            ORDER BY row_.obis_code, row_.valid_from DESC
        ) AS in_force
        ORDER BY in_force.base_price_per_year DESC, in_force.vat_rate DESC
        LIMIT 1
    ) AS price
    WINDOW contract_ AS (PARTITION BY contracts.contract_id ORDER BY bound.day)
), covered AS (
    -- The days the period's readings cover (from the day of the first to the day before
    -- that of the last) while the contract supplies: [first_day, after_last).
    SELECT periods.contract_id, periods.period,
           greatest(CAST(periods.covered_from AT TIME ZONE :zone AS date),
                    contract.start_date) AS first_day,
           least(CAST(periods.covered_until AT TIME ZONE :zone AS date),
                 contract.end_date + 1) AS after_last,
           CAST(date_trunc('year', periods.period) + interval '1 year' AS date)
               - CAST(date_trunc('year', periods.period) AS date) AS days_of_year
    FROM (
        SELECT contract_id, period, min(covered_from) AS covered_from,
               max(covered_until) AS covered_until
        FROM working
        GROUP BY contract_id, period
    ) AS periods
    JOIN contract ON contract.id = periods.contract_id
), base AS (
    SELECT covered.contract_id, covered.period,
           sum(({_SEGMENT_DAYS}) * segment.base_price_per_year / covered.days_of_year) AS net,
           sum(({_SEGMENT_DAYS}) * segment.base_price_per_year * segment.vat_rate / 100
               / covered.days_of_year) AS vat,
           coalesce(sum({_SEGMENT_DAYS}), 0)
               = greatest(covered.after_last - covered.first_day, 0) AS priced
    FROM covered
    LEFT JOIN base_segments AS segment
           ON segment.contract_id = covered.contract_id
          AND segment.starts_on < covered.after_last
          AND segment.ends_before > covered.first_day
    GROUP BY covered.contract_id, covered.period, covered.first_day, covered.after_last
), totals AS (
    SELECT working.contract_id, working.period,
           bool_and(working.priced) AND coalesce(base.priced, true) AS priced,
           round(sum(working.net), 2) AS working_net,
           round(coalesce(base.net, 0), 2) AS base_net,
           round(sum(working.vat) + coalesce(base.vat, 0), 2) AS vat
    FROM working
    LEFT JOIN base ON base.contract_id = working.contract_id AND base.period = working.period
    GROUP BY working.contract_id, working.period, base.priced, base.net, base.vat
)
SELECT working.contract_id, working.period,
       CAST(working.period + CAST('1 ' || :unit AS interval) AS date) - 1 AS period_end,
       CASE WHEN count(DISTINCT working.unit) = 1 THEN sum(working.amount) END AS consumption,
       CASE WHEN count(DISTINCT working.unit) = 1 THEN min(working.unit) END AS unit,
       bool_or(working.estimated) AS estimated,
       totals.priced, totals.working_net, totals.base_net, totals.vat,
       array_agg(working.register_id ORDER BY working.obis_code) AS register_ids,
       array_agg(working.obis_code ORDER BY working.obis_code) AS obis_codes,
       array_agg(working.amount ORDER BY working.obis_code) AS amounts,
       array_agg(working.unit ORDER BY working.obis_code) AS units,
       array_agg(working.estimated ORDER BY working.obis_code) AS estimates,
       array_agg(CASE WHEN working.priced THEN round(working.net, 2) END
                 ORDER BY working.obis_code) AS nets
FROM working
JOIN totals ON totals.contract_id = working.contract_id AND totals.period = working.period
GROUP BY working.contract_id, working.period, totals.priced, totals.working_net,
         totals.base_net, totals.vat
ORDER BY working.contract_id, working.period
"""  # noqa: S608  # nosec B608 - constants of gql.domain; values are bind parameters
)


async def per_contract(
    execute: Execute,
    contract_ids: Sequence[uuid.UUID],
    *,
    interval: Interval,
    since: date | None,
    until: date | None,
) -> list[list[Cost]]:
    """The costs of each contract per month or year, oldest first, in one statement for
    all of them; `since` and `until` pick periods as `consumption.per_register` does.
    The caller passes contracts it reached through the scope."""
    rows = await execute(
        _SQL.bindparams(
            contract_ids=list(contract_ids),
            counted=list(COUNTED),
            zone=ZONE,
            unit=interval.value.lower(),
            since=since,
            until=until,
        )
    )
    found: dict[uuid.UUID, list[Cost]] = defaultdict(list)
    for row in rows:
        priced = bool(row.priced)
        net = row.working_net + row.base_net if priced else None
        found[row.contract_id].append(
            Cost(
                period_start=row.period,
                period_end=row.period_end,
                consumption=row.consumption,
                unit=row.unit,
                estimated=bool(row.estimated),
                priced=priced,
                working_net=row.working_net if priced else None,
                base_net=row.base_net if priced else None,
                net=net,
                vat=row.vat if priced else None,
                gross=None if net is None else net + row.vat,
                registers=[
                    RegisterCost(*line)
                    for line in zip(
                        row.register_ids,
                        row.obis_codes,
                        row.amounts,
                        row.units,
                        row.estimates,
                        row.nets,
                        strict=True,
                    )
                ],
            )
        )
    return [found[contract_id] for contract_id in contract_ids]
