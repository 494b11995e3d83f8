"""Fixtures of the tests through the ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.resolvers import computed
from gql.settings import Settings


@pytest.fixture
async def engines(
    sessions: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    tokens: TokenService,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The executor alone, and the app with plans: the same database, one transaction,
    and one moment for both engines' computed values (a link's expiry, the plausible
    values of a reading move with the clock; gql/resolvers/computed.py)."""
    held = computed.moment()
    monkeypatch.setattr(computed, "clock", lambda: held)
    clients = []
    for plans in (False, True):
        settings = replace(test_settings, query_plans=plans)
        app = create_app(settings, Database(sessions=sessions), tokens)
        transport = httpx.ASGITransport(app=app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://portal.test"))
    try:
        yield clients[0], clients[1]
    finally:
        for client in clients:
            await client.aclose()
