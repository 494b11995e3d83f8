"""The self-service rules as plain functions: boundaries exactly, cadence windows at day
boundaries, leap years for month periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from db.models.enums import PaymentMethod
from db.portal_settings import (
    Cadence,
    DueDateRules,
    InstallmentRules,
    PaymentMethodRules,
    PeriodType,
)
from gql.domain import rules
from gql.domain.errors import InvalidInput, RuleViolation

TEN_TEN = InstallmentRules(increment_percent=Decimal(10), decrement_percent=Decimal(10))
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        ("90.00", "81.00", True),
        ("90.00", "99.00", True),
        ("90.00", "80.99", False),
        ("90.00", "99.01", False),
        ("90.00", "90.01", True),
        ("33.33", "29.99", False),  # 29.997 exact: 30.00 is the lowest whole cent
        ("33.33", "30.00", True),
        ("33.33", "36.66", True),  # 36.663 exact: 36.66 the highest
        ("33.33", "36.67", False),
    ],
)
def test_relative_to_current(current: str, requested: str, allowed: bool) -> None:
    def check() -> Decimal:
        return rules.check_installment(Decimal(current), Decimal(requested), TEN_TEN, [], NOW)

    if allowed:
        assert check() == Decimal(requested)
    else:
        with pytest.raises(rules.OutOfRange) as refused:
            check()
        assert refused.value.allowed.minimum is not None


def test_the_range_is_exact_for_the_seed_example() -> None:
    allowed = rules.installment_range(Decimal("90.00"), TEN_TEN)
    assert (allowed.minimum, allowed.maximum) == (Decimal("81.00"), Decimal("99.00"))
    one_sided = rules.installment_range(
        Decimal("90.00"), InstallmentRules(increment_percent=Decimal("12.5"))
    )
    assert (one_sided.minimum, one_sided.maximum) == (None, Decimal("101.25"))


@pytest.mark.parametrize("raw", ["85.555", "-5", "0", "NaN", "1e9", "abc"])
def test_amounts_must_be_cents(raw: str) -> None:
    with pytest.raises(InvalidInput):
        rules.parse_amount(raw)


def test_the_same_amount_and_disabled_rules_are_refused() -> None:
    with pytest.raises(InvalidInput):
        rules.check_installment(Decimal(90), Decimal(90), TEN_TEN, [], NOW)
    with pytest.raises(RuleViolation):
        rules.check_installment(Decimal(90), Decimal(91), InstallmentRules(enabled=False), [], NOW)


QUARTERLY = Cadence(allowed_changes=1, period=3, period_type=PeriodType.MONTHS)
WEEKLY_TWO = Cadence(allowed_changes=2, period=1, period_type=PeriodType.WEEKS)
DAYS_30 = Cadence(allowed_changes=1, period=30, period_type=PeriodType.DAYS)


@pytest.mark.parametrize(
    ("cadence", "history", "allowed"),
    [
        (QUARTERLY, [NOW - timedelta(days=1)], False),
        (QUARTERLY, [datetime(2026, 8, 22, 12, 0, tzinfo=UTC)], True),  # exactly 3 months
        (QUARTERLY, [datetime(2026, 8, 22, 12, 0, 1, tzinfo=UTC)], False),  # one second less
        (DAYS_30, [NOW - timedelta(days=30)], True),
        (DAYS_30, [NOW - timedelta(days=30) + timedelta(seconds=1)], False),
        (WEEKLY_TWO, [NOW - timedelta(days=1)], True),
        (WEEKLY_TWO, [NOW - timedelta(days=1), NOW - timedelta(days=6)], False),
        (WEEKLY_TWO, [NOW - timedelta(days=1), NOW - timedelta(days=7)], True),
    ],
)
def test_cadence_windows(cadence: Cadence, history: list[datetime], allowed: bool) -> None:
    if allowed:
        rules.check_cadence(cadence, history, NOW)
    else:
        with pytest.raises(rules.CadenceRefused):
            rules.check_cadence(cadence, history, NOW)


def test_the_refusal_names_the_next_possible_date() -> None:
    changed = datetime(2026, 10, 5, 9, 30, tzinfo=UTC)
    with pytest.raises(rules.CadenceRefused) as refused:
        rules.check_cadence(QUARTERLY, [changed], NOW)
    assert refused.value.next_possible_at == datetime(2027, 1, 5, 9, 30, tzinfo=UTC)
    assert "2027-01-05" in refused.value.message
    with pytest.raises(rules.CadenceRefused) as two:
        rules.check_cadence(WEEKLY_TWO, [NOW - timedelta(days=2), NOW - timedelta(days=5)], NOW)
    assert two.value.next_possible_at == NOW + timedelta(days=2)  # the older one leaves first


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (datetime(2024, 3, 31), 1, datetime(2024, 2, 29)),  # leap year
        (datetime(2025, 3, 31), 1, datetime(2025, 2, 28)),
        (datetime(2026, 5, 31), 3, datetime(2026, 2, 28)),
        (datetime(2026, 1, 15), 1, datetime(2025, 12, 15)),
        (datetime(2028, 2, 29), 12, datetime(2027, 2, 28)),
    ],
)
def test_calendar_months_back(moment: datetime, months: int, expected: datetime) -> None:
    assert rules.months_before(moment, months) == expected


def test_a_change_on_a_leap_day_counts_until_the_end_of_february_next_year() -> None:
    yearly = Cadence(allowed_changes=1, period=12, period_type=PeriodType.MONTHS)
    leap_day = datetime(2028, 2, 29, 10, tzinfo=UTC)
    with pytest.raises(rules.CadenceRefused) as refused:
        rules.check_cadence(yearly, [leap_day], datetime(2029, 2, 27, 10, tzinfo=UTC))
    assert refused.value.next_possible_at == datetime(2029, 2, 28, 10, tzinfo=UTC)
    rules.check_cadence(yearly, [leap_day], datetime(2029, 2, 28, 10, tzinfo=UTC))


# --- Payment method --------------------------------------------------------------------------

GOOD_IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.mark.parametrize(
    ("iban", "holder", "mandate", "field"),
    [
        (None, "Anna Becker", True, "iban"),
        ("DE89 3704 0044 0532 0130 01", "Anna Becker", True, "iban"),  # checksum
        ("DE89370400", "Anna Becker", True, "iban"),  # length
        ("US12 3456 7890", "Anna Becker", True, "iban"),
        (GOOD_IBAN, " ", True, "accountHolder"),
        (GOOD_IBAN, "Anna Becker", False, "mandateAccepted"),
    ],
)
def test_sepa_needs_a_valid_iban_holder_and_mandate(
    iban: str | None, holder: str, mandate: bool, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.clean_payment_details(PaymentMethod.SEPA_DEBIT, iban, holder, mandate)
    assert refused.value.field == field


def test_valid_sepa_and_transfer_details() -> None:
    sepa = rules.clean_payment_details(PaymentMethod.SEPA_DEBIT, GOOD_IBAN, " Anna  Becker", True)
    assert (sepa.iban, sepa.account_holder) == ("DE89370400440532013000", "Anna Becker")
    transfer = rules.clean_payment_details(PaymentMethod.TRANSFER, GOOD_IBAN, "x", False)
    assert (transfer.iban, transfer.account_holder) == (None, None)


def test_no_change_while_payments_are_overdue_then_cadence() -> None:
    policy = PaymentMethodRules(
        block_when_overdue=True,
        cadence=Cadence(allowed_changes=2, period=12, period_type=PeriodType.MONTHS),
    )
    with pytest.raises(RuleViolation) as overdue:
        rules.check_payment_method_change(policy, Decimal("45.00"), [], NOW)
    assert overdue.value.code == "OVERDUE_PAYMENTS"
    assert "45.00 EUR" in overdue.value.message
    rules.check_payment_method_change(policy, Decimal(0), [NOW - timedelta(days=30)], NOW)
    with pytest.raises(rules.CadenceRefused):
        rules.check_payment_method_change(
            policy, Decimal(0), [NOW - timedelta(days=30), NOW - timedelta(days=300)], NOW
        )


# --- Due date -------------------------------------------------------------------------------

FIVE_DAYS = DueDateRules(enabled=True, editable_until_days_before=5)


@pytest.mark.parametrize(
    ("today", "due_day", "allowed"),
    [
        (date(2026, 11, 10), 15, True),  # 5 days before the 15th: the last day
        (date(2026, 11, 11), 15, False),  # 4 days before
        (date(2026, 11, 15), 15, False),  # the due day itself
        (date(2026, 11, 16), 15, True),  # next due date is 15 December
        (date(2026, 12, 28), 2, True),  # next is 2 January: 28 December is the last day
        (date(2026, 12, 29), 2, False),
    ],
)
def test_due_day_until_n_days_before(today: date, due_day: int, allowed: bool) -> None:
    if allowed:
        assert rules.check_due_day_change(FIVE_DAYS, due_day, 20, today) == 20
    else:
        with pytest.raises(RuleViolation):
            rules.check_due_day_change(FIVE_DAYS, due_day, 20, today)


@pytest.mark.parametrize("day", [0, 29, 31, -1])
def test_due_day_between_1_and_28(day: int) -> None:
    with pytest.raises(InvalidInput):
        rules.check_due_day_change(FIVE_DAYS, 15, day, date(2026, 11, 1))


def test_next_due_date_rolls_into_the_next_year() -> None:
    assert rules.next_due_date(2, date(2026, 12, 28)) == date(2027, 1, 2)
    assert rules.next_due_date(28, date(2026, 2, 28)) == date(2026, 2, 28)
