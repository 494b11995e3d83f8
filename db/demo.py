"""Deterministic demo data: two utilities, their portals, CRM data and fixed logins.

Every ID is a UUIDv5 of a readable name and every value comes from a seeded generator,
so two loads produce identical databases and the README's logins and IDs stay true.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.email_defaults import DEFAULT_EMAILS
from db.portal_settings import (
    Cadence,
    Design,
    DueDateRules,
    ExternalLink,
    Identifier,
    IdentifierEntity,
    InstallmentIntervalRules,
    InstallmentRules,
    Journey,
    JourneyEntity,
    JourneyPlacement,
    Layout,
    LayoutFooter,
    LayoutHeader,
    LayoutSide,
    LinkItem,
    OrdersPage,
    OrdersTeaser,
    PageTexts,
    PaymentMethodRules,
    PeriodType,
    PortalSettings,
    Registration,
    Rules,
    SelfRegistration,
    SharedProcess,
)

NAMESPACE = uuid.UUID("6f1c1a4e-3b0e-5d8a-9a57-6b2f4f1d2c00")
# Readings run monthly up to this date: fixed, so the data never changes.
LAST_READING_DAY = date(2026, 11, 1)
# The heat pump meter's reading of 1 June was taken on 20 May instead.
EARLY_READING = (date(2026, 6, 1), date(2026, 5, 20))
# When the demo's tariffs change (power, gas; the heat pump's inside a month).
PRICE_CHANGE = date(2026, 7, 1)
GAS_PRICE_CHANGE = date(2026, 4, 1)
HEAT_PUMP_PRICE_CHANGE = date(2026, 7, 15)
READ_ONLY_GRANTS = frozenset(g for g in models.Grant if g.value.endswith(":read"))


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


def demo_pdf(title: str) -> bytes:
    """A valid one-page PDF that shows `title`: the file of a demo document (written
    to the document storage by `portal serve` / `portal demo`, see `demo_files`)."""
    text = title.encode("cp1252", "replace")
    text = text.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    content = b"BT /F1 18 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    pdf = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)


async def demo_files(session: AsyncSession) -> list[tuple[str, bytes]]:
    """The storage keys and contents of the demo's documents (the utility's invoices)."""
    rows = await session.execute(
        sa.select(models.Document.storage_key, models.Document.name).where(
            models.Document.uploaded_by_id.is_(None)
        )
    )
    return [(key, demo_pdf(name)) for key, name in rows.all()]


# Anna Becker's portal; `portal serve` shows it at /portal/ on 127.0.0.1.
CUSTOMER_PORTAL_DOMAIN = "musterstadt.portale.example"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    portal: str | None  # portal key, None for staff


LOGINS = [
    DemoLogin("ADMIN", "admin@musterstadt.example", "Demo-Admin-1", None),
    DemoLogin("AGENT", "agent@musterstadt.example", "Demo-Agent-1", None),
    DemoLogin("CUSTOMER", "anna.becker@example.org", "Demo-Kunde-1", "musterstadt-kunden"),
    DemoLogin("CUSTOMER", "jonas.wolf@example.org", "Demo-Kunde-2", "musterstadt-kunden"),
    DemoLogin(
        "INSTALLER", "montage@elektro-schmidt.example", "Demo-Installer-1", "musterstadt-partner"
    ),
    DemoLogin("ADMIN", "admin@nachbarstadt.example", "Demo-Admin-2", None),
    DemoLogin("CUSTOMER", "lena.fischer@example.org", "Demo-Kunde-3", "nachbarstadt-kunden"),
]

MARKETING_CONSENT_DE = "Ich möchte über neue Tarife informiert werden."
FIRST_NAMES = """
    Anna Jonas Petra Michael Sabine Thomas Julia Stefan Katrin
    Andreas Monika Frank Claudia Markus Birgit Tobias Heike Daniel
    Susanne Florian Nicole Sebastian Martina Lukas
""".split()
LAST_NAMES = """
    Becker Wolf Schulz Schulz Hoffmann Koch Richter Klein Neumann
    Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Werner
    Krause Lehmann Köhler Maier Herrmann König Walter
