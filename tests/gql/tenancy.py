"""What a caller must not see, computed from the data model (foreign keys and
organizations), independently of `gql.domain.scope`, which is what is under test; and
walks over the schema that ask for every row. Shared by the attacker tests
(test_isolation) and the authorization sweep."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
import strawberry
from graphql import GraphQLObjectType, get_named_type, is_non_null_type, is_object_type
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.schema import build_schema
from gql.schema.node_types import NODE_TYPES_BY_NAME
from gql.settings import Settings
from tests.conftest import ACTORS, MUSTERSTADT

MODEL_OF = {name: node_type.__model__ for name, node_type in NODE_TYPES_BY_NAME.items()}


Rows = dict[str, set[uuid.UUID]]  # node type name -> row ids


async def row_ids(session: AsyncSession, statement: sa.Select[Any]) -> set[uuid.UUID]:
    return set((await session.scalars(statement)).all())


async def rows_of_contact(session: AsyncSession, contact_id: uuid.UUID) -> Rows:
    """Everything that hangs off one customer contact."""
    m = models
    contracts = sa.select(m.Contract.id).where(m.Contract.contact_id == contact_id)
    meters = sa.select(m.Meter.id).where(m.Meter.contract_id.in_(contracts))
    processes = sa.select(m.Process.id).where(m.Process.contact_id == contact_id)
    return {
        "Contact": {contact_id},
        "Contract": await row_ids(session, contracts),
        "Meter": await row_ids(session, meters),
        "MeterRegister": await row_ids(
            session, sa.select(m.MeterRegister.id).where(m.MeterRegister.meter_id.in_(meters))
        ),
        "MeterReading": await row_ids(
            session, sa.select(m.MeterReading.id).where(m.MeterReading.meter_id.in_(meters))
        ),
        "Order": await row_ids(
            session, sa.select(m.Order.id).where(m.Order.contact_id == contact_id)
        ),
        "Opportunity": await row_ids(
            session, sa.select(m.Opportunity.id).where(m.Opportunity.contact_id == contact_id)
        ),
        "Document": await row_ids(
            session, sa.select(m.Document.id).where(m.Document.contact_id == contact_id)
        ),
        "Payment": await row_ids(
            session, sa.select(m.Payment.id).where(m.Payment.contract_id.in_(contracts))
        ),
        "ContractPrice": await row_ids(
            session,
            sa.select(m.ContractPrice.id).where(m.ContractPrice.contract_id.in_(contracts)),
        ),
        "PortalUser": await row_ids(
            session, sa.select(m.PortalUser.id).where(m.PortalUser.contact_id == contact_id)
        ),
        "Process": await row_ids(session, processes),
        "ProcessStep": await row_ids(
            session, sa.select(m.ProcessStep.id).where(m.ProcessStep.process_id.in_(processes))
        ),
    }


async def rows_of_organization(session: AsyncSession, organization_id: uuid.UUID) -> Rows:
    return {
        name: await row_ids(
            session, sa.select(model.id).where(model.organization_id == organization_id)
        )
        for name, model in MODEL_OF.items()
    }


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


async def rows_hidden_from_installer(session: AsyncSession) -> Rows:
    """What the installer must not see: contracts,
    opportunities, documents, payments and staff of its organization, orders not assigned
    to its partner, meters other than those of its orders (with their registers and
    readings), portal users but its own company's, and processes (its portal shares none)."""
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
        # The demo installer is its partner's admin (partner_users:manage): it sees the
        # logins of its own company on its portal, no other.
        "PortalUser": musterstadt["PortalUser"] - await partner_logins(session),
        # The installer portal shares no kind of process.
        "Process": musterstadt["Process"],
        "ProcessStep": musterstadt["ProcessStep"],
    }


async def partner_logins(session: AsyncSession) -> set[uuid.UUID]:
    installer = ACTORS["installer"]
    user = models.PortalUser
    return set(
        await session.scalars(
            sa.select(user.id).where(
                user.portal_id == installer.portal_id, user.contact_id == installer.contact_id
            )
        )
    )
