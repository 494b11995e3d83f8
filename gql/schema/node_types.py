"""The row types reachable as `Node`s, by GraphQL name and by table; `node` and `nodes`."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import relay

from gql.auth.permissions import public
from gql.context import Info
from gql.schema import change_requests, crm, portal, portal_user, processes, sso, staff
from gql.schema.node import RowNode

NODE_TYPES: list[type[RowNode]] = [
    crm.Contact,
    crm.Contract,
    crm.ContractPrice,
    crm.Meter,
    crm.MeterRegister,
    crm.MeterReading,
    crm.Order,
    crm.OrderLineItem,
    crm.Opportunity,
    crm.Document,
    crm.Payment,
    portal.Portal,
    portal.Tile,
    portal.PermissionGroup,
    portal_user.PortalUser,
    staff.StaffUser,
    change_requests.ChangeRequest,
    processes.Process,
    processes.ProcessStep,
    sso.IdentityProvider,
]
NODE_TYPES_BY_NAME = {node_type.__name__: node_type for node_type in NODE_TYPES}
NODE_TYPE_OF_TABLE = {
    node_type.__model__.__tablename__: name for name, node_type in NODE_TYPES_BY_NAME.items()
}


async def resolve_nodes(info: Info, ids: list[relay.GlobalID]) -> list[Any]:
    """Rows for global IDs, grouped per type and loaded through the scoped loaders."""
    results: list[Any] = [None] * len(ids)
    by_type: dict[type[Any], list[int]] = {}
    for index, global_id in enumerate(ids):
        node_type = NODE_TYPES_BY_NAME.get(global_id.type_name)
        if node_type is not None:
            by_type.setdefault(node_type, []).append(index)
    for node_type, indexes in by_type.items():
        rows = await node_type.resolve_nodes(info=info, node_ids=[ids[i].node_id for i in indexes])
        for index, row in zip(indexes, rows, strict=True):
            results[index] = row
    return results


@strawberry.type
class Query:
    """Nodes: fields of the root `Query` (merged in root.py)."""

    @public("Any object by its global ID; null if not visible.")
    async def node(
        self,
        info: Info,
        id: Annotated[
            relay.GlobalID,
            strawberry.argument(description="A global ID, as any object's `id` gives it."),
        ],
    ) -> relay.Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @public("Objects by global IDs (at most 100), null where not visible.")
    async def nodes(
        self,
        info: Info,
        ids: Annotated[
            list[relay.GlobalID],
            strawberry.argument(description="Global IDs; the answer keeps their order."),
        ],
    ) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise GraphQLError(
                f"At most {info.context.settings.max_page_size} ids.",
                extensions={"code": "BAD_USER_INPUT"},
            )
        return await resolve_nodes(info, ids)
