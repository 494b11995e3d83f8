"""`auditEvents`: staff read their organization's log, filtered; nobody else reads it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.domain import audit
from tests.conftest import ACTORS, MUSTERSTADT, GraphQLClient, global_id
from tests.http_helpers import impersonate, login, portal_gid, post

EVENTS = """
query($by: ID, $about: ID, $action: Line, $since: DateTime, $until: DateTime) {
  auditEvents(actorId: $by, subjectId: $about, action: $action, since: $since,
              until: $until, first: 50) {
    totalCount
    edges { node {
      action actorType occurredAt subjectType subjectId data ipAddress
      staffUser { email } portalUser { email }
    } }
  }
}
"""
ANNA = global_id("PortalUser", ACTORS["customer"].subject_id)  # type: ignore[arg-type]
AGENT = global_id("StaffUser", ACTORS["agent"].subject_id)  # type: ignore[arg-type]


async def events(gql: GraphQLClient, caller: str = "admin", **filters: Any) -> list[dict[str, Any]]:
    data, errors = await gql(EVENTS, caller, **filters)
    assert errors == [], errors
    assert data is not None
    connection = data["auditEvents"]
    assert connection["totalCount"] == len(connection["edges"])
    return [edge["node"] for edge in connection["edges"]]


async def anna_logs_in_twice(client: httpx.AsyncClient) -> None:
    portal = portal_gid("musterstadt-kunden")
    refused = await login(client, "anna.becker@example.org", "wrong password", portal)
    assert refused["__typename"] == "LoginError"
    accepted = await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal)
    assert accepted["__typename"] == "LoggedIn"


async def test_staff_see_logins_of_a_portal_user(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await anna_logs_in_twice(client)

    seen = await events(gql, by=ANNA)
    assert sorted(e["action"] for e in seen) == ["login.failed", "login.succeeded"]
    for event in seen:
        assert event["actorType"] == "PORTAL_USER"
        assert event["portalUser"] == {"email": "anna.becker@example.org"}
        assert event["staffUser"] is None
        assert event["subjectType"] == "portal_user"
        assert event["subjectId"] == ANNA
        assert event["ipAddress"] is not None
    failed = next(e for e in seen if e["action"] == "login.failed")
    assert failed["data"] == {"failures": 1}


async def test_actions_filter_exactly_or_by_family(
    client: httpx.AsyncClient, gql: GraphQLClient
) -> None:
    await anna_logs_in_twice(client)
    assert [e["action"] for e in await events(gql, action="login.failed")] == ["login.failed"]
    assert len(await events(gql, action=" Login ")) == 2
    # A family is a whole first part: "log" is neither an action nor a family.
    assert await events(gql, action="log") == []
    assert await events(gql, action="login%") == []


async def test_impersonation_names_both_people(
    client: httpx.AsyncClient,
    gql: GraphQLClient,
    agent: str,
) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    await post(client, "{ viewer { role } }", token)

    by_agent = await events(gql, by=AGENT, action="impersonation")
    on_behalf_of_anna = await events(gql, by=ANNA, action="impersonation")
    assert by_agent == on_behalf_of_anna
    assert sorted(e["action"] for e in by_agent) == [
        "impersonation.request",
        "impersonation.started",
    ]
    for event in by_agent:
        assert event["actorType"] == "STAFF"
        assert event["staffUser"] == {"email": "agent@musterstadt.example"}
        assert event["portalUser"] == {"email": "anna.becker@example.org"}


async def test_time_window_and_subject(gql: GraphQLClient, session: AsyncSession) -> None:
    admin = ACTORS["admin"]
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    for day in (1, 2, 3):
        event = audit.record(
            session,
            organization_id=MUSTERSTADT,
            actor=admin,
            action="portal_user.note",
            origin=audit.Origin("192.0.2.1"),
            entity=anna,
            data={"day": day},
        )
        event.created_at = datetime(2026, 3, day, 12, tzinfo=UTC)
    await session.commit()

    window = await events(
        gql, action="portal_user.note", since="2026-03-02T00:00:00Z", until="2026-03-03T12:00:00Z"
    )
    assert [e["data"] for e in window] == [{"day": 2}]
    newest_first = await events(gql, about=ANNA, action="portal_user")
    assert [e["data"]["day"] for e in newest_first] == [3, 2, 1]
    # A time without a zone is UTC.
    naive = await events(gql, action="portal_user.note", since="2026-03-03T12:00:00")
    assert [e["data"] for e in naive] == [{"day": 3}]


async def test_another_organization_sees_none_of_it(
    client: httpx.AsyncClient, gql: GraphQLClient, session: AsyncSession
) -> None:
    await anna_logs_in_twice(client)
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.AuditEvent))
    assert await events(gql, "other_admin") == []
    assert await events(gql, "other_admin", by=ANNA) == []


@pytest.mark.parametrize("actor", ["customer", "installer", "anonymous"])
async def test_nobody_but_staff_reads_it(gql: GraphQLClient, actor: str) -> None:
    data, errors = await gql(EVENTS, actor)
    assert data == {"auditEvents": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]


async def test_an_impersonating_agent_can_not_read_it_as_the_customer(
    gql: GraphQLClient,
) -> None:
    as_customer = replace(ACTORS["customer"], impersonator_id=ACTORS["agent"].subject_id)
    data, errors = await gql(EVENTS, as_customer)
    assert data == {"auditEvents": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("argument", "value"),
    [("by", global_id("Portal", MUSTERSTADT)), ("about", relay.to_base64("Contact", "not-a-uuid"))],
)
async def test_a_malformed_id_is_a_clear_error(
    gql: GraphQLClient, argument: str, value: str
) -> None:
    _, errors = await gql(EVENTS, "admin", **{argument: value})
    assert [(e.extensions or {}).get("code") for e in errors] == ["BAD_USER_INPUT"]