""".split()
STREETS = ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schulstraße", "Am Markt"]


class DemoBuilder:
    def __init__(self, session: AsyncSession, hash_password: Callable[[str], str]) -> None:
        self.session = session
        self.hash = hash_password
        # Reproducible demo data, no secret.
        self.random = random.Random(20261122)  # nosec B311
        self.rows: list[object] = []
        self.versions: dict[uuid.UUID, models.PortalVersion] = {}

    def add(self, row: object) -> None:
        self.rows.append(row)

    async def flush(self) -> None:
        """Insert table by table in foreign-key order (the models declare no relationships
        from which the unit of work could derive it)."""
        order = {table.name: i for i, table in enumerate(models.Base.metadata.sorted_tables)}
        self.rows.sort(key=lambda row: order[row.__table__.name])  # type: ignore[attr-defined]
        current: str | None = None
        for row in self.rows:
            name = row.__table__.name  # type: ignore[attr-defined]
            if current is not None and name != current:
                await self.session.flush()
            current = name
            self.session.add(row)
        await self.session.flush()
        self.rows.clear()

    def organization(self, key: str, name: str) -> models.Organization:
        org = models.Organization(id=demo_id(f"org:{key}"), name=name, slug=key)
        self.add(org)
        return org

    def staff(self, org: models.Organization, login: DemoLogin, name: str) -> None:
        self.add(
            models.StaffUser(
                id=demo_id(f"staff:{login.email}"),
                organization_id=org.id,
                email=login.email,
                name=name,
                role=models.StaffRole(login.role),
                password_hash=self.hash(login.password),
            )
        )

    def portal(
        self,
        org: models.Organization,
        key: str,
        name: str,
        portal_type: models.PortalType,
        domain: str,
        settings: PortalSettings,
    ) -> tuple[models.Portal, models.PermissionGroup]:
        portal = models.Portal(
            id=demo_id(f"portal:{key}"),
            organization_id=org.id,
            type=portal_type,
            name=name,
            status=models.PortalStatus.ACTIVE,
            domain_kind=models.DomainKind.MANAGED,
            domain=domain,
            domain_status=models.DomainStatus.READY,
            draft_settings=settings,
            published_settings=settings,
            published_version=1,
            published_at=datetime(2026, 1, 15, 9, 0, tzinfo=UTC),
        )
        self.add(portal)
        self.versions[portal.id] = version = models.PortalVersion(
            id=demo_id(f"portal-version:{key}:1"),
            organization_id=org.id,
            portal_id=portal.id,
            version=1,
            settings=settings,
            tiles=[],  # filled by tiles(): what customers see is the published snapshot
        )
        self.add(version)
        grants = models.default_grants(portal_type)
        group = models.PermissionGroup(
            id=demo_id(f"group:{key}:default"),
            organization_id=org.id,
            portal_id=portal.id,
            name="Standard",
            grants=grants,
            visibility={},
            is_default=True,
        )
        self.add(group)
        if portal_type is models.PortalType.CUSTOMER:
            # A second group as utilities use them: read-only, running contracts only.
            self.add(
                models.PermissionGroup(
                    id=demo_id(f"group:{key}:read-only"),
                    organization_id=org.id,
                    portal_id=portal.id,
                    name="Nur lesen",
                    grants=sorted(READ_ONLY_GRANTS),
                    visibility={"contract_statuses": [models.ContractStatus.ACTIVE.value]},
                )
            )
        self.email_templates(org, portal)
        return portal, group

    def email_templates(self, org: models.Organization, portal: models.Portal) -> None:
        for kind, by_language in DEFAULT_EMAILS.items():
            for language, (subject, text, html) in by_language.items():
                self.add(
                    models.EmailTemplate(
                        id=demo_id(f"template:{portal.id}:{kind}:{language}"),
                        organization_id=org.id,
                        portal_id=portal.id,
                        kind=kind,
                        language=language,
                        subject=subject,
                        body_text=text,
                        body_html=html,
                    )
                )

    def tiles(self, org: models.Organization, portal: models.Portal) -> None:
        """A published home page: every kind of tile on a customer portal, two on an
        installer portal, texts in German and English."""
        kind = models.TileKind
        specs: list[tuple[models.TileKind, dict[str, object]]]
        if portal.type is models.PortalType.INSTALLER:
            specs = [
                (kind.ENTITY, {"entity": "order", **_titled("Meine Aufträge", "My orders")}),
                (kind.METER_READING, _titled("Zählerstand erfassen", "Record a meter reading")),
            ]
        else:
            welcome: dict[str, object] = {
                "de": {"title": "Willkommen", "text": "Schön, dass Sie da sind."},
                "en": {"title": "Welcome", "text": "Good to see you."},
            }
            moving: dict[str, object] = {
                "de": {"title": "Umzug melden", "button_label": "Jetzt melden"},
                "en": {"title": "Moving house?", "button_label": "Tell us"},
                "journey_id": "umzug",
            }
            solar: dict[str, object] = {
                **_titled("Sonnenstrom vom eigenen Dach", "Solar power from your roof"),
                "image_url": "https://stadtwerke.example/bilder/solar.jpg",
                "link_url": "https://stadtwerke.example/solar",
            }
            specs = [
                (kind.TEXT, welcome),
                (kind.ENTITY, {"entity": "contract", **_titled("Meine Verträge", "My contracts")}),
                (kind.METER_READING, _titled("Zählerstand melden", "Submit a meter reading")),
                (kind.DOCUMENTS, {**_titled("Meine Dokumente", "My documents"), "limit": 5}),
                (kind.PAYMENTS, {**_titled("Zahlungen", "Payments"), "limit": 5}),
                (kind.ACTION, moving),
                (kind.TEASER, solar),
            ]
        for position, (tile_kind, content) in enumerate(specs):
            tile = models.Tile(
                id=demo_id(f"tile:{portal.id}:{position}"),
                organization_id=org.id,
                portal_id=portal.id,
                kind=tile_kind,
                position=position,
                visible=True,
                permission_group_ids=[],
                content=content,
            )
            self.add(tile)
            # Published as they are: the draft and version 1 agree.
            self.versions[portal.id].tiles = [*self.versions[portal.id].tiles, tile.snapshot()]

    def contact(self, org: models.Organization, key: str, **values: object) -> models.Contact:
        contact = models.Contact(id=demo_id(f"contact:{org.slug}:{key}"), organization_id=org.id)
        for name, value in values.items():
            setattr(contact, name, value)
        self.add(contact)
        return contact

    def _contract(
        self,
        org: models.Organization,
        contact: models.Contact,
        number: str,
        *,
        commodity: models.Commodity,
        tariff: str,
        start: date,
        installment: Decimal,
        method: models.PaymentMethod,
    ) -> models.Contract:
        """A running monthly contract delivered to the contact's address."""
        contract = models.Contract(
            id=demo_id(f"contract:{org.slug}:{number}"),
            organization_id=org.id,
            contact_id=contact.id,
            number=number,
            contract_account_number=f"8{number[-7:]}",
            status=models.ContractStatus.ACTIVE,
            commodity=commodity,
            tariff_name=tariff,
            start_date=start,
            end_date=None,
            installment_amount=installment,
            installment_interval=models.InstallmentInterval.MONTHLY,
            due_day=15,
            payment_method=method,
            iban="DE89370400440532013000" if method is models.PaymentMethod.SEPA_DEBIT else None,
            account_holder=f"{contact.first_name} {contact.last_name}",
            balance=Decimal("0.00"),
            delivery_street=contact.street,
            delivery_house_number=contact.house_number,
            delivery_postal_code=contact.postal_code,
            delivery_city=contact.city,
        )
        self.add(contract)
        return contract

    def contract_with_meter(
        self,
        org: models.Organization,
        contact: models.Contact,
        number: str,
        commodity: models.Commodity,
        payment_method: models.PaymentMethod,
    ) -> tuple[models.Contract, models.Meter]:
        power = commodity is models.Commodity.POWER
        installment = Decimal(self.random.randrange(45, 160)) + Decimal("0.00")
        contract = self._contract(
            org,
            contact,
            number,
            commodity=commodity,
            tariff="Musterstrom Öko" if power else "Mustergas Komfort",
            start=date(2023, 1 + self.random.randrange(12), 1),
            installment=installment,
            method=payment_method,
        )
        meter = models.Meter(
            id=demo_id(f"meter:{org.slug}:{number}"),
            organization_id=org.id,
            contract_id=contract.id,
            number=f"{'1ESY' if power else '7GAS'}{number[-7:]}",
            type=models.MeterType.ELECTRICITY if power else models.MeterType.GAS,
            unit="kWh" if power else "m3",
            status=models.MeterStatus.ACTIVE,
            location="Keller",
        )
        self.add(meter)
        register = models.MeterRegister(
            id=demo_id(f"register:{meter.id}:1.8.0"),
            organization_id=org.id,
            meter_id=meter.id,
            obis_code="1.8.0" if power else "7.0.0",
            name="Bezug" if power else "Volumen",
            digits=6,
        )
        self.add(register)
        value = Decimal(self.random.randrange(2000, 40000))
        monthly = self.random.randrange(150, 420) if power else self.random.randrange(60, 200)
        for month in range(12):
            read_on = _months_before(LAST_READING_DAY, 11 - month)
            value += Decimal(monthly + self.random.randrange(-30, 30)) + Decimal(
                self.random.randrange(0, 1000)
            ) / Decimal(1000)
            self.add(
                models.MeterReading(
                    id=demo_id(f"reading:{meter.id}:{read_on.isoformat()}"),
                    organization_id=org.id,
                    meter_id=meter.id,
                    register_id=register.id,
                    value=value,
                    read_at=datetime(read_on.year, read_on.month, read_on.day, 8, tzinfo=UTC),
                    source=models.MeterReadingSource.CUSTOMER
                    if month % 3
                    else models.MeterReadingSource.IMPORT,
                    status=models.MeterReadingStatus.ACCEPTED,
                )
            )
        for month in range(3):
            due = _months_before(date(2026, 11, 15), month)
            overdue = payment_method is models.PaymentMethod.TRANSFER and month == 1
            self.add(
                models.Payment(
                    id=demo_id(f"payment:{contract.id}:{due.isoformat()}"),
                    organization_id=org.id,
                    contract_id=contract.id,
                    kind=models.PaymentKind.INSTALLMENT,
                    status=models.PaymentStatus.OVERDUE if overdue else models.PaymentStatus.PAID,
                    amount=installment,
                    due_date=due,
                    paid_at=None
                    if overdue
                    else datetime(due.year, due.month, due.day, 6, tzinfo=UTC),
                    reference=f"Abschlag {due:%m/%Y} {number}",
                )
            )
        # The tariff from the start, changed on 1 July 2026 (power) or 1 April 2026 (gas,
        # per m3): costs show both prices, and the month of the change at its two prices.
        if power:
            changes = [
                (contract.start_date, "0.329000", "155.00"),
                (PRICE_CHANGE, "0.349000", "165.00"),
            ]
        else:
            changes = [
                (contract.start_date, "1.085000", "180.00"),
                (GAS_PRICE_CHANGE, "1.045000", "180.00"),
            ]
        self.prices(org, contract, [(day, None, wp, base, "19.00") for day, wp, base in changes])
        name = f"Jahresrechnung 2025 {number}.pdf"
        self.add(
            models.Document(
                id=demo_id(f"document:{contract.id}:invoice-2025"),
                organization_id=org.id,
                contact_id=contact.id,
                contract_id=contract.id,
                name=name,
                type=models.DocumentType.INVOICE,
                mime_type="application/pdf",
                size_bytes=len(demo_pdf(name)),
                storage_key=f"{org.slug}/documents/{number}/rechnung-2025.pdf",
            )
        )
        return contract, meter

    def heat_pump_contract(
        self, org: models.Organization, contact: models.Contact, number: str
    ) -> models.Meter:
        """A heat pump tariff on a meter with two registers, HT (1.8.1) and NT (1.8.2),
        read monthly with steady consumption; the June reading was taken early, on
        20 May, so June has none (its consumption shows as estimated). Its billing
        account has a year of paid installments, the annual invoice, a refund and the
        next installment open."""
        contract = self._contract(
            org,
            contact,
            number,
            commodity=models.Commodity.POWER,
            tariff="Musterstrom Wärmepumpe HT/NT",
            start=date(2024, 10, 1),
            installment=Decimal("110.00"),
            method=models.PaymentMethod.SEPA_DEBIT,
        )
        meter = models.Meter(
            id=demo_id(f"meter:{org.slug}:{number}"),
            organization_id=org.id,
            contract_id=contract.id,
            number=f"1WPZ{number[-7:]}",
            type=models.MeterType.ELECTRICITY,
            unit="kWh",
            status=models.MeterStatus.ACTIVE,
            location="Hauswirtschaftsraum",
        )
        self.add(meter)
        for obis, name, start, monthly in (
            ("1.8.1", "Hochtarif (HT)", Decimal("8200.000"), Decimal("310")),
            ("1.8.2", "Niedertarif (NT)", Decimal("5100.000"), Decimal("190")),
        ):
            register = models.MeterRegister(
                id=demo_id(f"register:{meter.id}:{obis}"),
                organization_id=org.id,
                meter_id=meter.id,
                obis_code=obis,
                name=name,
                digits=6,
            )
            self.add(register)
            for month in range(12):
                read_on = _months_before(LAST_READING_DAY, 11 - month)
                if read_on == EARLY_READING[0]:
                    read_on = EARLY_READING[1]
                self.add(
                    models.MeterReading(
                        id=demo_id(f"reading:{register.id}:{read_on.isoformat()}"),
                        organization_id=org.id,
                        meter_id=meter.id,
                        register_id=register.id,
                        value=start + monthly * (month + 1),
                        read_at=datetime(read_on.year, read_on.month, read_on.day, 8, tzinfo=UTC),
                        source=models.MeterReadingSource.CUSTOMER,
                        status=models.MeterReadingStatus.ACCEPTED,
                    )
                )
        # HT and NT each with its working price, the tariff's base price on both (it counts
        # once); dearer from 15 July 2026, inside a month.
        self.prices(
            org,
            contract,
            [
                (contract.start_date, "1.8.1", "0.315000", "120.00", "19.00"),
                (contract.start_date, "1.8.2", "0.245000", "120.00", "19.00"),
                (HEAT_PUMP_PRICE_CHANGE, "1.8.1", "0.329000", "132.00", "19.00"),
                (HEAT_PUMP_PRICE_CHANGE, "1.8.2", "0.259000", "132.00", "19.00"),
            ],
        )
        self.billing_items(org, contract)
        return meter

    def prices(
        self,
        org: models.Organization,
        contract: models.Contract,
        rows: list[tuple[date, str | None, str, str, str]],
    ) -> None:
        """Tariff prices: (valid from, OBIS code or None for all registers, working price
        EUR net per unit, base price EUR net per year, VAT percent)."""
        for valid_from, obis, working, base, vat in rows:
            self.add(
                models.ContractPrice(
                    id=demo_id(f"price:{contract.id}:{obis}:{valid_from.isoformat()}"),
                    organization_id=org.id,
                    contract_id=contract.id,
                    valid_from=valid_from,
                    obis_code=obis,
                    working_price=Decimal(working),
                    base_price_per_year=Decimal(base),
                    vat_rate=Decimal(vat),
                )
            )

    def billing_items(self, org: models.Organization, contract: models.Contract) -> None:
        """A year of the contract's billing account: monthly installments paid, December's
        open, the annual invoice of 2025 (a back payment, paid) and a refund."""

        def item(
            key: str,
            kind: models.PaymentKind,
            status: models.PaymentStatus,
            amount: Decimal,
            due: date,
            reference: str,
        ) -> None:
            self.add(
                models.Payment(
                    id=demo_id(f"payment:{contract.id}:{key}"),
                    organization_id=org.id,
                    contract_id=contract.id,
                    kind=kind,
                    status=status,
                    amount=amount,
                    due_date=due,
                    paid_at=datetime(due.year, due.month, due.day, 6, tzinfo=UTC)
                    if status is models.PaymentStatus.PAID
                    else None,
                    reference=reference,
                )
            )

        for month in range(13):
            due = _months_before(date(2026, 12, 15), 12 - month)
            item(
                due.isoformat(),
                models.PaymentKind.INSTALLMENT,
                models.PaymentStatus.OPEN if month == 12 else models.PaymentStatus.PAID,
                contract.installment_amount,
                due,
                f"Abschlag {due:%m/%Y} {contract.number}",
            )
        item(
            "invoice-2025",
            models.PaymentKind.INVOICE,
            models.PaymentStatus.PAID,
            Decimal("86.40"),
            date(2026, 1, 30),
            f"Jahresrechnung 2025 {contract.number}",
        )
        item(
            "refund-2026-03",
            models.PaymentKind.REFUND,
            models.PaymentStatus.PAID,
            Decimal("24.10"),
            date(2026, 3, 10),
            f"Erstattung Zählerwechsel {contract.number}",
        )
        contract.balance = Decimal("-110.00")  # December's installment is still open

    def portal_user(
        self,
        org: models.Organization,
        portal: models.Portal,
        group: models.PermissionGroup,
        email: str,
        *,
        status: models.RegistrationStatus,
        contact: models.Contact | None,
        password: str | None = None,
    ) -> None:
        activated = status in (models.RegistrationStatus.ACTIVE, models.RegistrationStatus.DISABLED)
        self.add(
            models.PortalUser(
                id=demo_id(f"portal-user:{portal.id}:{email}"),
                organization_id=org.id,
                portal_id=portal.id,
                email=email,
                password_hash=self.hash(password) if password else None,
                language="de",
                registration_status=status,
                assignment_status=models.AssignmentStatus.ASSIGNED
                if contact
                else models.AssignmentStatus.PENDING,
                contact_id=contact.id if contact else None,
                permission_group_id=group.id,
                activated_at=datetime(2026, 2, 1, 10, tzinfo=UTC) if activated else None,
            )
        )


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    return date(month_index // 12, month_index % 12 + 1, day.day)


def _titled(title_de: str, title_en: str) -> dict[str, object]:
    """Tile content with just a title, in German and English."""
    return {"de": {"title": title_de}, "en": {"title": title_en}}


def _address(city: str, postal_code: str, i: int) -> dict[str, object]:
    return {
        "street": STREETS[i % len(STREETS)],
        "house_number": str(3 + i * 2),
        "postal_code": postal_code,
        "city": city,
        "country": "DE",
    }


def public_pages(domain_label: str, what_de: str, what_en: str) -> dict[str, object]:
    """Login/registration layout and texts as a utility publishes them, de and en."""
    site = f"https://{domain_label}.example"
    return {
        "layout": Layout(
            header=LayoutHeader(enabled=True, show_logo=True),
            left_side=LayoutSide(
                enabled=True,
                image_url=f"{site}/bilder/portal.jpg",
                title={"de": f"Ihr {what_de} rund um die Uhr", "en": f"Your {what_en}, 24/7"},
                bullets={
                    "de": [
                        "Alles auf einen Blick",
                        "Änderungen in wenigen Klicks",
                        "Sicher mit 2FA",
                    ],
                    "en": ["Everything at a glance", "Changes in a few clicks", "Secure with 2FA"],
                },
            ),
            footer=LayoutFooter(
                left_links=[
                    LinkItem(label={"de": "Impressum", "en": "Imprint"}, url=f"{site}/impressum"),
                    LinkItem(
                        label={"de": "Datenschutz", "en": "Privacy"}, url=f"{site}/datenschutz"
                    ),
                ],
                right_links=[
                    LinkItem(label={"de": "Kontakt", "en": "Contact"}, url=f"{site}/kontakt"),
                ],
            ),
        ),
        "texts": {
            "de": PageTexts(
                login=f"Melden Sie sich an, um Ihr {what_de} zu öffnen.",
                registration="Registrieren Sie sich mit Ihrer E-Mail-Adresse und Kundennummer.",
                activation="Fast geschafft: Bitte bestätigen Sie Ihre E-Mail-Adresse.",
                password_forgotten="Wir senden Ihnen einen Link für ein neues Passwort.",
                home="Willkommen zurück!",
            ),
            "en": PageTexts(
                login=f"Log in to open your {what_en}.",
                registration="Register with your email address and customer number.",
                activation="Almost done: please confirm your email address.",
                password_forgotten="We will send you a link to set a new password.",
                home="Welcome back!",
            ),
        },
        "page_titles": {
            "de": {"home": "Startseite", "contracts": "Meine Verträge", "documents": "Dokumente"},
            "en": {"home": "Home", "contracts": "My contracts", "documents": "Documents"},
        },
        "privacy_text": {
            "de": "Ich habe die Datenschutzhinweise gelesen.",
            "en": "I have read the privacy notice.",
        },
        "marketing_consent_text": {
            "de": MARKETING_CONSENT_DE,
            "en": "I would like to hear about new tariffs.",
        },
    }


def customer_settings(domain_label: str, notify: list[str] | None = None) -> PortalSettings:
    return PortalSettings(
        languages=["de", "en"],
        default_language="de",
        design=Design(
            primary_color="#005CA9",
            secondary_color="#F39200",
            logo_url=f"https://{domain_label}.example/logo.svg",
        ),
        registration=Registration(
            self_registration=SelfRegistration.ALLOW_WITHOUT_CONTACT,
            identifiers=[
                Identifier(entity=IdentifierEntity.CONTACT, attribute="email"),
                Identifier(entity=IdentifierEntity.CONTACT, attribute="customer_number"),
            ],
            terms_url=f"https://{domain_label}.example/agb",
            privacy_url=f"https://{domain_label}.example/datenschutz",
        ),
        # Every rule of seed 001 at once, so a person can try them all.
        rules=Rules(
            installment=InstallmentRules(
                increment_percent=Decimal(10),
                decrement_percent=Decimal(10),
                cadence=Cadence(allowed_changes=1, period=3, period_type=PeriodType.MONTHS),
            ),
            # Bimonthly is not offered; the interval once a year.
            installment_interval=InstallmentIntervalRules(
                enabled=True,
                allowed_intervals=[
                    models.InstallmentInterval.MONTHLY,
                    models.InstallmentInterval.QUARTERLY,
                    models.InstallmentInterval.HALF_YEARLY,
                    models.InstallmentInterval.YEARLY,
                ],
                cadence=Cadence(allowed_changes=1, period=12, period_type=PeriodType.MONTHS),
            ),
            payment_method=PaymentMethodRules(
                block_when_overdue=True,
                cadence=Cadence(allowed_changes=2, period=12, period_type=PeriodType.MONTHS),
            ),
            due_date=DueDateRules(enabled=True, editable_until_days_before=5),
        ),
        approval_required_attributes=["contact.name", "contact.address"],
        notify_staff_user_ids=notify or [],
        journeys=[
            Journey(
                placement=JourneyPlacement.OFFER_ACCEPTED,
                journey_id="angebot-angenommen",
                label={"de": "Nächste Schritte zu Ihrer Anlage", "en": "Next steps"},
            ),
            Journey(
                placement=JourneyPlacement.OFFER_DECLINED,
                journey_id="angebot-abgelehnt",
                label={"de": "Was hat nicht gepasst?", "en": "What did not fit?"},
            ),
            Journey(
                placement=JourneyPlacement.FIRST_LOGIN,
                journey_id="willkommen",
                label={"de": "Wie möchten Sie informiert werden?"},
            ),
            Journey(
                placement=JourneyPlacement.ENTITY,
                journey_id="zaehlerwechsel",
                label={"de": "Zählerwechsel beauftragen", "en": "Order a meter change"},
                entity=JourneyEntity.METER,
            ),
        ],
        external_links=[
            ExternalLink(
                label={"de": "Tarifrechner", "en": "Tariff calculator"},
                url=f"https://{domain_label}.example/tarife",
            ),
        ],
        # Customers follow meter changes, without the internal technical review.
        processes=[
            SharedProcess(
                kind="meter_change",
                steps=["order_received", "appointment_set", "meter_exchange", "final_reading"],
            )
        ],
        orders_page=OrdersPage(
            title={"de": "Anfragen und Bestellungen", "en": "Requests and orders"},
            teaser=OrdersTeaser(
                title={"de": "Eigener Strom vom Dach?", "en": "Your own solar power?"},
                link_url=f"https://{domain_label}.example/photovoltaik",
                link_label={"de": "Angebot anfragen", "en": "Ask for an offer"},
            ),
        ),
        **public_pages(domain_label, "Kundenportal", "customer portal"),
    )


def meter_change_process(b: DemoBuilder, org: models.Organization, contact: models.Contact) -> None:
    """Anna's meter change (the first demo order), half done: two steps behind, the
    exchange under way, one step internal to staff."""
    process_id = demo_id("process:musterstadt:meter-change")
    b.add(
        models.Process(
            id=process_id,
            organization_id=org.id,
            contact_id=contact.id,
            order_id=demo_id("order:musterstadt:0"),
            kind="meter_change",
            title="Zählerwechsel Strom",
            status=models.ProcessStatus.OPEN,
        )
    )
    done = models.ProcessStepStatus.DONE
    steps = [
        ("order_received", "Auftrag eingegangen", done, date(2026, 11, 3)),
        ("technical_review", "Technische Prüfung", done, date(2026, 11, 10)),
        ("appointment_set", "Termin vereinbart", done, date(2026, 11, 17)),
        ("meter_exchange", "Zählerwechsel vor Ort", models.ProcessStepStatus.IN_PROGRESS, None),
        ("final_reading", "Schlussablesung und Abrechnung", models.ProcessStepStatus.PENDING, None),
    ]
    for position, (key, title, status, done_on) in enumerate(steps):
        b.add(
            models.ProcessStep(
                id=demo_id(f"process-step:musterstadt:meter-change:{key}"),
                organization_id=org.id,
                process_id=process_id,
                position=position,
                key=key,
                title=title,
                status=status,
                planned_for=date(2026, 12, 2) if key == "meter_exchange" else None,
                done_at=datetime(done_on.year, done_on.month, done_on.day, 9, tzinfo=UTC)
                if done_on
                else None,
            )
        )


def installer_settings(domain_label: str) -> PortalSettings:
    return PortalSettings(
        languages=["de", "en"],
        default_language="de",
        design=Design(
            primary_color="#005CA9",
            logo_url=f"https://{domain_label}.example/logo.svg",
        ),
        registration=Registration(self_registration=SelfRegistration.DENY),
        **public_pages(domain_label, "Installateursportal", "installer portal"),
    )


async def demo_loaded(session: AsyncSession) -> bool:
    found = await session.scalar(
        sa.select(models.Organization.id).where(models.Organization.slug == "musterstadt")
    )
    return found is not None


# The demo customer portal's identity provider: oidc-provider-mock as `make serve`'s
# how-to starts it (docs/features.md, "Single sign-on"); it accepts any client secret.
DEMO_IDENTITY_PROVIDER = {
    "name": "Demo-Login",
    "slug": "demo",
    "issuer": "http://127.0.0.1:9400",
    "client_id": "kundenportal-demo",
}
DEMO_CLIENT_SECRET = "demo-client-secret"


async def load_demo(
    session: AsyncSession,
    hash_password: Callable[[str], str],
    encrypt: Callable[[str], str] | None = None,
) -> bool:
    """Insert the demo data unless it is there already. Returns whether it inserted.
    `encrypt` seals secrets at rest (the identity provider's client secret is left out
    without it)."""
    if await demo_loaded(session):
        return False
    b = DemoBuilder(session, hash_password)
    logins = {login.email: login for login in LOGINS}

    muster = b.organization("musterstadt", "Stadtwerke Musterstadt")
    b.staff(muster, logins["admin@musterstadt.example"], "Miriam Admin")
    b.staff(muster, logins["agent@musterstadt.example"], "Ali Agent")
    customers, customer_group = b.portal(
        muster,
        "musterstadt-kunden",
        "Kundenportal Stadtwerke Musterstadt",
        models.PortalType.CUSTOMER,
        CUSTOMER_PORTAL_DOMAIN,
        customer_settings(
            "stadtwerke-musterstadt",
            notify=[str(demo_id("staff:agent@musterstadt.example"))],
        ).model_copy(
            # Logging in with a mailed code, and the contact's email following a confirmed
            # change of the login email, to try in the demo (off in Nachbarstadt).
            update={"passwordless_login": True, "email_change_updates_contact": True}
        ),
    )
    partners, partner_group = b.portal(
        muster,
        "musterstadt-partner",
        "Installateursportal Stadtwerke Musterstadt",
        models.PortalType.INSTALLER,
        "musterstadt-partner.portale.example",
        installer_settings("stadtwerke-musterstadt"),
    )
    b.tiles(muster, customers)
    b.tiles(muster, partners)
    if encrypt is not None:
        b.add(
            models.IdentityProvider(
                id=demo_id("identity-provider:musterstadt-kunden:demo"),
                organization_id=muster.id,
                portal_id=customers.id,
                client_secret_encrypted=encrypt(DEMO_CLIENT_SECRET),
                scopes=["openid", "email", "profile"],
                match_by=models.SsoMatchBy.EMAIL,
                auto_provision=True,
                **DEMO_IDENTITY_PROVIDER,
            )
        )

    contacts: list[models.Contact] = []
    meters: list[models.Meter] = []
    for i, (first, last) in enumerate(zip(FIRST_NAMES, LAST_NAMES, strict=True)):
        # Petra and Michael Schulz share one email: registration needs a second identifier.
        email = (
            "familie.schulz@example.org"
            if last == "Schulz"
            else f"{_ascii(first)}.{_ascii(last)}@example.org"
        )
        contact = b.contact(
            muster,
            f"c{i:02d}",
            first_name=first,
            last_name=last,
            email=email,
            phone=f"+49 30 5550{i:03d}",
            customer_number=f"K-{100001 + i}",
            marketing_consent=i % 4 == 0,
            # Recorded with the text they agreed to (gql.domain.consent).
            marketing_consent_at=datetime(2026, 2, 1, 10, tzinfo=UTC) if i % 4 == 0 else None,
            marketing_consent_text=MARKETING_CONSENT_DE if i % 4 == 0 else None,
            **_address("Musterstadt", "12345", i),
        )
        contacts.append(contact)
    partner = b.contact(
        muster,
        "partner-elektro-schmidt",
        company_name="Elektro Schmidt GmbH",
        email="montage@elektro-schmidt.example",
        phone="+49 30 5551000",
        customer_number="P-9001",
        street="Industriestraße",
        house_number="12",
        postal_code="12347",
        city="Musterstadt",
    )

    for i, contact in enumerate(contacts):
        method = models.PaymentMethod.TRANSFER if i % 5 == 1 else models.PaymentMethod.SEPA_DEBIT
        _, meter = b.contract_with_meter(
            muster, contact, f"V-2023-{1000001 + i * 2}", models.Commodity.POWER, method
        )
        meters.append(meter)
        if i % 3 == 0:  # every third contact (Anna among them) also has gas
            b.contract_with_meter(
                muster, contact, f"V-2023-{1000002 + i * 2}", models.Commodity.GAS, method
            )

    b.heat_pump_contract(muster, contacts[0], "V-2024-2000001")
    order_specs = [
        (0, "Zählerwechsel Strom", models.OrderStatus.IN_PROGRESS, partner),
        (6, "Installation Wallbox", models.OrderStatus.OPEN, partner),
        (7, "Prüfung Hausanschluss", models.OrderStatus.COMPLETED, partner),
        (1, "Tarifwechsel Ökostrom", models.OrderStatus.OPEN, None),
        (0, "Angebot Photovoltaikanlage 8 kWp", models.OrderStatus.OFFER, None),
    ]
    for n, (index, title, status, handled_by) in enumerate(order_specs):
        b.add(
            models.Order(
                id=demo_id(f"order:musterstadt:{n}"),
                organization_id=muster.id,
                contact_id=contacts[index].id,
                partner_contact_id=handled_by.id if handled_by else None,
                meter_id=meters[index].id if handled_by else None,
                number=f"A-2026-{500 + n}",
                title=title,
                status=status,
                scheduled_for=date(2026, 12, 2 + n),
                total_amount=Decimal("249.00") + n * Decimal("100.00"),
            )
        )
    # The offer's line (photovoltaics: 0 % VAT in Germany), and the organization's offer
    # numbers of 2026 taken so far, so that `createOffer` continues after them.
    b.add(
        models.OrderLineItem(
            id=demo_id("order-line-item:musterstadt:4:0"),
            organization_id=muster.id,
            order_id=demo_id("order:musterstadt:4"),
            position=0,
            name="Photovoltaikanlage 8 kWp, Montage",
            quantity=Decimal(1),
            unit="Stk",
            unit_price_net=Decimal("649.00"),
            vat_rate=Decimal(0),
        )
    )
    b.add(models.OfferNumber(organization_id=muster.id, year=2026, last=500 + len(order_specs)))
    meter_change_process(b, muster, contacts[0])
    for n, (index, title, stage) in enumerate(
        [
            (0, "Photovoltaik-Angebot", models.OpportunityStatus.OFFER_SENT),
            (2, "Wärmepumpentarif", models.OpportunityStatus.OPEN),
            (9, "Ladestrom-Angebot", models.OpportunityStatus.ACCEPTED),
        ]
    ):
        b.add(
            models.Opportunity(
                id=demo_id(f"opportunity:musterstadt:{n}"),
                organization_id=muster.id,
                contact_id=contacts[index].id,
                number=f"O-2026-{300 + n}",
                title=title,
                status=stage,
            )
        )

    def user(
        email: str,
        status: models.RegistrationStatus,
        contact: models.Contact | None,
        password: str | None = None,
    ) -> None:
        b.portal_user(
            muster,
            customers,
            customer_group,
            email,
            status=status,
            contact=contact,
            password=password,
        )

    active = models.RegistrationStatus.ACTIVE
    user("anna.becker@example.org", active, contacts[0], "Demo-Kunde-1")
    user("jonas.wolf@example.org", active, contacts[1], "Demo-Kunde-2")
    user("familie.schulz@example.org", active, contacts[2], "Demo-Kunde-Schulz")
    user(contacts[4].email or "", models.RegistrationStatus.INVITED, contacts[4])
    user(contacts[5].email or "", models.RegistrationStatus.ACTIVATION_SENT, contacts[5], "x" * 12)
    user(
        contacts[8].email or "", models.RegistrationStatus.DISABLED, contacts[8], "Demo-Gesperrt-1"
    )
    user("neu.interessent@example.org", models.RegistrationStatus.ACTIVATION_SENT, None, "y" * 12)
    user("wartet.zuordnung@example.org", active, None, "Demo-Wartet-1")
    # Anna is moving: her new address waits for the agent's approval.
    anna = contacts[0]
    address = ("street", "house_number", "postal_code", "city", "country")
    old_address = {column: getattr(anna, column) for column in address}
    b.add(
        models.ChangeRequest(
            id=demo_id("change-request:musterstadt:anna-address"),
            organization_id=muster.id,
            portal_user_id=demo_id(f"portal-user:{customers.id}:anna.becker@example.org"),
            contact_id=anna.id,
            entity_type="contact",
            entity_id=anna.id,
            attribute="contact.address",
            old_value=old_address,
            new_value={**old_address, "street": "Lindenweg", "house_number": "7"},
        )
    )
    # Elektro Schmidt's admin manages the company's own logins (partnerUsers,
    # invitePartnerUser, removePartnerUser); the colleague is in the default group.
    partner_admins = models.PermissionGroup(
        id=demo_id("group:musterstadt-partner:partner-admin"),
        organization_id=muster.id,
        portal_id=partners.id,
        name="Partner-Administration",
        grants=sorted(models.GRANTS_BY_PORTAL_TYPE[models.PortalType.INSTALLER]),
        visibility={},
    )
    b.add(partner_admins)
    b.portal_user(
        muster,
        partners,
        partner_admins,
        "montage@elektro-schmidt.example",
        status=active,
        contact=partner,
        password="Demo-Installer-1",
    )
    b.portal_user(
        muster,
        partners,
        partner_group,
        "buero@elektro-schmidt.example",
        status=models.RegistrationStatus.INVITED,
        contact=partner,
    )

    nachbar = b.organization("nachbarstadt", "Stadtwerke Nachbarstadt")
    b.staff(nachbar, logins["admin@nachbarstadt.example"], "Nora Nachbar")
    nachbar_portal, nachbar_group = b.portal(
        nachbar,
        "nachbarstadt-kunden",
        "Kundenportal Stadtwerke Nachbarstadt",
        models.PortalType.CUSTOMER,
        "nachbarstadt.portale.example",
        customer_settings("stadtwerke-nachbarstadt"),
    )
    b.tiles(nachbar, nachbar_portal)
    neighbours = [("Lena", "Fischer"), ("Paul", "Weber"), ("Emma", "Meyer"), ("Ben", "Wagner")]
    for i, (first, last) in enumerate(neighbours):
        contact = b.contact(
            nachbar,
            f"c{i:02d}",
            first_name=first,
            last_name=last,
            email=f"{first.lower()}.{last.lower()}@example.org",
            phone=f"+49 40 5550{i:03d}",
            customer_number=f"N-{200001 + i}",
            **_address("Nachbarstadt", "23456", i),
        )
        b.contract_with_meter(
            nachbar,
            contact,
            f"NV-2024-{2000001 + i}",
            models.Commodity.POWER,
            models.PaymentMethod.SEPA_DEBIT,
        )
        if i == 0:
            b.portal_user(
                nachbar,
                nachbar_portal,
                nachbar_group,
                "lena.fischer@example.org",
                status=active,
                contact=contact,
                password="Demo-Kunde-3",
            )
    await b.flush()
    return True


def _ascii(name: str) -> str:
    return name.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


async def add_volume_customers(
    session: AsyncSession, organization_id: uuid.UUID, count: int, *, label: str = "Volumen"
) -> list[uuid.UUID]:
    """`count` extra customers of an existing organization, each with a power contract,
    a meter, 12 readings, payments and a document: data for benchmarks and for tests that
    compare how a query behaves for few and for many rows. Their last name is `label`,
    so `contacts(search: label)` finds exactly them. Returns the contact ids."""
    org = await session.get_one(models.Organization, organization_id)
    b = DemoBuilder(session, lambda password: password)
    b.random.seed(f"{label}:{count}")
    ids = []
    for i in range(count):
        contact = b.contact(
            org,
            f"{label.lower()}-{i:05d}",
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=label,
            email=f"{label.lower()}.{i:05d}@example.org",
            customer_number=f"{label[:1].upper()}-{i:06d}",
            **_address(org.name.split()[-1], "12345", i),
        )
        b.contract_with_meter(
            org,
            contact,
            f"{label[:1].upper()}-{9000000 + i:07d}",
            models.Commodity.POWER,
            models.PaymentMethod.SEPA_DEBIT,
        )
        ids.append(contact.id)
    await b.flush()
    return ids
