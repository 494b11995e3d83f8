"""Registration, activation, invitations and password reset (anonymous callers), and
the portal access staff grant (invite, iPM password, activate, deactivate)."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.file_uploads import Upload

from db import models
from gql.auth.permissions import public
from gql.context import Info
from gql.domain import portal_access, registration, user_csv
from gql.domain.errors import InvalidInput
from gql.domain.registration import AccessConfig
from gql.schema.access import PortalUserPayload, PortalUserResult
from gql.schema.portal_user import PortalUser
from gql.schema.results import MutationError, attempt, now, origin, row_id
from gql.schema.scalars import EmailAddress, Line

RECEIVED = "Thank you. If the details can be used, an email with the next step is on its way."


def _config(info: Info) -> AccessConfig:
    return AccessConfig.from_settings(info.context.settings)


@strawberry.input(description="A value of one of the portal's identifiers.")
class IdentifierValueInput:
    key: Line = strawberry.field(
        description="From the portal's identifiers, e.g. contact.customer_number."
    )
    value: Line = strawberry.field(description="What the person entered.")


@strawberry.input(description="A registration on a portal.")
class RegisterInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    email: EmailAddress = strawberry.field(description="Login email.")
    password: Line = strawberry.field(description="At least 10 characters, not a common one.")
    identifiers: list[IdentifierValueInput] = strawberry.field(
        default_factory=list, description="Values of the portal's other identifiers."
    )
    language: Line | None = strawberry.field(
        default=None, description="de or en; the portal's default when left out."
    )
    accepted_terms: bool = strawberry.field(
        default=False, description="Required when the portal links terms of use."
    )


@strawberry.input(description="A link's token, on the portal it was sent for.")
class TokenInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    token: Line = strawberry.field(description="From the link in the email.")


@strawberry.input(description="A link's token and the new password.")
class TokenPasswordInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    token: Line = strawberry.field(description="From the link in the email.")
    password: Line = strawberry.field(description="At least 10 characters, not a common one.")


@strawberry.input(description="An email on a portal.")
class PortalEmailInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    email: EmailAddress = strawberry.field(description="Login email.")


@strawberry.type(description="Received; the same answer whoever the email belongs to.")
class RequestReceived:
    message: str = public("What to do next.")


@strawberry.type(description="The access is active.")
class AccountActivated:
    email: str = public("The login email.")
    can_log_in: bool = public(
        "False while staff still have to assign a contact (registration without one)."
    )


@strawberry.type(description="The new password is set; every session was ended.")
class PasswordReset:
    email: str = public("The login email.")


ReceivedResult = Annotated[RequestReceived | MutationError, strawberry.union("ReceivedResult")]
ActivatedResult = Annotated[AccountActivated | MutationError, strawberry.union("ActivatedResult")]
PasswordResetResult = Annotated[
    PasswordReset | MutationError, strawberry.union("PasswordResetResult")
]


async def register(info: Info, input: RegisterInput) -> ReceivedResult:
    async def work(db: AsyncSession) -> RequestReceived:
        await registration.register(
            db,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            email=input.email,
            password=input.password,
            identifiers={item.key: item.value for item in input.identifiers},
            language=input.language,
            accepted_terms=input.accepted_terms,
            origin=origin(info),
            now=now(),
        )
        return RequestReceived(message=RECEIVED)

    return await attempt(info, work)


def _activated(user: models.PortalUser) -> AccountActivated:
    return AccountActivated(
        email=user.email,
        can_log_in=user.assignment_status is models.AssignmentStatus.ASSIGNED,
    )


async def activate_account(info: Info, input: TokenInput) -> ActivatedResult:
    async def work(db: AsyncSession) -> AccountActivated:
        user = await registration.activate(
            db,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            token=input.token,
            origin=origin(info),
            now=now(),
        )
        return _activated(user)

    return await attempt(info, work)


async def resend_activation(info: Info, input: PortalEmailInput) -> ReceivedResult:
    async def work(db: AsyncSession) -> RequestReceived:
        await registration.resend_activation(
            db,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            email=input.email,
            origin=origin(info),
            now=now(),
        )
        return RequestReceived(message=RECEIVED)

    return await attempt(info, work)


async def request_password_reset(info: Info, input: PortalEmailInput) -> ReceivedResult:
    async def work(db: AsyncSession) -> RequestReceived:
        await registration.request_password_reset(
            db,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            email=input.email,
            origin=origin(info),
            now=now(),
        )
        return RequestReceived(message=RECEIVED)

    return await attempt(info, work)


async def reset_password(info: Info, input: TokenPasswordInput) -> PasswordResetResult:
    async def work(db: AsyncSession) -> PasswordReset:
        user = await registration.reset_password(
            db,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            token=input.token,
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return PasswordReset(email=user.email)

    return await attempt(info, work)


async def accept_invitation(info: Info, input: TokenPasswordInput) -> ActivatedResult:
    async def work(db: AsyncSession) -> AccountActivated:
        user = await portal_access.accept_invitation(
            db,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            token=input.token,
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return _activated(user)

    return await attempt(info, work)


# --- Staff ----------------------------------------------------------------------------------


@strawberry.input(description="A contact to give access to a portal.")
class InviteContactInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    contact_id: relay.GlobalID = strawberry.field(description="The contact; needs an email.")


@strawberry.input(description="Invite every contact that has no access to the portal yet.")
class InviteUninvitedContactsInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    active_contract_only: bool = strawberry.field(
        default=False, description="Only contacts with an active contract (customer portals)."
    )
    limit: int = strawberry.field(
        default=500, description="At most this many in this call (1 to 5000); call again."
    )


@strawberry.input(description="iPM: a contact's portal password, set by staff.")
class SetPortalUserPasswordInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    contact_id: relay.GlobalID = strawberry.field(description="The contact; needs an email.")
    password: Line = strawberry.field(description="At least 10 characters, not a common one.")


@strawberry.input(description="A portal user of the own organization.")
class PortalUserIdInput:
    id: relay.GlobalID = strawberry.field(description="The portal user.")


@strawberry.type(description="What a bulk invitation did.")
class BulkInvitationPayload:
    invited: int = public("Contacts invited now (one email each).")
    skipped: int = public("Contacts whose email another contact's access already uses.")
    remaining: int = public("Contacts still without access (0 when done).")


BulkInvitationResult = Annotated[
    BulkInvitationPayload | MutationError, strawberry.union("BulkInvitationResult")
]


def _payload(user: models.PortalUser, revoked: int = 0) -> PortalUserPayload:
    return PortalUserPayload(portal_user=cast(PortalUser, user), revoked_sessions=revoked)


async def invite_contact(info: Info, input: InviteContactInput) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await portal_access.invite(
            db,
            info.context.actor,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            origin=origin(info),
            now=now(),
        )
        return _payload(user)

    return await attempt(info, work)


async def invite_uninvited_contacts(
    info: Info, input: InviteUninvitedContactsInput
) -> BulkInvitationResult:
    if not 1 <= input.limit <= 5000:
        return MutationError.of(InvalidInput("Between 1 and 5000 per call.", field="limit"))

    async def work(db: AsyncSession) -> BulkInvitationPayload:
        report, remaining = await portal_access.invite_batch(
            db,
            info.context.actor,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            limit=input.limit,
            active_contract_only=input.active_contract_only,
            origin=origin(info),
            now=now(),
        )
        return BulkInvitationPayload(
            invited=report.invited, skipped=report.skipped, remaining=remaining
        )

    return await attempt(info, work)


async def set_portal_user_password(
    info: Info, input: SetPortalUserPasswordInput
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await portal_access.set_password(
            db,
            info.context.actor,
            _config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return _payload(user)

    return await attempt(info, work)


def _set_active(active: bool) -> object:
    async def resolve(info: Info, input: PortalUserIdInput) -> PortalUserResult:
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


# --- Assignment ------------------------------------------------------------------------------


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
    DeletePortalUserPayload | MutationError, strawberry.union("DeletePortalUserResult")
]


async def assign_portal_user(info: Info, input: AssignPortalUserInput) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await portal_access.assign(
            db,
            info.context.actor,
            user_id=row_id(input.portal_user_id, "PortalUser", "portalUserId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            origin=origin(info),
            now=now(),
        )
        return _payload(user)

    return await attempt(info, work)


async def assign_portal_user_to_new_contact(
    info: Info, input: AssignPortalUserToNewContactInput
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        contact = input.contact
        user = await portal_access.assign_to_new_contact(
            db,
            info.context.actor,
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


async def unassign_portal_user(info: Info, input: PortalUserIdInput) -> PortalUserResult:
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


async def delete_portal_user(info: Info, input: PortalUserIdInput) -> DeletePortalUserResult:
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


# --- Export and import ---------------------------------------------------------------------


@strawberry.type(description="A file to download.")
class ExportedFile:
    filename: str = public("Suggested file name.")
    content_type: str = public("Media type.")
    content: str = public("The file (UTF-8 text).")


@strawberry.type(description="A problem in one line of an imported file.")
class ImportRowError:
    line: int = public("Line in the file (the header is line 1).")
    column: str = public("Column at fault.")
    message: str = public("What is wrong.")


@strawberry.type(description="The file was imported.")
class PortalUsersImported:
    created: int = public("New portal users (INVITED; invite them to send the links).")
    updated: int = public("Existing users changed.")
    unchanged: int = public("Existing users already as in the file.")


@strawberry.type(description="The file has problems; nothing was imported.")
class PortalUsersImportRefused:
    message: str = public("Summary.")
    errors: list[ImportRowError] = public("Every problem, by line (at most 100).")


ExportResult = Annotated[ExportedFile | MutationError, strawberry.union("ExportPortalUsersResult")]
ImportResult = Annotated[
    PortalUsersImported | PortalUsersImportRefused | MutationError,
    strawberry.union("ImportPortalUsersResult"),
]


async def export_portal_users(info: Info, portal_id: relay.GlobalID) -> ExportResult:
    async def work(db: AsyncSession) -> ExportedFile:
        text = await user_csv.export(
            db, info.context.actor, row_id(portal_id, "Portal", "portalId")
        )
        return ExportedFile(
            filename="portal-users.csv", content_type="text/csv; charset=utf-8", content=text
        )

    return await attempt(info, work)


async def import_portal_users(info: Info, portal_id: relay.GlobalID, file: Upload) -> ImportResult:
    try:
        raw = await file.read()  # type: ignore[attr-defined]
    finally:
        await file.close()  # type: ignore[attr-defined]
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        return MutationError.of(InvalidInput("The file must be UTF-8 encoded CSV.", field="file"))

    async def work(db: AsyncSession) -> PortalUsersImported | PortalUsersImportRefused:
        try:
            report = await user_csv.import_users(
                db,
                info.context.actor,
                row_id(portal_id, "Portal", "portalId"),
                text,
                origin=origin(info),
                now=now(),
            )
        except user_csv.ImportRefused as refused:  # found before anything is written
            return PortalUsersImportRefused(
                message=refused.message,
                errors=[
                    ImportRowError(line=e.line, column=e.column, message=e.message)
                    for e in refused.errors
                ],
            )
        return PortalUsersImported(
            created=report.created, updated=report.updated, unchanged=report.unchanged
        )

    return await attempt(info, work)
