"""A customer's billing account (compare epilot's `getBillingEvents`,
`getCustomerBalance`): the balance of their contracts, the items of a period (open and
paid installments, invoices, refunds) with their sums, and the next installment.

Plain functions over rows the caller already reached through the scope (the resolvers
load them with the request's loaders: one statement per level for a page of contacts).

- **Balance** is what the utility's books say per contract (`Contract.balance`, negative
  means owed), summed over the chosen contracts; it does not depend on the period.
- **Sums** of the period's items are signed from the customer's side: installments and
  invoices count positive, refunds (money back to the customer) negative.
- **Next installment**: the earliest open installment item due today or later; where a
  contract has none, its plan says it: the installment amount on the due day of every
  n-th month (n from the interval) counted from the month the contract started, not
  after its end. Terminated contracts have none.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from db import models
from db.models.enums import (
    ContractStatus,
    InstallmentInterval,
    PaymentKind,
    PaymentStatus,
)
from gql.domain import rules

ZERO = Decimal("0.00")
OPEN = frozenset({PaymentStatus.OPEN, PaymentStatus.OVERDUE})


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def planned_due_date(
    start: date, end: date | None, interval: InstallmentInterval, due_day: int, today: date
) -> date | None:
    """The first date on or after `today` (and on or after `start`) on which the plan
    has an installment: day `due_day` of the start month and of every n-th month after
    it. None when that lies after `end`."""
    months = rules.INTERVAL_MONTHS[interval]
    first = max(today, start)
    steps = max(0, -(-(_month_index(first) - _month_index(start)) // months))
    while True:
        index = _month_index(start) + steps * months
        candidate = date(index // 12, index % 12 + 1, due_day)
        if candidate >= first:
            break
        steps += 1
    return None if end is not None and candidate > end else candidate


@dataclass(frozen=True)
class NextInstallment:
    contract_id: uuid.UUID
    amount: Decimal
    due_date: date
    # True: an open item of the utility's books; False: from the contract's plan.
    billed: bool


def next_installment(
    contracts: Sequence[models.Contract], payments: Sequence[models.Payment], today: date
) -> NextInstallment | None:
    """The earliest next installment over `contracts` (see the module's docstring)."""
    found: list[NextInstallment] = []
    for contract in contracts:
        if contract.status is ContractStatus.TERMINATED:
            continue
        billed = [
            payment
            for payment in payments
            if payment.contract_id == contract.id
            and payment.kind is PaymentKind.INSTALLMENT
            and payment.status is PaymentStatus.OPEN
            and payment.due_date >= today
        ]
        if billed:
            item = min(billed, key=lambda payment: payment.due_date)
            found.append(NextInstallment(contract.id, item.amount, item.due_date, billed=True))
            continue
        due = planned_due_date(
            contract.start_date,
            contract.end_date,
            contract.installment_interval,
            contract.due_day,
            today,
        )
        if due is not None:
            found.append(
                NextInstallment(contract.id, contract.installment_amount, due, billed=False)
            )
    return min(found, key=lambda item: (item.due_date, str(item.contract_id)), default=None)


def signed(payment: models.Payment) -> Decimal:
    """The amount from the customer's side: a refund is money back."""
    return -payment.amount if payment.kind is PaymentKind.REFUND else payment.amount


def in_period(payment: models.Payment, since: date | None, until: date | None) -> bool:
    """Whether the item is due in the period (both days included; None: no bound)."""
    return (since is None or payment.due_date >= since) and (
        until is None or payment.due_date <= until
    )


@dataclass(frozen=True)
class Account:
    contracts: list[models.Contract]
    items: list[models.Payment]  # of the period, latest due date first
    balance: Decimal
    open_amount: Decimal
    overdue_amount: Decimal
    paid_amount: Decimal
    next_installment: NextInstallment | None


def account(
    contracts: Sequence[models.Contract],
    payments: Sequence[models.Payment],
    *,
    contract_id: uuid.UUID | None,
    since: date | None,
    until: date | None,
    today: date,
) -> Account:
    """The billing account over `contracts` (one of them when `contract_id` names it;
    none when it names another: a contract of someone else shows nothing) and the
    items of their `payments` due in the period."""
    chosen = [c for c in contracts if contract_id is None or c.id == contract_id]
    ids = {contract.id for contract in chosen}
    mine = [payment for payment in payments if payment.contract_id in ids]
    items = sorted(
        (payment for payment in mine if in_period(payment, since, until)),
        key=lambda payment: (payment.due_date, str(payment.id)),
        reverse=True,
    )
    return Account(
        contracts=chosen,
        items=items,
        balance=sum((contract.balance for contract in chosen), ZERO),
        open_amount=sum((signed(p) for p in items if p.status in OPEN), ZERO),
        overdue_amount=sum((signed(p) for p in items if p.status is PaymentStatus.OVERDUE), ZERO),
        paid_amount=sum((signed(p) for p in items if p.status is PaymentStatus.PAID), ZERO),
        next_installment=next_installment(chosen, mine, today),
    )
