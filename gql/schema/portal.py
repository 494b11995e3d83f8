"""Portals, their public configuration, tiles and permission groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast, get_args

import sqlalchemy as sa
import strawberry
from strawberry import relay

from db import models, portal_settings
from gql.auth.permissions import STAFF, STAFF_AND_PORTAL_USERS, GrantEnum, allow, public
from gql.context import Info
from gql.domain import domains
from gql.domain.scope import visible
from gql.resolvers.common import load_one, load_page, published_tiles, query_page
from gql.schema import criteria, enums
from gql.schema.email_templates import EmailTemplate
from gql.schema.enums import IdentifierEntity, SelfRegistration, TwoFactorPolicy
from gql.schema.node import RowNode, node_uuid, row_of
from gql.schema.pagination import AFTER, PAGE, Connection, slice_connection
from gql.schema.scalars import JSON, Cursor, Line
from gql.schema.sso import IdentityProvider
from gql.schema.staff import StaffUser


@strawberry.type(description="Colors, logo and font of a portal.")
class PortalDesign:
    primary_color: str = public("Primary color, #RRGGBB.")
    secondary_color: str = public("Secondary color, #RRGGBB.")
    background_color: str = public("Background color, #RRGGBB.")
    font: str = public("Font family.")

    @public("Logo URL.")
    def logo_url(self) -> str | None:
        url = row_of(self).logo_url
        return None if url is None else str(url)


@strawberry.type(description="An attribute asked for at registration to find the contact.")
class RegistrationIdentifier:
    entity: IdentifierEntity = public("Entity the attribute belongs to.")
    attribute: str = public("Attribute name, e.g. customer_number.")
    key: str = public("Key to send with the registration, e.g. contact.customer_number.")
    catalogued: strawberry.Private[portal_settings.Identifier]
    page_language: strawberry.Private[portal_settings.Language]

    @public("What the registration page calls it, e.g. Kundennummer (de), Customer number (en).")
    def label(
        self,
        language: Annotated[
            Line | None,
            strawberry.argument(
                description="de or en; if left out or not known, the language of the page"
                " (publicPortal's language; the portal's default elsewhere)."
            ),
        ] = None,
    ) -> str:
        known = language in get_args(portal_settings.Language)
        chosen = cast(portal_settings.Language, language) if known else self.page_language
        return self.catalogued.label(chosen)


def registration_identifiers(
    settings: portal_settings.PortalSettings, language: portal_settings.Language
) -> list[RegistrationIdentifier]:
    """What registration asks for, in order, named in `language` unless asked otherwise."""
    return [
        RegistrationIdentifier(
            entity=identifier.entity,
            attribute=identifier.attribute,
            key=identifier.key,
            catalogued=identifier,
            page_language=language,
        )
        for identifier in settings.registration.identifiers
    ]


@strawberry.type(description="Settings of a portal as its users see them.")
class PortalConfiguration:
    languages: list[str] = public("Languages offered (de, en).")
    default_language: str = public("Language used when none is chosen.")
    two_factor: TwoFactorPolicy = public("Second factor policy.")

    @public("Colors, logo and font.")
    def design(self) -> PortalDesign:
        return cast(PortalDesign, row_of(self).design)

    @public("Whether people without a known contact may register.")
    def self_registration(self) -> SelfRegistration:
        return cast(SelfRegistration, row_of(self).registration.self_registration)

    @public("Identifiers asked for at registration, in order.")
    def identifiers(self) -> list[RegistrationIdentifier]:
        settings: portal_settings.PortalSettings = row_of(self)
        return registration_identifiers(settings, settings.default_language)

    @public("Link to the terms shown at registration.")
    def terms_url(self) -> str | None:
        url = row_of(self).registration.terms_url
        return None if url is None else str(url)

    @public("Link to the privacy notice shown at registration.")
    def privacy_url(self) -> str | None:
        url = row_of(self).registration.privacy_url
        return None if url is None else str(url)


@strawberry.type(description="Which rows the members of a group see; null means all.")
class PermissionGroupVisibility:
    contract_statuses: list[enums.ContractStatus] | None = public(
        "Only contracts in these states (and their meters, payments and documents)."
    )
    document_types: list[enums.DocumentType] | None = public("Only documents of these types.")


@strawberry.type(description="A named set of grants of a portal (Kontaktgruppe).")
class PermissionGroup(RowNode):
    __model__ = models.PermissionGroup

    name: str | None = allow(STAFF_AND_PORTAL_USERS, description="Name of the group.")
    grants: list[GrantEnum] | None = allow(
        STAFF_AND_PORTAL_USERS, description="What members may read and do."
    )
    is_default: bool | None = allow(STAFF, description="New portal users join this group.")

    @allow(STAFF, description="Visibility criteria, e.g. contract statuses.")
    def visibility(self) -> PermissionGroupVisibility | None:
        criteria = row_of(self).visibility or {}
        return PermissionGroupVisibility(
            contract_statuses=[
                models.ContractStatus(s) for s in criteria.get("contract_statuses", ())
            ]
            or None,
            document_types=[models.DocumentType(t) for t in criteria.get("document_types", ())]
            or None,
        )

    @allow(STAFF, description="The portal the group belongs to.")
    async def portal(self, info: Info) -> Portal | None:
        return cast(Portal | None, await load_one(info, models.Portal, row_of(self).portal_id))

    @allow(STAFF, description="How many portal users are in the group.")
    async def portal_user_count(self, info: Info) -> int | None:
        return await info.context.loaders.count_by_fk(models.PortalUser.permission_group_id).load(
            row_of(self).id
        )


@strawberry.type(description="A card of a portal's home page.")
class Tile(RowNode):
    __model__ = models.Tile

    kind: enums.TileKind | None = allow(STAFF_AND_PORTAL_USERS, description="Kind of tile.")
    position: int | None = allow(STAFF_AND_PORTAL_USERS, description="Order on the home page.")
    visible: bool | None = allow(STAFF, description="Shown at all.")
    content: JSON | None = allow(STAFF_AND_PORTAL_USERS, description="Content per language.")

    @allow(STAFF, description="Groups that see the tile; empty means all.")
    async def permission_groups(self, info: Info) -> list[PermissionGroup] | None:
        loader = info.context.loaders.by_id(models.PermissionGroup)
        rows = await loader.load_many(list(row_of(self).permission_group_ids))
        return [row for row in rows if row is not None]


@strawberry.type(description="A DNS record the utility must add for its own domain.")
class DnsRecord:
    purpose: str = public("VERIFICATION (proves control) or CONFIGURATION (routes traffic).")
    name: str = public("Record name.")
    type: str = public("Record type (CNAME).")
    value: str = public("Where it must point.")


@strawberry.type(description="A published version of a portal's settings and tiles.")
class PortalVersion:
    version: int | None = allow(STAFF, description="1 for the first publish, then counting.")

    @allow(STAFF, description="When it was published.")
    def published_at(self) -> datetime | None:
        return cast(datetime, row_of(self).created_at)

    @allow(STAFF, description="Who published it.")
    async def published_by(self, info: Info) -> StaffUser | None:
        return await load_one(info, models.StaffUser, row_of(self).published_by_id)


@strawberry.type(description="A customer or installer portal of a utility.")
class Portal(RowNode):
    __model__ = models.Portal

    name: str = public("Name of the portal.")
    type: enums.PortalType = public("Customer or installer portal.")
    status: enums.PortalStatus = public("Draft, active or inactive.")
    domain: str = public("Host name the portal is served on.")
    domain_kind: enums.DomainKind | None = allow(
        STAFF, description="Managed subdomain or own domain."
    )
    domain_status: enums.DomainStatus | None = allow(
        STAFF, description="Set-up state of the domain."
    )
    published_version: int | None = allow(STAFF, description="Version customers see.")
    published_at: datetime | None = allow(STAFF, description="When it was last published.")
    created_at: datetime | None = allow(STAFF, description="When the portal was created.")

    @public("Published settings (the draft until the first publish).")
    def configuration(self) -> PortalConfiguration:
        row = row_of(self)
        return cast(PortalConfiguration, row.live_settings)

    @allow(
        STAFF,
        description="The whole draft settings document (camelCase), what updatePortalSettings"
        " changes.",
    )
    def draft_settings(self) -> JSON | None:
        return cast(JSON, row_of(self).draft_settings.model_dump(mode="json", by_alias=True))

    @allow(STAFF, description="Settings being edited, not yet visible to customers.")
    def draft_configuration(self) -> PortalConfiguration | None:
        return cast(PortalConfiguration, row_of(self).draft_settings)

    @allow(
        STAFF_AND_PORTAL_USERS,
        description="Home page tiles of the published version, in order (portal users: those"
        " shown to them).",
    )
    async def tiles(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Tile] | None:
        tiles = await published_tiles(info, row_of(self))
        return slice_connection(tiles, first, after, info.context.settings.max_page_size)

    @allow(STAFF, description="Tiles being edited, not yet visible to customers.")
    async def draft_tiles(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Tile] | None:
        model = models.Tile
        return await load_page(info, model.portal_id, row_of(self).id, first, after, model.position)

    @allow(STAFF, description="DNS records a custom domain needs now (none for managed ones).")
    def domain_records(self, info: Info) -> list[DnsRecord] | None:
        base = info.context.settings.managed_base_domain
        return [
            DnsRecord(purpose=r.purpose, name=r.name, type=r.type, value=r.value)
            for r in domains.records(row_of(self), base)
        ]

    @allow(STAFF, description="Published versions, newest first.")
    async def versions(self, info: Info) -> list[PortalVersion] | None:
        model = models.PortalVersion
        rows = await info.context.loaders.by_fk(model.portal_id, model.version.desc()).load(
            row_of(self).id
        )
        return cast(list[PortalVersion], rows)

    @allow(STAFF, description="The portal's email templates, by kind and language.")
    async def email_templates(self, info: Info) -> list[EmailTemplate] | None:
        model = models.EmailTemplate
        loader = info.context.loaders.by_fk(model.portal_id, model.kind, model.language)
        return cast(list[EmailTemplate], await loader.load(row_of(self).id))

    @allow(STAFF, description="OpenID Connect providers its users may log in with, by name.")
    async def identity_providers(self, info: Info) -> list[IdentityProvider] | None:
        model = models.IdentityProvider
        loader = info.context.loaders.by_fk(model.portal_id, model.name)
        return cast(list[IdentityProvider], await loader.load(row_of(self).id))

    @allow(STAFF, description="Permission groups of the portal.")
    async def permission_groups(self, info: Info) -> list[PermissionGroup] | None:
        model = models.PermissionGroup
        loader = info.context.loaders.by_fk(model.portal_id, model.name)
        return cast(list[PermissionGroup], await loader.load(row_of(self).id))


criteria.declare("Query.portal", domain=criteria.criterion(Portal, "domain"))


@strawberry.type
class Query:
    """Portals: fields of the root `Query` (merged in root.py)."""

    @allow(STAFF_AND_PORTAL_USERS, description="Portals of the organization, by name.")
    async def portals(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[Portal] | None:
        return await query_page(info, models.Portal, first, after, order_by=(models.Portal.name,))

    @public("A portal by ID or by domain; anonymous callers see active portals only.")
    async def portal(
        self,
        info: Info,
        id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="The portal's ID (staff).")
        ] = None,
        domain: Annotated[
            Line | None,
            strawberry.argument(
                description="The host name the portal is served on; used when `id` is left out."
            ),
        ] = None,
    ) -> Portal | None:
        if id is not None:
            return cast(Portal | None, await load_one(info, models.Portal, node_uuid(id, "Portal")))
        if domain is None:
            return None
        criteria.require_given("Query.portal", {"domain": domain}, info.context.actor)
        portal = models.Portal
        rows = await info.context.scalars(
            sa.select(portal).where(
                portal.domain == domain.strip().lower(), visible(portal, info.context.actor)
            )
        )
        return cast(Portal | None, rows[0] if rows else None)
