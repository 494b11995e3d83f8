"""Bad input at scale: queries and mutations generated from the schema
(hypothesis-graphql, valid and invalid ones) sent over HTTP through the ASGI app in
production settings, as each role and anonymously. No answer may be a 5xx, and no
error may be an internal one (masked as "Unexpected error." in production) or show
internals. A fixed seed here; `make fuzz` runs many more (FUZZ_EXAMPLES)."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from sqlalchemy.ext.asyncio import AsyncSession

from db.session import Database, RequestSession
from gql.app import create_app
from gql.auth.actor import ANONYMOUS
from gql.auth.tokens import TokenService
from gql.context import Context
from gql.schema import scalars, schema
from gql.schema.pagination import encode_cursor
from gql.settings import Settings
from tests.account_helpers import PORTAL
from tests.conftest import INSTALLER_PORTAL, global_id, seeded_database
from tests.http_helpers import login

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
# Free text as an attacker sends it: any code point (NUL, controls, lone surrogates and
# separators included), near and over the limits, and cursors to far-away offsets.
NASTY_TEXT = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(max_codepoint=0x9F), max_size=30),
    st.sampled_from(["\x00", "a\x00b", "\x1b[31m", "\u2028", "\ud800", "\ufeff"]),
    st.integers(min_value=scalars.LINE_MAX - 2, max_value=scalars.TEXT_MAX + 2).map(
        lambda n: "x" * n
    ),
)
CURSORS = st.one_of(
    st.integers(min_value=-(2**40), max_value=2**70).map(lambda n: encode_cursor(n)),
    NASTY_TEXT,
)
SCALARS |= {
    "Line": NASTY_TEXT.map(nodes.String),
    "Text": NASTY_TEXT.map(nodes.String),
    "EmailAddress": st.one_of(st.emails().map(str), NASTY_TEXT).map(nodes.String),
    "Iban": st.one_of(st.just("DE89370400440532013000"), NASTY_TEXT).map(nodes.String),
    "Cursor": CURSORS.map(nodes.String),
}
INTERNALS = ("Traceback", "sqlalchemy", "asyncpg", "psycopg", "Unexpected error")
ACCOUNTS = {
    "anonymous": None,
    "admin": ("admin@musterstadt.example", "Demo-Admin-1", None),
    "customer": ("anna.becker@example.org", "Demo-Kunde-1", PORTAL),
    "installer": (
        "montage@elektro-schmidt.example",
        "Demo-Installer-1",
        global_id("Portal", INSTALLER_PORTAL),
    ),
}


@pytest.fixture
async def production_database(postgres_url: str) -> Any:
    url = await seeded_database(postgres_url, f"portal_fuzz_{os.getpid()}")
    database = Database.from_url(url, pool_size=2)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def production(
    production_database: Database, test_settings: Settings, tokens: TokenService
) -> Any:
    """The app in production settings on a freshly seeded database of its own, one
    session and connection per request as in production (generated mutations commit)."""
    settings = replace(test_settings, environment="production")
    app = create_app(settings, production_database, tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


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
        # json.dumps escapes what UTF-8 can't carry (lone surrogates) as \\uXXXX.
        response = await production.post(
            "/graphql",
            content=json.dumps({"query": query}),
            headers={**headers, "content-type": "application/json"},
        )
        assert response.status_code < 500, (query, response.text)
        body = response.text
        assert [word for word in INTERNALS if word in body] == [], (query, body)


# --- Findings, kept as regression tests ----------------------------------------------------


async def test_malformed_global_ids_are_the_callers_mistake(production: httpx.AsyncClient) -> None:
    for query in (
        '{ nodes(ids: ["not base64!"]) { id } }',
        '{ node(id: "-451474") { id } }',
        'mutation { login(input: {email: "a@b.de", password: "x", portalId: "q"}) { __typename } }',
    ):
        errors = (await production.post("/graphql", json={"query": query})).json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], query
        assert "Value cannot represent a GlobalID" in errors[0]["message"]


async def test_a_cancelled_field_lets_its_statement_finish(
    session: AsyncSession, test_settings: Settings, tokens: TokenService
) -> None:
    """What the fuzzer found: GraphQL cancels abandoned fields; cancelling a statement
    mid-flight made asyncpg close the connection, and the session's rollback then
    answered 500. Now the statement finishes, the cancellation passes on after it, and
    the connection stays usable."""
    context = Context(
        sessions=RequestSession.given(session),
        actor=ANONYMOUS,
        settings=test_settings,
        tokens=tokens,
    )
    abandoned = asyncio.ensure_future(context.execute(sa.select(sa.func.pg_sleep(0.3))))
    await asyncio.sleep(0.1)
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    assert (await context.execute(sa.select(sa.literal(1)))).scalar_one() == 1
    finished = Context(
        sessions=RequestSession.given(session),
        actor=ANONYMOUS,
        settings=test_settings,
        tokens=tokens,
        closed=lambda: True,
    )
    with pytest.raises(asyncio.CancelledError):  # after the answer: no new statement
        await finished.execute(sa.select(sa.literal(1)))
