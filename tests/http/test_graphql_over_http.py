"""GraphQL over HTTP: a request the server can not take gets its 4xx status and an
`errors` list in JSON (never plain text, never a 500); `application/graphql-response+json`
as the specification describes it; and in production no error message proposes names
of the schema ("Did you mean ...")."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gql.graphql_over_http import GRAPHQL_RESPONSE

VIEWER = "{ viewer { role } }"


def _request_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    return str(error["message"])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "Unable to parse request body as JSON"),
        (b'{"query": "{ viewer { role } }"', "Unable to parse request body as JSON"),
        (b'{"query": "\xff\xfe"}', "Unable to parse request body as JSON"),  # not UTF-8
        (b"[" * 5000 + b"]" * 5000, "Unable to parse request body as JSON"),
        (b'"{ viewer { role } }"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"query": 42}', "`query` must be a string"),
        (b'{"query": {"a": 1}}', "`query` must be a string"),
        (b'{"query": "{ viewer { role } }", "variables": []}', "`variables` must be an object"),
        (b'{"query": "{ viewer { role } }", "variables": "x"}', "`variables` must be an object"),
        (b'{"query": "{ viewer { role } }", "operationName": {"a": 1}}', "`operationName`"),
        (b'{"query": "{ viewer { role } }", "operationName": ["a"]}', "`operationName`"),
        (b'{"query": "{ viewer { role } }", "operationName": 7}', "`operationName`"),
        (b'{"query": "{ viewer { role } }", "extensions": 7}', "`extensions` must be an object"),
    ],
)
async def test_a_request_that_is_not_graphql_gets_400_in_json(
    client: httpx.AsyncClient, body: bytes, says: str
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert says in _request_error(response, 400)


async def test_other_methods_get_their_status_in_json(client: httpx.AsyncClient) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = await client.request(method, "/graphql", json={"query": VIEWER})
        assert "GraphQL only supports" in _request_error(response, 405)


async def test_the_answer_is_graphql_response_json_when_asked_for(
    client: httpx.AsyncClient,
) -> None:
    accept = {"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    ok = await client.post("/graphql", json={"query": VIEWER}, headers=accept)
    assert (ok.status_code, ok.headers["content-type"]) == (200, GRAPHQL_RESPONSE)
    assert ok.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}}

    # Request errors: nothing ran, so 400 and no `data` (parse, validation, variables).
    for request in (
        {"query": "{ viewer { role "},
        {"query": "{ viewer { nichtDa } }"},
        {
            "query": "query($c: Cursor) { contacts(after: $c) { totalCount } }",
            "variables": {"c": "kaputt"},
        },
    ):
        refused = await client.post("/graphql", json=request, headers=accept)
        assert (refused.status_code, refused.headers["content-type"]) == (400, GRAPHQL_RESPONSE)
        assert set(refused.json()) == {"errors"}, refused.json()

    # A field error is an answer: 200 with `data`.
    forbidden = await client.post(
        "/graphql", json={"query": "{ contacts { totalCount } }"}, headers=accept
    )
    assert forbidden.status_code == 200
    assert "data" in forbidden.json()
    assert forbidden.json()["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "accept", [None, "application/json", "*/*", f"{GRAPHQL_RESPONSE};q=0.5, application/json"]
)
async def test_clients_without_it_get_application_json_as_before(
    client: httpx.AsyncClient, accept: str | None
) -> None:
    headers = {"accept": accept} if accept else {}
    refused = await client.post(
        "/graphql", json={"query": "{ viewer { nichtDa } }"}, headers=headers
    )
    assert (refused.status_code, refused.headers["content-type"]) == (200, "application/json")
    assert refused.json()["data"] is None


# Each a near miss of a real name: graphql-core would propose it.
NEAR_MISSES: list[dict[str, Any]] = [
    {"query": "{ viewr { role } }"},
    {"query": "{ viewer { rol } }"},
    {"query": '{ publicPortal(domian: "x") { name } }'},
    {"query": '{ publicPortal(domain: "x") { nme } }'},
    {"query": "{ portals(type: CUSTOMR) { totalCount } }"},
    {"query": "query($i: LoginInpt!) { login(input: $i) { __typename } }"},
    {"query": 'mutation { login(input: {emial: "a@b.de", password: "x"}) { __typename } }'},
    {
        "query": "mutation($i: LoginInput!) { login(input: $i) { __typename } }",
        "variables": {"i": {"emial": "a@b.de", "password": "x"}},
    },
    {"query": '{ node(id: "x") { ... on Portl { id } } }'},
]


async def test_production_errors_propose_no_names(
    production_client: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    suggested = 0
    for request in NEAR_MISSES:
        body = (await production_client.post("/graphql", json=request)).json()
        messages = [error["message"] for error in body["errors"]]
        assert messages, request
        assert not [m for m in messages if "Did you mean" in m], (request, messages)
        development = (await client.post("/graphql", json=request)).json()
        suggested += any("Did you mean" in e["message"] for e in development["errors"])
    # The same requests do get suggestions in development: the cases are near misses.
    assert suggested >= len(NEAR_MISSES) - 2
