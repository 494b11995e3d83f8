"""Attacker tests: a customer of another contact, a staff user or customer of another
organization and an installer must get nothing of rows that are not theirs, whether
they ask by `node(id)`, by `nodes(ids)` or walk every connection of the schema.

The rows an attacker must not see are computed here from the data model (foreign keys
and organizations), independently of `gql.domain.scope`, which is what is under test.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
import strawberry
from graphql import GraphQLObjectType, get_named_type, is_non_null_type, is_object_type
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.tokens import TokenService
from gql.schema import build_schema
from gql.schema.node_types import NODE_TYPES_BY_NAME
from gql.settings import Settings
from tests.conftest import ACTORS, MUSTERSTADT, GraphQLClient, global_id

MODEL_OF = {name: node_type.__model__ for name, node_type in NODE_TYPES_BY_NAME.items()}
Rows = dict[str, set[uuid.UUID]]  # node type name -> row ids


# --- Ground truth from the data model -----------------------------------------------------


async def _ids(session: AsyncSession, statement: sa.Select[Any]) -> set[uuid.UUID]:
    return set((await session.scalars(statement)).all())


async def rows_of_contact(session: AsyncSession, contact_id: uuid.UUID) -> Rows:
    """Everything that hangs off one customer contact."""
    m = models
    contracts = sa.select(m.Contract.id).where(m.Contract.contact_id == contact_id)
    meters = sa.select(m.Meter.id).where(m.Meter.contract_id.in_(contracts))
    return {
        "Contact": {contact_id},
        "Contract": await _ids(session, contracts),
        "Meter": await _ids(session, meters),
        "MeterRegister": await _ids(
            session, sa.select(m.MeterRegister.id).where(m.MeterRegister.meter_id.in_(meters))
        ),
        "MeterReading": await _ids(
            session, sa.select(m.MeterReading.id).where(m.MeterReading.meter_id.in_(meters))
        ),
        "Order": await _ids(session, sa.select(m.Order.id).where(m.Order.contact_id == contact_id)),
        "Opportunity": await _ids(
            session, sa.select(m.Opportunity.id).where(m.Opportunity.contact_id == contact_id)
        ),
        "Document": await _ids(
            session, sa.select(m.Document.id).where(m.Document.contact_id == contact_id)
        ),
        "Payment": await _ids(
            session, sa.select(m.Payment.id).where(m.Payment.contract_id.in_(contracts))
        ),
        "PortalUser": await _ids(
            session, sa.select(m.PortalUser.id).where(m.PortalUser.contact_id == contact_id)
        ),
    }


async def rows_of_organization(session: AsyncSession, organization_id: uuid.UUID) -> Rows:
    return {
        name: await _ids(
            session, sa.select(model.id).where(model.organization_id == organization_id)
        )
        for name, model in MODEL_OF.items()
    }


def _count(rows: Rows) -> int:
    return sum(len(ids) for ids in rows.values())


# --- Asking: node, nodes and a walk over every connection -----------------------------------


def _connection_node(graphql_type: GraphQLObjectType) -> GraphQLObjectType | None:
    if not graphql_type.name.endswith("Connection") or "edges" not in graphql_type.fields:
        return None
    edge = get_named_type(graphql_type.fields["edges"].type)
    assert isinstance(edge, GraphQLObjectType)
    node = get_named_type(edge.fields["node"].type)
    assert isinstance(node, GraphQLObjectType)
    return node


def walk_selection(graphql_type: GraphQLObjectType, budget: int, path: frozenset[str]) -> str:
    """A selection of `id` and of every relation (object, list or connection) that leads
    to a node type not yet on the path, `budget` selection levels deep."""
    parts = ["id"] if "id" in graphql_type.fields else ["__typename"]
    for name, field in sorted(graphql_type.fields.items()):
        if any(is_non_null_type(arg.type) for arg in field.args.values()):
            continue  # needs an argument we can not invent
        named = get_named_type(field.type)
        if not is_object_type(named):
            continue
        assert isinstance(named, GraphQLObjectType)
        node = _connection_node(named)
        if node is not None:
            cost, target = 3, node
        elif named.name in NODE_TYPES_BY_NAME:
            cost, target = 1, named
        else:
            continue
        if target.name in path or budget <= cost:
            continue
        inner = walk_selection(target, budget - cost, path | {target.name})
        if node is not None:
            args = "(first: 100)" if "first" in field.args else ""
            parts.append(f"{name}{args} {{ edges {{ node {{ {inner} }} }} }}")
        else:
            parts.append(f"{name} {{ {inner} }}")
    return " ".join(parts)


def walk_queries(graphql_schema: Any, budget: int = 13) -> Iterator[str]:
    """One query per root entry point that lists rows, walking everything below it."""
    query_type = graphql_schema.query_type
    for root in ("viewer", "contacts", "portals", "portalUsers", "changeRequests"):
        field = query_type.fields[root]
        named = get_named_type(field.type)
        node = _connection_node(named)
        if node is not None:
            inner = walk_selection(node, budget - 3, frozenset({node.name}))
            yield f"{{ {root}(first: 100) {{ edges {{ node {{ {inner} }} }} }} }}"
        else:
            yield f"{{ {root} {{ {walk_selection(named, budget, frozenset())} }} }}"


def collect_ids(data: Any) -> Rows:
    found: Rows = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "id" and isinstance(value, str):
                type_name, row_id = relay.from_base64(value)
                found.setdefault(type_name, set()).add(uuid.UUID(row_id))
            else:
                for name, ids in collect_ids(value).items():
                    found.setdefault(name, set()).update(ids)
    elif isinstance(data, list):
        for item in data:
            for name, ids in collect_ids(item).items():
                found.setdefault(name, set()).update(ids)
    return found


@functools.cache
def unlimited_schema(settings: Settings) -> strawberry.Schema:
    """The schema without size limits (they are not what is tested here, and the walk
    is big)."""
    return build_schema(
        replace(settings, max_query_depth=100, max_query_tokens=1_000_000, max_aliases=1000)
    )


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


async def rows_hidden_from_installer(session: AsyncSession) -> Rows:
    """What the installer must not see: contracts,
    opportunities, documents, payments and staff of its organization, orders not assigned
    to its partner, meters other than those of its orders (with their registers and
    readings), portal users but itself."""
    partner = ACTORS["installer"].contact_id
    musterstadt = await rows_of_organization(session, MUSTERSTADT)
    order = models.Order
    orders = set(
        await session.scalars(sa.select(order.id).where(order.partner_contact_id == partner))
    )
    meters = set(
        await session.scalars(
            sa.select(order.meter_id).where(
                order.partner_contact_id == partner, order.meter_id.is_not(None)
            )
        )
    )
    hidden_meters = musterstadt["Meter"] - meters
    reading, register = models.MeterReading, models.MeterRegister
    return {
        "Contract": musterstadt["Contract"],
        "Opportunity": musterstadt["Opportunity"],
        "Document": musterstadt["Document"],
        "Payment": musterstadt["Payment"],
        "StaffUser": musterstadt["StaffUser"],
        "Order": musterstadt["Order"] - orders,
        "Meter": hidden_meters,
        # What hangs off those meters (the walk does not reach them; `node` must not).
        "MeterRegister": set(
            await session.scalars(
                sa.select(register.id).where(register.meter_id.in_(hidden_meters))
            )
        ),
        "MeterReading": set(
            await session.scalars(sa.select(reading.id).where(reading.meter_id.in_(hidden_meters)))
        ),
        "PortalUser": musterstadt["PortalUser"] - {ACTORS["installer"].subject_id},
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
    orders = await _ids(
        session, sa.select(models.Order.id).where(models.Order.partner_contact_id == partner)
    )
    order_meters = await _ids(
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
    staff = await _ids(
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
