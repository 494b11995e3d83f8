"""Benchmark: the nested query contacts -> contracts -> meters -> readings.

Starts a throwaway embedded PostgreSQL (or uses DATABASE_URL), migrates, loads the demo
data plus `--contacts` volume customers, then sends the query over HTTP through the
ASGI app (httpx, in process) as the demo admin, for page sizes 2 and 50. Prints per
page size: SQL statements per request, median and p90 latency, requests per second.

    make bench                       # or: .venv/bin/python -m bench.nested_query --help
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from db import demo, migrate, models
from db.embedded import EmbeddedPostgres
from db.session import Database
from gql.app import create_app
from gql.auth.passwords import hash_password
from gql.auth.tokens import generate_key_set
from gql.settings import Settings

QUERY = """
query Nested($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) {
    totalCount
    edges { node {
      id displayName
      contracts { edges { node {
        id number
        meters { edges { node {
          id number
          readings(first: 12) { edges { node { id value readAt } } }
        } } }
      } } }
    } }
  }
}
"""
LABEL = "Benchmark"
console = Console()


@contextmanager
def postgres() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as directory:
        server = EmbeddedPostgres(Path(directory))
        try:
            yield server.start()
        finally:
            server.stop()


async def prepare(url: str, contacts: int) -> None:
    await migrate.upgrade_async(url)
    database = Database.from_url(url, pool_size=1)
    try:
        async with database.unit_of_work() as session:
            await demo.load_demo(session, lambda password: hash_password(password, "test"))
            already = await session.scalar(
                sa.select(sa.func.count())
                .select_from(models.Contact)
                .where(models.Contact.last_name == LABEL)
            )
            if not already:
                await demo.add_volume_customers(
                    session, demo.demo_id("org:musterstadt"), contacts, label=LABEL
                )
    finally:
        await database.dispose()


async def load(
    one: Callable[[int], Awaitable[float]], first: int, requests: int, concurrency: int
) -> list[float]:
    """Latencies of `requests` requests, `concurrency` of them in flight at a time."""
    semaphore = asyncio.Semaphore(concurrency)

    async def timed() -> float:
        async with semaphore:
            return await one(first)

    return list(await asyncio.gather(*(timed() for _ in range(requests))))


async def measure(url: str, requests: int, concurrency: int) -> list[dict[str, Any]]:
    settings = Settings(
        environment="test", database_url=url, jwt_keys=json.dumps(generate_key_set())
    )
    database = Database.from_url(url, pool_size=concurrency)
    statements: list[int] = []
    assert database.engine is not None
    sa.event.listen(
        database.engine.sync_engine,
        "before_cursor_execute",
        lambda *args: statements.append(1),
    )
    app = create_app(settings, database)
    transport = httpx.ASGITransport(app=app)
    results = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        login = await client.post(
            "/graphql",
            json={
                "query": "mutation($i: LoginInput!) { login(input: $i) "
                "{ ... on LoggedIn { accessToken } } }",
                "variables": {
                    "i": {"email": "admin@musterstadt.example", "password": "Demo-Admin-1"}
                },
            },
        )
        token = login.json()["data"]["login"]["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}

        async def one(first: int) -> float:
            started = time.perf_counter()
            response = await client.post(
                "/graphql",
                json={"query": QUERY, "variables": {"first": first, "search": LABEL}},
                headers=headers,
            )
            elapsed = time.perf_counter() - started
            body = response.json()
            assert "errors" not in body, body
            assert len(body["data"]["contacts"]["edges"]) == first
            return elapsed

        for first in (2, 50):
            for _ in range(5):  # warm up caches (parser, validation, connections)
                await one(first)
            statements.clear()
            await one(first)
            per_request = len(statements)

            started = time.perf_counter()
            latencies = sorted(await load(one, first, requests, concurrency))
            wall = time.perf_counter() - started
            results.append(
                {
                    "contacts": first,
                    "readings": first * 12,
                    "statements": per_request,
                    "median_ms": statistics.median(latencies) * 1000,
                    "p90_ms": latencies[int(len(latencies) * 0.9) - 1] * 1000,
                    "rps": requests / wall,
                }
            )
    await database.dispose()
    return results


def main(
    contacts: Annotated[int, typer.Option(help="Volume customers to add.")] = 200,
    requests: Annotated[int, typer.Option(help="Requests per page size.")] = 200,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 4,
) -> None:
    """Measure the nested query; prints statements per request and throughput."""
    with postgres() as url:
        asyncio.run(prepare(url, contacts))
        results = asyncio.run(measure(url, requests, concurrency))
    table = Table(title=f"contacts -> contracts -> meters -> readings ({requests} requests)")
    for column in ("contacts", "readings", "SQL statements", "median ms", "p90 ms", "req/s"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            str(r["contacts"]),
            str(r["readings"]),
            str(r["statements"]),
            f"{r['median_ms']:.1f}",
            f"{r['p90_ms']:.1f}",
            f"{r['rps']:.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
