"""Staff mutations for access: permission groups, the group of a portal user, staff
management; and changing one's own password."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.permissions import GrantEnum, public
from gql.context import Info
from gql.domain import (
    account,
    authentication,
    domains,
    permission_groups,
    portals,
    publishing,
    staff,
    tiles,
)
from gql.schema import enums
from gql.schema.node import node_uuid
from gql.schema.portal import PermissionGroup, Portal, Tile
from gql.schema.portal_user import PortalUser, StaffUser
from gql.schema.results import ErrorCode, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import JSON, EmailAddress, Line


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


@strawberry.type(description="The portal user as saved.")
class PortalUserPayload:
    portal_user: PortalUser = public("The portal user.")
    revoked_sessions: int = public("Sessions ended by the change (deactivation, new password).")


PermissionGroupResult = Annotated[
    PermissionGroupPayload | MutationError, strawberry.union("PermissionGroupResult")
]
DeletePermissionGroupResult = Annotated[
    DeletePermissionGroupPayload | MutationError, strawberry.union("DeletePermissionGroupResult")
]
PortalUserResult = Annotated[
    PortalUserPayload | MutationError, strawberry.union("PortalUserResult")
]


async def create_permission_group(
    info: Info, input: CreatePermissionGroupInput
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
    info: Info, input: UpdatePermissionGroupInput
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
    info: Info, input: DeletePermissionGroupInput
) -> DeletePermissionGroupResult:
    async def work(db: AsyncSession) -> DeletePermissionGroupPayload:
        moved = await permission_groups.delete(
            db, info.context.actor, row_id(input.id, "PermissionGroup", "id"), origin=origin(info)
        )
        return DeletePermissionGroupPayload(deleted_id=input.id, moved_portal_users=moved)

    return await attempt(info, work)


async def set_portal_user_permission_group(
    info: Info, input: SetPortalUserPermissionGroupInput
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


# --- Staff management ---------------------------------------------------------------------


def _staff_config(info: Info) -> staff.StaffConfig:
    return staff.StaffConfig.from_settings(info.context.settings)


@strawberry.input(description="Invite a colleague; they set their password from the email.")
class InviteStaffUserInput:
    email: EmailAddress = strawberry.field(description="Work email; unique across organizations.")
    name: Line = strawberry.field(description="Full name.")
    role: enums.StaffRole = strawberry.field(description="ADMIN or AGENT.")
    language: Line = strawberry.field(default="de", description="Language of the email.")


@strawberry.input(description="Changes to a staff user; what is left out stays.")
class UpdateStaffUserInput:
    id: relay.GlobalID = strawberry.field(description="The staff user.")
    name: Line | None = strawberry.field(default=None, description="Full name.")
    role: enums.StaffRole | None = strawberry.field(
        default=None, description="New role; ends the person's sessions."
    )


@strawberry.input(description="A staff user of the own organization.")
class StaffUserIdInput:
    id: relay.GlobalID = strawberry.field(description="The staff user.")


@strawberry.input(description="The token from the invitation email and a new password.")
class AcceptStaffInvitationInput:
    token: Line = strawberry.field(description="From the invitation link.")
    password: Line = strawberry.field(description="At least 10 characters, not a common one.")


@strawberry.input(description="The current password and a new one.")
class ChangePasswordInput:
    current_password: Line = strawberry.field(description="The password now.")
    new_password: Line = strawberry.field(description="At least 10 characters, not a common one.")


@strawberry.type(description="The staff user as saved.")
class StaffUserPayload:
    staff_user: StaffUser = public("The staff user.")
    revoked_sessions: int = public("Sessions ended by the change (role change, disabling).")


@strawberry.type(description="The invitation is accepted; log in with the new password.")
class StaffInvitationAccepted:
    email: str = public("The login email.")


@strawberry.type(description="The password is changed; other sessions were ended.")
class PasswordChanged:
    revoked_sessions: int = public("How many other sessions were ended.")


StaffUserResult = Annotated[StaffUserPayload | MutationError, strawberry.union("StaffUserResult")]
AcceptStaffInvitationResult = Annotated[
    StaffInvitationAccepted | MutationError, strawberry.union("AcceptStaffInvitationResult")
]
ChangePasswordResult = Annotated[
    PasswordChanged | MutationError, strawberry.union("ChangePasswordResult")
]


def _staff_payload(user: models.StaffUser, revoked: int = 0) -> StaffUserPayload:
    return StaffUserPayload(staff_user=cast(StaffUser, user), revoked_sessions=revoked)


async def invite_staff_user(info: Info, input: InviteStaffUserInput) -> StaffUserResult:
    async def work(db: AsyncSession) -> StaffUserPayload:
        user = await staff.invite(
            db,
            info.context.actor,
            _staff_config(info),
            email=input.email,
            name=input.name,
            role=input.role,
            language=input.language,
            origin=origin(info),
            now=now(),
        )
        return _staff_payload(user)

    return await attempt(info, work)


async def update_staff_user(info: Info, input: UpdateStaffUserInput) -> StaffUserResult:
    async def work(db: AsyncSession) -> StaffUserPayload:
        user, revoked = await staff.update(
            db,
            info.context.actor,
            row_id(input.id, "StaffUser", "id"),
            name=input.name,
            role=input.role,
            origin=origin(info),
            now=now(),
        )
        return _staff_payload(user, revoked)

    return await attempt(info, work)


def _set_active(active: bool) -> Any:
    async def resolve(info: Info, input: StaffUserIdInput) -> StaffUserResult:
        async def work(db: AsyncSession) -> StaffUserPayload:
            user, revoked = await staff.set_active(
                db,
                info.context.actor,
                row_id(input.id, "StaffUser", "id"),
                active=active,
                origin=origin(info),
                now=now(),
            )
            return _staff_payload(user, revoked)

        return await attempt(info, work)

    return resolve


disable_staff_user = _set_active(False)
enable_staff_user = _set_active(True)


async def accept_staff_invitation(
    info: Info, input: AcceptStaffInvitationInput
) -> AcceptStaffInvitationResult:
    async def work(db: AsyncSession) -> StaffInvitationAccepted:
        user = await staff.accept_invitation(
            db,
            _staff_config(info),
            token=input.token,
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return StaffInvitationAccepted(email=user.email)

    return await attempt(info, work)


async def change_password(info: Info, input: ChangePasswordInput) -> ChangePasswordResult:
    async def work(db: AsyncSession) -> PasswordChanged | MutationError:
        revoked = await account.change_password(
            db,
            info.context.actor,
            info.context.identity,
            current_password=input.current_password,
            new_password=input.new_password,
            origin=origin(info),
            now=now(),
        )
        if isinstance(revoked, authentication.Refused):
            # Returned, not raised: the transaction commits the counted failure.
            return MutationError(
                code=ErrorCode(revoked.code), message=revoked.message, field=revoked.field
            )
        return PasswordChanged(revoked_sessions=revoked)

    return await attempt(info, work)


@strawberry.input(description="The caller's language.")
class UpdateLanguageInput:
    language: Line = strawberry.field(description="de or en.")


@strawberry.type(description="The language is saved.")
class LanguageUpdated:
    language: str = public("The language now.")


LanguageResult = Annotated[LanguageUpdated | MutationError, strawberry.union("LanguageResult")]


async def update_language(info: Info, input: UpdateLanguageInput) -> LanguageResult:
    async def work(db: AsyncSession) -> LanguageUpdated:
        language = await account.set_language(
            db, info.context.actor, input.language, origin=origin(info)
        )
        return LanguageUpdated(language=language)

    return await attempt(info, work)


# --- Portals -------------------------------------------------------------------------------


@strawberry.input(description="A new portal; it starts as a DRAFT on a managed subdomain.")
class CreatePortalInput:
    type: enums.PortalType = strawberry.field(description="CUSTOMER or INSTALLER.")
    name: Line = strawberry.field(description="Shown to its users, e.g. 'Kundenportal'.")
    subdomain: Line = strawberry.field(
        description="Label of the managed domain: <subdomain>.<base domain>."
    )
    languages: list[Line] = strawberry.field(
        default_factory=lambda: ["de"], description="de and/or en."
    )
    default_language: Line | None = strawberry.field(
        default=None, description="One of the languages; the first when left out."
    )


@strawberry.input(description="A portal's new name.")
class UpdatePortalInput:
    id: relay.GlobalID = strawberry.field(description="The portal.")
    name: Line = strawberry.field(description="New name.")


@strawberry.input(description="A portal to delete; not while it is active.")
class DeletePortalInput:
    id: relay.GlobalID = strawberry.field(description="The portal.")


@strawberry.type(description="The portal as saved.")
class PortalPayload:
    portal: Portal = public("The portal.")


@strawberry.type(description="A deleted portal.")
class DeletePortalPayload:
    deleted_id: relay.GlobalID = public("ID of the deleted portal.")


PortalResult = Annotated[PortalPayload | MutationError, strawberry.union("PortalResult")]
DeletePortalResult = Annotated[
    DeletePortalPayload | MutationError, strawberry.union("DeletePortalResult")
]


async def create_portal(info: Info, input: CreatePortalInput) -> PortalResult:
    async def work(db: AsyncSession) -> PortalPayload:
        portal = await portals.create(
            db,
            info.context.actor,
            type=input.type,
            name=input.name,
            subdomain=input.subdomain,
            languages=input.languages,
            default_language=input.default_language,
            base_domain=info.context.settings.managed_base_domain,
            origin=origin(info),
        )
        return PortalPayload(portal=cast(Portal, portal))

    return await attempt(info, work)


async def update_portal(info: Info, input: UpdatePortalInput) -> PortalResult:
    async def work(db: AsyncSession) -> PortalPayload:
        portal = await portals.rename(
            db,
            info.context.actor,
            row_id(input.id, "Portal", "id"),
            input.name,
            origin=origin(info),
        )
        return PortalPayload(portal=cast(Portal, portal))

    return await attempt(info, work)


async def delete_portal(info: Info, input: DeletePortalInput) -> DeletePortalResult:
    async def work(db: AsyncSession) -> DeletePortalPayload:
        await portals.delete(
            db, info.context.actor, row_id(input.id, "Portal", "id"), origin=origin(info)
        )
        return DeletePortalPayload(deleted_id=input.id)

    return await attempt(info, work)


@strawberry.input(description="A portal whose draft becomes the published version.")
class PublishPortalInput:
    id: relay.GlobalID = strawberry.field(description="The portal.")


@strawberry.input(description="A published version to make the draft again.")
class RestorePortalVersionInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    version: int = strawberry.field(description="The version number.")


async def publish_portal(info: Info, input: PublishPortalInput) -> PortalResult:
    async def work(db: AsyncSession) -> PortalPayload:
        portal = await publishing.publish(
            db,
            info.context.actor,
            row_id(input.id, "Portal", "id"),
            origin=origin(info),
            now=now(),
        )
        return PortalPayload(portal=cast(Portal, portal))

    return await attempt(info, work)


async def restore_portal_version(info: Info, input: RestorePortalVersionInput) -> PortalResult:
    async def work(db: AsyncSession) -> PortalPayload:
        portal = await publishing.restore(
            db,
            info.context.actor,
            row_id(input.portal_id, "Portal", "portalId"),
            input.version,
            origin=origin(info),
        )
        return PortalPayload(portal=cast(Portal, portal))

    return await attempt(info, work)


@strawberry.input(description="A portal to activate or deactivate.")
class PortalIdInput:
    id: relay.GlobalID = strawberry.field(description="The portal.")


def _portal_active(active: bool) -> Any:
    async def resolve(info: Info, input: PortalIdInput) -> PortalResult:
        async def work(db: AsyncSession) -> PortalPayload:
            portal, _ = await portals.set_active(
                db,
                info.context.actor,
                row_id(input.id, "Portal", "id"),
                active=active,
                origin=origin(info),
                now=now(),
            )
            return PortalPayload(portal=cast(Portal, portal))

        return await attempt(info, work)

    return resolve


activate_portal = _portal_active(True)
deactivate_portal = _portal_active(False)


# --- Tiles ---------------------------------------------------------------------------------


def _group_ids(ids: list[relay.GlobalID] | None) -> list[Any] | None:
    if ids is None:
        return None
    return [node_uuid(i, "PermissionGroup") for i in ids]


@strawberry.input(description="A new tile at the end of a portal's draft home page.")
class CreateTileInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    kind: enums.TileKind = strawberry.field(description="What the tile shows.")
    content: JSON = strawberry.field(
        description="Texts per language ({de: {title, ...}, en: {...}}) and what the kind"
        " needs: ENTITY an entity (contract, opportunity, order, meter), ACTION a url or"
        " journey_id and button_label, TEASER an image_url, DOCUMENTS/PAYMENTS a limit."
    )
    visible: bool = strawberry.field(default=True, description="Shown at all.")
    permission_group_ids: list[relay.GlobalID] = strawberry.field(
        default_factory=list, description="Shown only to these groups; empty: to everyone."
    )


@strawberry.input(description="Changes to a tile; what is left out stays.")
class UpdateTileInput:
    id: relay.GlobalID = strawberry.field(description="The tile.")
    content: JSON | None = strawberry.field(default=None, description="The complete content.")
    visible: bool | None = strawberry.field(default=None, description="Shown at all.")
    permission_group_ids: list[relay.GlobalID] | None = strawberry.field(
        default=None, description="Shown only to these groups; empty: to everyone."
    )


@strawberry.input(description="A tile to delete.")
class DeleteTileInput:
    id: relay.GlobalID = strawberry.field(description="The tile.")


@strawberry.input(description="The new order of all of a portal's tiles.")
class ReorderTilesInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    tile_ids: list[relay.GlobalID] = strawberry.field(description="Every tile, once, in order.")


@strawberry.type(description="The tile as saved (in the draft).")
class TilePayload:
    tile: Tile = public("The tile.")


@strawberry.type(description="The draft's tiles in their new order.")
class TilesPayload:
    tiles: list[Tile] = public("The tiles.")


@strawberry.type(description="A deleted tile.")
class DeleteTilePayload:
    deleted_id: relay.GlobalID = public("ID of the deleted tile.")


TileResult = Annotated[TilePayload | MutationError, strawberry.union("TileResult")]
TilesResult = Annotated[TilesPayload | MutationError, strawberry.union("TilesResult")]
DeleteTileResult = Annotated[
    DeleteTilePayload | MutationError, strawberry.union("DeleteTileResult")
]


async def create_tile(info: Info, input: CreateTileInput) -> TileResult:
    async def work(db: AsyncSession) -> TilePayload:
        tile = await tiles.create(
            db,
            info.context.actor,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            kind=input.kind,
            content=input.content,
            visible=input.visible,
            group_ids=_group_ids(input.permission_group_ids) or [],
            origin=origin(info),
        )
        return TilePayload(tile=cast(Tile, tile))

    return await attempt(info, work)


async def update_tile(info: Info, input: UpdateTileInput) -> TileResult:
    async def work(db: AsyncSession) -> TilePayload:
        tile = await tiles.update(
            db,
            info.context.actor,
            row_id(input.id, "Tile", "id"),
            content=input.content,
            visible=input.visible,
            group_ids=_group_ids(input.permission_group_ids),
            origin=origin(info),
        )
        return TilePayload(tile=cast(Tile, tile))

    return await attempt(info, work)


async def delete_tile(info: Info, input: DeleteTileInput) -> DeleteTileResult:
    async def work(db: AsyncSession) -> DeleteTilePayload:
        await tiles.delete(
            db, info.context.actor, row_id(input.id, "Tile", "id"), origin=origin(info)
        )
        return DeleteTilePayload(deleted_id=input.id)

    return await attempt(info, work)


async def reorder_tiles(info: Info, input: ReorderTilesInput) -> TilesResult:
    async def work(db: AsyncSession) -> TilesPayload:
        order = await tiles.reorder(
            db,
            info.context.actor,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            tile_ids=[node_uuid(i, "Tile") for i in input.tile_ids],
            origin=origin(info),
        )
        return TilesPayload(tiles=cast(list[Tile], order))

    return await attempt(info, work)


@strawberry.input(description="Changes to a portal's draft settings.")
class UpdatePortalSettingsInput:
    id: relay.GlobalID = strawberry.field(description="The portal.")
    changes: JSON = strawberry.field(
        description="Part of the settings document as `Portal.draftSettings` shows it"
        " (camelCase): objects merge, lists and values replace. E.g. {design:"
        " {primaryColor: \\"  # 005CA9\\"}, registration: {selfRegistration: \\"DENY\\"}}."
    )


async def update_portal_settings(info: Info, input: UpdatePortalSettingsInput) -> PortalResult:
    async def work(db: AsyncSession) -> PortalPayload:
        portal = await portals.update_settings(
            db,
            info.context.actor,
            row_id(input.id, "Portal", "id"),
            input.changes,
            origin=origin(info),
        )
        return PortalPayload(portal=cast(Portal, portal))

    return await attempt(info, work)


# --- Domains -------------------------------------------------------------------------------


@strawberry.input(description="A managed subdomain, or a domain of the utility's own.")
class SetPortalDomainInput:
    id: relay.GlobalID = strawberry.field(description="The portal (not while active).")
    subdomain: Line | None = strawberry.field(
        default=None, description="<subdomain>.<base domain>, ready at once."
    )
    domain: Line | None = strawberry.field(
        default=None, description="Full domain, e.g. kundenportal.stadtwerke.de (to verify)."
    )


def _lookup(info: Info) -> domains.LookUp:
    return domains.resolver_lookup(info.context.settings.dns_nameservers)


async def set_portal_domain(info: Info, input: SetPortalDomainInput) -> PortalResult:
    async def work(db: AsyncSession) -> PortalPayload:
        portal = await domains.set_domain(
            db,
            info.context.actor,
            row_id(input.id, "Portal", "id"),
            domain=input.domain,
            subdomain=input.subdomain,
            base_domain=info.context.settings.managed_base_domain,
            origin=origin(info),
        )
        return PortalPayload(portal=cast(Portal, portal))

    return await attempt(info, work)


def _domain_step(step: Any) -> Any:
    async def resolve(info: Info, input: PortalIdInput) -> PortalResult:
        async def work(db: AsyncSession) -> PortalPayload:
            portal = await step(
                db,
                info.context.actor,
                row_id(input.id, "Portal", "id"),
                lookup=_lookup(info),
                base_domain=info.context.settings.managed_base_domain,
                origin=origin(info),
            )
            return PortalPayload(portal=cast(Portal, portal))

        return await attempt(info, work)

    return resolve


verify_portal_domain = _domain_step(domains.verify)
check_portal_configuration = _domain_step(domains.check_configuration)
