"""Which portals a caller sees, for every portal status and every kind of caller, on
every path that returns a portal (gql.domain.scope: `public_portals`, `_own_portal`).

A draft's or an offline portal's configuration is its organization's: only its staff
see it. Anybody sees active portals; a portal user sees no portal but its own.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor, Role
from tests.conftest import (
    ACTORS,
    CUSTOMER_PORTAL,
    MUSTERSTADT,
    GraphQLClient,
    global_id,
    portal_user_id,
)

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
SHOWN = "name status configuration { languages twoFactor design { primaryColor } }"

# Every kind of caller, by whether it sees the portal when ACTIVE and when not.
CALLERS: dict[str, tuple[Actor, bool, bool]] = {
    "admin of its organization": (ACTORS["admin"], True, True),
    "agent of its organization": (ACTORS["agent"], True, True),
    "admin of another organization": (ACTORS["other_admin"], False, False),
    "anonymous": (ACTORS["anonymous"], True, False),
    # An anonymous caller known to be on the portal (registration, activation).
    "anonymous on the portal": (
        Actor(Role.ANONYMOUS, MUSTERSTADT, portal_id=CUSTOMER_PORTAL),
        True,
        False,
    ),
    "customer of the portal": (ACTORS["customer"], True, False),
    "installer of another portal": (ACTORS["installer"], False, False),
    "customer of another organization": (ACTORS["other_org_customer"], False, False),
}

# Paths through the caller's session or login, run by the portal's own users.
OWN_USERS_ONLY = frozenset({"viewer", "portal user"})
OWN_USER = global_id("PortalUser", portal_user_id(CUSTOMER_PORTAL, "anna.becker@example.org"))

# Every path that answers a Portal: the query and where the portal is in the answer.
PATHS: dict[str, tuple[str, tuple[str | int, ...]]] = {
    "node": (f"query($id: ID!) {{ node(id: $id) {{ ... on Portal {{ {SHOWN} }} }} }}", ("node",)),
    "nodes": (
        f"query($id: ID!) {{ nodes(ids: [$id]) {{ ... on Portal {{ {SHOWN} }} }} }}",
        ("nodes", 0),
    ),
    "portal by id": (f"query($id: ID!) {{ portal(id: $id) {{ {SHOWN} }} }}", ("portal",)),
    "portal by domain": (
        f"query($domain: Line) {{ portal(domain: $domain) {{ {SHOWN} }} }}",
        ("portal",),
    ),
    "viewer": (f"{{ viewer {{ portal {{ {SHOWN} }} }} }}", ("viewer", "portal")),
    "portal user": (
        "query($user: ID!) { node(id: $user) { ... on PortalUser"
        f" {{ portal {{ {SHOWN} }} }} }} }}",
        ("node", "portal"),
    ),
}


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        if data is None or (isinstance(step, str) and step not in data):
            return None
        data = data[step]
    return data


async def _domain_with_status(session: AsyncSession, status: models.PortalStatus) -> str:
    portal = models.Portal
    await session.execute(
        sa.update(portal).where(portal.id == CUSTOMER_PORTAL).values(status=status)
    )
    domain = await session.scalar(sa.select(portal.domain).where(portal.id == CUSTOMER_PORTAL))
    assert domain is not None
    return domain


@pytest.mark.parametrize("status", list(models.PortalStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("caller", sorted(CALLERS))
async def test_only_its_staff_see_a_portal_that_is_not_active(
    gql: GraphQLClient, session: AsyncSession, caller: str, status: models.PortalStatus
) -> None:
    actor, when_active, otherwise = CALLERS[caller]
    expected = when_active if status is models.PortalStatus.ACTIVE else otherwise
    domain = await _domain_with_status(session, status)
    own_user = actor.is_portal_user and actor.portal_id == CUSTOMER_PORTAL
    seen: dict[str, bool] = {}
    for name, (query, path) in PATHS.items():
        if name in OWN_USERS_ONLY and not own_user:
            continue  # these lead to the caller's own portal, whichever it is
        data, _ = await gql(query, actor, id=PORTAL, domain=domain, user=OWN_USER)
        portal = _at(data, path)
        if portal is not None:
            assert portal["status"] == status.value
            assert portal["configuration"]["languages"]
        seen[name] = portal is not None
    assert seen == dict.fromkeys(seen, expected)


@pytest.mark.parametrize("status", list(models.PortalStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("caller", sorted(CALLERS))
async def test_public_portal_shows_active_portals_only(
    gql: GraphQLClient, session: AsyncSession, caller: str, status: models.PortalStatus
) -> None:
    domain = await _domain_with_status(session, status)
    data, errors = await gql(
        "query($domain: Line!) { publicPortal(domain: $domain) { name twoFactor } }",
        CALLERS[caller][0],
        domain=domain,
    )
    assert errors == []
    assert data is not None
    assert (data["publicPortal"] is not None) is (status is models.PortalStatus.ACTIVE)


@pytest.mark.parametrize("status", list(models.PortalStatus), ids=lambda s: s.value)
async def test_anonymous_http_callers_see_active_portals_only(
    client: httpx.AsyncClient, session: AsyncSession, status: models.PortalStatus
) -> None:
    domain = await _domain_with_status(session, status)
    for name, (query, path) in PATHS.items():
        if name in OWN_USERS_ONLY:
            continue
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": {"id": PORTAL, "domain": domain}},
        )
        assert response.status_code == 200, response.text
        shown = _at(response.json()["data"], path)
        assert (shown is not None) is (status is models.PortalStatus.ACTIVE), (name, shown)
