"""Portal users (Portal Zugänge): the type; the list staff search, filter and sort; and
the access staff manage (iPM password, activation, assignment to a contact, erasure)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.actor import Actor
from gql.auth.permissions import STAFF, STAFF_AND_PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain import portal_access, two_factor
from gql.domain.registration import AccessConfig
from gql.domain.search import portal_user_matches
from gql.resolvers import relations
from gql.resolvers.common import query_page
from gql.resolvers.computed import Computed, declared_value
from gql.resolvers.relations import declared
from gql.schema import criteria, enums, related
from gql.schema.crm import CONTACT_SEARCH, Contact
from gql.schema.node import RowNode, node_uuid, row_of
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.portal import PermissionGroup, Portal
from gql.schema.results import INPUT, MutationError, attempt, aware, now, origin, row_id
from gql.schema.scalars import Cursor, Line

# Whether the portal user's TOTP is confirmed: a plan reads two_factor.enabled_condition,
# the executor's loader (Loaders.totp_enabled) the same clause for a batch of users.
TOTP_ENABLED = Computed(
    ("id",),
    lambda _given, enabled: enabled,
    lambda row, _actor: [two_factor.enabled_condition(None, row.c.id)],
)


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

    @allow(
        STAFF_AND_PORTAL_USERS,
        description="Whether TOTP is set up and confirmed.",
        metadata=declared_value(TOTP_ENABLED),
    )
    async def totp_enabled(self, info: Info) -> bool | None:
        return await info.context.loaders.totp_enabled.load(row_of(self).id)

    contact: Contact | None = related.one(
        relations.PORTAL_USER_CONTACT, STAFF_AND_PORTAL_USERS, description="The assigned contact."
    )
    portal: Portal | None = related.one(
        relations.PORTAL_USER_PORTAL,
        STAFF_AND_PORTAL_USERS,
        description="The portal of this login.",
    )
    permission_group: PermissionGroup | None = related.one(
        relations.PORTAL_USER_GROUP, STAFF_AND_PORTAL_USERS, description="The permission group."
    )


# What a portal user search matches: the login email, and what a contact search
# matches of the assigned contact, read through `PortalUser.contact`.
PORTAL_USER_SEARCH = (
    criteria.criterion(PortalUser, "email"),
    *(column.through(PortalUser, "contact") for column in CONTACT_SEARCH),
)


# --- The list ----------------------------------------------------------------------------


@strawberry.input(description="Which portal users to list; every given condition must hold.")
class PortalUserFilter:
    registration_status: enums.RegistrationStatus | None = strawberry.field(
        default=None, description="Invited, activation sent, active or disabled."
    )
    assignment_status: enums.AssignmentStatus | None = strawberry.field(
        default=None, description="Assigned to a contact or pending."
    )
    search: Line | None = strawberry.field(
        default=None, description="Part of the email, or of the contact's name or number."
    )
    permission_group_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Members of this permission group."
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Created at or after this time."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Created before this time."
    )

    def conditions(self, actor: Actor) -> list[Any]:
        """The conditions of the given filters.

        Raises:
            GraphQLError: FORBIDDEN for a filter on a field `actor` may not read.
        """
        criteria.require_given("PortalUserFilter", vars(self), actor)
        user = models.PortalUser
        where: list[Any] = []
        if self.registration_status is not None:
            where.append(user.registration_status == self.registration_status)
        if self.assignment_status is not None:
            where.append(user.assignment_status == self.assignment_status)
        if self.search and self.search.strip():
            columns = criteria.readable_columns(PORTAL_USER_SEARCH, actor)
            where.append(
                portal_user_matches(
                    self.search,
                    [c for c in columns if c.class_ is models.PortalUser],
                    [c for c in columns if c.class_ is models.Contact],
                )
            )
        if self.permission_group_id is not None:
            where.append(
                user.permission_group_id == node_uuid(self.permission_group_id, "PermissionGroup")
            )
        if self.created_after is not None:
            where.append(user.created_at >= aware(self.created_after))
        if self.created_before is not None:
            where.append(user.created_at < aware(self.created_before))
        return where


def _portal_user_field(name: str) -> criteria.Criterion:
    return criteria.criterion(PortalUser, name)


criteria.declare(
    "PortalUserFilter",
    registration_status=_portal_user_field("registration_status"),
    assignment_status=_portal_user_field("assignment_status"),
    search=PORTAL_USER_SEARCH,
    permission_group_id=criteria.criterion(
        PortalUser, "permission_group", models.PortalUser.permission_group_id
    ),
    created_after=_portal_user_field("created_at"),
    created_before=_portal_user_field("created_at"),
)
criteria.declare(
    "Query.portalUsers",
    portal_id=criteria.criterion(PortalUser, "portal", models.PortalUser.portal_id),
)


@strawberry.enum(description="What portal users are sorted by.")
class PortalUserSort(enum.Enum):
    CREATED_AT = strawberry.enum_value("created_at", description="When the access was created.")
    EMAIL = strawberry.enum_value("email", description="Login email, alphabetically.")
    LAST_LOGIN_AT = strawberry.enum_value("last_login_at", description="Most recent login.")
    REGISTRATION_STATUS = strawberry.enum_value(
        "registration_status", description="Registration state (invited, active, ...)."
    )


# Each sort key is the PortalUser field of its value: sorting reveals the order. (The
# values are plain strings once strawberry.enum has unwrapped its enum_value()s; mypy
# still sees the wrappers.)
PORTAL_USER_SORT = criteria.declare(
    "PortalUserSort",
    **{key.name: _portal_user_field(cast(str, key.value)) for key in PortalUserSort},
)


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = strawberry.enum_value("asc", description="Smallest, earliest or A first.")
    DESC = strawberry.enum_value("desc", description="Largest, latest or Z first.")


@strawberry.input(description="Sort order of portal users.")
class PortalUserOrder:
    field: PortalUserSort = strawberry.field(
        default=PortalUserSort.CREATED_AT, description="What to sort by."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="Ascending or descending."
    )

    def columns(self, actor: Actor) -> tuple[Any, ...]:
        """The ORDER BY of this order.

        Raises:
            GraphQLError: FORBIDDEN if `actor` may not read the field sorted by.
        """
        key = PORTAL_USER_SORT[self.field.name]
        assert isinstance(key, criteria.Criterion)
        column = criteria.require(key, actor, f"PortalUserSort.{self.field.name}")
        ordered = column.asc() if self.direction is SortDirection.ASC else column.desc()
        return (ordered.nulls_last(),)


# The direction is no column; `field` is one of the sort keys declared above.
criteria.declare("PortalUserOrder", direction=None)


# --- Managing access -----------------------------------------------------------------------


def access_config(info: Info) -> AccessConfig:
    """Link lifetimes, sender, password rules and limits of access changes (and registration)."""
    return AccessConfig.from_settings(info.context.settings)


@strawberry.type(description="The portal user as saved.")
class PortalUserPayload:
    portal_user: PortalUser = public("The portal user.")
    revoked_sessions: int = public("Sessions ended by the change (deactivation, new password).")


PortalUserResult = Annotated[
    PortalUserPayload | MutationError,
    strawberry.union(
        "PortalUserResult",
        description="Answer of the staff mutations on a portal user's access: PortalUserPayload,"
        " or MutationError (nothing was changed).",
    ),
]


@strawberry.input(description="iPM: a contact's portal password, set by staff.")
class SetPortalUserPasswordInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    contact_id: relay.GlobalID = strawberry.field(description="The contact; needs an email.")
    password: Line = strawberry.field(description="At least 10 characters, not a common one.")


@strawberry.input(description="A portal user of the own organization.")
class PortalUserIdInput:
    id: relay.GlobalID = strawberry.field(description="The portal user.")


def _payload(user: models.PortalUser, revoked: int = 0) -> PortalUserPayload:
    return PortalUserPayload(portal_user=cast(PortalUser, user), revoked_sessions=revoked)


async def set_portal_user_password(
    info: Info, input: Annotated[SetPortalUserPasswordInput, strawberry.argument(description=INPUT)]
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await portal_access.set_password(
            db,
            info.context.actor,
            access_config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return _payload(user)

    return await attempt(info, work)


def _set_active(active: bool) -> object:
    async def resolve(
        info: Info, input: Annotated[PortalUserIdInput, strawberry.argument(description=INPUT)]
    ) -> PortalUserResult:
        async def work(db: AsyncSession) -> PortalUserPayload:
            user, revoked = await portal_access.set_active(
                db,
                info.context.actor,
                user_id=row_id(input.id, "PortalUser", "id"),
                active=active,
                origin=origin(info),
                now=now(),
            )
            return _payload(user, revoked)

        return await attempt(info, work)

    return resolve


activate_portal_user = _set_active(True)
deactivate_portal_user = _set_active(False)


@strawberry.input(description="Assign a pending portal user to a contact.")
class AssignPortalUserInput:
    portal_user_id: relay.GlobalID = strawberry.field(description="The portal user (PENDING).")
    contact_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The contact; left out: the one contact whose primary email is the user's.",
    )


@strawberry.input(description="A contact to create for a pending portal user.")
class NewContactInput:
    first_name: Line | None = strawberry.field(default=None, description="First name.")
    last_name: Line | None = strawberry.field(default=None, description="Last name.")
    company_name: Line | None = strawberry.field(default=None, description="Company name.")
    phone: Line | None = strawberry.field(default=None, description="Phone.")
    street: Line | None = strawberry.field(default=None, description="Street.")
    house_number: Line | None = strawberry.field(default=None, description="House number.")
    postal_code: Line | None = strawberry.field(default=None, description="Postal code.")
    city: Line | None = strawberry.field(default=None, description="City.")


@strawberry.input(description="Create a contact (with the user's email) and assign it.")
class AssignPortalUserToNewContactInput:
    portal_user_id: relay.GlobalID = strawberry.field(description="The portal user (PENDING).")
    contact: NewContactInput = strawberry.field(description="The new contact.")


@strawberry.type(description="A deleted portal user.")
class DeletePortalUserPayload:
    deleted_id: relay.GlobalID = public("ID of the deleted portal user.")


DeletePortalUserResult = Annotated[
    DeletePortalUserPayload | MutationError,
    strawberry.union(
        "DeletePortalUserResult",
        description="Answer of `deletePortalUser`: DeletePortalUserPayload, or MutationError.",
    ),
]


async def assign_portal_user(
    info: Info, input: Annotated[AssignPortalUserInput, strawberry.argument(description=INPUT)]
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await portal_access.assign(
            db,
            info.context.actor,
            access_config(info),
            user_id=row_id(input.portal_user_id, "PortalUser", "portalUserId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            origin=origin(info),
            now=now(),
        )
        return _payload(user)

    return await attempt(info, work)


async def assign_portal_user_to_new_contact(
    info: Info,
    input: Annotated[AssignPortalUserToNewContactInput, strawberry.argument(description=INPUT)],
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        contact = input.contact
        user = await portal_access.assign_to_new_contact(
            db,
            info.context.actor,
            access_config(info),
            user_id=row_id(input.portal_user_id, "PortalUser", "portalUserId"),
            data=portal_access.NewContact(
                first_name=contact.first_name,
                last_name=contact.last_name,
                company_name=contact.company_name,
                phone=contact.phone,
                street=contact.street,
                house_number=contact.house_number,
                postal_code=contact.postal_code,
                city=contact.city,
            ),
            origin=origin(info),
            now=now(),
        )
        return _payload(user)

    return await attempt(info, work)


async def unassign_portal_user(
    info: Info, input: Annotated[PortalUserIdInput, strawberry.argument(description=INPUT)]
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user, revoked = await portal_access.unassign(
            db,
            info.context.actor,
            user_id=row_id(input.id, "PortalUser", "id"),
            origin=origin(info),
            now=now(),
        )
        return _payload(user, revoked)

    return await attempt(info, work)


async def delete_portal_user(
    info: Info, input: Annotated[PortalUserIdInput, strawberry.argument(description=INPUT)]
) -> DeletePortalUserResult:
    async def work(db: AsyncSession) -> DeletePortalUserPayload:
        await portal_access.delete_portal_user(
            db,
            info.context.actor,
            user_id=row_id(input.id, "PortalUser", "id"),
            origin=origin(info),
            now=now(),
        )
        return DeletePortalUserPayload(deleted_id=input.id)

    return await attempt(info, work)


@strawberry.type
class Query:
    """Portal users: fields of the root `Query` (merged in root.py)."""

    @allow(
        STAFF,
        description="Portal users (Portal Zugänge), filtered and sorted.",
        metadata=declared(relations.PORTAL_USERS),
    )
    async def portal_users(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        portal_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this portal's.")
        ] = None,
        filter: Annotated[
            PortalUserFilter | None,
            strawberry.argument(description="Conditions the portal users must meet."),
        ] = None,
        order_by: Annotated[
            PortalUserOrder | None, strawberry.argument(description="Default: newest first.")
        ] = None,
    ) -> Connection[PortalUser] | None:
        user, actor = models.PortalUser, info.context.actor
        criteria.require_given("Query.portalUsers", {"portal_id": portal_id}, actor)
        where: list[Any] = []
        if portal_id is not None:
            where.append(user.portal_id == node_uuid(portal_id, "Portal"))
        if filter is not None:
            where.extend(filter.conditions(actor))
        if order_by is None:  # the declared order, newest first
            return await related.page_of(
                relations.PORTAL_USERS, info, None, first, after, None, None, tuple(where)
            )
        return await query_page(
            info, user, first, after, where=tuple(where), order_by=order_by.columns(actor)
        )


@strawberry.type
class Mutation:
    """Portal users: fields of the root `Mutation` (merged in root.py)."""

    set_portal_user_password: PortalUserResult | None = allow(
        STAFF,
        description="Set a contact's portal password for them (the iPM flow; creates the access"
        " if needed).",
        resolver=set_portal_user_password,
    )
    activate_portal_user: PortalUserResult | None = allow(
        STAFF,
        description="Activate a portal user's access (needs a password).",
        resolver=activate_portal_user,
    )
    deactivate_portal_user: PortalUserResult | None = allow(
        STAFF,
        description="Deactivate a portal user's access; ends every session at once.",
        resolver=deactivate_portal_user,
    )
    assign_portal_user: PortalUserResult | None = allow(
        STAFF,
        description="Assign a pending portal user to a contact (given, or found by email).",
        resolver=assign_portal_user,
    )
    assign_portal_user_to_new_contact: PortalUserResult | None = allow(
        STAFF,
        description="Create a contact for a pending portal user and assign it.",
        resolver=assign_portal_user_to_new_contact,
    )
    unassign_portal_user: PortalUserResult | None = allow(
        STAFF,
        description="Take a portal user's contact away (it can not log in until assigned).",
        resolver=unassign_portal_user,
    )
    delete_portal_user: DeletePortalUserResult | None = allow(
        STAFF,
        description="Erase a portal user (GDPR): credentials, 2FA and sessions; audited.",
        resolver=delete_portal_user,
    )
