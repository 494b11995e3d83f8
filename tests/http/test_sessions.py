"""The caller's own sessions: `viewer.sessions` lists only their active logins, and
`revokeSession` ends one of them, audited; another customer's, another organization's,
a staff member's or an impersonation's attempt on them gets NOT_FOUND (or FORBIDDEN)
and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from tests.conftest import ACTORS, global_id
from tests.http_helpers import CUSTOMERS, impersonate, login, portal_gid, post

ANNA = ("anna.becker@example.org", "Demo-Kunde-1")
JONAS = ("jonas.wolf@example.org", "Demo-Kunde-2")
LENA = ("lena.fischer@example.org", "Demo-Kunde-3")
NACHBARSTADT = "UG9ydGFsOmMyNzEyOTY5LTY5ZTctNTZjMS04Zjg0LWQ2MTI5ZGRhMWI4OQ=="
SESSIONS = "{ viewer { sessions { id createdAt lastUsedAt expiresAt userAgent current } } }"
REVOKE = """
mutation($id: ID!) { revokeSession(input: {sessionId: $id}) {
  __typename
  ... on SessionRevoked { session { id current } }
  ... on MutationError { code field message }
} }
"""


async def logged_in(
    client: httpx.AsyncClient, who: tuple[str, str], portal: str, agent: str = "pytest"
) -> str:
    response = await client.post(
        "/graphql",
        json={
            "query": "mutation($i: LoginInput!) { login(input: $i) {"
            " ... on LoggedIn { accessToken } ... on LoginError { code } } }",
            "variables": {"i": {"email": who[0], "password": who[1], "portalId": portal}},
        },
        headers={"User-Agent": agent},
    )
    token = response.json()["data"]["login"].get("accessToken")
    assert token, response.text
    return str(token)


async def anna(client: httpx.AsyncClient, agent: str = "pytest") -> str:
    return await logged_in(client, ANNA, portal_gid(CUSTOMERS), agent)


async def sessions_of(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    body = (await post(client, SESSIONS, token)).json()
    assert "errors" not in body, body
    return list(body["data"]["viewer"]["sessions"])


async def revoke(client: httpx.AsyncClient, token: str, session_id: str) -> dict[str, Any]:
    body = (await post(client, REVOKE, token, id=session_id)).json()
    assert "errors" not in body, body
    return dict(body["data"]["revokeSession"])


async def status(client: httpx.AsyncClient, token: str) -> int:
    return (await post(client, "{ viewer { role } }", token)).status_code


async def test_the_viewer_sees_her_own_active_logins_only(client: httpx.AsyncClient) -> None:
    phone = await anna(client, "Phone browser")
    laptop = await anna(client, "Laptop browser")
    await logged_in(client, JONAS, portal_gid(CUSTOMERS), "Jonas browser")
    ended = await anna(client, "Ended browser")
    await post(client, "mutation { logout { revokedSessions } }", ended)

    listed = await sessions_of(client, laptop)
    agents = {each["userAgent"]: each["current"] for each in listed}
    assert agents == {"Phone browser": False, "Laptop browser": True}
    assert all(each["id"].startswith("TG9naW5TZXNzaW9u") for each in listed)  # LoginSession:
    assert [each["current"] for each in await sessions_of(client, phone)].count(True) == 1


async def test_revoking_a_session_ends_it_at_once_and_is_audited(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    phone = await anna(client, "Lost phone")
    laptop = await anna(client, "Laptop browser")
    lost = next(s for s in await sessions_of(client, laptop) if s["userAgent"] == "Lost phone")
    answer = await revoke(client, laptop, lost["id"])
    revoked = {"id": lost["id"], "current": False}
    assert answer == {"__typename": "SessionRevoked", "session": revoked}
    assert await status(client, phone) == 401
    assert await status(client, laptop) == 200
    assert [s["userAgent"] for s in await sessions_of(client, laptop)] == ["Laptop browser"]
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "session.revoke")
    )
    assert event is not None
    assert event.actor_id == ACTORS["customer"].subject_id
    assert event.entity_type == "auth_session"
    assert event.entity_id is not None
    assert global_id("LoginSession", event.entity_id) == lost["id"]
    # Once ended, the same ID is unknown.
    again = await revoke(client, laptop, lost["id"])
    assert again["code"] == "NOT_FOUND"


async def test_revoking_the_current_session_is_a_logout(client: httpx.AsyncClient) -> None:
    token = await anna(client)
    current = next(s for s in await sessions_of(client, token) if s["current"])
    assert (await revoke(client, token, current["id"]))["session"]["current"] is True
    assert await status(client, token) == 401


async def test_nobody_else_can_end_or_learn_of_annas_session(client: httpx.AsyncClient) -> None:
    annas = await anna(client, "Anna browser")
    target = (await sessions_of(client, annas))[0]["id"]
    unknown = await revoke(client, annas, global_id("LoginSession", uuid.uuid4()))
    assert unknown["code"] == "NOT_FOUND"
    assert unknown["field"] == "sessionId"
    jonas = await logged_in(client, JONAS, portal_gid(CUSTOMERS))
    lena = await logged_in(client, LENA, NACHBARSTADT)
    admin = await login(client, "admin@musterstadt.example", "Demo-Admin-1")
    other_admin = await login(client, "admin@nachbarstadt.example", "Demo-Admin-2")
    for attacker in (jonas, lena, admin["accessToken"], other_admin["accessToken"]):
        # The same answer as for an ID nobody has: nothing says the session exists.
        assert await revoke(client, attacker, target) == unknown
        listed = await sessions_of(client, attacker)
        assert target not in [each["id"] for each in listed]
    assert await status(client, annas) == 200
    # Another type's ID (her portal user) is no session either.
    portal_user = global_id("PortalUser", ACTORS["customer"].subject_id)  # type: ignore[arg-type]
    assert (await revoke(client, annas, portal_user))["code"] == "NOT_FOUND"


async def test_an_impersonation_neither_lists_nor_ends_sessions(
    client: httpx.AsyncClient, agent: str
) -> None:
    annas = await anna(client, "Anna browser")
    target = (await sessions_of(client, annas))[0]["id"]
    token = (await impersonate(client, agent))["accessToken"]
    listed = await sessions_of(client, token)
    assert [each["userAgent"] for each in listed if each["current"]] == []
    body = (await post(client, REVOKE, token, id=target)).json()
    assert body["data"]["revokeSession"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await status(client, annas) == 200


async def test_anonymous_callers_have_no_sessions(client: httpx.AsyncClient) -> None:
    body = (await post(client, SESSIONS)).json()
    assert body["data"]["viewer"]["sessions"] is None


async def test_a_session_id_is_no_node(client: httpx.AsyncClient) -> None:
    """Sessions are reached through `viewer.sessions` only: `node(id:)` knows none."""
    token = await anna(client)
    target = (await sessions_of(client, token))[0]["id"]
    body = (await post(client, "query($id: ID!) { node(id: $id) { id } }", token, id=target)).json()
    assert body == {"data": {"node": None}}
