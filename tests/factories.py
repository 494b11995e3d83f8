"""Builders of the rows tests add to the demo world: `make_<row>(session, parent, **over)`.

Each builder writes one row with explicit, readable values (no random data: a failing
test shows the same row every run), lets `over` replace any column, adds the row to the
test's session and flushes it, so that its id and database defaults are there and the
next builder can point to it. Nothing is committed: the test's transaction is rolled
back, and a test that needs the row visible to another session commits itself.

Plain functions rather than factory_boy: the rows are SQLAlchemy models written through
an `AsyncSession`, which factory_boy's SQLAlchemy integration does not support (it
flushes synchronously); its sequences and fakers are what we do not want (values that
change with test order); and a plain function with keyword arguments is typed for mypy
and read at a glance. `db/demo.py`'s DemoBuilder builds the demo world itself (stable
`demo_id`s, a whole organization at once); these builders add single rows next to it,
by default in the demo organization Musterstadt and its customer portal.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from argon2 import Parameters, Type
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import PortalSettings
from gql.domain import mail
from tests.conftest import ACTORS, CUSTOMER_PORTAL, MUSTERSTADT

Row = TypeVar("Row")


async def _added(session: AsyncSession, row: Row, over: dict[str, Any]) -> Row:
    for name, value in over.items():
        if not hasattr(type(row), name):
            raise TypeError(f"{type(row).__name__} has no column {name!r}")
        setattr(row, name, value)
    session.add(row)
    await session.flush()
    return row


async def make_organization(session: AsyncSession, **over: Any) -> models.Organization:
    """A second utility next to the demo's Musterstadt and Nachbarstadt."""
    row = models.Organization(name="Stadtwerke Teststadt", slug="teststadt")
    return await _added(session, row, over)


async def make_portal(
    session: AsyncSession, organization_id: uuid.UUID = MUSTERSTADT, **over: Any
) -> models.Portal:
    """An active customer portal with default settings, published as version 1."""
    settings = PortalSettings()
    row = models.Portal(
        organization_id=organization_id,
        type=models.PortalType.CUSTOMER,
        name="Testportal",
        status=models.PortalStatus.ACTIVE,
        domain_kind=models.DomainKind.MANAGED,
        domain="testportal.portale.example",
        domain_status=models.DomainStatus.READY,
        draft_settings=settings,
        published_settings=settings,
        published_version=1,
    )
    return await _added(session, row, over)


async def make_permission_group(
    session: AsyncSession, portal_id: uuid.UUID = CUSTOMER_PORTAL, **over: Any
) -> models.PermissionGroup:
    """A group without grants, seeing every contract; `organization_id` is the portal's
    unless given."""
    portal = await session.get_one(models.Portal, portal_id)
    row = models.PermissionGroup(
        organization_id=portal.organization_id,
        portal_id=portal_id,
        name="Testgruppe",
        grants=[],
        visibility={},
    )
    return await _added(session, row, over)


async def make_contact(
    session: AsyncSession, organization_id: uuid.UUID = MUSTERSTADT, **over: Any
) -> models.Contact:
    """A private customer in Musterstadt."""
    row = models.Contact(
        organization_id=organization_id,
        customer_number="K-TEST-1",
        first_name="Erika",
        last_name="Mustermann",
        email="erika.mustermann@example.org",
        street="Teststraße",
        house_number="1",
        postal_code="12345",
        city="Musterstadt",
        country="DE",
    )
    return await _added(session, row, over)


async def make_contract(
    session: AsyncSession, contact: models.Contact, **over: Any
) -> models.Contract:
    """A running monthly power contract of `contact`, paid by transfer."""
    row = models.Contract(
        organization_id=contact.organization_id,
        contact_id=contact.id,
        number="V-TEST-1",
        contract_account_number="80000001",
        status=models.ContractStatus.ACTIVE,
        commodity=models.Commodity.POWER,
        tariff_name="Test",
        start_date=date(2024, 1, 1),
        installment_amount=Decimal("50.00"),
        installment_interval=models.InstallmentInterval.MONTHLY,
        due_day=1,
        payment_method=models.PaymentMethod.TRANSFER,
        balance=Decimal("0.00"),
    )
    return await _added(session, row, over)


