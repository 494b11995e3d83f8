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
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from db.models.enums import InstallmentInterval, PaymentMethod
from db.portal_settings import (
    Cadence,
    DueDateRules,
    InstallmentIntervalRules,
    InstallmentRules,
    PaymentMethodRules,
    PeriodType,
)
from gql.domain.errors import InvalidInput, RuleViolation

CENT = Decimal("0.01")
# EU/EEA, Switzerland, the UK and the other SEPA members.
SEPA_COUNTRIES = frozenset(
    """
    AD AT BE BG CH CY CZ DE DK EE ES FI FR GB
    GI GR HR HU IE IS IT LI LT LU LV MC MT NL
    NO PL PT RO SE SI SK SM VA
    """.split()
)
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

    def __init__(self, message: str, cadence: Cadence, next_possible_at: datetime) -> None:
        # No `field`: the number of changes refuses it, whatever value was entered.
        super().__init__(
            message,
            code="CADENCE_EXCEEDED",
            parameters={
                "allowedChanges": cadence.allowed_changes,
                "period": cadence.period,
                "periodUnit": cadence.period_type.value,
                "nextPossibleAt": next_possible_at,
            },
        )
        self.next_possible_at = next_possible_at


def next_change_at(
    cadence: Cadence | None, history: Sequence[datetime], now: datetime
) -> datetime | None:
    """When the cadence allows the next change: None when it allows one now (no cadence,
    or fewer than `cadence.allowed_changes` earlier changes still count)."""
    if cadence is None:
        return None
    counted = sorted(moment for moment in history if period_after(moment, cadence) > now)
    if len(counted) < cadence.allowed_changes:
        return None
    return period_after(counted[len(counted) - cadence.allowed_changes], cadence)


def check_cadence(cadence: Cadence | None, history: Sequence[datetime], now: datetime) -> None:
    """Refuse a change while `cadence.allowed_changes` earlier changes still count."""
    next_possible = next_change_at(cadence, history, now)
    if cadence is None or next_possible is None:
        return
    unit = cadence.period_type.value.lower()
    raise CadenceRefused(
        f"At most {cadence.allowed_changes} change(s) per {cadence.period} {unit}; the next"
        f" is possible from {next_possible.date().isoformat()}.",
        cadence,
        next_possible,
    )


def parse_amount(raw: Decimal | str, *, field: str = "amount") -> Decimal:
    """An amount in EUR: a number with at most two decimals, positive, not absurd."""
    try:
        amount = Decimal(str(raw))
    except InvalidOperation as error:
        raise InvalidInput("amount_not_a_number", field=field) from error
    if not amount.is_finite():
        raise InvalidInput("amount_not_a_number", field=field)
    if amount != amount.quantize(CENT):
        raise InvalidInput("amount_too_many_decimals", field=field)
    if amount <= 0 or amount > MAX_AMOUNT:
        raise InvalidInput(
            "amount_out_of_bounds", field=field, parameters={"maxAmount": MAX_AMOUNT}
        )
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
        super().__init__(
            message,
            code="OUT_OF_RANGE",
            field="amount",
            # The bounds that apply: the rule's, else what `parse_amount` accepts.
            parameters={
                "allowedMin": CENT if allowed.minimum is None else allowed.minimum,
                "allowedMax": MAX_AMOUNT if allowed.maximum is None else allowed.maximum,
            },
        )
        self.allowed = allowed


def installment_disabled(rules: InstallmentRules) -> RuleViolation | None:
    if rules.enabled:
        return None
    return RuleViolation(
        "The installment can not be changed in this portal.", code="DISABLED", field="amount"
    )


def check_installment(
    current: Decimal,
    requested: Decimal,
    rules: InstallmentRules,
    history: Sequence[datetime],
    now: datetime,
) -> Decimal:
    """The new installment if the portal's rules allow it; refusals say the allowed range
    or the date of the next possible change."""
    if (disabled := installment_disabled(rules)) is not None:
        raise disabled
    amount = parse_amount(requested)
    if amount == current:
        raise InvalidInput(
            "installment_unchanged", field="amount", parameters={"currentAmount": current}
        )
    allowed = installment_range(current, rules)
    too_low = allowed.minimum is not None and amount < allowed.minimum
    too_high = allowed.maximum is not None and amount > allowed.maximum
    if too_low or too_high:
        low = f"{allowed.minimum} EUR" if allowed.minimum is not None else "any amount"
        high = f"{allowed.maximum} EUR" if allowed.maximum is not None else "any amount"
        raise OutOfRange(f"Choose an installment between {low} and {high}.", allowed)
    check_cadence(rules.cadence, history, now)
    return amount


