"""Benchmark: importing portal users from CSV (`portal users import`, the same service
as `importPortalUsers`).

Starts a throwaway embedded PostgreSQL (or uses DATABASE_URL), migrates, loads the demo
data, writes a CSV of `--rows` new users (a tenth of them assigned by customer number
to volume customers) and imports it into the demo customer portal, then imports the
same file again (nothing changes). Prints rows, seconds and rows per second for both,
median of `--runs` runs (each on a fresh portal).

    .venv/bin/python bench/import_users.py --rows 100000
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from bench.nested_query import postgres
from db import demo, migrate, models
from db.session import Database
from gql.auth.actor import Actor, Role
from gql.auth.passwords import hash_password
from gql.domain import audit, portals, user_csv

console = Console()
MUSTERSTADT = demo.demo_id("org:musterstadt")


def csv_of(rows: int, numbers: list[str]) -> str:
    out = io.StringIO()
    out.write("email,language,customer_number,permission_group\n")
    for n in range(rows):
        number = numbers[n % len(numbers)] if numbers and n % 10 == 0 else ""
        out.write(f"kunde{n:07d}@import.example,{'en' if n % 3 == 0 else 'de'},{number},\n")
    return out.getvalue()


async def run(url: str, rows: int, runs: int) -> list[tuple[float, float]]:
    await migrate.upgrade_async(url)
    database = Database.from_url(url, pool_size=2)
    timings: list[tuple[float, float]] = []
    try:
        async with database.unit_of_work() as session:
            await demo.load_demo(session, lambda password: hash_password(password, "test"))
            await demo.add_volume_customers(session, MUSTERSTADT, 200, label="Import")
        async with database.sessions() as session:
            numbers = list(
                (
                    await session.scalars(
                        sa.select(models.Contact.customer_number).where(
                            models.Contact.customer_number.is_not(None)
                        )
                    )
                ).all()
            )
        text = csv_of(rows, [n for n in numbers if n][:100])
        admin = Actor(Role.ADMIN, MUSTERSTADT, demo.demo_id("staff:admin@musterstadt.example"))
        for run_number in range(runs):
            async with database.unit_of_work() as session:
                portal = await portals.create(
                    session,
                    admin,
                    type=models.PortalType.CUSTOMER,
                    name=f"Import {run_number}",
                    subdomain=f"import-{run_number}-{uuid.uuid4().hex[:6]}",
                    languages=["de", "en"],
                    default_language="de",
                    base_domain="portale.example",
                    origin=audit.Origin(),
                )
                portal_id = portal.id
            seconds = []
            for _ in range(2):
                started = time.perf_counter()
                async with database.unit_of_work() as session:
                    report = await user_csv.import_users(
                        session,
                        admin,
                        portal_id,
                        text,
                        origin=audit.Origin(),
                        now=datetime.now(UTC),
                    )
                seconds.append(time.perf_counter() - started)
                console.print(
                    f"run {run_number + 1}: {report.created} created, {report.unchanged}"
                    f" unchanged in {seconds[-1]:.1f} s"
                )
            timings.append((seconds[0], seconds[1]))
    finally:
        await database.dispose()
    return timings


def main(
    rows: Annotated[int, typer.Option(help="Rows in the file.")] = 100_000,
    runs: Annotated[int, typer.Option(help="Runs; the median is printed.")] = 3,
) -> None:
    with postgres() as url:
        timings = asyncio.run(run(url, rows, runs))
    table = Table(title=f"Import of {rows:,} portal users (median of {runs})")
    for column in ("import", "seconds", "rows/s"):
        table.add_column(column, justify="right")
    for label, index in (("new users", 0), ("same file again", 1)):
        median = statistics.median(t[index] for t in timings)
        table.add_row(label, f"{median:.1f}", f"{rows / median:,.0f}")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