async def make_meter(session: AsyncSession, contract: models.Contract, **over: Any) -> models.Meter:
    """An electricity meter of `contract` with one register (1.8.0, consumption)."""
    row = models.Meter(
        organization_id=contract.organization_id,
        contract_id=contract.id,
        number="Z-TEST-1",
        type=models.MeterType.ELECTRICITY,
        unit="kWh",
        status=models.MeterStatus.ACTIVE,
        location="Keller",
    )
    meter = await _added(session, row, over)
    register = models.MeterRegister(
        organization_id=meter.organization_id,
        meter_id=meter.id,
        obis_code="1.8.0",
        name="Bezug",
        digits=6,
    )
    await _added(session, register, {})
    return meter


async def make_portal_user(
    session: AsyncSession, portal: models.Portal, permission_group_id: uuid.UUID, **over: Any
) -> models.PortalUser:
    """A portal user of `portal` invited and not yet activated (so without a password),
    waiting for its assignment to a contact; give `contact_id` and `assignment_status`
    to assign it, `password_hash` and `registration_status` to activate it."""
    row = models.PortalUser(
        organization_id=portal.organization_id,
        portal_id=portal.id,
        permission_group_id=permission_group_id,
        email="erika.mustermann@example.org",
        registration_status=models.RegistrationStatus.INVITED,
        assignment_status=models.AssignmentStatus.PENDING,
    )
    return await _added(session, row, over)


async def make_tile(
    session: AsyncSession, portal_id: uuid.UUID = CUSTOMER_PORTAL, **over: Any
) -> models.Tile:
    """A visible text tile at the end of the portal's draft home page."""
    portal = await session.get_one(models.Portal, portal_id)
    row = models.Tile(
        organization_id=portal.organization_id,
        portal_id=portal_id,
        kind=models.TileKind.TEXT,
        position=99,
        visible=True,
        permission_group_ids=[],
        content={"de": {"title": "Neu im Portal", "text": "Frisch."}},
    )
    return await _added(session, row, over)


async def make_document(
    session: AsyncSession, contact_id: uuid.UUID, organization_id: uuid.UUID, **over: Any
) -> models.Document:
    """A PDF invoice of the contact (its row only: no file in any storage)."""
    row = models.Document(
        organization_id=organization_id,
        contact_id=contact_id,
        name="Rechnung.pdf",
        type=models.DocumentType.INVOICE,
        mime_type="application/pdf",
        size_bytes=1000,
        storage_key="documents/rechnung.pdf",
    )
    return await _added(session, row, over)


GREETING = mail.Template(
    subject="Hallo {{ name }}",
    text="Hallo {{ name }},\n{{ link }}\n",
    html='<p>Hallo {{ name }}, <a href="{{ link }}">weiter</a></p>',
)


def enqueue(session: AsyncSession, to: str = "anna@example.org", kind: str = "test") -> str:
    """A mail in Musterstadt's outbox, written as the app writes one (`mail.enqueue`),
    with markup and a link to escape; its message id."""
    rendered = mail.render(GREETING, {"name": "Anna <3", "link": "https://p.example/a?b=1&c=2"})
    row = mail.enqueue(
        session,
        organization_id=MUSTERSTADT,
        kind=kind,
        sender="Stadtwerke <no-reply@musterstadt.example>",
        recipient=to,
        message=rendered,
    )
    return row.message_id


async def customers_first_contract(session: AsyncSession) -> models.Contract:
    """The demo customer's (Anna's) first contract by number."""
    contract = await session.scalar(
        sa.select(models.Contract)
        .where(models.Contract.contact_id == ACTORS["customer"].contact_id)
        .order_by(models.Contract.number)
        .limit(1)
    )
    assert contract is not None
    return contract


# argon2 parameters that no password profile has (argon2i, one pass, 16-byte salt and
# hash: an older portal's), for hashes that a login must replace with the profile's.
OLDER_PASSWORD_PARAMETERS = Parameters(
    type=Type.I, version=19, salt_len=16, hash_len=16, time_cost=1, memory_cost=8, parallelism=1
)