@dataclass(frozen=True)
class InstallmentOptions:
    """What `check_installment` would allow, asked in advance (the same functions)."""

    enabled: bool
    allowed: AmountRange
    next_change_at: datetime | None

    @property
    def possible_now(self) -> bool:
        return self.enabled and self.next_change_at is None

    @property
    def lowest(self) -> Decimal:
        """The lowest amount accepted (`parse_amount` allows nothing below a cent)."""
        return self.allowed.minimum if self.allowed.minimum is not None else CENT

    @property
    def highest(self) -> Decimal:
        """The highest amount accepted (`parse_amount` allows nothing above MAX_AMOUNT)."""
        maximum = self.allowed.maximum
        return MAX_AMOUNT if maximum is None else min(maximum, MAX_AMOUNT)


def installment_options(
    current: Decimal, rules: InstallmentRules, history: Sequence[datetime], now: datetime
) -> InstallmentOptions:
    return InstallmentOptions(
        enabled=installment_disabled(rules) is None,
        allowed=installment_range(current, rules),
        next_change_at=next_change_at(rules.cadence, history, now),
    )


# --- Installment interval ------------------------------------------------------------------

INTERVAL_MONTHS: dict[InstallmentInterval, int] = {
    InstallmentInterval.MONTHLY: 1,
    InstallmentInterval.BIMONTHLY: 2,
    InstallmentInterval.QUARTERLY: 3,
    InstallmentInterval.HALF_YEARLY: 6,
    InstallmentInterval.YEARLY: 12,
}


def amount_for_interval(
    amount: Decimal, current: InstallmentInterval, new: InstallmentInterval
) -> Decimal:
    """The installment that pays the same per year in the new interval (monthly 90.00
    is quarterly 270.00), to the cent, half a cent up (monthly 33.34 from yearly 400.00
    is 33.33)."""
    exact = amount * INTERVAL_MONTHS[new] / INTERVAL_MONTHS[current]
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


def installment_interval_refusal(
    rules: InstallmentIntervalRules,
    current: InstallmentInterval,
    requested: InstallmentInterval,
    amount: Decimal,
    history: Sequence[datetime],
    now: datetime,
) -> RuleViolation | InvalidInput | None:
    """Why the interval can not become `requested` now, or None: not enabled
    (DISABLED), the current one, not one the portal allows (INTERVAL_NOT_ALLOWED), an
    installment above MAX_AMOUNT in it, then the cadence (CADENCE_EXCEEDED)."""
    if not rules.enabled:
        return RuleViolation(
            "The installment interval can not be changed in this portal.",
            code="DISABLED",
            field="interval",
        )
    if requested == current:
        return InvalidInput(
            "installment_interval_unchanged",
            field="interval",
            parameters={"currentInterval": current.value},
        )
    if requested not in rules.allowed_intervals:
        allowed = ", ".join(interval.value for interval in rules.allowed_intervals)
        return RuleViolation(
            f"The portal allows these intervals: {allowed}.",
            code="INTERVAL_NOT_ALLOWED",
            field="interval",
            parameters={"allowedIntervals": allowed},
        )
    if not CENT <= amount_for_interval(amount, current, requested) <= MAX_AMOUNT:
        return InvalidInput(
            "installment_interval_amount_out_of_bounds",
            field="interval",
            parameters={"maxAmount": MAX_AMOUNT},
        )
    try:
        check_cadence(rules.cadence, history, now)
    except CadenceRefused as refused:
        return refused
    return None


def check_installment_interval(
    rules: InstallmentIntervalRules,
    current: InstallmentInterval,
    requested: InstallmentInterval,
    amount: Decimal,
    history: Sequence[datetime],
    now: datetime,
) -> Decimal:
    """The installment in the new interval, if the portal's rules allow the change.

    Raises:
        RuleViolation: DISABLED, INTERVAL_NOT_ALLOWED, CADENCE_EXCEEDED.
        InvalidInput: the interval is the current one; the amount would be too high.
    """
    refusal = installment_interval_refusal(rules, current, requested, amount, history, now)
    if refusal is not None:
        raise refusal
    return amount_for_interval(amount, current, requested)


# --- Payment method ------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDetails:
    method: PaymentMethod
    iban: str | None
    account_holder: str | None


def clean_payment_details(
    method: PaymentMethod,
    iban: str | None,
    account_holder: str | None,
    mandate_accepted: bool,
) -> PaymentDetails:
    """SEPA direct debit needs a valid IBAN (format and checksum, schwifty), the account
    holder and the mandate; a transfer needs nothing and keeps no bank details."""
    if method is not PaymentMethod.SEPA_DEBIT:
        return PaymentDetails(method, None, None)
    if not iban or not iban.strip():
        raise InvalidInput("iban_required", field="iban")
    try:
        parsed = IBAN(iban)
    except SchwiftyException as error:
        raise InvalidInput("iban_invalid", field="iban") from error
    if parsed.country_code not in SEPA_COUNTRIES:
        raise InvalidInput("iban_not_sepa", field="iban")
    holder = " ".join((account_holder or "").split())
    if not holder or len(holder) > 200:
        raise InvalidInput("account_holder_required", field="accountHolder")
    if not mandate_accepted:
        raise InvalidInput("mandate_not_accepted", field="mandateAccepted")
    return PaymentDetails(method, parsed.compact, holder)


