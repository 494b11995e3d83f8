"""CRM types the portal shows: contacts, contracts, meters, readings, orders,
opportunities, documents and payments. Sources are database rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry

from db import models
from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.links import links_for
from gql.auth.permissions import (
    STAFF,
    STAFF_AND_CUSTOMER,
    STAFF_AND_PORTAL_USERS,
    allow,
)
from gql.context import Info
from gql.domain import documents, prices
from gql.resolvers import relations
from gql.resolvers.common import load_one
from gql.resolvers.computed import Computed, Given, declared_value
from gql.resolvers.relations import declared
from gql.schema import billing, computed, criteria, enums, related, rules
from gql.schema.node import RowNode, node_uuid, row_of
from gql.schema.pagination import AFTER, BEFORE, LAST, PAGE, Connection, slice_connection
from gql.schema.scalars import Cursor, Line

if TYPE_CHECKING:
    from gql.schema.portal_user import PortalUser
    from gql.schema.processes import Process

PortalUserRef = Annotated["PortalUser", strawberry.lazy("gql.schema.portal_user")]
ProcessRef = Annotated["Process", strawberry.lazy("gql.schema.processes")]

# The grant each kind of row needs from portal users; relations need the grant of the
# rows they lead to.
CONTRACT = Grant.CONTRACT_READ
METER = Grant.METER_READ
ORDER = Grant.ORDER_READ
OPPORTUNITY = Grant.OPPORTUNITY_READ
DOCUMENT = Grant.DOCUMENT_READ
PAYMENT = Grant.PAYMENT_READ
PROCESS = Grant.PROCESS_READ


def mask_iban(iban: str | None) -> str | None:
    """Country, check digits and the last four characters; the rest hidden."""
    if not iban:
        return None
    compact = iban.replace(" ", "")
    hidden = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join([hidden[i : i + 4] for i in range(0, len(hidden), 4)])


# The masked IBAN, from the contract's IBAN: the same function for both engines.
IBAN_MASKED = Computed(("iban",), lambda _given, iban: mask_iban(iban))


def _download_url(given: Given, document_id: Any) -> str | None:
    """A link to the document signed for the caller now (gql/auth/links.py); none for
    a caller that can not hold one."""
    holder = documents.holder_of(given.actor)
    if holder is None or given.settings is None:
        return None
    return links_for(given.settings).url(document_id, holder, given.now)


# A document's download link, from its id, signed after a plan's statement as by the
# executor's resolver: the same function for both engines.
DOWNLOAD_URL = Computed(("id",), _download_url)


@strawberry.type(description="A postal address.")
class Address:
    street: str | None = allow(STAFF_AND_PORTAL_USERS, description="Street name.")
    house_number: str | None = allow(STAFF_AND_PORTAL_USERS, description="House number.")
    postal_code: str | None = allow(STAFF_AND_PORTAL_USERS, description="Postal code.")
    city: str | None = allow(STAFF_AND_PORTAL_USERS, description="City.")
    country: str | None = allow(STAFF_AND_PORTAL_USERS, description="ISO 3166 country code.")


@strawberry.type(description="A person or company in the utility's CRM.")
class Contact(RowNode):
    __model__ = models.Contact

    first_name: str | None = allow(STAFF_AND_PORTAL_USERS, description="First name.")
    last_name: str | None = allow(STAFF_AND_PORTAL_USERS, description="Last name.")
    company_name: str | None = allow(STAFF_AND_PORTAL_USERS, description="Company name.")
    email: str | None = allow(STAFF_AND_CUSTOMER, description="Primary email address.")
    phone: str | None = allow(STAFF_AND_CUSTOMER, description="Phone number.")
    customer_number: str | None = allow(STAFF_AND_CUSTOMER, description="Customer number.")
    marketing_consent: bool | None = allow(
        STAFF_AND_CUSTOMER, description="Marketing consent given."
    )
    marketing_consent_at: datetime | None = allow(
        STAFF_AND_CUSTOMER, description="When the marketing consent was last given or withdrawn."
    )
    marketing_consent_text: str | None = allow(
        STAFF_AND_CUSTOMER,
        description="The consent text exactly as the customer saw it when agreeing (null when"
        " withdrawn or never given).",
    )
    created_at: datetime | None = allow(STAFF, description="When the contact was created.")

    display_name: str | None = allow(
        STAFF_AND_PORTAL_USERS, description="Company name, or first and last name."
    )

    address: Address | None = related.columns(
        Address, relations.CONTACT_ADDRESS, STAFF_AND_PORTAL_USERS, description="Postal address."
    )

    contracts: Connection[Contract] | None = related.page(
        relations.CONTACT_CONTRACTS,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Contracts of the contact, by number.",
    )

    orders: Connection[Order] | None = related.page(
        relations.CONTACT_ORDERS,
        STAFF_AND_CUSTOMER,
        grant=ORDER,
        description="Orders of the contact, newest first.",
    )

    opportunities: Connection[Opportunity] | None = related.page(
        relations.CONTACT_OPPORTUNITIES,
        STAFF_AND_CUSTOMER,
        grant=OPPORTUNITY,
        description="Opportunities of the contact, newest first.",
    )

    processes: list[ProcessRef] | None = related.rows(
        relations.CONTACT_PROCESSES,
        STAFF_AND_CUSTOMER,
        grant=PROCESS,
        description="Processes of the contact and its orders and requests, oldest first"
        " (customers: the kinds their portal shares).",
    )

    @allow(
        STAFF_AND_CUSTOMER,
        grant=DOCUMENT,
        description="Documents of the contact, newest first.",
        metadata=declared(relations.CONTACT_DOCUMENTS),
    )
    async def documents(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[Cursor | None, strawberry.argument(description=BEFORE)] = None,
        type: Annotated[
            list[enums.DocumentType] | None,
            strawberry.argument(description="Only documents of one of these kinds."),
        ] = None,
        contract_id: Annotated[
            strawberry.relay.GlobalID | None,
            strawberry.argument(description="Only documents of this contract."),
        ] = None,
    ) -> Connection[Document] | None:
        actor = info.context.actor
        given = {"type": type, "contract_id": contract_id}
        criteria.require_given("Contact.documents", given, actor)
        rows = await related.load_related(relations.CONTACT_DOCUMENTS, info, row_of(self))
        # Filtered among the contact's documents the loader already has: the same one
        # statement for every contact of the page, whatever the filters.
        if type is not None:
            rows = [row for row in rows if row.type in type]
        if contract_id is not None:
            contract = node_uuid(contract_id, "Contract")  # another type's ID: no match
            rows = [row for row in rows if contract is not None and row.contract_id == contract]
        size = info.context.settings.max_page_size
        return slice_connection(rows, first, after, size, last, before)

    @allow(
        STAFF_AND_CUSTOMER,
        grant=PAYMENT,
        description="The billing account over the contact's contracts: balance, the items of"
        " a period and their sums, the next installment.",
    )
    async def billing_account(
        self,
        info: Info,
        contract_id: Annotated[
            strawberry.relay.GlobalID | None,
            strawberry.argument(description="Only this contract (default: all of the contact)."),
        ] = None,
        since: Annotated[
            date | None,
            strawberry.argument(name="from", description="Items due on or after this day."),
        ] = None,
        until: Annotated[
            date | None,
            strawberry.argument(name="to", description="Items due on or before this day."),
        ] = None,
    ) -> billing.BillingAccount | None:
        return await billing.billing_account(info, row_of(self), contract_id, since, until)

    portal_users: Connection[PortalUserRef] | None = related.page(
        relations.CONTACT_PORTAL_USERS, STAFF, description="Portal users assigned to the contact."
    )


# What `contacts(search:)` matches, each column behind its field: installers, who see
# names only, do not find contacts by email or customer number.
CONTACT_SEARCH = criteria.search(Contact, *models.CONTACT_SEARCHED)


@strawberry.type(description="A supply contract of a contact.")
class Contract(RowNode):
    __model__ = models.Contract

    number: str | None = allow(STAFF_AND_CUSTOMER, grant=CONTRACT, description="Contract number.")
    contract_account_number: str | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="Contract account number (Vertragskonto)."
    )
    status: enums.ContractStatus | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="Lifecycle state."
    )
    commodity: enums.Commodity | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="What is supplied."
    )
    tariff_name: str | None = allow(STAFF_AND_CUSTOMER, grant=CONTRACT, description="Tariff.")
    start_date: date | None = allow(STAFF_AND_CUSTOMER, grant=CONTRACT, description="Supply start.")
    end_date: date | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="Supply end, if any."
    )
    installment_amount: Decimal | None = allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Installment (Abschlag) in EUR, exact to the cent.",
    )
    installment_interval: enums.InstallmentInterval | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="How often the installment is due."
    )
    due_day: int | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="Day of the month payments are due."
    )
    payment_method: enums.PaymentMethod | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="How it is paid."
    )
    account_holder: str | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="Account holder."
    )
    balance: Decimal | None = allow(
        STAFF_AND_CUSTOMER,
        grant=PAYMENT,
        description="Account balance in EUR; negative means owed.",
    )

    iban_masked: str | None = computed.value(
        IBAN_MASKED,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="IBAN with all but country, check digits and the last four characters hidden.",
    )

    delivery_address: Address | None = related.columns(
        Address,
        relations.CONTRACT_DELIVERY_ADDRESS,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Delivery address.",
    )

    contact: Contact | None = related.one(
        relations.CONTRACT_CONTACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract's holder.",
    )

    @allow(STAFF_AND_CUSTOMER, grant=PAYMENT, description="Sum of overdue payments in EUR.")
    async def overdue_amount(self, info: Info) -> Decimal | None:
        payments = await info.context.loaders.by_fk(
            models.Payment.contract_id, models.Payment.due_date.desc()
        ).load(row_of(self).id)
        return sum(
            (p.amount for p in payments if p.status is models.PaymentStatus.OVERDUE),
            Decimal("0.00"),
        )

    meters: Connection[Meter] | None = related.page(
        relations.CONTRACT_METERS,
        STAFF_AND_CUSTOMER,
        grant=METER,
        description="Meters of the contract, by number.",
    )

    payments: Connection[Payment] | None = related.page(
        relations.CONTRACT_PAYMENTS,
        STAFF_AND_CUSTOMER,
        grant=PAYMENT,
        description="Payments of the contract, latest due date first.",
    )

    prices: list[ContractPrice] | None = related.rows(
        relations.CONTRACT_PRICES,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract's tariff prices (ECP getPrices), by first day; each holds"
        " until the next one of its register (or of all registers).",
    )

    @allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The price in force on a day for a register: the register's own price,"
        " else the general one (null: none in force, e.g. before the first price).",
    )
    async def price(
        self,
        info: Info,
        on: Annotated[
            date | None, strawberry.argument(description="The day (default: today in Germany).")
        ] = None,
        obis_code: Annotated[
            Line | None,
            strawberry.argument(
                description="The register's OBIS code, e.g. 1.8.1 (HT); none: the general"
                " price (of all registers without their own)."
            ),
        ] = None,
    ) -> ContractPrice | None:
        return cast(
            ContractPrice | None,
            await billing.price_in_force(info, row_of(self), on, obis_code),
        )

    @allow(
        STAFF_AND_CUSTOMER,
        grant=METER,
        description="Costs per month or year (ECP getCosts), oldest first: the consumption"
        " of the contract's registers at the working price in force then, plus the base"
        " price per day the readings cover; net, VAT and gross in EUR (null where a"
        " price is missing).",
    )
    async def costs(
        self,
        info: Info,
        interval: billing.IntervalArgument = billing.ConsumptionInterval.MONTH,
        since: billing.FromArgument = None,
        until: billing.ToArgument = None,
    ) -> list[billing.CostPeriod] | None:
        return await billing.contract_costs(info, row_of(self), interval, since, until)

    @allow(
        STAFF_AND_CUSTOMER,
        grant=Grant.INSTALLMENT_UPDATE,
        description="What changeInstallment accepts now: the amounts, when the next change is"
        " possible, whether it needs approval (null: no published portal applies).",
        metadata=declared_value(rules.INSTALLMENT_RULES),
    )
    async def installment_rules(self, info: Info) -> rules.InstallmentRules | None:
        return await rules.installment_rules(info, row_of(self))

    @allow(
        STAFF_AND_CUSTOMER,
        grant=Grant.DUE_DATE_UPDATE,
        description="What changeDueDate accepts now: the days, until when a change is"
        " possible (null: no published portal applies).",
        metadata=declared_value(rules.DUE_DATE_RULES),
    )
    async def due_date_rules(self, info: Info) -> rules.DueDateRules | None:
        return await rules.due_date_rules(info, row_of(self))

    @allow(
        STAFF_AND_CUSTOMER,
        grant=Grant.PAYMENT_METHOD_UPDATE,
        description="Every payment method and whether changePaymentMethod accepts it now,"
        " with the reason when not (null: no published portal applies).",
        metadata=declared_value(rules.PAYMENT_METHOD_OPTIONS),
    )
    async def payment_method_options(self, info: Info) -> list[rules.PaymentMethodOption] | None:
        return await rules.payment_method_options(info, row_of(self))

    @allow(
        STAFF_AND_CUSTOMER,
        grant=Grant.INSTALLMENT_UPDATE,
        description="Every installment interval, the amount it would have and whether"
        " changeInstallmentInterval accepts it now, with the reason when not (null: no"
        " published portal applies).",
        metadata=declared_value(rules.INSTALLMENT_INTERVAL_OPTIONS),
    )
    async def installment_interval_options(
        self, info: Info
    ) -> list[rules.InstallmentIntervalOption] | None:
        return await rules.installment_interval_options(info, row_of(self))


@strawberry.type(
    description="A tariff price of a contract from a day on (until the next price of its"
    " register, or of all registers): working price per unit of the meter, base price per"
    " year, VAT rate."
)
class ContractPrice(RowNode):
    __model__ = models.ContractPrice

    valid_from: date | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="The first day it holds (in Germany)."
    )

    @allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The last day it holds: the day before the next price of the same"
        " register (or of all registers); null while none follows.",
    )
    async def valid_until(self, info: Info) -> date | None:
        return await billing.price_valid_until(info, row_of(self))

    obis_code: str | None = allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The register it prices (OBIS code, e.g. 1.8.1 HT, 1.8.2 NT); null: every"
        " register without a price of its own.",
    )
    working_price: Decimal | None = allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Working price (Arbeitspreis) in EUR net per unit of the meter, six decimals.",
    )
    base_price_per_year: Decimal | None = allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Base price (Grundpreis) in EUR net per year, counted per day.",
    )
    vat_rate: Decimal | None = allow(
        STAFF_AND_CUSTOMER, grant=CONTRACT, description="VAT rate in percent, e.g. 19.00."
    )

    @allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Working price in EUR gross (with VAT) per unit, six decimals.",
    )
    def working_price_gross(self) -> Decimal | None:
        row = row_of(self)
        return prices.gross(row.working_price, row.vat_rate, prices.WORKING_PRICE_DECIMALS)

    @allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="Base price in EUR gross (with VAT) per year, to the cent.",
    )
    def base_price_per_year_gross(self) -> Decimal | None:
        row = row_of(self)
        return prices.gross(row.base_price_per_year, row.vat_rate, prices.BASE_PRICE_DECIMALS)

    @allow(
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The unit the working price is per: that of the contract's meters (kWh,"
        " m3, MWh); null while the contract has no meter.",
    )
    async def unit(self, info: Info) -> str | None:
        return await billing.contract_unit(info, row_of(self).contract_id)

    contract: Contract | None = related.one(
        relations.PRICE_CONTRACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract it prices.",
    )


@strawberry.type(description="A counter of a meter, e.g. OBIS 1.8.1 (high tariff).")
class MeterRegister(RowNode):
    __model__ = models.MeterRegister

    obis_code: str | None = allow(STAFF_AND_PORTAL_USERS, grant=METER, description="OBIS code.")
    name: str | None = allow(STAFF_AND_PORTAL_USERS, grant=METER, description="Display name.")
    digits: int | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="Digits before the decimal point."
    )

    @allow(
        STAFF_AND_PORTAL_USERS,
        grant=Grant.METER_READING_CREATE,
        description="What submitMeterReading accepts for this register: the dates and"
        " the values (at all, and without overridePlausibility).",
        metadata=declared_value(rules.READING_RANGE),
    )
    async def reading_range(
        self,
        info: Info,
        read_at: Annotated[
            datetime | None,
            strawberry.argument(
                description="For a reading taken then (without a zone: UTC); default now."
            ),
        ] = None,
    ) -> rules.ReadingRange | None:
        return await rules.reading_range(info, row_of(self), read_at)

    @allow(
        STAFF_AND_CUSTOMER,
        grant=METER,
        description="Consumption per month or year, oldest first, in the meter's unit:"
        " apportioned by time between the readings, estimated where a month has none.",
    )
    async def consumption(
        self,
        info: Info,
        interval: billing.IntervalArgument = billing.ConsumptionInterval.MONTH,
        since: billing.FromArgument = None,
        until: billing.ToArgument = None,
    ) -> list[billing.Consumption] | None:
        return await billing.register_consumption(info, row_of(self), interval, since, until)

    readings: Connection[MeterReading] | None = related.page(
        relations.REGISTER_READINGS,
        STAFF_AND_PORTAL_USERS,
        grant=METER,
        description="Readings of this register only (e.g. the high tariff of a two-tariff"
        " meter), newest first.",
    )


@strawberry.type(description="A meter of a contract.")
class Meter(RowNode):
    __model__ = models.Meter

    number: str | None = allow(STAFF_AND_PORTAL_USERS, grant=METER, description="Meter number.")
    type: enums.MeterType | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="What it measures."
    )
    unit: str | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="Unit of its readings (kWh, m3)."
    )
    status: enums.MeterStatus | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="In use or not."
    )
    counter_reset_at: datetime | None = allow(
        STAFF_AND_PORTAL_USERS,
        grant=METER,
        description="When its count started again (rolled over or replaced), if it did.",
    )
    location: str | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="Where it is installed."
    )

    contract: Contract | None = related.one(
        relations.METER_CONTRACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract the meter belongs to.",
    )

    registers: list[MeterRegister] | None = related.rows(
        relations.METER_REGISTERS,
        STAFF_AND_PORTAL_USERS,
        grant=METER,
        description="Registers (counters) of the meter.",
    )

    readings: Connection[MeterReading] | None = related.page(
        relations.METER_READINGS,
        STAFF_AND_PORTAL_USERS,
        grant=METER,
        description="Readings of all its registers, newest first (see MeterRegister.readings"
        " for one register).",
    )


@strawberry.type(description="A reading of a meter register.")
class MeterReading(RowNode):
    __model__ = models.MeterReading

    value: Decimal | None = allow(STAFF_AND_PORTAL_USERS, grant=METER, description="Counter value.")
    read_at: datetime | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="When the meter was read."
    )
    source: enums.MeterReadingSource | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="Who read it."
    )
    status: enums.MeterReadingStatus | None = allow(
        STAFF_AND_PORTAL_USERS, grant=METER, description="Review state."
    )

    @allow(
        STAFF_AND_CUSTOMER,
        grant=DOCUMENT,
        description="The photo of the meter's display sent with the reading, if one was.",
    )
    async def photo(self, info: Info) -> Document | None:
        return await load_one(info, models.Document, row_of(self).photo_document_id)

    register: MeterRegister | None = related.one(
        relations.READING_REGISTER,
        STAFF_AND_PORTAL_USERS,
        grant=METER,
        description="The register read.",
    )

    meter: Meter | None = related.one(
        relations.READING_METER, STAFF_AND_PORTAL_USERS, grant=METER, description="The meter read."
    )


@strawberry.type(description="A line of an order (an offer's items), in its position.")
class OrderLineItem(RowNode):
    __model__ = models.OrderLineItem

    position: int | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="Its place in the order, from 0."
    )
    name: str | None = allow(STAFF_AND_CUSTOMER, grant=ORDER, description="What is offered.")
    quantity: Decimal | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="How many units (up to three decimals)."
    )
    unit: str | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="The unit of the quantity, e.g. Stk, h, m."
    )
    unit_price_net: Decimal | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="Price per unit in EUR before VAT."
    )
    vat_rate: Decimal | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="VAT rate in percent, e.g. 19.00."
    )


@strawberry.type(description="An order of a customer, possibly handled by an installer.")
class Order(RowNode):
    __model__ = models.Order

    number: str | None = allow(STAFF_AND_PORTAL_USERS, grant=ORDER, description="Order number.")
    title: str | None = allow(STAFF_AND_PORTAL_USERS, grant=ORDER, description="What is ordered.")
    status: enums.OrderStatus | None = allow(
        STAFF_AND_PORTAL_USERS, grant=ORDER, description="Progress."
    )
    scheduled_for: date | None = allow(
        STAFF_AND_PORTAL_USERS, grant=ORDER, description="Appointment date."
    )
    total_amount: Decimal | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="Order total in EUR."
    )
    created_at: datetime | None = allow(
        STAFF_AND_PORTAL_USERS, grant=ORDER, description="When it was ordered."
    )
    offer_answered_at: datetime | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="When the customer answered the offer."
    )
    offer_decline_reason: str | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="Why the customer declined the offer."
    )
    description: str | None = allow(
        STAFF_AND_CUSTOMER, grant=ORDER, description="What the order (offer) contains, in words."
    )
    offer_valid_until: date | None = allow(
        STAFF_AND_CUSTOMER,
        grant=ORDER,
        description="The last day the customer may accept the offer (null: no limit);"
        " `respondToOffer` refuses later answers with OFFER_EXPIRED.",
    )

    line_items: list[OrderLineItem] | None = related.rows(
        relations.ORDER_LINE_ITEMS,
        STAFF_AND_CUSTOMER,
        grant=ORDER,
        description="The items of the order (an offer's lines), in their order.",
    )

    contract: Contract | None = related.one(
        relations.ORDER_CONTRACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract the order concerns, if any.",
    )

    contact: Contact | None = related.one(
        relations.ORDER_CONTACT,
        STAFF_AND_PORTAL_USERS,
        grant=ORDER,
        description="The customer who ordered.",
    )

    partner: Contact | None = related.one(
        relations.ORDER_PARTNER,
        STAFF,
        Role.INSTALLER,
        grant=ORDER,
        description="The installer partner handling the order.",
    )

    meter: Meter | None = related.one(
        relations.ORDER_METER,
        STAFF_AND_PORTAL_USERS,
        grant=METER,
        description="The meter the order concerns.",
    )

    processes: list[ProcessRef] | None = related.rows(
        relations.ORDER_PROCESSES,
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="Processes of the order, oldest first (portal users: the kinds their"
        " portal shares).",
    )


@strawberry.type(description="A sales opportunity (offer) for a contact.")
class Opportunity(RowNode):
    __model__ = models.Opportunity

    number: str | None = allow(
        STAFF_AND_CUSTOMER, grant=OPPORTUNITY, description="Opportunity number."
    )
    title: str | None = allow(STAFF_AND_CUSTOMER, grant=OPPORTUNITY, description="What is offered.")
    status: enums.OpportunityStatus | None = allow(
        STAFF_AND_CUSTOMER, grant=OPPORTUNITY, description="Progress."
    )
    created_at: datetime | None = allow(
        STAFF_AND_CUSTOMER, grant=OPPORTUNITY, description="When it was created."
    )

    contact: Contact | None = related.one(
        relations.OPPORTUNITY_CONTACT,
        STAFF_AND_CUSTOMER,
        grant=OPPORTUNITY,
        description="The contact it is for.",
    )

    processes: list[ProcessRef] | None = related.rows(
        relations.OPPORTUNITY_PROCESSES,
        STAFF_AND_CUSTOMER,
        grant=PROCESS,
        description="Processes of the request, oldest first (customers: the kinds their"
        " portal shares).",
    )


@strawberry.type(description="A document shown to a contact.")
class Document(RowNode):
    __model__ = models.Document

    name: str | None = allow(STAFF_AND_CUSTOMER, grant=DOCUMENT, description="File name.")
    type: enums.DocumentType | None = allow(
        STAFF_AND_CUSTOMER, grant=DOCUMENT, description="Kind of document."
    )
    mime_type: str | None = allow(STAFF_AND_CUSTOMER, grant=DOCUMENT, description="Media type.")
    size_bytes: int | None = allow(STAFF_AND_CUSTOMER, grant=DOCUMENT, description="Size in bytes.")
    created_at: datetime | None = allow(
        STAFF_AND_CUSTOMER, grant=DOCUMENT, description="When it was created."
    )

    download_url: str | None = computed.value(
        DOWNLOAD_URL,
        STAFF_AND_CUSTOMER,
        grant=DOCUMENT,
        description="A path on this API that downloads the file: signed for the caller only"
        " and valid for DOCUMENT_URL_TTL_SECONDS (default 5 minutes); ask again for a new one.",
    )

    is_new: bool | None = allow(
        STAFF_AND_CUSTOMER,
        grant=DOCUMENT,
        description="Not opened by the customer yet: provided by the utility and not"
        " downloaded by a portal user (their own uploads are never new).",
    )
    uploaded_by_customer: bool | None = allow(
        STAFF_AND_CUSTOMER,
        grant=DOCUMENT,
        description="Uploaded by a portal user; only such documents can customers delete"
        " (the one who uploaded it).",
    )

    contract: Contract | None = related.one(
        relations.DOCUMENT_CONTRACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract it belongs to, if any.",
    )

    order: Order | None = related.one(
        relations.DOCUMENT_ORDER,
        STAFF_AND_CUSTOMER,
        grant=ORDER,
        description="The order it belongs to, if any.",
    )


@strawberry.type(description="A payment due on or made for a contract.")
class Payment(RowNode):
    __model__ = models.Payment

    kind: enums.PaymentKind | None = allow(
        STAFF_AND_CUSTOMER, grant=PAYMENT, description="What it is for."
    )
    status: enums.PaymentStatus | None = allow(
        STAFF_AND_CUSTOMER, grant=PAYMENT, description="Settlement state."
    )
    amount: Decimal | None = allow(STAFF_AND_CUSTOMER, grant=PAYMENT, description="Amount in EUR.")
    due_date: date | None = allow(STAFF_AND_CUSTOMER, grant=PAYMENT, description="When it is due.")
    paid_at: datetime | None = allow(
        STAFF_AND_CUSTOMER, grant=PAYMENT, description="When it was paid."
    )
    reference: str | None = allow(
        STAFF_AND_CUSTOMER, grant=PAYMENT, description="Payment reference."
    )

    contract: Contract | None = related.one(
        relations.PAYMENT_CONTRACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract paid for.",
    )


# The billing account's filters: the items' contract and due date, their status and kind.
criteria.declare(
    "Contact.billingAccount",
    contract_id=criteria.criterion(Payment, "contract", models.Payment.contract_id),
    **{
        "from": criteria.criterion(Payment, "due_date"),
        "to": criteria.criterion(Payment, "due_date"),
    },
)
criteria.declare(
    "BillingAccount.items",
    status=criteria.criterion(Payment, "status"),
    kind=criteria.criterion(Payment, "kind"),
)

# The filters of a contact's documents, each behind the field that shows its column.
criteria.declare(
    "Contact.documents",
    type=criteria.criterion(Document, "type"),
    contract_id=criteria.criterion(Document, "contract", models.Document.contract_id),
)
