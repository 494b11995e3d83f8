"""Portal users (Portal Zugänge) and staff users."""

from __future__ import annotations

from datetime import datetime

import strawberry

from db import models
from gql.auth.permissions import STAFF, STAFF_AND_PORTAL_USERS, allow
from gql.context import Info
from gql.resolvers.common import load_one
from gql.schema import criteria, enums
from gql.schema.crm import CONTACT_SEARCH, Contact
from gql.schema.node import RowNode, row_of
from gql.schema.portal import PermissionGroup, Portal


@strawberry.type(description="The login of a customer or installer on one portal.")
class PortalUser(RowNode):
    __model__ = models.PortalUser

    email: str | None = allow(STAFF_AND_PORTAL_USERS, description="Login email, lower case.")
    language: str | None = allow(STAFF_AND_PORTAL_USERS, description="Preferred language.")
    registration_status: enums.RegistrationStatus | None = allow(
        STAFF_AND_PORTAL_USERS, description="Invited, activation sent, active or disabled."
    )
    assignment_status: enums.AssignmentStatus | None = allow(
        STAFF_AND_PORTAL_USERS, description="Whether a contact is assigned."
    )
    last_login_at: datetime | None = allow(STAFF, description="Last successful login.")
    activated_at: datetime | None = allow(STAFF, description="When the account was activated.")
    created_at: datetime | None = allow(STAFF, description="When the account was created.")

    @allow(STAFF_AND_PORTAL_USERS, description="Whether TOTP is set up and confirmed.")
    async def totp_enabled(self, info: Info) -> bool | None:
        return await info.context.loaders.totp_enabled.load(row_of(self).id)

    @allow(STAFF_AND_PORTAL_USERS, description="The assigned contact.")
    async def contact(self, info: Info) -> Contact | None:
        return await load_one(info, models.Contact, row_of(self).contact_id)

    @allow(STAFF_AND_PORTAL_USERS, description="The portal of this login.")
    async def portal(self, info: Info) -> Portal | None:
        return await load_one(info, models.Portal, row_of(self).portal_id)

    @allow(STAFF_AND_PORTAL_USERS, description="The permission group.")
    async def permission_group(self, info: Info) -> PermissionGroup | None:
        return await load_one(info, models.PermissionGroup, row_of(self).permission_group_id)


# What a portal user search matches: the login email, and what a contact search
# matches of the assigned contact, read through `PortalUser.contact`.
PORTAL_USER_SEARCH = (
    criteria.criterion(PortalUser, "email"),
    *(column.through(PortalUser, "contact") for column in CONTACT_SEARCH),
)


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