def payment_method_refusal(
    rules: PaymentMethodRules, overdue: Decimal, history: Sequence[datetime], now: datetime
) -> RuleViolation | None:
    """Why the payment method can not be changed now, or None: not enabled, then
    OVERDUE_PAYMENTS (no change while anything is overdue), then CADENCE."""
    if not rules.enabled:
        return RuleViolation(
            "The payment method can not be changed in this portal.", code="DISABLED"
        )
    if rules.block_when_overdue and overdue > 0:
        return RuleViolation(
            f"{overdue} EUR are overdue; the payment method can be changed once they are paid.",
            code="OVERDUE_PAYMENTS",
            parameters={"overdueAmount": overdue},
        )
    try:
        check_cadence(rules.cadence, history, now)
    except CadenceRefused as refused:
        return refused
    return None


def check_payment_method_change(
    rules: PaymentMethodRules, overdue: Decimal, history: Sequence[datetime], now: datetime
) -> None:
    if (refusal := payment_method_refusal(rules, overdue, history, now)) is not None:
        raise refusal


# --- Due date ------------------------------------------------------------------------------


def next_due_date(due_day: int, today: date) -> date:
    """The next date with day `due_day` (1-28) on or after `today`."""
    if today.day <= due_day:
        return today.replace(day=due_day)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, due_day)


ALLOWED_DUE_DAYS = range(1, 29)


def due_day_disabled(rules: DueDateRules) -> RuleViolation | None:
    if rules.enabled:
        return None
    return RuleViolation(
        "The due date can not be changed in this portal.", code="DISABLED", field="dueDay"
    )


def due_day_change_deadline(rules: DueDateRules, current_day: int, today: date) -> date:
    """The last day on which the due day can be changed before the next due date:
    `editable_until_days_before` days before it."""
    return next_due_date(current_day, today) - timedelta(days=rules.editable_until_days_before)


def check_due_day_change(rules: DueDateRules, current_day: int, new_day: int, today: date) -> int:
    """Day 1-28, allowed only until `editable_until_days_before` days before the next due
    date (on that day itself: refused)."""
    if (disabled := due_day_disabled(rules)) is not None:
        raise disabled
    if new_day not in ALLOWED_DUE_DAYS:
        raise InvalidInput("due_day_out_of_range", field="dueDay")
    if new_day == current_day:
        raise InvalidInput(
            "due_day_unchanged", field="dueDay", parameters={"currentDay": current_day}
        )
    if today > due_day_change_deadline(rules, current_day, today):
        due = next_due_date(current_day, today)
        raise RuleViolation(
            f"The next payment is due on {due.isoformat()}; the due day can be changed until"
            f" {rules.editable_until_days_before} days before, so again after that date.",
            code="TOO_CLOSE_TO_DUE_DATE",
            field="dueDay",
            parameters={
                "nextDueDate": due,
                "daysBefore": rules.editable_until_days_before,
            },
        )
    return new_day


# Whether a day is open repeats with the due dates (at most 31 days apart); a deadline
# of 28 or more days before each due date can leave no day open at all, so the search
# for the next open day stops after three periods.
_LOOK_AHEAD = 93


@dataclass(frozen=True)
class DueDayOptions:
    """What `check_due_day_change` would allow, asked in advance."""

    enabled: bool
    days: list[int]
    next_due: date
    # When a change is possible today: the deadline before the next due date (with 0
    # days before, the next window follows at once). None when not possible today.
    changeable_until: date | None
    # The first day a change is possible (today when it is), None when never.
    changeable_from: date | None


def due_day_options(rules: DueDateRules, current_day: int, today: date) -> DueDayOptions:
    def open_on(day: date) -> bool:
        return day <= due_day_change_deadline(rules, current_day, day)

    enabled = due_day_disabled(rules) is None
    first = next(
        (day for day in (today + timedelta(days=n) for n in range(_LOOK_AHEAD)) if open_on(day)),
        None,
    )
    return DueDayOptions(
        enabled=enabled,
        days=[day for day in ALLOWED_DUE_DAYS if day != current_day],
        next_due=next_due_date(current_day, today),
        changeable_until=due_day_change_deadline(rules, current_day, today)
        if enabled and open_on(today)
        else None,
        changeable_from=first if enabled else None,
    )
