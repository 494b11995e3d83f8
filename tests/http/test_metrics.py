"""`/metrics` through the ASGI app: the figures move as requests, logins, lockouts and
mails happen; the outbox is read from the database; who may scrape. OpenTelemetry:
off by default, spans with `OTEL_TRACES_EXPORTER=console`. (Several worker processes:
tests/http/test_metrics_workers.py.)"""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import models
from db import session as db_session
from db.session import Database, create_engine
from gql import metrics, tracing
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.delivery import RetryPolicy, deliver_due
from gql.settings import Settings
from tests.conftest import app_client
from tests.http_helpers import login, portal_gid, post
from tests.smtp import SmtpServer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

ANNA = ("anna.becker@example.org", "Demo-Kunde-1")
CONTRACTS = "query MyContracts { viewer { contracts { edges { node { number } } } } }"


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def anna(client: httpx.AsyncClient, password: str = ANNA[1]) -> dict[str, object]:
    return await login(client, ANNA[0], password, portal_gid("musterstadt-kunden"))


async def test_operations_are_counted_by_name_engine_and_outcome_with_their_latency(
    client: httpx.AsyncClient, test_settings: Settings
) -> None:
    planned = 2 if test_settings.query_plans else 0  # QUERY_PLANS=off: the executor alone
    before = await scrape(client)
    bearer = str((await anna(client))["accessToken"])
    for _ in range(3):  # the executor answers first, then the plan it made
        response = await post(client, CONTRACTS, bearer)
        assert "errors" not in response.json()
    denied = await post(client, "query Audit { auditEvents(first: 1) { totalCount } }", bearer)
    assert denied.json()["errors"]
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "portal_graphql_requests_total"
    assert grew(requests, operation="MyContracts", engine="executor", outcome="ok") == 3 - planned
    assert grew(requests, operation="MyContracts", engine="plan", outcome="ok") == planned
    assert grew(requests, operation="Audit", engine="executor", outcome="error") == 1
    latency = "portal_graphql_request_duration_seconds"
    assert grew(f"{latency}_count", operation="MyContracts", engine="executor") == 3 - planned
    assert grew(f"{latency}_bucket", operation="MyContracts", engine="plan", le="+Inf") == planned
    assert grew(f"{latency}_sum", operation="MyContracts", engine="executor") > 0
    # Each request's statements (the session check, the plan's one statement...).
    assert grew("portal_sql_statements_total") >= 5
    assert ("portal_db_pool_connections_in_use", (("pool", "primary"),)) in after
    assert ("portal_db_pool_waiting", ()) in after


