"""Attacker tests: a customer of another contact, a staff user or customer of another
organization and an installer must get nothing of rows that are not theirs, whether
they ask by `node(id)`, by `nodes(ids)` or walk every connection of the schema.

The rows an attacker must not see are computed from the data model (foreign keys and
organizations) in tests/gql/tenancy.py, independently of `gql.domain.scope`, which is what
is under test.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.tokens import TokenService
from gql.schema.node_types import NODE_TYPES_BY_NAME
from gql.settings import Settings
from tests.conftest import ACTORS, MUSTERSTADT, GraphQLClient, global_id
from tests.gql.tenancy import (
    Rows,
    collect_ids,
    row_ids,
    rows_hidden_from_installer,
    rows_of_contact,
    rows_of_organization,
    unlimited_schema,
    walk_queries,
)


def _count(rows: Rows) -> int:
    return sum(len(ids) for ids in rows.values())


# --- Asking: node, nodes and a walk over every connection (tests/gql/tenancy.py) ---------------


class Attacker:
    """Runs operations as one actor on the unlimited schema."""

    def __init__(
        self, session: AsyncSession, settings: Settings, tokens: TokenService, actor: str
    ) -> None:
        self.schema = unlimited_schema(settings)
        self.client = GraphQLClient(session, settings, tokens, self.schema)
        self.actor = actor

    async def run(self, query: str, **variables: Any) -> dict[str, Any]:
        data, errors = await self.client(query, self.actor, **variables)
        codes = {(e.extensions or {}).get("code") for e in errors}
        assert codes <= {"FORBIDDEN"}, [
            e for e in errors if (e.extensions or {}).get("code") != "FORBIDDEN"
        ]
        assert data is not None
        return data

    async def seen(self) -> Rows:
        """Every row id reachable through the schema's connections and relations."""
        seen: Rows = {}
        for query in walk_queries(self.schema._schema):
            for name, ids in collect_ids(await self.run(query)).items():
                seen.setdefault(name, set()).update(ids)
        return seen

    async def by_node(self, rows: Rows) -> list[str]:
        """Global IDs of `rows` that `node` or `nodes` still answers."""
        leaked = []
        ids = [global_id(name, row_id) for name, row_ids in rows.items() for row_id in row_ids]
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            data = await self.run("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=chunk)
            leaked += [i for i, node in zip(chunk, data["nodes"], strict=True) if node]
        for one in ids:
            data = await self.run("query($id: ID!) { node(id: $id) { id } }", id=one)
            if data["node"] is not None:
                leaked.append(one)
        return leaked


@pytest.fixture
def attacker(session: AsyncSession, test_settings: Settings, tokens: TokenService) -> Any:
    return lambda actor: Attacker(session, test_settings, tokens, actor)


def _overlap(seen: Rows, forbidden: Rows) -> dict[str, set[uuid.UUID]]:
    return {
        name: seen.get(name, set()) & ids
        for name, ids in forbidden.items()
        if seen.get(name, set()) & ids
    }


# --- The attacks ----------------------------------------------------------------------------


async def test_the_walk_reaches_every_node_type(attacker: Any) -> None:
    """An admin's walk finds rows of every node type, so the walk can find leaks."""
    seen = await attacker("admin").seen()
    assert {name for name, ids in seen.items() if ids} == set(NODE_TYPES_BY_NAME)


async def test_a_customer_sees_nothing_of_another_contact(
    session: AsyncSession, attacker: Any
) -> None:
    anna = await rows_of_contact(session, ACTORS["customer"].contact_id)  # type: ignore[arg-type]
    jonas = await rows_of_contact(session, ACTORS["other_customer"].contact_id)  # type: ignore[arg-type]
    assert all(anna[name] for name in anna), "Anna's demo data must cover every type"

    jonas_view = attacker("other_customer")
    seen = await jonas_view.seen()
    assert _overlap(seen, anna) == {}
    assert await jonas_view.by_node(anna) == []
    # The walk is not empty: Jonas sees his own world.
    for name in ("Contact", "Contract", "Meter", "MeterReading", "PortalUser"):
        assert seen.get(name, set()) & jonas[name], name


async def test_another_organization_sees_nothing_of_musterstadt(
    session: AsyncSession, attacker: Any
) -> None:
    musterstadt = await rows_of_organization(session, MUSTERSTADT)
    assert _count(musterstadt) > 500
    for actor in ("other_admin", "other_org_customer"):
        view = attacker(actor)
        seen = await view.seen()
        assert _overlap(seen, musterstadt) == {}, actor
        assert seen.get("Contact"), f"{actor} walks its own organization"
        assert await view.by_node(musterstadt) == [], actor


async def test_an_installer_sees_only_the_partners_orders_and_their_meters(
    session: AsyncSession, attacker: Any
) -> None:
    partner = ACTORS["installer"].contact_id
    orders = await row_ids(
        session, sa.select(models.Order.id).where(models.Order.partner_contact_id == partner)
    )
    order_meters = await row_ids(
        session,
        sa.select(models.Order.meter_id).where(
            models.Order.partner_contact_id == partner, models.Order.meter_id.is_not(None)
        ),
    )
    assert len(orders) >= 2
    assert len(order_meters) >= 2
    forbidden = await rows_hidden_from_installer(session)

    view = attacker("installer")
    seen = await view.seen()
    assert _overlap(seen, forbidden) == {}
    assert seen["Order"] == orders
    assert seen["Meter"] == order_meters
    assert await view.by_node(forbidden) == []


@pytest.mark.parametrize("actor", ["customer", "installer", "other_admin", "anonymous"])
async def test_staff_users_are_visible_to_their_own_staff_only(
    session: AsyncSession, attacker: Any, actor: str
) -> None:
    staff = await row_ids(
        session,
        sa.select(models.StaffUser.id).where(models.StaffUser.organization_id == MUSTERSTADT),
    )
    assert staff
    assert await attacker(actor).by_node({"StaffUser": staff}) == []


async def test_anonymous_callers_see_portals_and_nothing_else(
    session: AsyncSession, attacker: Any
) -> None:
    musterstadt = await rows_of_organization(session, MUSTERSTADT)
    private = {name: ids for name, ids in musterstadt.items() if name != "Portal"}
    assert await attacker("anonymous").by_node(private) == []
