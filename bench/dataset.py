"""The dashboard benchmark's data: the demo plus `contacts` customers of Stadtwerke
Musterstadt, each with contracts, meters, monthly readings and an ACTIVE portal user of
the demo customer portal, inserted with set-based SQL (INSERT ... SELECT generate_series).

Row ids are md5 UUIDs of `bench:<kind>:<ordinal>`, so the benchmark knows every id
without asking the database. A meter's readings lie on a straight line (a base value
plus a daily consumption, both derived from the meter's ordinal), so a load generator
can compute a valid, plausible reading for any moment: see `MeterLine`.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from strawberry import relay

from db import demo, migrate, models
from db.session import Database
from gql.auth.passwords import hash_password

PASSWORD = "Bench-Kunde-1"  # noqa: S105 - the shared password of generated customers
ORGANIZATION = demo.demo_id("org:musterstadt")
PORTAL = demo.demo_id("portal:musterstadt-kunden")
PORTAL_GLOBAL_ID = relay.to_base64("Portal", PORTAL)
LAST_NAME = "Bench"
# A meter's line: value(t) = BASE + (ordinal * BASE_STEP) % BASE_SPREAD
#                            + (RATE + ordinal % RATE_SPREAD) * days since LINE_ORIGIN
BASE, BASE_STEP, BASE_SPREAD = 1000, 7919, 40000
RATE, RATE_SPREAD = 4, 9
LINE_ORIGIN = datetime(2020, 1, 1, tzinfo=UTC)


def bench_id(kind: str, ordinal: int | str) -> uuid.UUID:
    """The id the SQL below gives row `ordinal` of `kind` (md5('bench:kind:ordinal'))."""
    digest = hashlib.md5(f"bench:{kind}:{ordinal}".encode(), usedforsecurity=False)
    return uuid.UUID(digest.hexdigest())


def email(contact: int) -> str:
    return f"bench.{contact:06d}@example.org"


@dataclass(frozen=True)
class Shape:
    contacts: int = 10_000
    contracts_per_contact: int = 2
    meters_per_contract: int = 2
    readings_per_meter: int = 12

    @property
    def meters_per_contact(self) -> int:
        return self.contracts_per_contact * self.meters_per_contract

    def meters_of(self, contact: int) -> list[int]:
        """Ordinals (1-based) of the contact's meters."""
        first = (contact - 1) * self.meters_per_contact + 1
        return list(range(first, first + self.meters_per_contact))


@dataclass(frozen=True)
class MeterLine:
    """Where a meter's readings lie: `base + per_day * days since LINE_ORIGIN`."""

    ordinal: int

    @property
    def base(self) -> int:
        return BASE + (self.ordinal * BASE_STEP) % BASE_SPREAD

    @property
    def per_day(self) -> int:
        return RATE + self.ordinal % RATE_SPREAD

    @property
    def meter_global_id(self) -> str:
        return relay.to_base64("Meter", bench_id("meter", self.ordinal))


def asyncpg_dsn(url: str) -> str:
    """asyncpg's DSN for a SQLAlchemy URL (`postgresql+asyncpg://` -> `postgresql://`)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


# Row ids: md5('bench:<kind>:' || ordinal)::uuid, as bench_id() computes them.
CONTACTS = """
INSERT INTO contact (id, organization_id, email, first_name, last_name, customer_number,
                     street, house_number, postal_code, city, country, marketing_consent)
SELECT md5('bench:contact:' || i)::uuid, $1,
       format('bench.%s@example.org', lpad(i::text, 6, '0')),
       ($3::text[])[1 + i % cardinality($3::text[])], $4, 'BD-' || lpad(i::text, 6, '0'),
       'Hauptstraße', (1 + i % 200)::text, '12345', 'Musterstadt', 'DE', false
FROM generate_series(1, $2::int) AS i
ON CONFLICT DO NOTHING
"""

# Contract n of contact i: n = (i - 1) * per_contact + j; the first of a contact is power.
CONTRACTS = """
INSERT INTO contract (id, organization_id, contact_id, number, contract_account_number, status,
                      commodity, tariff_name, start_date, installment_amount,
                      installment_interval, due_day, payment_method, iban, account_holder,
                      balance)
SELECT md5('bench:contract:' || n)::uuid, $1, md5('bench:contact:' || i)::uuid,
       'BD-V' || lpad(n::text, 7, '0'), 'BD' || lpad(n::text, 7, '0'), $4,
       CASE WHEN j = 1 THEN $5 ELSE $6 END, 'Bench Tarif', current_date - 3 * 365,
       80.00, $7, 15, $8, 'DE89370400440532013000', 'Bench', 0
FROM generate_series(1, $2::int) AS i, generate_series(1, $3::int) AS j,
     LATERAL (SELECT (i - 1) * $3::int + j AS n) AS x
ON CONFLICT DO NOTHING
"""

# Meter g of contract n: g = (n - 1) * per_contract + k.
METERS = """
INSERT INTO meter (id, organization_id, contract_id, number, type, unit, status, location)
SELECT md5('bench:meter:' || g)::uuid, $1, md5('bench:contract:' || n)::uuid,
       'BD-Z' || lpad(g::text, 8, '0'),
       CASE WHEN power THEN $4 ELSE $5 END, CASE WHEN power THEN 'kWh' ELSE 'm3' END, $6,
       'Keller'
