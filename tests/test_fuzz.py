"""Bad input at scale: queries and mutations generated from the schema
(hypothesis-graphql, valid and invalid ones) sent over HTTP through the ASGI app in
production settings, as each role and anonymously. No answer may be a 5xx, and no
error may be an internal one (masked as "Unexpected error." in production) or show
internals. A fixed seed here; `make fuzz` runs many more (FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.schema import schema
from gql.settings import Settings
from tests.conftest import seeded_database
from tests.test_auth import login
from tests.test_registration import PORTAL

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
SDL = str(schema)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat())),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: nodes.String(str(Decimal(d)))
    ),
    "JSON": st.text(max_size=20).map(nodes.String),
    "Upload": st.just(nodes.Null),
}
INTERNALS = ("Traceback", "sqlalchemy", "asyncpg", "psycopg", "Unexpected error")
ACCOUNTS = {
    "anonymous": None,
    "admin": ("admin@musterstadt.example", "Demo-Admin-1", None),
    "customer": ("anna.becker@example.org", "Demo-Kunde-1", PORTAL),
}


@pytest.fixture
async def production(postgres_url: str, test_settings: Settings, tokens: TokenService) -> Any:
    """The app in production settings on a freshly seeded database of its own, one
    session and connection per request as in production (generated mutations commit)."""
    url = await seeded_database(postgres_url, f"portal_fuzz_{os.getpid()}")
    database = Database.from_url(url, pool_size=2)
    app = create_app(replace(test_settings, environment="production"), database, tokens)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield client
    finally:
        await database.dispose()


def operations() -> st.SearchStrategy[Any]:
    return st.one_of(
        from_schema(SDL, custom_scalars=SCALARS, mode=Mode.POSITIVE),
        from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE),
    )


@pytest.mark.parametrize("account", list(ACCOUNTS))
async def test_generated_operations_never_fail_inside(
    production: httpx.AsyncClient, account: str
) -> None:
    headers: dict[str, str] = {}
    if (credentials := ACCOUNTS[account]) is not None:
        session = await login(production, *credentials)
        headers["Authorization"] = f"Bearer {session['accessToken']}"
    generated: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation=operations())
    def collect(operation: Any) -> None:
        generated.append(str(operation))

    collect()  # hypothesis drives a plain function; the requests are sent below
    assert len(generated) >= EXAMPLES // 2
    for query in generated:
        response = await production.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code < 500, (query, response.text)
        body = response.text
        assert [word for word in INTERNALS if word in body] == [], (query, body)
