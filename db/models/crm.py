"""CRM data the portal shows: contacts, contracts, meters and readings, orders,
opportunities, documents and payments."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from db.base import Base, MeterValue, TenantOwned, enum_column, trigram_index
from db.models.enums import (
    Commodity,
    ContractStatus,
    DocumentType,
    InstallmentInterval,
    MeterReadingSource,
    MeterReadingStatus,
    MeterStatus,
    MeterType,
    OpportunityStatus,
    OrderStatus,
    PaymentKind,
    PaymentMethod,
    PaymentStatus,
)


def _contact_fk(nullable: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True, nullable=nullable
    )


# What contacts(search:) matches (gql/schema/crm.py CONTACT_SEARCH reads it through the
# fields of the same names), in this order.
CONTACT_SEARCHED = ("last_name", "first_name", "company_name", "email", "customer_number")


def _searched_text(columns: tuple[str, ...]) -> str:
    """The SQL of the columns lower-cased and joined by line breaks: a search text is
    one line (the Line scalar), so `%text%` matches the joined value exactly where it
    matches one of the columns; lower() folds case as ILIKE does. (The line break
    literally between quotes, as PostgreSQL shows the expression back: alembic's
    comparison with the database then sees no change.)"""
    return "lower(" + " || '\n' || ".join(f"coalesce({c}, '')" for c in columns) + ")"


class Contact(TenantOwned, Base):
    """A CRM person or company; customers and installer partners alike."""

    __tablename__ = "contact"

    # Lower-cased primary email; several contacts may share one (families, landlords).
    email: Mapped[str | None] = mapped_column(sa.String(254))
    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    company_name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    customer_number: Mapped[str | None] = mapped_column(sa.String(40))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    house_number: Mapped[str | None] = mapped_column(sa.String(20))
    postal_code: Mapped[str | None] = mapped_column(sa.String(10))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    country: Mapped[str] = mapped_column(sa.String(2), default="DE")
    marketing_consent: Mapped[bool] = mapped_column(default=False)
    # When the consent was last given or withdrawn, and the consent text exactly as the
    # customer saw it then (the portal's text may change later; null once withdrawn).
    marketing_consent_at: Mapped[datetime | None]
    marketing_consent_text: Mapped[str | None] = mapped_column(sa.Text)
    # The searched columns as one value (stored: a search matches it with a plain LIKE
    # instead of an ILIKE per column, each of which lower-cases its value again), for a
    # caller who may read all of them (gql/domain/search.py).
    search_text: Mapped[str] = mapped_column(
        sa.Text, sa.Computed(_searched_text(CONTACT_SEARCHED), persisted=True)
    )

    __table_args__ = (
        sa.Index("ix_contact_organization_id_email", "organization_id", "email"),
        sa.UniqueConstraint("organization_id", "customer_number"),
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
        # Each searched column for callers who may read only some (installers: names),
        # and all of them at once.
        *(trigram_index("contact", column) for column in CONTACT_SEARCHED),
        trigram_index("contact", "search_text"),
    )

    # The name the portal shows, for a row in Python and as SQL (query plans, lists):
    # the company, else first and last name. Both halves here so they stay one rule.
    @hybrid_property
    def display_name(self) -> str:
        if self.company_name:
            return self.company_name
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @display_name.inplace.expression
    @classmethod
    def _display_name_sql(cls) -> ColumnElement[str]:
        names = sa.func.concat_ws(
            " ", sa.func.nullif(cls.first_name, ""), sa.func.nullif(cls.last_name, "")
        )
        return sa.case((cls.company_name != "", cls.company_name), else_=names)


# The fill factor of tables whose rows the self-service changes update in place.
UPDATED_IN_PLACE_FILLFACTOR = 90


class Contract(TenantOwned, Base):
    __tablename__ = "contract"

    contact_id: Mapped[uuid.UUID] = _contact_fk()
    number: Mapped[str] = mapped_column(sa.String(40))
    contract_account_number: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[ContractStatus] = mapped_column(enum_column(ContractStatus))
    commodity: Mapped[Commodity] = mapped_column(enum_column(Commodity))
    tariff_name: Mapped[str | None] = mapped_column(sa.String(120))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    installment_amount: Mapped[Decimal]
    installment_interval: Mapped[InstallmentInterval] = mapped_column(
        enum_column(InstallmentInterval)
    )
    due_day: Mapped[int] = mapped_column(sa.SmallInteger)
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod))
    iban: Mapped[str | None] = mapped_column(sa.String(34))
    account_holder: Mapped[str | None] = mapped_column(sa.String(200))
    balance: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    delivery_street: Mapped[str | None] = mapped_column(sa.String(200))
    delivery_house_number: Mapped[str | None] = mapped_column(sa.String(20))
    delivery_postal_code: Mapped[str | None] = mapped_column(sa.String(10))
    delivery_city: Mapped[str | None] = mapped_column(sa.String(100))

    __table_args__ = (
        sa.UniqueConstraint("organization_id", "number"),
        sa.Index(
            "ix_contract_organization_id_account", "organization_id", "contract_account_number"
        ),
        sa.CheckConstraint("due_day BETWEEN 1 AND 28", name="due_day"),
        sa.CheckConstraint("installment_amount >= 0", name="installment_non_negative"),
        sa.CheckConstraint(
            "payment_method <> 'SEPA_DEBIT' OR iban IS NOT NULL", name="sepa_needs_iban"
        ),
        sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
        # Room on each page for the row's next version: a change of a contract (and a
        # dry run's, rolled back) updates no indexed column, so with the room the new
        # version stays on its page and no index gets an entry (a HOT update).
        {"postgresql_with": {"fillfactor": UPDATED_IN_PLACE_FILLFACTOR}},
    )


# Tariff prices: EUR net per unit with 6 decimals (ct/kWh to a hundredth of a
# thousandth), base prices per year in EUR net with 2, VAT in percent with 2.
WorkingPrice = sa.Numeric(12, 6)
VatRate = sa.Numeric(5, 2)


class ContractPrice(TenantOwned, Base):
    """A contract's price from `valid_from` until the day before the next row of the same
    register (or of all registers, `obis_code` null). The working price is per unit of
    the meter (kWh, m3); the rules that read these rows are gql/domain/prices.py."""

    __tablename__ = "contract_price"

    contract_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True
    )
    valid_from: Mapped[date]
    # The register's OBIS code (HT 1.8.1, NT 1.8.2) the price is for; null: every register
    # without a price of its own.
    obis_code: Mapped[str | None] = mapped_column(sa.String(20))
    working_price: Mapped[Decimal] = mapped_column(WorkingPrice)
    base_price_per_year: Mapped[Decimal]
    vat_rate: Mapped[Decimal] = mapped_column(VatRate)

    __table_args__ = (
        sa.UniqueConstraint(
            "contract_id", "obis_code", "valid_from", postgresql_nulls_not_distinct=True
        ),
        sa.CheckConstraint("working_price >= 0", name="working_price_non_negative"),
        sa.CheckConstraint("base_price_per_year >= 0", name="base_price_non_negative"),
        sa.CheckConstraint("vat_rate BETWEEN 0 AND 100", name="vat_rate"),
    )


class Meter(TenantOwned, Base):
    __tablename__ = "meter"

    contract_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contract.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(sa.String(40))
    type: Mapped[MeterType] = mapped_column(enum_column(MeterType))
    unit: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[MeterStatus] = mapped_column(
        enum_column(MeterStatus), default=MeterStatus.ACTIVE
    )
    location: Mapped[str | None] = mapped_column(sa.String(200))
    # The counter started again (rolled over past its last digit, or the meter was
    # replaced) at this time: readings from then on are not compared with older ones.
    counter_reset_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("organization_id", "number"),
        sa.CheckConstraint("unit IN ('kWh', 'm3', 'MWh')", name="unit"),
        # Room on each page, as for contracts: every reading submitted (and every dry
        # run, rolled back) updates its meter's update time first, the guard against a
        # concurrent reading (db.raw.Writes.unless_changed), no indexed column; with the
        # room the new version is heap-only, so none of the meter's four indexes gets an
        # entry, and the contract page's and dashboard's index scans of a contract's
        # meters meet no dead versions after a month's readings.
        {"postgresql_with": {"fillfactor": UPDATED_IN_PLACE_FILLFACTOR}},
    )


class MeterRegister(TenantOwned, Base):
    """A counter of a meter (e.g. OBIS 1.8.1 high tariff, 1.8.2 low tariff)."""

    __tablename__ = "meter_register"

    meter_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("meter.id", ondelete="CASCADE"), index=True
    )
    obis_code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(60))
    # Number of digits before the decimal point; a reading past it has rolled over.
    digits: Mapped[int] = mapped_column(sa.SmallInteger, default=6)

    __table_args__ = (
        sa.UniqueConstraint("meter_id", "obis_code"),
        # What a reading's register is referred to by (below): its meter along with it.
        sa.UniqueConstraint("id", "meter_id"),
    )


class MeterReading(TenantOwned, Base):
    __tablename__ = "meter_reading"

    meter_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("meter.id", ondelete="CASCADE"))
    # A register of the reading's own meter (the second foreign key below says so).
    register_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("meter_register.id", ondelete="CASCADE")
    )
    value: Mapped[Decimal] = mapped_column(MeterValue)
    read_at: Mapped[datetime]
    source: Mapped[MeterReadingSource] = mapped_column(enum_column(MeterReadingSource))
    status: Mapped[MeterReadingStatus] = mapped_column(
        enum_column(MeterReadingStatus), default=MeterReadingStatus.ACCEPTED
    )
    # Idempotency key of the submitting client: a retry stores nothing twice.
    client_key: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_by_portal_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="SET NULL")
    )
    submitted_by_staff_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    # The photo of the meter's display sent with the reading (shared by the readings of
    # one submission); the document stays when the reading goes and vice versa.
    photo_document_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("document.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        # Newest first per meter, the id last, as METER_READINGS orders them: the
        # dashboard's "last readings" read the first rows of each meter, no sort. With
        # the row scope's column and the value beside the keys, a list of readings
        # (value, readAt, id) is read from the index alone once VACUUM has marked the
        # pages all-visible (readings are appended, rarely changed): no heap page per
        # reading, each of which lies on a page of its own (migration 0026).
        sa.Index(
            "ix_meter_reading_meter_id_read_at_id",
            "meter_id",
            sa.text("read_at DESC"),
            sa.text("id DESC"),
            postgresql_include=["organization_id", "value"],
        ),
        sa.UniqueConstraint("register_id", "read_at"),
        sa.UniqueConstraint("meter_id", "client_key"),
        # The register is one of the reading's meter: whoever sees the register sees its
        # readings (gql/domain/scope.py IMPLIED_BY_PARENT relies on it).
        sa.ForeignKeyConstraint(
            ["register_id", "meter_id"],
            ["meter_register.id", "meter_register.meter_id"],
            name="fk_meter_reading_register_of_meter",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("value >= 0", name="value_non_negative"),
    )


class Order(TenantOwned, Base):
    """An order of a customer, e.g. a meter change, optionally handled by an installer."""

    __tablename__ = "order"

    contact_id: Mapped[uuid.UUID] = _contact_fk()
    # The installer's partner contact; installers see only the orders assigned to it.
    partner_contact_id: Mapped[uuid.UUID | None] = _contact_fk(nullable=True)
    meter_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("meter.id", ondelete="SET NULL"), index=True
    )
    number: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus))
    scheduled_for: Mapped[date | None]
    total_amount: Mapped[Decimal | None]
    # The customer's answer to an offer (status OFFER -> OPEN or DECLINED).
    offer_answered_at: Mapped[datetime | None]
    offer_answered_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="SET NULL")
    )
    offer_decline_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # The contract the order concerns, if any: a customer who may not see the contract
    # sees none of its orders (gql/domain/scope.py).
    contract_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contract.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    # The last day the customer may accept an offer (None: offers from before 0015).
    offer_valid_until: Mapped[date | None]

    __table_args__ = (sa.UniqueConstraint("organization_id", "number"),)


class OrderLineItem(TenantOwned, Base):
    """A line of an order (an offer's items): what, how many, the price per unit before
    VAT and the VAT rate in percent; the limits are `gql.domain.offers`'."""

    __tablename__ = "order_line_item"

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("order.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(12, 3))
    unit: Mapped[str] = mapped_column(sa.String(20))
    unit_price_net: Mapped[Decimal]
    vat_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 2))

    __table_args__ = (
        sa.UniqueConstraint("order_id", "position"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price_net >= 0", name="unit_price_net_not_negative"),
        sa.CheckConstraint("vat_rate >= 0 AND vat_rate <= 100", name="vat_rate_percent"),
    )


class OfferNumber(Base):
    """The last offer number an organization gave in a year (`A-<year>-<last>`): taken
    with one upsert that locks the row, so concurrent offers wait for each other and
    never share a number, and a rolled-back offer gives its number back."""

    __tablename__ = "offer_number"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int]


