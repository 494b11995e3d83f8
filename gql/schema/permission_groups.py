"""Permission groups of a portal (what their members may read and do), and the group a
portal user belongs to."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.actor import Role
from gql.auth.permissions import STAFF, GrantEnum, allow, public
from gql.context import Info
from gql.domain import permission_groups
from gql.schema import enums
from gql.schema.portal import PermissionGroup
from gql.schema.portal_user import PortalUser, PortalUserPayload, PortalUserResult
from gql.schema.results import INPUT, MutationError, attempt, origin, row_id
from gql.schema.scalars import Line


@strawberry.input(description="Which rows members see; leave a list out (null) to show all.")
class PermissionGroupVisibilityInput:
    contract_statuses: list[enums.ContractStatus] | None = strawberry.field(
        default=None, description="Only contracts in these states."
    )
    document_types: list[enums.DocumentType] | None = strawberry.field(
        default=None, description="Only documents of these types."
    )

    def criteria(self) -> permission_groups.VisibilityCriteria:
        statuses, types = self.contract_statuses, self.document_types
        return permission_groups.VisibilityCriteria(
            contract_statuses=None if statuses is None else frozenset(statuses),
            document_types=None if types is None else frozenset(types),
        )


@strawberry.input(description="A new permission group of a portal.")
class CreatePermissionGroupInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    name: Line = strawberry.field(description="Unique within the portal, e.g. 'Nur lesen'.")
    grants: list[GrantEnum] = strawberry.field(description="What members may read and do.")
    visibility: PermissionGroupVisibilityInput | None = strawberry.field(
        default=None, description="Visibility criteria; none shows everything of the contact."
    )
    is_default: bool = strawberry.field(
        default=False, description="Make it the group new portal users join."
    )


@strawberry.input(description="Changes to a permission group; what is left out stays.")
class UpdatePermissionGroupInput:
    id: relay.GlobalID = strawberry.field(description="The group.")
    name: Line | None = strawberry.field(default=None, description="New name.")
    grants: list[GrantEnum] | None = strawberry.field(
        default=None, description="The complete new list of grants."
    )
    visibility: PermissionGroupVisibilityInput | None = strawberry.field(
        default=None, description="The complete new criteria ({} shows everything)."
    )
    is_default: bool | None = strawberry.field(
        default=None,
        description="true makes it the default; the default can not be unset, only replaced.",
    )


@strawberry.input(description="A permission group to delete; its members join the default.")
class DeletePermissionGroupInput:
    id: relay.GlobalID = strawberry.field(description="The group; not the default group.")


@strawberry.input(description="Put a portal user into a group of its portal.")
class SetPortalUserPermissionGroupInput:
    portal_user_id: relay.GlobalID = strawberry.field(description="The portal user.")
    permission_group_id: relay.GlobalID = strawberry.field(description="The group.")


@strawberry.type(description="The permission group as saved.")
class PermissionGroupPayload:
    permission_group: PermissionGroup = public("The group.")


@strawberry.type(description="A deleted permission group.")
class DeletePermissionGroupPayload:
    deleted_id: relay.GlobalID = public("ID of the deleted group.")
    moved_portal_users: int = public("Members moved to the portal's default group.")


PermissionGroupResult = Annotated[
    PermissionGroupPayload | MutationError,
    strawberry.union(
        "PermissionGroupResult",
        description="Answer of `createPermissionGroup` and `updatePermissionGroup`:"
        " PermissionGroupPayload, or MutationError (e.g. CONFLICT for a name in use,"
        " or a grant the portal type does not offer).",
    ),
]
DeletePermissionGroupResult = Annotated[
    DeletePermissionGroupPayload | MutationError,
    strawberry.union(
        "DeletePermissionGroupResult",
        description="Answer of `deletePermissionGroup`: DeletePermissionGroupPayload, or"
        " MutationError (e.g. the portal's default group, or one that tiles are still shown to).",
    ),
]


async def create_permission_group(
    info: Info, input: Annotated[CreatePermissionGroupInput, strawberry.argument(description=INPUT)]
) -> PermissionGroupResult:
    async def work(db: AsyncSession) -> PermissionGroupPayload:
        group = await permission_groups.create(
            db,
            info.context.actor,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            name=input.name,
            grants=input.grants,
            visibility=(input.visibility or PermissionGroupVisibilityInput()).criteria(),
            is_default=input.is_default,
            origin=origin(info),
        )
        return PermissionGroupPayload(permission_group=cast(PermissionGroup, group))

    return await attempt(info, work)


async def update_permission_group(
    info: Info, input: Annotated[UpdatePermissionGroupInput, strawberry.argument(description=INPUT)]
) -> PermissionGroupResult:
    async def work(db: AsyncSession) -> PermissionGroupPayload:
        group = await permission_groups.update(
            db,
            info.context.actor,
            row_id(input.id, "PermissionGroup", "id"),
            name=input.name,
            grants=input.grants,
            visibility=None if input.visibility is None else input.visibility.criteria(),
            is_default=input.is_default,
            origin=origin(info),
        )
        return PermissionGroupPayload(permission_group=cast(PermissionGroup, group))

    return await attempt(info, work)


async def delete_permission_group(
    info: Info, input: Annotated[DeletePermissionGroupInput, strawberry.argument(description=INPUT)]
) -> DeletePermissionGroupResult:
    async def work(db: AsyncSession) -> DeletePermissionGroupPayload:
        moved = await permission_groups.delete(
            db, info.context.actor, row_id(input.id, "PermissionGroup", "id"), origin=origin(info)
        )
        return DeletePermissionGroupPayload(deleted_id=input.id, moved_portal_users=moved)

    return await attempt(info, work)


async def set_portal_user_permission_group(
    info: Info,
    input: Annotated[SetPortalUserPermissionGroupInput, strawberry.argument(description=INPUT)],
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user: models.PortalUser = await permission_groups.assign(
            db,
            info.context.actor,
            portal_user_id=row_id(input.portal_user_id, "PortalUser", "portalUserId"),
            group_id=row_id(input.permission_group_id, "PermissionGroup", "permissionGroupId"),
            origin=origin(info),
        )
        return PortalUserPayload(portal_user=cast(PortalUser, user), revoked_sessions=0)

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """Permission groups: fields of the root `Mutation` (merged in root.py)."""

    create_permission_group: PermissionGroupResult | None = allow(
        Role.ADMIN,
        description="Add a permission group to a portal (ADMIN).",
        resolver=create_permission_group,
    )
    update_permission_group: PermissionGroupResult | None = allow(
        Role.ADMIN,
        description="Change a permission group's name, grants, criteria or default (ADMIN).",
        resolver=update_permission_group,
    )
    delete_permission_group: DeletePermissionGroupResult | None = allow(
        Role.ADMIN,
        description="Delete a permission group; its members join the default group (ADMIN).",
        resolver=delete_permission_group,
    )
    set_portal_user_permission_group: PortalUserResult | None = allow(
        STAFF,
        description="Put a portal user into a group of its portal (Kontaktgruppe festlegen).",
        resolver=set_portal_user_permission_group,
    )