def test_unnamed_and_too_many_operation_names_do_not_grow_the_series(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(metrics, "_operations", set())  # this process's names stay
    assert metrics.operation_label(None, "{ viewer { role } }") == "anonymous"
    assert metrics.operation_label(None, " query Named($a: Int) { x }") == "Named"
    assert metrics.operation_label("bad name!", None) == "anonymous"
    for number in range(metrics.MAX_OPERATIONS + 5):
        metrics.operation_label(f"Generated{number}", None)
    assert metrics.operation_label("OneMore", None) == "other"
    assert len(metrics._operations) == metrics.MAX_OPERATIONS


async def test_logins_and_lockouts_are_counted_by_outcome(
    sessions: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    settings = replace(test_settings, max_login_failures=2, max_account_failures=2)
    async with app_client(settings, sessions, tokens) as client:
        before = await scrape(client)
        assert (await anna(client))["__typename"] == "LoggedIn"
        for _ in range(3):  # 2 failures lock the account; the third is refused unchecked
            assert (await anna(client, "wrong-password"))["__typename"] == "LoginError"
        after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("portal_logins_total", step="password", outcome="succeeded") == 1
    refused = {
        labels: count - value(before, name, **dict(labels))
        for (name, labels), count in after.items()
        if name == "portal_logins_total" and ("outcome", "succeeded") not in labels
    }
    assert sum(refused.values()) == 3, refused
    assert grew("portal_lockouts_total") == 1
    assert grew("portal_locked_refusals_total") == 1


async def test_the_outbox_depth_and_age_come_from_the_database_and_mails_are_counted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    smtp: SmtpServer,
) -> None:
    organization = await session.scalar(sa.select(models.Organization.id).limit(1))
    assert organization is not None
    session.add(
        models.OutboundEmail(
            organization_id=organization,
            kind="test",
            message_id=f"<{uuid.uuid4()}@musterstadt.example>",
            sender="Stadtwerke <no-reply@musterstadt.example>",
            recipient="anna@example.org",
            subject="Hallo",
            body_text="Hallo",
            body_html="<p>Hallo</p>",
            created_at=datetime.now(UTC) - timedelta(minutes=10),
        )
    )
    await session.commit()
    before = await scrape(client)
    assert value(before, "portal_outbox_pending") >= 1
    assert value(before, "portal_outbox_oldest_pending_age_seconds") >= 600

    report = await deliver_due(
        sessions,
        smtp.transport,
        RetryPolicy(max_attempts=3, first_wait=timedelta(seconds=30)),
        now=datetime.now(UTC) + timedelta(minutes=5),
    )
    assert report.sent >= 1
    after = await scrape(client)
    assert value(after, "portal_outbox_pending") == value(before, "portal_outbox_pending") - (
        report.sent
    )
    assert (
        value(after, "portal_mails_total", result="sent")
        - value(before, "portal_mails_total", result="sent")
        == report.sent
    )


# --- Who may scrape --------------------------------------------------------------------------


Status = Callable[..., Awaitable[int]]


@pytest.fixture
def status(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> Status:
    """The status of a scrape of an app with these settings changed."""

    async def scrape_status(**changes: Any) -> int:
        settings = replace(test_settings, **changes)
        async with app_client(settings, sessions, tokens) as client:
            return (await client.get("/metrics")).status_code

    return scrape_status


async def test_metrics_are_refused_in_production_unless_the_address_is_allowed(
    status: Status,
) -> None:
    # httpx's ASGI transport connects from 127.0.0.1.
    assert await status(environment="production") == 403
    assert await status(environment="production", metrics_allowed=("10.0.0.0/8",)) == 403
    assert await status(environment="production", metrics_allowed=("127.0.0.1",)) == 200
    assert await status(environment="production", metrics_allowed=("127.0.0.0/8",)) == 200
    assert await status(metrics_allowed=()) == 403  # development, nobody named
    assert await status() == 200  # development, unset: everyone


async def test_a_proxy_can_not_forge_an_allowed_address(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> None:
    settings = replace(test_settings, environment="production", metrics_allowed=("10.1.2.3",))
    async with app_client(settings, sessions, tokens) as client:
        response = await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert response.status_code == 403  # 127.0.0.1 is no trusted proxy here


# --- Traces ----------------------------------------------------------------------------------


def test_traces_are_off_by_default() -> None:
    assert tracing.provider_from_environment({}) is None
    assert tracing.provider_from_environment({"OTEL_TRACES_EXPORTER": "none"}) is None
    disabled = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}
    assert tracing.provider_from_environment(disabled) is None
    with pytest.raises(tracing.TracingError, match="zipkin"):
        tracing.provider_from_environment({"OTEL_TRACES_EXPORTER": "zipkin"})


async def test_the_served_app_has_no_tracing_middleware_without_otel_variables(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    from gql.app import app_from_environment

    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)

    # The factory's full collection and freeze are for a server process: the tests'
    # heap was frozen once after collection (tests/conftest.py).
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)
    monkeypatch.setattr(gc, "freeze", lambda: None)

    def traced() -> bool:
        app = app_from_environment()
        return any(m.cls is OpenTelemetryMiddleware for m in app.user_middleware)  # type: ignore[comparison-overlap]

    assert not traced()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert traced()
    tracing.untrace_engines()


async def test_with_otel_variables_requests_and_statements_become_spans(
    monkeypatch: pytest.MonkeyPatch,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    """The provider the variables configure (console exporter), with an in-memory
    exporter beside it to look at what was exported."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "portal-test")
    provider = tracing.provider_from_environment(os.environ)
    assert provider is not None
    exported = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracing.trace_engine(engine.sync_engine, provider)  # the app's own engine is the test's
    try:
        database = Database(sessions=sessions)
        app = create_app(test_settings, database, tokens, tracer_provider=provider)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            assert (await anna(client))["__typename"] == "LoggedIn"
    finally:
        tracing.untrace_engines()
        provider.shutdown()
    spans = exported.get_finished_spans()
    [request] = [span for span in spans if span.name == "POST /graphql"]
    assert request.attributes is not None
    assert request.attributes["graphql.operation.name"] == "Login"
    assert request.attributes["portal.engine"] == "executor"
    assert request.resource.attributes["service.name"] == "portal-test"
    statements = [span for span in spans if span.attributes and "db.system" in span.attributes]
    assert statements, [span.name for span in spans]
    assert all(span.context.trace_id == request.context.trace_id for span in statements)


async def test_the_pool_tells_only_of_checkouts_that_wait(database_url: str) -> None:
    """`portal_db_pool_waiting` counts checkouts that wait for a connection in use; one
    that opens a connection or takes an idle one is not told (no gauge update)."""
    told: list[int] = []
    engine = create_engine(database_url, pool_size=1)
    db_session.POOL_WAIT_LISTENERS.append(told.append)

    async def one() -> None:
        async with engine.connect() as connection:
            await connection.execute(sa.select(sa.literal(1)))

    try:
        async with engine.connect() as held:
            await held.execute(sa.select(sa.literal(1)))
            assert told == []  # the connection opened at once
            waiting = asyncio.ensure_future(one())
            await asyncio.sleep(0.2)
            assert told == [1]
        await waiting
        assert told == [1, -1]
        await one()  # the idle connection
        assert told == [1, -1]
    finally:
        db_session.POOL_WAIT_LISTENERS.remove(told.append)
        await engine.dispose()
