"""The rules read in advance agree with the checks that enforce them, at the boundaries:
the bound an answer names is accepted, one step beyond it refused (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from db.models.enums import MeterReadingStatus, MeterStatus
from db.portal_settings import (
    Cadence,
    DueDateRules,
    InstallmentRules,
    PaymentMethodRules,
    PeriodType,
)
from gql.domain import readings, rules
from gql.domain.errors import DomainError, RuleViolation

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)
CENT = Decimal("0.01")

RANGES = [
    (
        Decimal("90.00"),
        InstallmentRules(increment_percent=Decimal(10), decrement_percent=Decimal(10)),
    ),
    (
        Decimal("33.33"),
        InstallmentRules(increment_percent=Decimal(7), decrement_percent=Decimal(3)),
    ),
    (
        Decimal("0.05"),
        InstallmentRules(increment_percent=Decimal(50), decrement_percent=Decimal(99)),
    ),
    (Decimal("120.00"), InstallmentRules(increment_percent=Decimal(5))),
    (Decimal("120.00"), InstallmentRules(decrement_percent=Decimal(5))),
    (Decimal("99000.00"), InstallmentRules(increment_percent=Decimal(100))),
]


@pytest.mark.parametrize(("current", "policy"), RANGES)
def test_installment_bounds_in_advance_are_the_enforced_bounds(
    current: Decimal, policy: InstallmentRules
) -> None:
    options = rules.installment_options(current, policy, [], NOW)
    assert options.possible_now
    for accepted in (options.lowest, options.highest):
        assert rules.check_installment(current, accepted, policy, [], NOW) == accepted
    for refused in (options.lowest - CENT, options.highest + CENT):
        with pytest.raises(DomainError):
            rules.check_installment(current, refused, policy, [], NOW)


CADENCES = [
    Cadence(allowed_changes=1, period=3, period_type=PeriodType.MONTHS),
    Cadence(allowed_changes=2, period=12, period_type=PeriodType.MONTHS),
    Cadence(allowed_changes=2, period=1, period_type=PeriodType.WEEKS),
    Cadence(allowed_changes=1, period=10, period_type=PeriodType.DAYS),
]
# Changes on a month's last day (clamped months), a week ago, yesterday, a second ago.
HISTORIES = [
    [datetime(2026, 8, 31, 9, tzinfo=UTC)],
    [NOW - timedelta(days=6), NOW - timedelta(days=1)],
    [NOW - SECOND],
    [datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC), NOW - timedelta(days=3)],
]


@pytest.mark.parametrize("cadence", CADENCES)
@pytest.mark.parametrize("history", HISTORIES)
def test_next_change_at_is_the_first_moment_the_cadence_accepts(
    cadence: Cadence, history: list[datetime]
) -> None:
    policy = InstallmentRules(increment_percent=Decimal(10), cadence=cadence)
    options = rules.installment_options(Decimal("100.00"), policy, history, NOW)
    if options.next_change_at is None:
        assert rules.check_installment(Decimal("100.00"), Decimal("101.00"), policy, history, NOW)
        return
    assert not options.possible_now
    moment = options.next_change_at
    rules.check_installment(Decimal("100.00"), Decimal("101.00"), policy, history, moment)
    with pytest.raises(rules.CadenceRefused) as refused:
        rules.check_installment(
            Decimal("100.00"), Decimal("101.00"), policy, history, moment - SECOND
        )
    assert refused.value.next_possible_at == moment
    assert rules.next_change_at(cadence, history, moment - SECOND) == moment
    # The same cadence on the payment method: the same moment.
    method_rules = PaymentMethodRules(cadence=cadence)
    assert rules.payment_method_refusal(method_rules, Decimal(0), history, moment) is None
    early = rules.payment_method_refusal(method_rules, Decimal(0), history, moment - SECOND)
    assert isinstance(early, rules.CadenceRefused)
    assert early.next_possible_at == moment


@pytest.mark.parametrize(
    ("policy", "overdue", "code"),
    [
        (PaymentMethodRules(), Decimal("0.01"), "OVERDUE_PAYMENTS"),
        (PaymentMethodRules(block_when_overdue=False), Decimal("45.00"), None),
        (PaymentMethodRules(enabled=False), Decimal(0), "DISABLED"),
        (PaymentMethodRules(), Decimal(0), None),
    ],
)
def test_payment_method_refusal_is_what_the_check_raises(
    policy: PaymentMethodRules, overdue: Decimal, code: str | None
) -> None:
    refusal = rules.payment_method_refusal(policy, overdue, [], NOW)
    assert (refusal.code if refusal else None) == code
    if refusal is None:
        rules.check_payment_method_change(policy, overdue, [], NOW)
    else:
        with pytest.raises(RuleViolation) as raised:
            rules.check_payment_method_change(policy, overdue, [], NOW)
        assert raised.value.code == code


def _accepted(policy: DueDateRules, current: int, today: date) -> bool:
    try:
        rules.check_due_day_change(policy, current, current % 28 + 1, today)
    except RuleViolation:
        return False
    return True


@pytest.mark.parametrize("days_before", [0, 1, 5, 27, 28, 30, 60])
@pytest.mark.parametrize("current", [1, 15, 28])
def test_due_day_window_in_advance_is_the_enforced_window(days_before: int, current: int) -> None:
    """Every day of a year (leap day and month ends included): the answer of that day
    says whether the check accepts a change then, until when, and from when again."""
    policy = DueDateRules(enabled=True, editable_until_days_before=days_before)
    start = date(2027, 12, 1)
    for offset in range(400):
        today = start + timedelta(days=offset)
        options = rules.due_day_options(policy, current, today)
        assert (options.changeable_until is not None) == _accepted(policy, current, today)
        if options.changeable_until is not None:
            assert _accepted(policy, current, options.changeable_until)
            # The deadline before the next due date: the day after it is refused, unless
            # that due date has passed by then (with 0 days before, on the due day).
            after = options.changeable_until + timedelta(days=1)
            if _accepted(policy, current, after):
                assert rules.next_due_date(current, after) > options.next_due
        if options.changeable_from is None:
            assert not any(_accepted(policy, current, today + timedelta(days=n)) for n in range(93))
        else:
            assert _accepted(policy, current, options.changeable_from)
            waiting = (options.changeable_from - today).days
            assert not any(
                _accepted(policy, current, today + timedelta(days=n)) for n in range(waiting)
            )


def test_disabled_due_day_rules_allow_no_change() -> None:
    options = rules.due_day_options(DueDateRules(enabled=False), 15, date(2026, 11, 1))
    assert (options.enabled, options.changeable_until, options.changeable_from) == (
        False,
        None,
        None,
    )
    assert options.days == [day for day in range(1, 29) if day != 15]


# --- Meter readings ------------------------------------------------------------------------

STEP = Decimal("0.001")
# A year of monthly readings, 300 units a month; the last one waits for review (it is
# a neighbour, but not part of the band's history).
MONTHLY = [
    readings.Stored(
        NOW - timedelta(days=30 * (12 - n)),
        Decimal(10000 + 300 * n),
        MeterReadingStatus.ACCEPTED if n < 11 else MeterReadingStatus.PENDING_REVIEW,
    )
    for n in range(12)
]
REJECTED_HIGH = readings.Stored(
    NOW - timedelta(days=5), Decimal(99000), MeterReadingStatus.REJECTED
)
LATER = readings.Stored(NOW + timedelta(days=10), Decimal(13500), MeterReadingStatus.ACCEPTED)
RESET = NOW - timedelta(days=20)
AFTER_RESET = readings.Stored(NOW - timedelta(days=10), Decimal(7), MeterReadingStatus.ACCEPTED)

CASES = {
    "band": (MONTHLY, None, NOW),
    "rejected-ignored": ([*MONTHLY, REJECTED_HIGH], None, NOW),
    "later-reading": ([*MONTHLY, LATER], None, NOW),
    "first-reading": ([], None, NOW),
    "one-reading": (MONTHLY[:1], None, NOW),
    "after-reset": ([*MONTHLY, AFTER_RESET], RESET, NOW),
    "back-dated": (MONTHLY, None, NOW - timedelta(days=45)),
}


def _check(
    stored: list[readings.Stored],
    reset: datetime | None,
    at: datetime,
    value: Decimal,
    override: bool = False,
) -> readings.Checked:
    near = readings.neighbours(stored, at, reset)
    return readings.check_reading(
        raw_value=value,
        read_at=at,
        now=NOW,
        meter_status=MeterStatus.ACTIVE,
        digits=6,
        contract_start=NOW - timedelta(days=800),
        contract_end=None,
        previous=near.previous,
        later=near.later,
        same_time=near.same_time,
        history=near.history,
        override_plausibility=override,
    )


@pytest.mark.parametrize("case", CASES)
def test_reading_range_bounds_are_the_enforced_bounds(case: str) -> None:
    stored, reset, at = CASES[case]
    allowed = readings.reading_range(
        meter_status=MeterStatus.ACTIVE,
        digits=6,
        contract_start=NOW - timedelta(days=800),
        contract_end=None,
        counter_reset_at=reset,
        stored=stored,
        read_at=at,
        now=NOW,
    )
    limits = allowed.limits
    for value in (limits.lowest_plausible, limits.highest_plausible):
        assert _check(stored, reset, at, value).status is MeterReadingStatus.ACCEPTED
    if limits.band is not None:
        for value in (limits.lowest_plausible - STEP, limits.highest_plausible + STEP):
            if limits.minimum <= value <= limits.maximum:
                with pytest.raises(readings.ReadingRefused) as refused:
                    _check(stored, reset, at, value)
                assert refused.value.code == "IMPLAUSIBLE"
    # With the customer's confirmation, the whole range is stored (for review).
    for value in (limits.minimum, limits.maximum):
        _check(stored, reset, at, value, override=True)
    below = limits.minimum - STEP
    with pytest.raises(readings.ReadingRefused) as refused:
        _check(stored, reset, at, below, override=True)
    assert refused.value.code == ("LESS_THAN_PREVIOUS" if below >= 0 else "INVALID_VALUE")
    with pytest.raises(readings.ReadingRefused) as refused:
        _check(stored, reset, at, limits.maximum + STEP, override=True)
    assert refused.value.code in ("GREATER_THAN_LATER", "TOO_MANY_DIGITS")


def test_reading_range_dates_are_the_enforced_dates() -> None:
    start, end = NOW - timedelta(days=800), NOW - timedelta(days=2)
    allowed = readings.reading_range(
        meter_status=MeterStatus.ACTIVE,
        digits=6,
        contract_start=start,
        contract_end=end,
        counter_reset_at=None,
        stored=[],
        read_at=None,
        now=NOW,
    )
    assert (allowed.earliest_read_at, allowed.latest_read_at) == (start, end)

    def at(moment: datetime) -> None:
        readings.check_reading(
            raw_value="1",
            read_at=moment,
            now=NOW,
            meter_status=MeterStatus.ACTIVE,
            digits=6,
            contract_start=start,
            contract_end=end,
            previous=None,
            later=None,
            same_time=False,
            history=[],
            override_plausibility=False,
        )

    at(start)
    at(end)
    for outside in (start - SECOND, end + SECOND):
        with pytest.raises(readings.ReadingRefused):
            at(outside)
    running = readings.reading_range(
        meter_status=MeterStatus.ACTIVE,
        digits=6,
        contract_start=start,
        contract_end=None,
        counter_reset_at=None,
        stored=[],
        read_at=None,
        now=NOW,
    )
    assert running.latest_read_at == NOW + readings.FUTURE_TOLERANCE