FROM generate_series(1, $2::int) AS n, generate_series(1, $3::int) AS k,
     LATERAL (SELECT (n - 1) * $3::int + k AS g, (n - 1) % $7::int = 0 AS power) AS x
ON CONFLICT DO NOTHING
"""

REGISTERS = """
INSERT INTO meter_register (id, organization_id, meter_id, obis_code, name, digits)
SELECT md5('bench:register:' || g)::uuid, $1, md5('bench:meter:' || g)::uuid, '1.8.0',
       'Bezug', 6
FROM generate_series(1, $2::int) AS g
ON CONFLICT DO NOTHING
"""

# Monthly readings up to today (00:00 UTC), on the meter's line (see MeterLine).
READINGS = """
INSERT INTO meter_reading (id, organization_id, meter_id, register_id, value, read_at,
                           source, status)
SELECT gen_random_uuid(), $1, md5('bench:meter:' || g)::uuid,
       md5('bench:register:' || g)::uuid,
       round($7::int + (g * $8::int) % $9::int + ($10::int + g % $11::int)
             * extract(epoch FROM t.read_at - $4::timestamptz) / 86400, 3),
       t.read_at, $5, $6
FROM generate_series(1, $2::int) AS g, generate_series(0, $3::int - 1) AS m,
     LATERAL (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                     - make_interval(months => m) AS read_at) AS t
ON CONFLICT DO NOTHING
"""

PORTAL_USERS = """
INSERT INTO portal_user (id, organization_id, portal_id, email, password_hash, language,
                         registration_status, assignment_status, contact_id,
                         permission_group_id, activated_at)
SELECT md5('bench:portal-user:' || i)::uuid, $1, $3,
       format('bench.%s@example.org', lpad(i::text, 6, '0')), $4, 'de', $5, $6,
       md5('bench:contact:' || i)::uuid,
       (SELECT id FROM permission_group WHERE portal_id = $3 AND is_default), now()
FROM generate_series(1, $2::int) AS i
ON CONFLICT DO NOTHING
"""


async def load_demo(url: str) -> None:
    """Migrate and load the demo data (demo passwords with the cheap test profile)."""
    await migrate.upgrade_async(url)
    database = Database.from_url(url, pool_size=1)
    try:
        async with database.unit_of_work() as session:
            await demo.load_demo(session, lambda password: hash_password(password, "test"))
    finally:
        await database.dispose()


async def insert_volume(url: str, shape: Shape, password_hash: str) -> dict[str, int]:
    """Insert the generated customers (idempotent); returns rows inserted per table."""
    contracts = shape.contacts * shape.contracts_per_contact
    meters = contracts * shape.meters_per_contract
    org = ORGANIZATION
    # Each statement's parameters, in the order of its $1, $2, ...
    contract_parameters = (
        org,
        shape.contacts,
        shape.contracts_per_contact,
        models.ContractStatus.ACTIVE,
        models.Commodity.POWER,
        models.Commodity.GAS,
        models.InstallmentInterval.MONTHLY,
        models.PaymentMethod.SEPA_DEBIT,
    )
    meter_parameters = (
        org,
        contracts,
        shape.meters_per_contract,
        models.MeterType.ELECTRICITY,
        models.MeterType.GAS,
        models.MeterStatus.ACTIVE,
        shape.contracts_per_contact,
    )
    reading_parameters = (
        org,
        meters,
        shape.readings_per_meter,
        LINE_ORIGIN,
        models.MeterReadingSource.IMPORT,
        models.MeterReadingStatus.ACCEPTED,
        BASE,
        BASE_STEP,
        BASE_SPREAD,
        RATE,
        RATE_SPREAD,
    )
    portal_user_parameters = (
        org,
        shape.contacts,
        PORTAL,
        password_hash,
        models.RegistrationStatus.ACTIVE,
        models.AssignmentStatus.ASSIGNED,
    )
    steps: list[tuple[str, str, tuple[object, ...]]] = [
        ("contact", CONTACTS, (org, shape.contacts, demo.FIRST_NAMES, LAST_NAME)),
        ("contract", CONTRACTS, contract_parameters),
        ("meter", METERS, meter_parameters),
        ("meter_register", REGISTERS, (org, meters)),
        ("meter_reading", READINGS, reading_parameters),
        ("portal_user", PORTAL_USERS, portal_user_parameters),
    ]
    inserted: dict[str, int] = {}
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            for table, sql, parameters in steps:
                status = await connection.execute(sql, *(_plain(p) for p in parameters))
                inserted[table] = int(status.rsplit(" ", 1)[-1])
        # What autovacuum does to tables filled this way (PostgreSQL 13's threshold for
        # inserts), at once: statistics, and the visibility map that lets index-only
        # scans skip the heap (migration 0026: a meter's readings).
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()
    return inserted


def _plain(value: object) -> object:
    """Enum members as their string values (asyncpg binds str, not StrEnum subclasses)."""
    return str(value) if isinstance(value, str) else value
