"""Self-service rules of seed 001 "Regeln" as plain functions (no database, no GraphQL).

Semantics chosen where the seed is silent:
- RELATIVE_TO_CURRENT: the allowed amounts are the whole cents between
  current x (1 - decrement %) and current x (1 + increment %), both ends included; the
  lower bound is rounded up and the upper bound down to a cent, so no allowed amount
  lies outside the exact percentage (90.00 with 10 % / 10 % -> 81.00 to 99.00).
- CADENCE: a change counts for one period after it was made (a change exactly one
  period ago no longer counts); at most N may count at once. Months are calendar
  months, clamped to the month's end: one month after 31 January is 28 (29 in leap
  years) February, twelve months after 29 February 2028 is 28 February 2029. The next
  change is possible when the oldest counting change stops counting.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from db.portal_settings import Cadence, InstallmentRules, PeriodType
from gql.domain.errors import InvalidInput, RuleViolation

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999.99")


def months_before(moment: datetime, months: int) -> datetime:
    """The same time `months` calendar months earlier, on the month's last day when the
    day does not exist there."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def months_after(moment: datetime, months: int) -> datetime:
    return months_before(moment, -months)


def period_after(moment: datetime, cadence: Cadence) -> datetime:
    if cadence.period_type is PeriodType.MONTHS:
        return months_after(moment, cadence.period)
    days = cadence.period * (7 if cadence.period_type is PeriodType.WEEKS else 1)
    return moment + timedelta(days=days)


class CadenceRefused(RuleViolation):
    """Too many changes in the period; `next_possible_at` says when."""

    def __init__(self, message: str, next_possible_at: datetime) -> None:
        super().__init__(message, code="CADENCE_EXCEEDED", field="amount")
        self.next_possible_at = next_possible_at


def check_cadence(cadence: Cadence | None, history: Sequence[datetime], now: datetime) -> None:
    """Refuse a change while `cadence.allowed_changes` earlier changes still count."""
    if cadence is None:
        return
    counted = sorted(moment for moment in history if period_after(moment, cadence) > now)
    if len(counted) < cadence.allowed_changes:
        return
    oldest = counted[len(counted) - cadence.allowed_changes]
    next_possible = period_after(oldest, cadence)
    unit = cadence.period_type.value.lower()
    raise CadenceRefused(
        f"At most {cadence.allowed_changes} change(s) per {cadence.period} {unit}; the next"
        f" is possible from {next_possible.date().isoformat()}.",
        next_possible,
    )


def parse_amount(raw: Decimal | str, *, field: str = "amount") -> Decimal:
    """An amount in EUR: a number with at most two decimals, positive, not absurd."""
    try:
        amount = Decimal(str(raw))
    except InvalidOperation as error:
        raise InvalidInput("Enter an amount such as 85.50.", field=field) from error
    if not amount.is_finite():
        raise InvalidInput("Enter an amount such as 85.50.", field=field)
    if amount != amount.quantize(CENT):
        raise InvalidInput("Amounts have at most two decimals (cents).", field=field)
    if amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidInput(f"Enter an amount between 0.01 and {MAX_AMOUNT}.", field=field)
    return amount.quantize(CENT)


@dataclass(frozen=True)
class AmountRange:
    minimum: Decimal | None
    maximum: Decimal | None


def installment_range(current: Decimal, rules: InstallmentRules) -> AmountRange:
    """The amounts RELATIVE_TO_CURRENT allows (None: no bound on that side)."""
    minimum = maximum = None
    if rules.decrement_percent is not None:
        exact = current * (Decimal(100) - rules.decrement_percent) / Decimal(100)
        minimum = max(exact.quantize(CENT, rounding=ROUND_CEILING), CENT)
    if rules.increment_percent is not None:
        exact = current * (Decimal(100) + rules.increment_percent) / Decimal(100)
        maximum = exact.quantize(CENT, rounding=ROUND_FLOOR)
    return AmountRange(minimum, maximum)


class OutOfRange(RuleViolation):
    def __init__(self, message: str, allowed: AmountRange) -> None:
        super().__init__(message, code="OUT_OF_RANGE", field="amount")
        self.allowed = allowed


def check_installment(
    current: Decimal,
    requested: Decimal,
    rules: InstallmentRules,
    history: Sequence[datetime],
    now: datetime,
) -> Decimal:
    """The new installment if the portal's rules allow it; refusals say the allowed range
    or the date of the next possible change."""
    if not rules.enabled:
        raise RuleViolation("The installment can not be changed in this portal.", field="amount")
    amount = parse_amount(requested)
    if amount == current:
        raise InvalidInput(f"The installment is {current} EUR already.", field="amount")
    allowed = installment_range(current, rules)
    too_low = allowed.minimum is not None and amount < allowed.minimum
    too_high = allowed.maximum is not None and amount > allowed.maximum
    if too_low or too_high:
        low = f"{allowed.minimum} EUR" if allowed.minimum is not None else "any amount"
        high = f"{allowed.maximum} EUR" if allowed.maximum is not None else "any amount"
        raise OutOfRange(f"Choose an installment between {low} and {high}.", allowed)
    check_cadence(rules.cadence, history, now)
    return amount
