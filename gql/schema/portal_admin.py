"""Managing portals (ADMIN): create, rename and delete them, change their draft settings,
publish and restore versions, give them a domain, and put them online or offline."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from gql.auth.actor import Role
from gql.auth.permissions import allow, public
from gql.context import Info
from gql.domain import domains, portals, publishing
from gql.schema import enums
from gql.schema.portal import Portal
from gql.schema.results import INPUT, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import JSON, Line


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


PortalResult = Annotated[
    PortalPayload | MutationError,
    strawberry.union(
        "PortalResult",
        description="Answer of the mutations that create or change a portal: PortalPayload with"
        " the portal, or MutationError (nothing was changed).",
    ),
]
DeletePortalResult = Annotated[
    DeletePortalPayload | MutationError,
    strawberry.union(
        "DeletePortalResult",
        description="Answer of `deletePortal`: DeletePortalPayload, or MutationError (e.g."
        " RULE_VIOLATED for a portal that is still active: deactivate it first).",
    ),
]


async def create_portal(
    info: Info, input: Annotated[CreatePortalInput, strawberry.argument(description=INPUT)]
) -> PortalResult:
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


async def update_portal(
    info: Info, input: Annotated[UpdatePortalInput, strawberry.argument(description=INPUT)]
) -> PortalResult:
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


async def delete_portal(
    info: Info, input: Annotated[DeletePortalInput, strawberry.argument(description=INPUT)]
) -> DeletePortalResult:
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


async def publish_portal(
    info: Info, input: Annotated[PublishPortalInput, strawberry.argument(description=INPUT)]
) -> PortalResult:
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


async def restore_portal_version(
    info: Info, input: Annotated[RestorePortalVersionInput, strawberry.argument(description=INPUT)]
) -> PortalResult:
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
    async def resolve(
        info: Info, input: Annotated[PortalIdInput, strawberry.argument(description=INPUT)]
    ) -> PortalResult:
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


# --- Settings -----------------------------------------------------------------------------


@strawberry.input(description="Changes to a portal's draft settings.")
class UpdatePortalSettingsInput:
    id: relay.GlobalID = strawberry.field(description="The portal.")
    changes: JSON = strawberry.field(
        description="Part of the settings document as `Portal.draftSettings` shows it"
        " (camelCase): objects merge, lists and values replace. E.g. {design:"
        " {primaryColor: \\"  # 005CA9\\"}, registration: {selfRegistration: \\"DENY\\"}}."
    )


async def update_portal_settings(
    info: Info, input: Annotated[UpdatePortalSettingsInput, strawberry.argument(description=INPUT)]
) -> PortalResult:
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


async def set_portal_domain(
    info: Info, input: Annotated[SetPortalDomainInput, strawberry.argument(description=INPUT)]
) -> PortalResult:
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
    async def resolve(
        info: Info, input: Annotated[PortalIdInput, strawberry.argument(description=INPUT)]
    ) -> PortalResult:
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


@strawberry.type
class Mutation:
    """Portal administration: fields of the root `Mutation` (merged in root.py)."""

    create_portal: PortalResult | None = allow(
        Role.ADMIN,
        description="Create a portal (DRAFT, managed subdomain, default group, templates).",
        resolver=create_portal,
    )
    update_portal: PortalResult | None = allow(
        Role.ADMIN, description="Rename a portal.", resolver=update_portal
    )
    delete_portal: DeletePortalResult | None = allow(
        Role.ADMIN,
        description="Delete a portal that is not active, with its users and settings.",
        resolver=delete_portal,
    )
    update_portal_settings: PortalResult | None = allow(
        Role.ADMIN,
        description="Change a portal's draft settings (validated; published with the portal).",
        resolver=update_portal_settings,
    )
    publish_portal: PortalResult | None = allow(
        Role.ADMIN,
        description="Publish the draft (settings and tiles) as the next version.",
        resolver=publish_portal,
    )
    restore_portal_version: PortalResult | None = allow(
        Role.ADMIN,
        description="Make a published version the draft again (publish to show it).",
        resolver=restore_portal_version,
    )
    set_portal_domain: PortalResult | None = allow(
        Role.ADMIN,
        description="Give a portal a managed subdomain or a custom domain (then verify it).",
        resolver=set_portal_domain,
    )
    verify_portal_domain: PortalResult | None = allow(
        Role.ADMIN,
        description="Check the verification CNAME records of a custom domain in DNS.",
        resolver=verify_portal_domain,
    )
    check_portal_configuration: PortalResult | None = allow(
        Role.ADMIN,
        description="Check the configuration CNAME records of a verified custom domain.",
        resolver=check_portal_configuration,
    )
    activate_portal: PortalResult | None = allow(
        Role.ADMIN,
        description="Put a portal online (its domain ready, a version published).",
        resolver=activate_portal,
    )
    deactivate_portal: PortalResult | None = allow(
        Role.ADMIN,
        description="Take a portal offline; its users' sessions end.",
        resolver=deactivate_portal,
    )
