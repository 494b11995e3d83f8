"""The billing account and the installment interval as plain functions (no database, no
GraphQL): the plan's next due date, the next installment, signed sums of a period, the
contract filter; the interval rule's every refusal and the amount that follows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from db import models
from db.models.enums import InstallmentInterval as Interval
from db.models.enums import PaymentKind, PaymentStatus
from db.portal_settings import Cadence, InstallmentIntervalRules, PeriodType
from gql.domain import billing, rules
from gql.domain.errors import InvalidInput, RuleViolation

TODAY = date(2026, 12, 2)
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)


def contract(**over: object) -> models.Contract:
    row = models.Contract(
        id=uuid.uuid4(),
        number="V-1",
        status=models.ContractStatus.ACTIVE,
        start_date=date(2024, 10, 1),
        end_date=None,
        installment_amount=Decimal("110.00"),
        installment_interval=Interval.MONTHLY,
        due_day=15,
        balance=Decimal("0.00"),
    )
    for name, value in over.items():
        setattr(row, name, value)
    return row


def payment(
    of: models.Contract,
    due: date,
    amount: str = "110.00",
    kind: PaymentKind = PaymentKind.INSTALLMENT,
    status: PaymentStatus = PaymentStatus.PAID,
) -> models.Payment:
    return models.Payment(
        id=uuid.uuid4(),
        contract_id=of.id,
        kind=kind,
        status=status,
        amount=Decimal(amount),
        due_date=due,
    )


@pytest.mark.parametrize(
    ("start", "interval", "due_day", "today", "expected"),
    [
        (date(2024, 10, 1), Interval.MONTHLY, 15, date(2026, 12, 2), date(2026, 12, 15)),
        (date(2024, 10, 1), Interval.MONTHLY, 15, date(2026, 12, 15), date(2026, 12, 15)),
        (date(2024, 10, 1), Interval.MONTHLY, 15, date(2026, 12, 16), date(2027, 1, 15)),
        # Quarterly from October: January, April, July, October.
        (date(2024, 10, 1), Interval.QUARTERLY, 15, date(2026, 12, 2), date(2027, 1, 15)),
        (date(2024, 10, 1), Interval.QUARTERLY, 15, date(2026, 10, 15), date(2026, 10, 15)),
        (date(2024, 10, 1), Interval.HALF_YEARLY, 1, date(2026, 10, 2), date(2027, 4, 1)),
        (date(2024, 10, 1), Interval.YEARLY, 28, date(2026, 12, 2), date(2027, 10, 28)),
        (date(2024, 10, 1), Interval.BIMONTHLY, 5, date(2026, 12, 2), date(2026, 12, 5)),
        # Not before the contract starts: the start month's due day, or the next period.
        (date(2027, 3, 10), Interval.MONTHLY, 15, date(2026, 12, 2), date(2027, 3, 15)),
        (date(2027, 3, 20), Interval.QUARTERLY, 15, date(2026, 12, 2), date(2027, 6, 15)),
    ],
)
def test_the_plan_gives_the_next_due_date(
    start: date, interval: Interval, due_day: int, today: date, expected: date
) -> None:
    assert billing.planned_due_date(start, None, interval, due_day, today) == expected


def test_no_planned_installment_after_the_end_or_when_terminated() -> None:
    ends = date(2026, 12, 14)
    assert billing.planned_due_date(date(2024, 1, 1), ends, Interval.MONTHLY, 15, TODAY) is None
    assert billing.planned_due_date(
        date(2024, 1, 1), date(2026, 12, 15), Interval.MONTHLY, 15, TODAY
    ) == date(2026, 12, 15)
    done = contract(status=models.ContractStatus.TERMINATED)
    assert billing.next_installment([done], [], TODAY) is None


def test_an_open_item_wins_over_the_plan_and_the_earliest_contract_wins() -> None:
    power = contract(due_day=20)
    heat = contract(installment_amount=Decimal("60.00"), due_day=28)
    billed = payment(heat, date(2026, 12, 10), "61.00", status=PaymentStatus.OPEN)
    past = payment(power, date(2026, 12, 1), status=PaymentStatus.OPEN)  # due before today
    found = billing.next_installment([power, heat], [billed, past], TODAY)
    assert found == billing.NextInstallment(heat.id, Decimal("61.00"), date(2026, 12, 10), True)
    planned = billing.next_installment([power], [past], TODAY)
    assert planned == billing.NextInstallment(
        power.id, Decimal("110.00"), date(2026, 12, 20), False
    )


def test_the_account_sums_the_period_signed_from_the_customers_side() -> None:
    mine = contract(balance=Decimal("-110.00"))
    other = contract(number="V-2", balance=Decimal("20.00"))
    items = [
        payment(mine, date(2026, 10, 15)),
        payment(mine, date(2026, 11, 15), status=PaymentStatus.OVERDUE),
        payment(mine, date(2026, 12, 15), status=PaymentStatus.OPEN),
        payment(mine, date(2026, 3, 10), "24.10", PaymentKind.REFUND),
        payment(mine, date(2026, 1, 30), "86.40", PaymentKind.INVOICE),
        payment(other, date(2026, 11, 1), "50.00"),
    ]
    whole = billing.account(
        [mine, other], items, contract_id=None, since=None, until=None, today=TODAY
    )
    assert whole.balance == Decimal("-90.00")
    assert (whole.open_amount, whole.overdue_amount) == (Decimal("220.00"), Decimal("110.00"))
    assert whole.paid_amount == Decimal("110.00") - Decimal("24.10") + Decimal("86.40") + 50
    assert [item.due_date for item in whole.items] == sorted(
        (item.due_date for item in items), reverse=True
    )
    # The period includes both ends; the balance and the next installment ignore it.
    autumn = billing.account(
        [mine, other],
        items,
        contract_id=mine.id,
        since=date(2026, 10, 15),
        until=date(2026, 11, 15),
        today=TODAY,
    )
    assert [item.due_date for item in autumn.items] == [date(2026, 11, 15), date(2026, 10, 15)]
    assert (autumn.balance, autumn.open_amount, autumn.paid_amount) == (
        Decimal("-110.00"),
        Decimal("110.00"),
        Decimal("110.00"),
    )
    assert autumn.next_installment is not None
    assert autumn.next_installment.due_date == date(2026, 12, 15)
    # A contract that is not among the contact's: an empty account, not someone else's.
    foreign = billing.account(
        [mine], items, contract_id=other.id, since=None, until=None, today=TODAY
    )
    assert (foreign.contracts, foreign.items, foreign.next_installment) == ([], [], None)
    assert foreign.balance == Decimal("0.00")


# --- Installment interval ---------------------------------------------------------------------

ALLOWED = InstallmentIntervalRules(
    enabled=True,
    allowed_intervals=[Interval.MONTHLY, Interval.QUARTERLY, Interval.YEARLY],
    cadence=Cadence(allowed_changes=1, period=12, period_type=PeriodType.MONTHS),
)


@pytest.mark.parametrize(
    ("amount", "current", "new", "expected"),
    [
        ("90.00", Interval.MONTHLY, Interval.QUARTERLY, "270.00"),
        ("90.00", Interval.MONTHLY, Interval.YEARLY, "1080.00"),
        ("400.00", Interval.YEARLY, Interval.MONTHLY, "33.33"),
        ("100.00", Interval.QUARTERLY, Interval.MONTHLY, "33.33"),
        ("0.05", Interval.HALF_YEARLY, Interval.MONTHLY, "0.01"),  # 0.00833: half a cent up
        ("0.03", Interval.HALF_YEARLY, Interval.MONTHLY, "0.01"),  # 0.005 rounds up
        ("50.00", Interval.BIMONTHLY, Interval.QUARTERLY, "75.00"),
    ],
)
def test_the_amount_follows_the_interval(
    amount: str, current: Interval, new: Interval, expected: str
) -> None:
    assert rules.amount_for_interval(Decimal(amount), current, new) == Decimal(expected)


def _check(
    requested: Interval,
    *,
    settings: InstallmentIntervalRules = ALLOWED,
    amount: str = "90.00",
    history: tuple[datetime, ...] = (),
) -> Decimal:
    return rules.check_installment_interval(
        settings, Interval.MONTHLY, requested, Decimal(amount), history, NOW
    )


def test_an_allowed_interval_is_accepted_with_its_amount() -> None:
    assert _check(Interval.QUARTERLY) == Decimal("270.00")


@pytest.mark.parametrize(
    ("requested", "change", "code", "key"),
    [
        (Interval.QUARTERLY, {"settings": InstallmentIntervalRules()}, "DISABLED", None),
        (Interval.MONTHLY, {}, "INVALID_INPUT", "installment_interval_unchanged"),
        (Interval.HALF_YEARLY, {}, "INTERVAL_NOT_ALLOWED", None),
        (Interval.BIMONTHLY, {}, "INTERVAL_NOT_ALLOWED", None),
        (
            Interval.YEARLY,
            {"amount": "8333.34"},  # 100,000.08 a year: over the limit
            "INVALID_INPUT",
            "installment_interval_amount_out_of_bounds",
        ),
        (
            Interval.MONTHLY,
            {"settings": ALLOWED.model_copy(update={"allowed_intervals": list(Interval)})},
            "INVALID_INPUT",
            "installment_interval_unchanged",
        ),
        (
            Interval.QUARTERLY,
            {"history": (datetime(2026, 2, 2, 12, tzinfo=UTC),)},  # 10 months ago
            "CADENCE_EXCEEDED",
            None,
        ),
    ],
)
def test_every_refusal_names_its_code(
    requested: Interval, change: dict[str, object], code: str, key: str | None
) -> None:
    with pytest.raises((RuleViolation, InvalidInput)) as refused:
        _check(requested, **change)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert refused.value.field in ("interval", None)
    if key is not None:
        assert refused.value.key == key
    if code == "INTERVAL_NOT_ALLOWED":
        assert refused.value.parameters["allowedIntervals"] == "MONTHLY, QUARTERLY, YEARLY"


def test_the_cadence_counts_a_change_for_exactly_one_period() -> None:
    year_ago = datetime(2025, 12, 2, 12, tzinfo=UTC)  # exactly 12 months: no longer counts
    assert _check(Interval.YEARLY, history=(year_ago,)) == Decimal("1080.00")
    just_inside = datetime(2025, 12, 2, 12, 0, 1, tzinfo=UTC)
    with pytest.raises(rules.CadenceRefused) as refused:
        _check(Interval.YEARLY, history=(just_inside,))
    assert refused.value.next_possible_at == datetime(2026, 12, 2, 12, 0, 1, tzinfo=UTC)


def test_the_amounts_at_the_bounds() -> None:
    assert _check(Interval.YEARLY, amount="8333.33") == Decimal("99999.96")
    yearly = ALLOWED.model_copy(update={"allowed_intervals": list(Interval)})
    tiny = rules.check_installment_interval(
        yearly, Interval.YEARLY, Interval.MONTHLY, Decimal("0.06"), (), NOW
    )
    assert tiny == Decimal("0.01")  # 0.005 rounds up to a cent
    with pytest.raises(InvalidInput) as refused:  # 0.0033: no cent left
        rules.check_installment_interval(
            yearly, Interval.YEARLY, Interval.MONTHLY, Decimal("0.04"), (), NOW
        )
    assert refused.value.key == "installment_interval_amount_out_of_bounds"
