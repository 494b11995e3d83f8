"""Consumption and the billing account as customers and staff read them; the numbers
come from `gql.domain.consumption` (SQL over the readings) and `gql.domain.billing`
(over the rows the loaders bring, one statement per level)."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from db import models
from gql.auth.permissions import STAFF_AND_CUSTOMER, allow, public
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import billing, consumption
from gql.resolvers.common import load_one
from gql.schema import criteria, enums
from gql.schema.node import node_uuid
from gql.schema.pagination import AFTER, BEFORE, LAST, PAGE, Connection, slice_connection
from gql.schema.results import now
from gql.schema.scalars import Cursor

if TYPE_CHECKING:
    from gql.schema.crm import Contract, Payment

ContractRef = Annotated["Contract", strawberry.lazy("gql.schema.crm")]
PaymentRef = Annotated["Payment", strawberry.lazy("gql.schema.crm")]
PAYMENT = models.Grant.PAYMENT_READ

if TYPE_CHECKING:
    ConsumptionInterval = consumption.Interval
else:
    ConsumptionInterval = described_enum(
        consumption.Interval,
        "The periods consumption is summed over (calendar periods in Germany).",
        {
            consumption.Interval.MONTH: "Per calendar month.",
            consumption.Interval.YEAR: "Per calendar year.",
        },
        name="ConsumptionInterval",
    )


@strawberry.type(description="The consumption of a register in one month or year.")
class Consumption:
    period: date = public("The first day of the month or year.")
    value: Decimal = public("Consumed in the period, in `unit`, three decimals.")
    unit: str = public("The meter's unit (kWh, m3, MWh).")
    estimated: bool = public(
        "Whether it is interpolated: the month (for a year: one of its months) has no"
        " reading of its own; its share comes from the readings around it."
    )
    covered_from: datetime = public(
        "Where the readings begin within the period (its start, unless the first reading is later)."
    )
    covered_until: datetime = public(
        "Where the readings end within the period (its end, unless the last reading is"
        " earlier: nothing is extrapolated)."
    )


async def register_consumption(
    info: Info,
    register: models.MeterRegister,
    interval: consumption.Interval,
    since: date | None,
    until: date | None,
) -> list[Consumption]:
    """A register's consumption; every register of a request asking the same periods
    shares one statement."""
    loaders = info.context.loaders
    meter = await loaders.by_id(models.Meter).load(register.meter_id)
    if meter is None:
        return []
    load = functools.partial(consumption.per_register, interval=interval, since=since, until=until)
    rows = await loaders.batch(f"consumption:{interval}:{since}:{until}", load).load(register.id)
    return [
        Consumption(
            period=row.period,
            value=row.value,
            unit=meter.unit,
            estimated=row.estimated,
            covered_from=row.covered_from,
            covered_until=row.covered_until,
        )
        for row in rows
    ]


@strawberry.type(description="The next installment of a billing account.")
class NextInstallment:
    amount: Decimal = public("EUR.")
    due_date: date = public("When it is due.")
    billed: bool = public(
        "True: an open item of the utility's books; false: from the contract's plan"
        " (installment, interval, due day)."
    )
    contract_id: strawberry.Private[uuid.UUID]

    @public("The contract it is for.")
    async def contract(self, info: Info) -> ContractRef | None:
        return cast("Contract", await load_one(info, models.Contract, self.contract_id))


@strawberry.type(
    description="A contact's billing account (compare epilot getBillingEvents,"
    " getCustomerBalance): balance, the items of a period with their sums, the next"
    " installment. Sums are signed from the customer's side: refunds count negative."
)
class BillingAccount:
    balance: Decimal = public(
        "The chosen contracts' balance in EUR, whatever the period; negative means owed."
    )
    open_amount: Decimal = public("Items of the period still to be paid (OPEN, OVERDUE), EUR.")
    overdue_amount: Decimal = public("Items of the period overdue, EUR.")
    paid_amount: Decimal = public("Items of the period paid, EUR.")
    next_installment: NextInstallment | None = public(
        "The next installment of the chosen contracts (whatever the period); null when none"
        " is planned (terminated, ended)."
    )
    account: strawberry.Private[billing.Account]

    @public("The contracts the account covers, by number.")
    def contracts(self) -> list[ContractRef]:
        rows = sorted(self.account.contracts, key=lambda contract: contract.number)
        return cast("list[Contract]", rows)

    @allow(
        STAFF_AND_CUSTOMER,
        grant=PAYMENT,
        description="The items (installments, invoices, refunds) due in the period, latest"
        " due date first.",
    )
    def items(
        self,
        info: Info,
        status: Annotated[
            list[enums.PaymentStatus] | None,
            strawberry.argument(
                description="Only items in one of these states (open: OPEN"
                " and OVERDUE; paid: PAID)."
            ),
        ] = None,
        kind: Annotated[
            list[enums.PaymentKind] | None,
            strawberry.argument(description="Only items of one of these kinds."),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[Cursor | None, strawberry.argument(description=BEFORE)] = None,
    ) -> Connection[PaymentRef] | None:
        criteria.require_given(
            "BillingAccount.items", {"status": status, "kind": kind}, info.context.actor
        )
        rows = [
            item
            for item in self.account.items
            if (status is None or item.status in status) and (kind is None or item.kind in kind)
        ]
        size = info.context.settings.max_page_size
        return slice_connection(rows, first, after, size, last, before)


async def billing_account(
    info: Info,
    contact: models.Contact,
    contract_id: strawberry.relay.GlobalID | None,
    since: date | None,
    until: date | None,
) -> BillingAccount:
    """The account over the contact's contracts the caller sees; the contracts and
    their payments come through loaders (one statement each for a page of contacts)."""
    criteria.require_given(
        "Contact.billingAccount",
        {"contract_id": contract_id, "from": since, "to": until},
        info.context.actor,
    )
    loaders = info.context.loaders
    contract, payment = models.Contract, models.Payment
    contracts = await loaders.by_fk(contract.contact_id, contract.number).load(contact.id)
    per_contract = await loaders.by_fk(payment.contract_id, payment.due_date.desc()).load_many(
        [row.id for row in contracts]
    )
    wanted = None if contract_id is None else node_uuid(contract_id, "Contract")
    if contract_id is not None and wanted is None:
        contracts = []  # another type's ID: no contract, an empty account
    account = billing.account(
        contracts,
        [row for rows in per_contract for row in rows],
        contract_id=wanted,
        since=since,
        until=until,
        today=now().date(),
    )
    upcoming = account.next_installment
    return BillingAccount(
        balance=account.balance,
        open_amount=account.open_amount,
        overdue_amount=account.overdue_amount,
        paid_amount=account.paid_amount,
        next_installment=None
        if upcoming is None
        else NextInstallment(
            amount=upcoming.amount,
            due_date=upcoming.due_date,
            billed=upcoming.billed,
            contract_id=upcoming.contract_id,
        ),
        account=account,
    )
