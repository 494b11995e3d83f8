"""The benchmark's PostgreSQL and what it counts: a throwaway embedded server (or
DATABASE_URL), with pg_stat_statements preloaded so that every SQL statement of every
server under test is counted, and the postmaster's process tree for its CPU time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from rich.console import Console
from sqlalchemy.engine import make_url

from bench.dataset import asyncpg_dsn
from db.embedded import EmbeddedPostgres

STATS_SCHEMA = "bench_stats"  # outside `public`, so PostGraphile does not expose it
# Statements that do no work of their own: transaction control and session settings.
UTILITY = r"^\s*(BEGIN|COMMIT|ROLLBACK|START|SAVEPOINT|RELEASE|SET|RESET|SHOW|DISCARD|DEALLOCATE)"


@dataclass(frozen=True)
class BenchDatabase:
    url: str  # SQLAlchemy form, postgresql+asyncpg://
    postmaster_pid: int | None  # None: not ours to measure (DATABASE_URL)
    description: str

    @property
    def node_url(self) -> str:
        """The same database for node-postgres (PostGraphile): `postgres://...`, a Unix
        socket directory as `?host=`."""
        return make_url(self.url).set(drivername="postgres").render_as_string(False)


def _postmaster_pid(server: EmbeddedPostgres) -> int:
    return int((server.cluster_dir / "postmaster.pid").read_text().split("\n", 1)[0])


async def _preload_statement_stats(url: str) -> bool:
    """Ask the server to preload pg_stat_statements from its next start (ALTER SYSTEM,
    so the embedded server needs no option of its own). False: not installed."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        available = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'"
        )
        if available:
            await connection.execute(
                "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
            )
        return bool(available)
    finally:
        await connection.close()


@contextlib.contextmanager
def bench_database(console: Console) -> Iterator[BenchDatabase]:
    """DATABASE_URL as it is, or an embedded PostgreSQL in a temporary directory that is
    stopped and removed however the block ends."""
    if url := os.environ.get("DATABASE_URL"):
        yield BenchDatabase(url, None, "DATABASE_URL (server CPU not measured)")
        return
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as directory:
        server = EmbeddedPostgres(Path(directory))
        try:
            with console.status("Starting embedded PostgreSQL..."):
                url = server.start()
                if asyncio.run(_preload_statement_stats(url)):
                    server.stop()
                    url = server.start()
                else:
                    console.print("[yellow]pg_stat_statements is not installed.[/yellow]")
            yield BenchDatabase(url, _postmaster_pid(server), f"embedded in {directory}")
        finally:
            server.stop()


@dataclass
class StatementCounter:
    """Statements executed in the database so far: (all, without transaction control and
    session settings). `method` says how they are counted."""

    connection: asyncpg.Connection
    method: str
    sql: str

    async def count(self) -> tuple[int, int]:
        row = await self.connection.fetchrow(self.sql)
        return int(row[0]), int(row[1])

    async def close(self) -> None:
        await self.connection.close()


async def statement_counter(url: str) -> StatementCounter:
    """pg_stat_statements when the server preloads it (its calls, BEGIN and COMMIT
    included), else transactions from pg_stat_database."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        schema = await _statement_stats_schema(connection)
    except asyncpg.PostgresError:
        schema = None
    if schema is not None:
        sql = f"""
            SELECT coalesce(sum(calls), 0),
                   coalesce(sum(calls) FILTER (WHERE query !~* '{UTILITY}'), 0)
            FROM {schema}.pg_stat_statements
            WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND query NOT LIKE '%pg_stat_statements%'
        """  # noqa: S608 - the schema name comes from pg_namespace
        return StatementCounter(connection, "pg_stat_statements: sum(calls) of the database", sql)
    sql = """
        SELECT xact_commit + xact_rollback, xact_commit + xact_rollback
        FROM pg_stat_database WHERE datname = current_database()
    """
    return StatementCounter(
        connection, "pg_stat_database: transactions (pg_stat_statements not loaded)", sql
    )


async def _statement_stats_schema(connection: asyncpg.Connection) -> str | None:
    """Create pg_stat_statements (in its own schema) if it is missing; its schema when it
    works, None when the server does not preload it."""
    loaded = await connection.fetchval(
        "SELECT 'pg_stat_statements' = ANY(string_to_array("
        "replace(current_setting('shared_preload_libraries'), ' ', ''), ','))"
    )
    if not loaded:
        return None
    await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {STATS_SCHEMA}")
    await connection.execute(
        f"CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA {STATS_SCHEMA}"
    )
    schema: str = await connection.fetchval(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_stat_statements'"
    )
    return schema
