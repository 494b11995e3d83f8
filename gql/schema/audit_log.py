"""The audit log as staff read it: `auditEvents`, newest first, filterable."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from strawberry import relay

from db import models
from gql.auth.permissions import STAFF, allow
from gql.context import Info
from gql.resolvers.common import load_one, query_page
from gql.schema import enums
from gql.schema.node import node_uuid, row_of
from gql.schema.node_types import NODE_TYPE_OF_TABLE
from gql.schema.pagination import Connection
from gql.schema.portal_user import PortalUser
from gql.schema.results import aware
from gql.schema.scalars import JSON, Cursor, Line
from gql.schema.staff import StaffUser


@strawberry.type(description="Who did what, when and from where.")
class AuditEvent:
    action: str | None = allow(STAFF, description="What happened, e.g. login.failed.")
    actor_type: enums.ActorType | None = allow(STAFF, description="Who acted.")
    data: JSON | None = allow(STAFF, description="Details of the event.")
    ip_address: str | None = allow(STAFF, description="Client address.")
    user_agent: str | None = allow(STAFF, description="Client user agent.")

    @allow(STAFF, description="Identifier of the event.")
    def id(self) -> strawberry.ID | None:
        return strawberry.ID(str(row_of(self).id))

    @allow(STAFF, description="When it happened.")
    def occurred_at(self) -> datetime | None:
        return cast(datetime, row_of(self).created_at)

    @allow(STAFF, description="The staff member who acted, also when impersonating.")
    async def staff_user(self, info: Info) -> StaffUser | None:
        row = row_of(self)
        if row.actor_type is not models.ActorType.STAFF:
            return None
        return cast(StaffUser | None, await load_one(info, models.StaffUser, row.actor_id))

    @allow(STAFF, description="The portal user who acted, or on whose behalf staff acted.")
    async def portal_user(self, info: Info) -> PortalUser | None:
        row = row_of(self)
        user_id = row.on_behalf_of_id
        if row.actor_type is models.ActorType.PORTAL_USER:
            user_id = row.actor_id
        return cast(PortalUser | None, await load_one(info, models.PortalUser, user_id))

    @allow(STAFF, description="Kind of object the event concerns, e.g. portal_user.")
    def subject_type(self) -> str | None:
        return cast(str | None, row_of(self).entity_type)

    @allow(STAFF, description="Global ID of the object the event concerns, if any.")
    def subject_id(self) -> relay.GlobalID | None:
        row = row_of(self)
        type_name = NODE_TYPE_OF_TABLE.get(row.entity_type or "")
        if type_name is None or row.entity_id is None:
            return None
        return relay.GlobalID(type_name, str(row.entity_id))


def _uuid_of(global_id: relay.GlobalID, argument: str, *type_names: str) -> Any:
    parsed = node_uuid(global_id, *type_names)
    if parsed is None:
        expected = " or ".join(type_names) or "object"
        raise GraphQLError(
            f"'{argument}' must be the ID of a {expected}.", extensions={"code": "BAD_USER_INPUT"}
        )
    return parsed


async def audit_events(
    info: Info,
    first: Annotated[int | None, strawberry.argument(description="Page size.")] = None,
    after: Annotated[Cursor | None, strawberry.argument(description="Cursor.")] = None,
    actor_id: Annotated[
        relay.GlobalID | None,
        strawberry.argument(
            description="A StaffUser or PortalUser: what they did, or staff did on their behalf."
        ),
    ] = None,
    subject_id: Annotated[
        relay.GlobalID | None,
        strawberry.argument(description="Any object: events that concern it."),
    ] = None,
    action: Annotated[
        Line | None,
        strawberry.argument(description="An action (login.failed) or a family of actions (login)."),
    ] = None,
    since: Annotated[
        datetime | None, strawberry.argument(description="At or after this time.")
    ] = None,
    until: Annotated[datetime | None, strawberry.argument(description="Before this time.")] = None,
) -> Connection[AuditEvent] | None:
    event = models.AuditEvent
    where: list[Any] = []
    if actor_id is not None:
        person = _uuid_of(actor_id, "actorId", "StaffUser", "PortalUser")
        where.append(sa.or_(event.actor_id == person, event.on_behalf_of_id == person))
    if subject_id is not None:
        where.append(event.entity_id == _uuid_of(subject_id, "subjectId"))
    if action is not None and action.strip():
        name = action.strip().lower()
        family = event.action.startswith(name + ".", autoescape=True)
        where.append(sa.or_(event.action == name, family))
    if since is not None:
        where.append(event.created_at >= aware(since))
    if until is not None:
        where.append(event.created_at < aware(until))
    return await query_page(
        info,
        event,
        first,
        after,
        where=tuple(where),
        order_by=(event.created_at.desc(),),
    )


@strawberry.type
class Query:
    """Audit log: fields of the root `Query` (merged in root.py)."""

    audit_events: Connection[AuditEvent] | None = allow(
        STAFF,
        description="The organization's audit log, newest first (staff only).",
        resolver=audit_events,
    )
