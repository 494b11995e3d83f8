"""What `/metrics` shows (Prometheus text format, prometheus-client), defined once here
and counted where it happens: GraphQL operations by name, engine and outcome (the view),
their latency, SQL statements and the connection pool (`watch_sessions`), logins (the
login mutations), lockouts (gql/domain/throttle.py), refused admissions to the password
hash (gql/auth/passwords.py tells), mails (gql/delivery.py), the
requests waiting for a connection (db/session.py's pool tells); the
outbox's depth and the age of its oldest pending mail are read from the database at
each scrape (`outbox_families`), so they are the same whichever process answers.

Several worker processes on one machine: with `PROMETHEUS_MULTIPROC_DIR` set (before
the processes start; `portal serve` empties it) every process writes its counters to
files there and a scrape adds all processes up (prometheus-client's multiprocess mode;
gauges of the pool are summed over the live processes). Without it, a process reports
its own figures. This module imports no web framework: the domain counts through it.
"""

from __future__ import annotations

import atexit
import os
import re
import weakref
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from db import models, raw
from db import session as db_session
from gql.auth import passwords

NAMESPACE = "portal"

REQUESTS = Counter(
    "graphql_requests",
    "GraphQL operations answered, by operation name, engine (plan: one SQL statement from"
    " gql/query_plans.py; short: a front-end mutation past Strawberry's request handling,"
    " gql/http/short_mutations.py; executor: Strawberry) and outcome (ok, error, refused,"
    " unavailable).",
    ["operation", "engine", "outcome"],
    namespace=NAMESPACE,
)
LATENCY = Histogram(
    "graphql_request_duration_seconds",
    "Time to answer a GraphQL operation (parse to result), by operation name and engine.",
    ["operation", "engine"],
    namespace=NAMESPACE,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PLAN_DIFFERENCES = Counter(
    "query_plan_differences",
    "Reads whose plan answered otherwise than the executor (QUERY_PLANS=compare), by"
    " operation name; each is logged as query_plan.differs with the paths that differ.",
    ["operation"],
    namespace=NAMESPACE,
)
SQL_STATEMENTS = Counter(
    "sql_statements", "SQL statements sent to PostgreSQL.", namespace=NAMESPACE
)
POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the pool (all processes), by pool.",
    ["pool"],
    namespace=NAMESPACE,
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "db_pool_waiting",
    "Requests waiting for a database connection because every one is in use.",
    namespace=NAMESPACE,
    multiprocess_mode="livesum",
)
LOGINS = Counter(
    "logins",
    "Login steps by step (password, second_factor) and outcome (succeeded,"
    " second_factor_required, or the LoginError code in lower case).",
    ["step", "outcome"],
    namespace=NAMESPACE,
)
LOCKOUTS = Counter(
    "lockouts",
    "Failed credential checks that locked an account, or an account for one address.",
    namespace=NAMESPACE,
)
LOCKED_REFUSALS = Counter(
    "locked_refusals",
    "Credential checks refused unchecked because a lock was on (or the address flooded).",
    namespace=NAMESPACE,
)
PASSWORD_ADMISSIONS_REFUSED = Counter(
    "password_admissions_refused",
    "Requests refused (503 SERVICE_UNAVAILABLE) because no admission to the password"
    " executor came free within PASSWORD_ADMISSION_WAIT_SECONDS (gql/auth/passwords.py).",
    namespace=NAMESPACE,
)
MAILS = Counter(
    "mails",
    "Outbox delivery attempts by result: sent, retried (to be tried again), failed (given up).",
    ["result"],
    namespace=NAMESPACE,
)

# Operation names are the client's: only this many distinct ones per process get their
# own series, the rest count as "other", so no client can flood Prometheus.
MAX_OPERATIONS = 200
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_FIRST_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")
_operations: set[str] = set()


def operation_label(name: str | None, query: str | None) -> str:
    """The operation's name (as sent, or the document's first named operation), at most
    64 characters; "anonymous" without one, "other" past `MAX_OPERATIONS` names."""
    if not name and query:
        found = _FIRST_OPERATION.match(query)
        name = found[1] if found else None
    if not name or not _NAME.fullmatch(name):
        return "anonymous"
    if name not in _operations:
        if len(_operations) >= MAX_OPERATIONS:
            return "other"
        _operations.add(name)
    return name


def observe_plan_difference(name: str | None, query: str | None) -> str:
    """A read whose plan answered otherwise than the executor (gql/http/plans.py);
    the operation's label."""
    operation = operation_label(name, query)
    PLAN_DIFFERENCES.labels(operation).inc()
    return operation