class Opportunity(TenantOwned, Base):
    __tablename__ = "opportunity"

    contact_id: Mapped[uuid.UUID] = _contact_fk()
    number: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[OpportunityStatus] = mapped_column(enum_column(OpportunityStatus))

    __table_args__ = (sa.UniqueConstraint("organization_id", "number"),)


class Document(TenantOwned, Base):
    """A file shown in the portal; owned by a contact and optionally by one of its entities."""

    __tablename__ = "document"

    contact_id: Mapped[uuid.UUID] = _contact_fk()
    contract_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("order.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(255))
    type: Mapped[DocumentType] = mapped_column(enum_column(DocumentType))
    mime_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    storage_key: Mapped[str] = mapped_column(sa.String(500))
    # Uploaded by the customer (else provided by the utility); new until first opened.
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="SET NULL")
    )
    opened_at: Mapped[datetime | None]

    __table_args__ = (sa.CheckConstraint("size_bytes >= 0", name="size_non_negative"),)

    # For a row in Python and as SQL (query plans), each rule once.
    @hybrid_property
    def uploaded_by_customer(self) -> bool:
        """Uploaded by a portal user (else provided by the utility)."""
        return self.uploaded_by_id is not None

    @uploaded_by_customer.inplace.expression
    @classmethod
    def _uploaded_by_customer_sql(cls) -> ColumnElement[bool]:
        return cls.uploaded_by_id.is_not(None)

    @hybrid_property
    def is_new(self) -> bool:
        """New to the customer: provided by the utility and not downloaded by a portal
        user yet (what customers upload themselves is never new to them)."""
        return self.opened_at is None and self.uploaded_by_id is None

    @is_new.inplace.expression
    @classmethod
    def _is_new_sql(cls) -> ColumnElement[bool]:
        return sa.and_(cls.opened_at.is_(None), cls.uploaded_by_id.is_(None))


class Payment(TenantOwned, Base):
    __tablename__ = "payment"

    contract_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contract.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[PaymentKind] = mapped_column(enum_column(PaymentKind))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    amount: Mapped[Decimal]
    due_date: Mapped[date]
    paid_at: Mapped[datetime | None]
    reference: Mapped[str | None] = mapped_column(sa.String(140))

    __table_args__ = (
        # The billing account's items of a period: by contract, then due date.
        sa.Index("ix_payment_contract_id_due_date", "contract_id", "due_date"),
    )
