"""API conventions: pagination, query limits, error masking, settings, HTTP surface."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx
import pytest
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession

from db.session import RequestSession
from gql.auth.tokens import TokenService
from gql.context import Context
from gql.schema import build_schema, should_mask
from gql.settings import Settings, SettingsError
from tests.conftest import ACTORS, GraphQLClient

CONTACT_PAGE = """
query($first: Int, $after: Cursor) {
  contacts(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""


async def test_pages_walk_all_contacts_once_in_a_stable_order(gql: GraphQLClient) -> None:
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        data, errors = await gql(CONTACT_PAGE, "admin", first=7, after=after)
        assert errors == []
        assert data is not None
        page = data["contacts"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] is (pages > 0)
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"]
    assert pages == -(-len(seen) // 7)


@pytest.mark.parametrize(
    ("first", "after", "message"),
    [
        (101, None, "`first` must be between 0 and 100."),
        (-1, None, "`first` must be between 0 and 100."),
        (5, "bm90LWEtY3Vyc29y", "Invalid cursor."),
        (5, "!!!", "Invalid cursor."),
    ],
)
async def test_bad_page_arguments_are_clear_errors(
    gql: GraphQLClient, first: int, after: str | None, message: str
) -> None:
    data, errors = await gql(CONTACT_PAGE, "admin", first=first, after=after)
    assert len(errors) == 1
    assert errors[0].message.endswith(message)
    assert errors[0].extensions["code"] == "BAD_USER_INPUT"
    # A bad cursor is refused while the variables are read, before anything runs.
    assert data == ({"contacts": None} if after is None else None)


async def test_nodes_takes_at_most_a_page_of_ids(gql: GraphQLClient) -> None:
    ids = ["UG9ydGFsOjA="] * 101
    _, errors = await gql("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", "admin", ids=ids)
    assert [e.message for e in errors] == ["At most 100 ids."]


async def test_malformed_global_ids_resolve_to_null(gql: GraphQLClient) -> None:
    for bad in ("Q29udGFjdDpub3QtYS11dWlk", "Tm9wZTox"):  # Contact:not-a-uuid, Nope:1
        data, errors = await gql("query($id: ID!) { node(id: $id) { id } }", "admin", id=bad)
        assert errors == []
        assert data == {"node": None}


def _deep_query(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"contact {{ contracts {{ edges {{ node {{ contact {{ {inner} }} }} }} }} }}"
    return "{ viewer { " + inner + " } }"


async def test_query_depth_is_limited(gql: GraphQLClient) -> None:
    _, errors = await gql(_deep_query(3), "customer")
    assert errors
    assert "exceeds maximum operation depth" in errors[0].message


async def test_aliases_are_limited(gql: GraphQLClient) -> None:
    query = "{ " + " ".join(f"a{i}: viewer {{ role }}" for i in range(31)) + " }"
    _, errors = await gql(query, "customer")
    assert errors
    assert "aliases" in errors[0].message


async def test_tokens_are_limited(gql: GraphQLClient) -> None:
    query = "{ viewer { " + " ".join(["role"] * 2001) + " } }"
    _, errors = await gql(query, "customer")
    assert errors
    assert "token" in errors[0].message.lower()


def test_only_purposeful_errors_are_shown_in_production() -> None:
    def error(code: str | None, original: Exception | None) -> GraphQLError:
        return GraphQLError(
            "x", original_error=original, extensions={"code": code} if code else None
        )

    assert not should_mask(error("FORBIDDEN", GraphQLError("x")))
    assert not should_mask(error("BAD_USER_INPUT", GraphQLError("x")))
    assert not should_mask(error(None, None))  # validation errors of the query itself
    assert should_mask(error(None, RuntimeError("database password is hunter2")))
    assert should_mask(error(None, KeyError("x")))


async def test_production_masks_internals_and_hides_the_schema(
    session: AsyncSession, test_settings: Settings, tokens: TokenService
) -> None:
    production = replace(test_settings, environment="production")
    schema = build_schema(production)
    context = Context(
        sessions=RequestSession.given(session),
        actor=ACTORS["admin"],
        settings=production,
        tokens=tokens,
    )
    result = await schema.execute("{ __schema { types { name } } }", context_value=context)
    assert result.errors
    assert "introspection" in result.errors[0].message.lower()

    result = await schema.execute("{ viewer { rolle } }", context_value=context)
    assert result.errors
    assert "Did you mean" not in result.errors[0].message


def test_production_settings_refuse_unsafe_defaults() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings(environment="production").check()
    with pytest.raises(SettingsError, match="JWT_KEYS"):
        Settings(environment="production", database_url="postgresql+asyncpg://x/y").check()
    with pytest.raises(SettingsError, match="ACCESS_TOKEN_TTL_SECONDS"):
        Settings(access_token_ttl_seconds=86400).check()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTAL_ENV", "staging")
    with pytest.raises(SettingsError, match="PORTAL_ENV"):
        Settings.from_env()
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.setenv("ACCESS_TOKEN_TTL_SECONDS", "300")
    assert Settings.from_env().access_token_ttl_seconds == 300
    monkeypatch.setenv("ACCESS_TOKEN_TTL_SECONDS", "five minutes")
    with pytest.raises(SettingsError, match="ACCESS_TOKEN_TTL_SECONDS"):
        Settings.from_env()


async def test_queries_are_not_accepted_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ viewer { role } }"})
    assert response.status_code in (400, 405)


async def test_health_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("content_type", "body", "status", "answer"),
    [
        # What a cross-site form or a "simple" fetch can send without a CORS preflight.
        (
            "text/plain",
            json.dumps({"query": "mutation { logout { __typename } }"}),
            415,
            "Unsupported content type",
        ),
        (
            "application/x-www-form-urlencoded",
            "query=mutation+%7B+logout+%7B+revoked+%7D+%7D",
            415,
            "Unsupported content type",
        ),
        # Many operations in one request (batching) are refused altogether.
        (
            "application/json",
            json.dumps([{"query": "{ viewer { role } }"}] * 2),
            400,
            "Batching is not enabled",
        ),
    ],
)
async def test_only_json_posts_run_and_never_in_batches(
    client: httpx.AsyncClient, content_type: str, body: str, status: int, answer: str
) -> None:
    response = await client.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == status
    assert response.json() == {
        "errors": [{"message": answer, "extensions": {"code": "BAD_REQUEST"}}]
    }


async def test_a_multipart_request_without_a_token_is_refused_before_parsing(
    client: httpx.AsyncClient,
) -> None:
    operations = {"query": "mutation { logout { __typename } }", "variables": {}}
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": "{}"},
        files={"0": ("a.txt", b"x", "text/plain")},
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_every_answer_carries_security_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/healthz"),
        await client.post("/graphql", json={"query": "{ viewer { role } }"}),
        await client.post("/graphql", content="x", headers={"content-type": "text/plain"}),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert "strict-transport-security" not in headers  # test settings: not production


async def test_production_adds_hsts_and_routes_keep_their_own_headers() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from gql.http.limits import SecurityHeaders

    async def cached(request: Request) -> Response:
        return PlainTextResponse("x", headers={"Cache-Control": "private, max-age=60"})

    app = SecurityHeaders(Starlette(routes=[Route("/", cached)]), production=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as plain:
        response = await plain.get("/")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["cache-control"] == "private, max-age=60"


@pytest.mark.parametrize(
    ("headers", "chunks", "status"),
    [
        ({b"content-length": b"11"}, [b"x" * 11], 413),  # refused by its length
        ({b"content-length": b"10"}, [b"x" * 10], 200),  # framed by its length
        ({}, [b"x" * 6, b"x" * 5], 413),  # no length: counted as it comes
        ({b"content-length": b"4", b"transfer-encoding": b"chunked"}, [b"x" * 11], 413),
    ],
    ids=["length-over", "length-within", "no-length", "length-and-chunked"],
)
async def test_body_limit_refuses_bodies_over_it_however_they_are_framed(
    headers: dict[bytes, bytes], chunks: list[bytes], status: int
) -> None:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import Message, Receive, Scope, Send

    from gql.http.limits import BodyLimit

    async def read_all(scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        await Response(body)(scope, receive, send)

    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers.items())}
    await BodyLimit(read_all, limit=10)(scope, receive, send)
    assert sent[0]["status"] == status
    if status == 200:
        assert sent[1]["body"] == b"x" * 10