def observe_operation(
    name: str | None, query: str | None, engine: str, outcome: str, seconds: float
) -> str:
    """One GraphQL operation answered (gql/http/view.py decides engine and outcome);
    the operation's label."""
    operation = operation_label(name, query)
    key = (operation, engine, outcome)
    counted = _children.get(key)
    if counted is None:
        counted = _children[key] = (
            REQUESTS.labels(operation, engine, outcome),
            LATENCY.labels(operation, engine),
        )
    counted[0].inc()
    counted[1].observe(seconds)
    return operation


# The labelled series of each (operation, engine, outcome), looked up once: `labels()`
# validates and locks on every call. Bounded as the labels are (MAX_OPERATIONS names).
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def count_login(step: str, result: object) -> None:
    """A login step's answer (the GraphQL result type) as its outcome."""
    kind = type(result).__name__
    if kind == "LoggedIn":
        outcome = "succeeded"
    elif kind == "SecondFactorRequired":
        outcome = "second_factor_required"
    else:
        outcome = str(getattr(result, "code", "") or "error").lower()
    LOGINS.labels(step, outcome).inc()


# --- The database --------------------------------------------------------------------------

_watched: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def watch_sessions(sessions: async_sessionmaker[AsyncSession], pool: str = "primary") -> None:
    """Count the statements of the engine the sessions are bound to and its pool's
    connections in use (labelled `pool`; once per engine)."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, AsyncEngine | AsyncConnection):
        watch_engine(bind.sync_engine, pool)


def watch_engine(engine: sa.Engine, pool: str = "primary") -> None:
    if engine in _watched:
        return
    _watched.add(engine)
    in_use = POOL_IN_USE.labels(pool)

    def checked_out(_dbapi: Any, _record: Any, _proxy: Any) -> None:
        in_use.set(engine.pool.checkedout())  # type: ignore[attr-defined]

    def checked_in(_dbapi: Any, _record: Any) -> None:
        # Told before the connection is back in the queue: it still counts as out.
        in_use.set(max(engine.pool.checkedout() - 1, 0))  # type: ignore[attr-defined]

    sa.event.listen(engine, "before_cursor_execute", _statement)
    if _statement not in raw.STATEMENT_OBSERVERS:
        raw.STATEMENT_OBSERVERS.append(_statement)
    sa.event.listen(engine, "checkout", checked_out)
    sa.event.listen(engine, "checkin", checked_in)


def _statement(*_: Any) -> None:
    SQL_STATEMENTS.inc()


def _waiting(change: int) -> None:
    POOL_WAITING.inc(change)


db_session.POOL_WAIT_LISTENERS.append(_waiting)
passwords.REFUSAL_LISTENERS.append(PASSWORD_ADMISSIONS_REFUSED.inc)


# --- The outbox, read at each scrape -----------------------------------------------------------


async def outbox_families(db: AsyncSession) -> list[Metric]:
    """The outbox as the database has it now (so every process reports the same); one
    statement (the pending rows through the worker's partial index)."""
    outbox = models.OutboundEmail
    pending = outbox.status == models.EmailStatus.PENDING
    oldest = sa.func.min(outbox.created_at).filter(pending)
    row = (
        await db.execute(
            sa.select(
                sa.func.count().filter(pending),
                sa.func.coalesce(sa.extract("epoch", sa.func.clock_timestamp() - oldest), 0),
                sa.func.count().filter(outbox.status == models.EmailStatus.FAILED),
            )
        )
    ).one()
    depth, age, failed = int(row[0]), float(row[1]), int(row[2])
    return [
        GaugeMetricFamily(
            f"{NAMESPACE}_outbox_pending", "Mails waiting in the outbox.", value=depth
        ),
        GaugeMetricFamily(
            f"{NAMESPACE}_outbox_oldest_pending_age_seconds",
            "Age of the oldest mail waiting in the outbox (0 when none waits).",
            value=max(age, 0.0),  # both times PostgreSQL's clock
        ),
        GaugeMetricFamily(
            f"{NAMESPACE}_outbox_failed",
            "Mails given up after their last attempt (kept in the outbox as FAILED).",
            value=failed,
        ),
    ]


class _Fixed(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(extra: Iterable[Metric] = ()) -> bytes:
    """The text a scrape gets: every process's figures (multiprocess mode) or this
    process's, and `extra` (read at this scrape)."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(_Fixed(extra))
        return generate_latest(registry)
    registry.register(_Fixed(extra))
    return generate_latest(REGISTRY) + generate_latest(registry)


def forget_process_at_exit() -> None:
    """In multiprocess mode, drop this process's live gauges when it exits (the pool
    gauges count live processes only)."""
    if multiprocess_dir():
        pid = os.getpid()
        atexit.register(multiprocess.mark_process_dead, pid)
