"""Root query and mutation types."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, cast

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from strawberry import relay

from db import models
from db.models.enums import Grant
from gql.auth.actor import Actor, Role
from gql.auth.permissions import (
    AUTHENTICATED,
    PORTAL_USERS,
    STAFF,
    STAFF_AND_PORTAL_USERS,
    Impersonation,
    allow,
    public,
)
from gql.context import Info
from gql.domain.scope import visible
from gql.domain.search import contact_matches, portal_user_matches
from gql.resolvers.common import load_one, query_page
from gql.schema import (
    access,
    audit_log,
    auth,
    criteria,
    crm,
    documents,
    email_templates,
    enums,
    home,
    portal_user,
    registration,
    self_service,
)
from gql.schema import change_requests as requests_module
from gql.schema import public_portal as public_portal_module
from gql.schema.crm import CONTACT_SEARCH, Contact
from gql.schema.node import node_uuid
from gql.schema.node_types import NODE_TYPES_BY_NAME
from gql.schema.pagination import Connection
from gql.schema.portal import Portal
from gql.schema.portal_user import PORTAL_USER_SEARCH, PortalUser
from gql.schema.results import aware
from gql.schema.scalars import Cursor, Line
from gql.schema.viewer import Viewer

PAGE = "Number of items (default 20, at most 100)."
AFTER = "Cursor after which the page starts."


async def resolve_nodes(info: Info, ids: list[relay.GlobalID]) -> list[Any]:
    """Rows for global IDs, grouped per type and loaded through the scoped loaders."""
    results: list[Any] = [None] * len(ids)
    by_type: dict[type[Any], list[int]] = {}
    for index, global_id in enumerate(ids):
        node_type = NODE_TYPES_BY_NAME.get(global_id.type_name)
        if node_type is not None:
            by_type.setdefault(node_type, []).append(index)
    for node_type, indexes in by_type.items():
        rows = await node_type.resolve_nodes(info=info, node_ids=[ids[i].node_id for i in indexes])
        for index, row in zip(indexes, rows, strict=True):
            results[index] = row
    return results


def _id_of(global_id: relay.GlobalID | None, type_name: str) -> Any:
    """The row id inside a global ID of the expected type, else None."""
    return None if global_id is None else node_uuid(global_id, type_name)


@strawberry.input(description="Which contacts to list.")
class ContactFilter:
    has_portal_user: bool | None = strawberry.field(
        default=None,
        description="With (true) or without (false) a portal user, in `portalId` or in any"
        " portal (seed 002: then invite them).",
    )
    portal_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The portal `hasPortalUser` looks at."
    )


# Who has access is what `Contact.portalUsers` shows.
criteria.declare(
    "ContactFilter",
    has_portal_user=criteria.criterion(Contact, "portal_users", models.PortalUser.contact_id),
    portal_id=criteria.criterion(PortalUser, "portal", models.PortalUser.portal_id).through(
        Contact, "portal_users"
    ),
)
criteria.declare("Query.contacts", search=CONTACT_SEARCH)


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
                user.permission_group_id == _id_of(self.permission_group_id, "PermissionGroup")
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
    CREATED_AT = "created_at"
    EMAIL = "email"
    LAST_LOGIN_AT = "last_login_at"
    REGISTRATION_STATUS = "registration_status"


# Each sort key is the PortalUser field of its value: sorting reveals the order.
PORTAL_USER_SORT = criteria.declare(
    "PortalUserSort", **{key.name: _portal_user_field(key.value) for key in PortalUserSort}
)


@strawberry.enum(description="Sort direction.")
class SortDirection(enum.Enum):
    ASC = "asc"
    DESC = "desc"


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


criteria.declare("Query.portal", domain=criteria.criterion(Portal, "domain"))


@strawberry.type(description="Entry points for reading.")
class Query:
    @public("Any object by its global ID; null if not visible.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        return (await resolve_nodes(info, [id]))[0]

    @public("Objects by global IDs (at most 100), null where not visible.")
    async def nodes(self, info: Info, ids: list[relay.GlobalID]) -> list[relay.Node | None]:
        if len(ids) > info.context.settings.max_page_size:
            raise GraphQLError(
                f"At most {info.context.settings.max_page_size} ids.",
                extensions={"code": "BAD_USER_INPUT"},
            )
        return await resolve_nodes(info, ids)

    @public("The caller.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(role=info.context.actor.role)

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
        id: relay.GlobalID | None = None,
        domain: Line | None = None,
    ) -> Portal | None:
        if id is not None:
            return cast(Portal | None, await load_one(info, models.Portal, _id_of(id, "Portal")))
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

    export_portal_users: registration.ExportResult | None = allow(
        STAFF,
        description="A portal's users as a CSV download (formula-like cells neutralised).",
        resolver=registration.export_portal_users,
    )

    portal_home: home.PortalHome | None = allow(
        PORTAL_USERS,
        description="The viewer's home page: published tiles they may see, with their data.",
        resolver=home.portal_home,
    )

    public_portal: public_portal_module.PublicPortal | None = public(
        "What the login and registration pages of an active portal show (its published"
        " version) in a language (default: the portal's).",
        resolver=public_portal_module.public_portal,
    )

    @allow(STAFF_AND_PORTAL_USERS, description="Contacts the caller may see, by name.")
    async def contacts(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        search: Annotated[
            Line | None, strawberry.argument(description="Part of name, email or customer number.")
        ] = None,
        filter: ContactFilter | None = None,
    ) -> Connection[Contact] | None:
        contact, actor = models.Contact, info.context.actor
        where: list[Any] = []
        if search and search.strip():
            where.append(contact_matches(search, criteria.readable_columns(CONTACT_SEARCH, actor)))
        if filter is not None:
            criteria.require_given("ContactFilter", vars(filter), actor)
        if filter is not None and filter.has_portal_user is not None:
            user = models.PortalUser
            access = sa.exists().where(user.contact_id == contact.id)
            if filter.portal_id is not None:
                access = access.where(user.portal_id == _id_of(filter.portal_id, "Portal"))
            where.append(access if filter.has_portal_user else ~access)
        return await query_page(
            info,
            contact,
            first,
            after,
            where=tuple(where),
            order_by=(contact.last_name, contact.first_name, contact.company_name),
        )

    @allow(STAFF_AND_PORTAL_USERS, description="A contact by ID; null if not visible.")
    async def contact(self, info: Info, id: relay.GlobalID) -> Contact | None:
        return cast(Contact | None, await load_one(info, models.Contact, _id_of(id, "Contact")))

    @allow(STAFF, description="Portal users (Portal Zugänge), filtered and sorted.")
    async def portal_users(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        portal_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this portal's.")
        ] = None,
        filter: PortalUserFilter | None = None,
        order_by: Annotated[
            PortalUserOrder | None, strawberry.argument(description="Default: newest first.")
        ] = None,
    ) -> Connection[PortalUser] | None:
        user, actor = models.PortalUser, info.context.actor
        criteria.require_given("Query.portalUsers", {"portal_id": portal_id}, actor)
        where: list[Any] = []
        if portal_id is not None:
            where.append(user.portal_id == _id_of(portal_id, "Portal"))
        if filter is not None:
            where.extend(filter.conditions(actor))
        order = order_by or PortalUserOrder()
        return await query_page(
            info, user, first, after, where=tuple(where), order_by=order.columns(actor)
        )

    @allow(STAFF, description="Staff users of the organization, by name.")
    async def staff_users(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[portal_user.StaffUser] | None:
        staff = models.StaffUser
        return await query_page(info, staff, first, after, order_by=(staff.name,))

    preview_email_template: email_templates.PreviewResult | None = allow(
        STAFF,
        description="A portal's email template (or an unsaved version) with example values.",
        resolver=email_templates.preview_email_template,
    )

    @allow(
        STAFF,
        description="Meter readings waiting for staff review, oldest first (submitted, then read).",
    )
    async def meter_readings_to_review(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[crm.MeterReading] | None:
        reading = models.MeterReading
        return await query_page(
            info,
            reading,
            first,
            after,
            where=(reading.status == models.MeterReadingStatus.PENDING_REVIEW,),
            order_by=(reading.created_at, reading.read_at),
        )

    change_requests: Connection[requests_module.ChangeRequest] | None = allow(
        STAFF,
        description="Changes of contact data customers asked for, oldest first.",
        resolver=requests_module.change_requests,
    )

    audit_events: Connection[audit_log.AuditEvent] | None = allow(
        STAFF,
        description="The organization's audit log, newest first (staff only).",
        resolver=audit_log.audit_events,
    )


@strawberry.type(description="Entry points for changing.")
class Mutation:
    login: auth.LoginResult = public(
        "Log in with email and password; staff without, portal users with a portal.",
        resolver=auth.login,
    )
    verify_two_factor: auth.SessionResult = public(
        "Finish a login that asked for a second factor.", resolver=auth.verify_two_factor
    )
    send_login_code: auth.SendLoginCodeResult = public(
        "Mail a one-time code that finishes a login waiting for a second factor (portal"
        " users without TOTP).",
        resolver=auth.send_login_code,
    )
    refresh_session: auth.SessionResult = public(
        "New tokens for a refresh token (which is used up).", resolver=auth.refresh_session
    )
    logout: auth.LogoutResult | None = allow(
        AUTHENTICATED,
        description="End the current session.",
        resolver=auth.logout,
        impersonation=Impersonation.ALWAYS,
    )
    logout_everywhere: auth.LogoutResult | None = allow(
        AUTHENTICATED,
        description="End all sessions of the caller.",
        resolver=auth.logout_everywhere,
    )
    enroll_totp: auth.EnrollResult = public(
        "Start setting up TOTP (logged in, or with the mfaToken of a login that requires it).",
        resolver=auth.enroll_totp,
    )
    confirm_totp: auth.ConfirmResult = public(
        "Activate TOTP with a first code; returns the recovery codes.",
        resolver=auth.confirm_totp,
    )
    disable_totp: auth.DisableResult | None = allow(
        AUTHENTICATED,
        description="Remove TOTP (needs a current or a recovery code).",
        resolver=auth.disable_totp,
    )
    impersonate_portal_user: auth.ImpersonateResult | None = allow(
        STAFF,
        description="Log in as a portal user (AGENT or ADMIN, own organization, audited).",
        resolver=auth.impersonate_portal_user,
    )
    regenerate_recovery_codes: auth.RecoveryResult | None = allow(
        AUTHENTICATED,
        description="Replace the recovery codes (needs a current TOTP code).",
        resolver=auth.regenerate_recovery_codes,
    )
    create_permission_group: access.PermissionGroupResult | None = allow(
        Role.ADMIN,
        description="Add a permission group to a portal (ADMIN).",
        resolver=access.create_permission_group,
    )
    update_permission_group: access.PermissionGroupResult | None = allow(
        Role.ADMIN,
        description="Change a permission group's name, grants, criteria or default (ADMIN).",
        resolver=access.update_permission_group,
    )
    delete_permission_group: access.DeletePermissionGroupResult | None = allow(
        Role.ADMIN,
        description="Delete a permission group; its members join the default group (ADMIN).",
        resolver=access.delete_permission_group,
    )
    set_portal_user_permission_group: access.PortalUserResult | None = allow(
        STAFF,
        description="Put a portal user into a group of its portal (Kontaktgruppe festlegen).",
        resolver=access.set_portal_user_permission_group,
    )
    invite_staff_user: access.StaffUserResult | None = allow(
        Role.ADMIN,
        description="Invite a staff user by email (ADMIN); again to resend the link.",
        resolver=access.invite_staff_user,
    )
    update_staff_user: access.StaffUserResult | None = allow(
        Role.ADMIN,
        description="Change a staff user's name or role (ADMIN); a role change ends sessions.",
        resolver=access.update_staff_user,
    )
    disable_staff_user: access.StaffUserResult | None = allow(
        Role.ADMIN,
        description="Disable a staff user and end all their sessions (ADMIN).",
        resolver=access.disable_staff_user,
    )
    enable_staff_user: access.StaffUserResult | None = allow(
        Role.ADMIN,
        description="Enable a disabled staff user again (ADMIN).",
        resolver=access.enable_staff_user,
    )
    accept_staff_invitation: access.AcceptStaffInvitationResult = public(
        "Set the password of an invited staff user (the link works once).",
        resolver=access.accept_staff_invitation,
    )
    change_password: access.ChangePasswordResult | None = allow(
        AUTHENTICATED,
        description="Change the own password; every other session ends.",
        resolver=access.change_password,
    )
    update_language: access.LanguageResult | None = allow(
        AUTHENTICATED,
        description="Set the caller's language for emails and the portal (de, en).",
        resolver=access.update_language,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
    )
    register: registration.ReceivedResult = public(
        "Register on a portal; the same answer whether or not the email or a contact"
        " exists (what differs goes into the email).",
        resolver=registration.register,
    )
    activate_account: registration.ActivatedResult = public(
        "Confirm a registration with the token of the activation email.",
        resolver=registration.activate_account,
    )
    resend_activation: registration.ReceivedResult = public(
        "Send a new activation email (older links stop working).",
        resolver=registration.resend_activation,
    )
    request_password_reset: registration.ReceivedResult = public(
        "Send a password reset link; the same answer whether or not the email exists.",
        resolver=registration.request_password_reset,
    )
    reset_password: registration.PasswordResetResult = public(
        "Set a new password with the token of the reset email; ends every session.",
        resolver=registration.reset_password,
    )
    accept_invitation: registration.ActivatedResult = public(
        "Set the password with the token of an invitation; the access is active at once.",
        resolver=registration.accept_invitation,
    )
    invite_contact: access.PortalUserResult | None = allow(
        STAFF,
        description="Invite a contact to a portal (again: a new link).",
        resolver=registration.invite_contact,
    )
    invite_uninvited_contacts: registration.BulkInvitationResult | None = allow(
        STAFF,
        description="Invite contacts without access to a portal, idempotently, in batches.",
        resolver=registration.invite_uninvited_contacts,
    )
    set_portal_user_password: access.PortalUserResult | None = allow(
        STAFF,
        description="iPM: set a contact's portal password (creates the access if needed).",
        resolver=registration.set_portal_user_password,
    )
    activate_portal_user: access.PortalUserResult | None = allow(
        STAFF,
        description="Activate a portal user's access (needs a password).",
        resolver=registration.activate_portal_user,
    )
    deactivate_portal_user: access.PortalUserResult | None = allow(
        STAFF,
        description="Deactivate a portal user's access; ends every session at once.",
        resolver=registration.deactivate_portal_user,
    )
    update_email_template: email_templates.EmailTemplateResult | None = allow(
        Role.ADMIN,
        description="Replace a portal's email template; refused if it does not render.",
        resolver=email_templates.update_email_template,
    )
    create_portal: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Create a portal (DRAFT, managed subdomain, default group, templates).",
        resolver=access.create_portal,
    )
    update_portal: access.PortalResult | None = allow(
        Role.ADMIN, description="Rename a portal.", resolver=access.update_portal
    )
    delete_portal: access.DeletePortalResult | None = allow(
        Role.ADMIN,
        description="Delete a portal that is not active, with its users and settings.",
        resolver=access.delete_portal,
    )
    publish_portal: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Publish the draft (settings and tiles) as the next version.",
        resolver=access.publish_portal,
    )
    restore_portal_version: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Make a published version the draft again (publish to show it).",
        resolver=access.restore_portal_version,
    )
    activate_portal: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Put a portal online (its domain ready, a version published).",
        resolver=access.activate_portal,
    )
    deactivate_portal: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Take a portal offline; its users' sessions end.",
        resolver=access.deactivate_portal,
    )
    create_tile: access.TileResult | None = allow(
        Role.ADMIN,
        description="Add a tile to the end of a portal's draft home page.",
        resolver=access.create_tile,
    )
    update_tile: access.TileResult | None = allow(
        Role.ADMIN, description="Change a draft tile.", resolver=access.update_tile
    )
    delete_tile: access.DeleteTileResult | None = allow(
        Role.ADMIN, description="Delete a draft tile.", resolver=access.delete_tile
    )
    reorder_tiles: access.TilesResult | None = allow(
        Role.ADMIN,
        description="Put all of a portal's draft tiles in a new order (drag and drop).",
        resolver=access.reorder_tiles,
    )
    assign_portal_user: access.PortalUserResult | None = allow(
        STAFF,
        description="Assign a pending portal user to a contact (given, or found by email).",
        resolver=registration.assign_portal_user,
    )
    assign_portal_user_to_new_contact: access.PortalUserResult | None = allow(
        STAFF,
        description="Create a contact for a pending portal user and assign it.",
        resolver=registration.assign_portal_user_to_new_contact,
    )
    unassign_portal_user: access.PortalUserResult | None = allow(
        STAFF,
        description="Take a portal user's contact away (it can not log in until assigned).",
        resolver=registration.unassign_portal_user,
    )
    delete_portal_user: registration.DeletePortalUserResult | None = allow(
        STAFF,
        description="Erase a portal user (GDPR): credentials, 2FA and sessions; audited.",
        resolver=registration.delete_portal_user,
    )
    update_portal_settings: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Change a portal's draft settings (validated; published with the portal).",
        resolver=access.update_portal_settings,
    )
    set_portal_domain: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Give a portal a managed subdomain or a custom domain (then verify it).",
        resolver=access.set_portal_domain,
    )
    verify_portal_domain: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Check the verification CNAME records of a custom domain in DNS.",
        resolver=access.verify_portal_domain,
    )
    check_portal_configuration: access.PortalResult | None = allow(
        Role.ADMIN,
        description="Check the configuration CNAME records of a verified custom domain.",
        resolver=access.check_portal_configuration,
    )
    import_portal_users: registration.ImportResult | None = allow(
        STAFF,
        description="Create or update portal users from a CSV upload (multipart request):"
        " all or nothing, idempotent.",
        resolver=registration.import_portal_users,
    )
    change_installment: self_service.InstallmentResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.INSTALLMENT_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change a contract's installment (Abschlag) within the portal's rules.",
        resolver=self_service.change_installment,
    )
    change_payment_method: self_service.ContractChangeResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.PAYMENT_METHOD_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change a contract's payment method (IBAN checked; rules: overdue, cadence).",
        resolver=self_service.change_payment_method,
    )
    change_due_date: self_service.ContractChangeResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.DUE_DATE_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change the day of the month payments are due (until N days before).",
        resolver=self_service.change_due_date,
    )
    submit_meter_reading: self_service.ReadingResult | None = allow(
        STAFF_AND_PORTAL_USERS,
        grant=Grant.METER_READING_CREATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Submit a meter reading (customers: their meters; installers: assigned"
        " ones; staff: any of the organization). Safe to retry with the same clientKey.",
        resolver=self_service.submit_meter_reading,
    )
    respond_to_offer: self_service.OfferResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.ORDER_READ,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Accept or decline an offer; names the journey the portal opens next.",
        resolver=self_service.respond_to_offer,
    )
    update_my_contact: requests_module.UpdateMyContactResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.CONTACT_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change the customer's own contact data; what the portal requires"
        " approval for becomes a change request, the rest changes at once.",
        resolver=requests_module.update_my_contact,
    )
    approve_change_request: requests_module.DecisionResult | None = allow(
        STAFF,
        description="Apply a waiting change request (a conflict if the data changed since).",
        resolver=requests_module.approve_change_request,
    )
    reject_change_request: requests_module.DecisionResult | None = allow(
        STAFF,
        description="Reject a waiting change request, with a reason for the customer.",
        resolver=requests_module.reject_change_request,
    )
    reset_meter_counter: self_service.ResetCounterResult | None = allow(
        STAFF,
        description="Record that a meter's count started again (rolled over or replaced):"
        " later readings are no longer compared with earlier ones.",
        resolver=self_service.reset_meter_counter,
    )
    upload_document: documents.UploadDocumentResult | None = allow(
        STAFF,
        Role.CUSTOMER,
        grant=Grant.DOCUMENT_UPLOAD,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Upload a file (multipart request) as a document: customers to their own"
        " contact, staff to any contact of the organization. Type sniffed from the content.",
        resolver=documents.upload_document,
    )
    delete_document: documents.DeleteDocumentResult | None = allow(
        STAFF,
        Role.CUSTOMER,
        grant=Grant.DOCUMENT_DELETE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Delete a document and its file: staff any of the organization,"
        " customers only those they uploaded themselves.",
        resolver=documents.delete_document,
    )
    review_meter_reading: self_service.ReviewResult | None = allow(
        STAFF,
        description="Accept, correct or reject a meter reading waiting for review.",
        resolver=self_service.review_meter_reading,
    )
