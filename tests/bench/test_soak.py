"""A short soak (`make soak` runs the long one): `portal serve` as a subprocess on a
dedicated PostgreSQL, the README's demo customers at a steady rate for 20 seconds,
dashboards, meter readings and logins. No request may fail; the figures (per-interval
p50/p99, the server's RSS) are reported, not asserted, except a generous memory bound.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bench import load
from db import models
from tests.figures import report, scalar, scalar_engine

RATE = 10.0  # requests per second
SECONDS = 20.0
INTERVAL = 5.0
RSS_GROWTH_LIMIT_KIB = 256 * 1024  # far beyond what 200 requests may cost


async def test_a_short_soak_answers_every_request(request: pytest.FixtureRequest) -> None:
    with load.dedicated_postgres() as postgres, load.serve(postgres.url) as server:
        result = await load.soak(
            server, rate=RATE, seconds=SECONDS, interval=INTERVAL, key_prefix="soak"
        )
        async with scalar_engine(postgres.url) as engine:
            reading = models.MeterReading
            stored = await scalar(
                engine, sa.select(sa.func.count()).where(reading.client_key.like("soak-%"))
            )
    report(
        request,
        f"soak: {RATE:g} requests/s for {SECONDS:g} s",
        *load.describe(result, INTERVAL),
    )
    assert [f"{s.kind}: {s.outcome.value} {s.detail}" for s in result.failed] == []
    assert result.server_alive
    assert len(result.samples) == sum(result.sent.values())
    assert set(result.sent) == set(load.MIX)
    assert all(part.requests for part in result.intervals)
    assert stored == result.sent["reading"]  # every reading once
    assert min(result.rss_kib) > 0
    assert result.rss_kib[-1] - result.rss_kib[0] < RSS_GROWTH_LIMIT_KIB
