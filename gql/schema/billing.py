"""Consumption, prices, costs and the billing account as customers and staff read them;
the numbers come from `gql.domain.consumption` (SQL over the readings),
`gql.domain.prices` and `gql.domain.costs` (SQL over readings and prices) and
`gql.domain.billing` (over the rows the loaders bring, one statement per level)."""

from __future__ import annotations

import functools
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast
from zoneinfo import ZoneInfo

import strawberry

from db import models
from gql.auth.permissions import STAFF_AND_CUSTOMER, allow, public
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import billing, consumption, costs, prices
from gql.resolvers import relations
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

# The arguments of a series per month or year (`consumption`, `costs`).
IntervalArgument = Annotated[
    ConsumptionInterval, strawberry.argument(description="MONTH (default) or YEAR.")
]
FromArgument = Annotated[
    date | None,
    strawberry.argument(name="from", description="From the month or year holding this day."),
]
ToArgument = Annotated[
    date | None,
    strawberry.argument(name="to", description="Until the month or year holding this day."),
]


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


# --- Prices and costs (gql/domain/prices.py, costs.py) ---------------------------------


async def price_in_force(
    info: Info, contract: models.Contract, on: date | None, obis_code: str | None
) -> models.ContractPrice | None:
    """The contract's price in force on the day for the register (prices.in_force); every
    contract of a request shares one statement."""
    day = on if on is not None else now().astimezone(ZoneInfo(consumption.ZONE)).date()
    code = (obis_code or "").strip() or None
    loaders = info.context.loaders
    price_id = await loaders.batch("prices:in_force", prices.ids_in_force).load(
        (contract.id, code, day)
    )
    return cast("models.ContractPrice | None", await load_one(info, models.ContractPrice, price_id))


async def price_valid_until(info: Info, price: models.ContractPrice) -> date | None:
    """The price's last day, from its contract's prices (the loader of `Contract.prices`)."""
    relation = relations.CONTRACT_PRICES
    siblings = await info.context.loaders.by_fk(relation.join_column(), *relation.order_by()).load(
        price.contract_id
    )
    return prices.valid_until(price, siblings)


async def contract_unit(info: Info, contract_id: uuid.UUID) -> str | None:
    """The unit of the contract's meters (the first by number)."""
    relation = relations.CONTRACT_METERS
    meters = await info.context.loaders.by_fk(relation.join_column(), *relation.order_by()).load(
        contract_id
    )
    return meters[0].unit if meters else None


@strawberry.type(description="A register's part of a contract's costs in one period.")
class RegisterCost:
    obis_code: str = public("The register's OBIS code (e.g. 1.8.1 HT, 1.8.2 NT).")
    consumption: Decimal = public("Consumed in the period, in `unit`, three decimals.")
    unit: str = public("The meter's unit (kWh, m3, MWh).")
    estimated: bool = public("Whether its consumption is interpolated (see Consumption).")
    net: Decimal | None = public(
        "Its consumption at the working prices in force, EUR net to the cent; null where a"
        " price is missing."
    )


@strawberry.type(
    description="A contract's costs in one month or year (compare epilot getCosts): the"
    " consumption at the working prices in force (a price change inside the period prices"
    " each part at its own price) plus the base price per day the readings cover. Money"
    " is null where a price is missing for part of the period (`priced` false)."
)
class CostPeriod:
    period_start: date = public("The first day of the month or year.")
    period_end: date = public("The last day of the month or year.")
    consumption: Decimal | None = public(
        "Consumed in the period by all registers, in `unit`, three decimals (null when the"
        " registers' units differ: see `registers`)."
    )
    unit: str | None = public("The meters' unit (kWh, m3, MWh).")
    estimated: bool = public(
        "Whether the consumption is interpolated (a month without a reading of its own)."
    )
    priced: bool = public(
        "Whether a price was in force for all of the period's consumption and days; if not,"
        " the money fields are null."
    )
    working_price_net: Decimal | None = public(
        "The consumption at the working prices, EUR net to the cent."
    )
    base_price_net: Decimal | None = public(
        "The base price for the days the readings cover and the contract supplies (base"
        " price per year / days of the year, per day), EUR net to the cent."
    )
    net: Decimal | None = public("The sum of workingPriceNet and basePriceNet, EUR.")
    vat: Decimal | None = public("VAT at the rates of the prices in force, to the cent, EUR.")
    gross: Decimal | None = public("The sum of net and vat, EUR.")
    registers: list[RegisterCost] = public("Per register, by OBIS code.")


async def contract_costs(
    info: Info,
    contract: models.Contract,
    interval: consumption.Interval,
    since: date | None,
    until: date | None,
) -> list[CostPeriod]:
    """A contract's costs; every contract of a request asking the same periods shares
    one statement."""
    load = functools.partial(costs.per_contract, interval=interval, since=since, until=until)
    rows = await info.context.loaders.batch(f"costs:{interval}:{since}:{until}", load).load(
        contract.id
    )
    return [
        CostPeriod(
            period_start=row.period_start,
            period_end=row.period_end,
            consumption=row.consumption,
            unit=row.unit,
            estimated=row.estimated,
            priced=row.priced,
            working_price_net=row.working_net,
            base_price_net=row.base_net,
            net=row.net,
            vat=row.vat,
            gross=row.gross,
            registers=[
                RegisterCost(
                    obis_code=line.obis_code,
                    consumption=line.consumption,
                    unit=line.unit,
                    estimated=line.estimated,
                    net=line.net,
                )
                for line in row.registers
            ],
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
