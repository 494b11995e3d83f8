"""Staff users (employees of the utility): the type, the list, and managing them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.actor import Role
from gql.auth.permissions import STAFF, allow, public
from gql.context import Info
from gql.domain import staff
from gql.resolvers.common import query_page
from gql.schema import enums
from gql.schema.node import RowNode, row_of
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.results import INPUT, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import Cursor, EmailAddress, Line


@strawberry.type(description="An employee of the utility.")
class StaffUser(RowNode):
    __model__ = models.StaffUser

    email: str | None = allow(STAFF, description="Login email.")
    name: str | None = allow(STAFF, description="Full name.")
    role: enums.StaffRole | None = allow(STAFF, description="Admin or agent.")
    language: str | None = allow(STAFF, description="Language of mails (de, en).")
    is_active: bool | None = allow(STAFF, description="False once disabled.")
    invited_at: datetime | None = allow(STAFF, description="When the last invitation went out.")
    disabled_at: datetime | None = allow(STAFF, description="When the account was disabled.")
    last_login_at: datetime | None = allow(STAFF, description="Last successful login.")

    @allow(STAFF, description="Invited but no password set yet.")
    def invitation_pending(self) -> bool | None:
        return row_of(self).password_hash is None


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


@strawberry.type(description="The staff user as saved.")
class StaffUserPayload:
    staff_user: StaffUser = public("The staff user.")
    revoked_sessions: int = public("Sessions ended by the change (role change, disabling).")


@strawberry.type(description="The invitation is accepted; log in with the new password.")
class StaffInvitationAccepted:
    email: str = public("The login email.")


StaffUserResult = Annotated[
    StaffUserPayload | MutationError,
    strawberry.union(
        "StaffUserResult",
        description="Answer of the mutations that invite or change a staff user: StaffUserPayload,"
        " or MutationError.",
    ),
]
AcceptStaffInvitationResult = Annotated[
    StaffInvitationAccepted | MutationError,
    strawberry.union(
        "AcceptStaffInvitationResult",
        description="Answer of `acceptStaffInvitation`: StaffInvitationAccepted, or MutationError"
        " (e.g. INVALID_TOKEN, or a password that is too weak).",
    ),
]


def _staff_payload(user: models.StaffUser, revoked: int = 0) -> StaffUserPayload:
    return StaffUserPayload(staff_user=cast(StaffUser, user), revoked_sessions=revoked)


async def invite_staff_user(
    info: Info, input: Annotated[InviteStaffUserInput, strawberry.argument(description=INPUT)]
) -> StaffUserResult:
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


async def update_staff_user(
    info: Info, input: Annotated[UpdateStaffUserInput, strawberry.argument(description=INPUT)]
) -> StaffUserResult:
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
    async def resolve(
        info: Info, input: Annotated[StaffUserIdInput, strawberry.argument(description=INPUT)]
    ) -> StaffUserResult:
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
    info: Info, input: Annotated[AcceptStaffInvitationInput, strawberry.argument(description=INPUT)]
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


@strawberry.type
class Query:
    """Staff users: fields of the root `Query` (merged in root.py)."""

    @allow(STAFF, description="Staff users of the organization, by name.")
    async def staff_users(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[StaffUser] | None:
        user = models.StaffUser
        return await query_page(info, user, first, after, order_by=(user.name,))


@strawberry.type
class Mutation:
    """Staff users: fields of the root `Mutation` (merged in root.py)."""

    invite_staff_user: StaffUserResult | None = allow(
        Role.ADMIN,
        description="Invite a staff user by email (ADMIN); again to resend the link.",
        resolver=invite_staff_user,
    )
    update_staff_user: StaffUserResult | None = allow(
        Role.ADMIN,
        description="Change a staff user's name or role (ADMIN); a role change ends sessions.",
        resolver=update_staff_user,
    )
    disable_staff_user: StaffUserResult | None = allow(
        Role.ADMIN,
        description="Disable a staff user and end all their sessions (ADMIN).",
        resolver=disable_staff_user,
    )
    enable_staff_user: StaffUserResult | None = allow(
        Role.ADMIN,
        description="Enable a disabled staff user again (ADMIN).",
        resolver=enable_staff_user,
    )
    accept_staff_invitation: AcceptStaffInvitationResult = public(
        "Set the password of an invited staff user (the link works once).",
        resolver=accept_staff_invitation,
    )
