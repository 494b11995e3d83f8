"""Installer partners manage their own company's users (gql.domain.partner_users): the
list of the company's logins, inviting a colleague, removing one. Only installers
whose permission group holds `partner_users:manage`; rows through the scope."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import allow, public
from gql.context import Info
from gql.domain import partner_users
from gql.resolvers.common import query_page
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.portal_user import PortalUser, PortalUserPayload, PortalUserResult, access_config
from gql.schema.results import INPUT, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import Cursor, EmailAddress


@strawberry.input(description="A colleague to invite to the installer portal.")
class InvitePartnerUserInput:
    email: EmailAddress = strawberry.field(
        description="The colleague's email: the invitation goes there and it is their login."
    )


@strawberry.input(description="A colleague's login to remove.")
class RemovePartnerUserInput:
    portal_user_id: relay.GlobalID = strawberry.field(
        description="A login of the caller's company (not the caller's own)."
    )


@strawberry.type(description="The login that was removed.")
class PartnerUserRemoved:
    removed_id: relay.GlobalID = public("ID of the removed login.")


RemovePartnerUserResult = Annotated[
    PartnerUserRemoved | MutationError,
    strawberry.union(
        "RemovePartnerUserResult",
        description="Answer of `removePartnerUser`: PartnerUserRemoved, or MutationError"
        " (NOT_FOUND for a login of another company, RULE_VIOLATED for the caller's own).",
    ),
]


async def invite_partner_user(
    info: Info, input: Annotated[InvitePartnerUserInput, strawberry.argument(description=INPUT)]
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await partner_users.invite_colleague(
            db,
            info.context.actor,
            access_config(info),
            email=input.email,
            origin=origin(info),
            now=now(),
        )
        return PortalUserPayload(portal_user=cast(PortalUser, user), revoked_sessions=0)

    return await attempt(info, work)


async def remove_partner_user(
    info: Info, input: Annotated[RemovePartnerUserInput, strawberry.argument(description=INPUT)]
) -> RemovePartnerUserResult:
    async def work(db: AsyncSession) -> PartnerUserRemoved:
        await partner_users.remove_colleague(
            db,
            info.context.actor,
            user_id=row_id(input.portal_user_id, "PortalUser", "portalUserId"),
            origin=origin(info),
            now=now(),
        )
        return PartnerUserRemoved(removed_id=input.portal_user_id)

    return await attempt(info, work)


@strawberry.type
class Query:
    """Installer partners' users: fields of the root `Query` (merged in root.py)."""

    @allow(
        Role.INSTALLER,
        grant=Grant.PARTNER_USERS_MANAGE,
        description="The logins of the caller's partner company on this portal, oldest first.",
    )
    async def partner_users(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[PortalUser] | None:
        # The scope gives the partner's admin exactly the company's logins on the portal.
        user = models.PortalUser
        return await query_page(info, user, first, after, order_by=(user.created_at,))


@strawberry.type
class Mutation:
    """Installer partners' users: fields of the root `Mutation` (merged in root.py)."""

    invite_partner_user: PortalUserResult | None = allow(
        Role.INSTALLER,
        grant=Grant.PARTNER_USERS_MANAGE,
        description="Invite a colleague to the installer portal as a user of the caller's"
        " company (the portal's default group; invitation mail with a 7-day link).",
        resolver=invite_partner_user,
    )
    remove_partner_user: RemovePartnerUserResult | None = allow(
        Role.INSTALLER,
        grant=Grant.PARTNER_USERS_MANAGE,
        description="Remove a colleague's login; their sessions end at once.",
        resolver=remove_partner_user,
    )
