"""The row types reachable as `Node`s, by GraphQL name and by table."""

from __future__ import annotations

from gql.schema import change_requests, crm, portal, portal_user
from gql.schema.node import RowNode

NODE_TYPES: list[type[RowNode]] = [
    crm.Contact,
    crm.Contract,
    crm.Meter,
    crm.MeterRegister,
    crm.MeterReading,
    crm.Order,
    crm.Opportunity,
    crm.Document,
    crm.Payment,
    portal.Portal,
    portal.Tile,
    portal.PermissionGroup,
    portal_user.PortalUser,
    portal_user.StaffUser,
    change_requests.ChangeRequest,
]
NODE_TYPES_BY_NAME = {node_type.__name__: node_type for node_type in NODE_TYPES}
NODE_TYPE_OF_TABLE = {
    node_type.__model__.__tablename__: name for name, node_type in NODE_TYPES_BY_NAME.items()
}
