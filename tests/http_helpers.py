"""GraphQL over HTTP as a client sends it, shared by the tests of every layer that need a
logged-in caller: `post` an operation, `login` (a portal user or staff), a staff access
token, an impersonation, and `call` (one mutation's payload, no top-level errors)."""

from __future__ import annotations

from typing import Any

import httpx

from db import demo
from tests.conftest import ACTORS, global_id

LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) {
    __typename
    ... on LoggedIn { accessToken refreshToken tokenType expiresIn role }
    ... on SecondFactorRequired { mfaToken enrollmentRequired }
    ... on LoginError { code message field }
  }
}
"""
CUSTOMERS = "musterstadt-kunden"  # the demo's customer portal, by its key

IMPERSONATE = """
mutation($id: ID!, $reason: Line!) {
  impersonatePortalUser(input: {portalUserId: $id, reason: $reason}) {
    __typename
    ... on Impersonation { accessToken expiresIn role }
    ... on ImpersonationError { code field }
  }
}
"""
ANNA = global_id("PortalUser", ACTORS["customer"].subject_id)  # type: ignore[arg-type]


def portal_gid(key: str) -> str:
    return global_id("Portal", demo.demo_id(f"portal:{key}"))


async def post(
    client: httpx.AsyncClient, query: str, token: str | None = None, **variables: Any
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )


async def login(
    client: httpx.AsyncClient, email: str, password: str, portal: str | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"email": email, "password": password}
    if portal is not None:
        payload["portalId"] = portal
    response = await post(client, LOGIN, input=payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"]["login"])


async def staff_token(client: httpx.AsyncClient, email: str, password: str) -> str:
    result = await login(client, email, password)
    assert result["__typename"] == "LoggedIn", result
    return str(result["accessToken"])


async def impersonate(
    client: httpx.AsyncClient, token: str, user: str = ANNA, reason: str = "Ticket 4711"
) -> dict[str, Any]:
    response = await post(client, IMPERSONATE, token, id=user, reason=reason)
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"]["impersonatePortalUser"])


async def call(
    client: httpx.AsyncClient, query: str, bearer: str | None = None, **input: Any
) -> Any:
    """The payload of a one-mutation operation sent with `input`."""
    body = (await post(client, query, bearer, input=input)).json()
    assert "errors" not in body, body
    return next(iter(body["data"].values()))
