"""Registration, activation, invitations and password reset (anonymous callers); staff
inviting contacts, and importing and exporting a portal's users."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.file_uploads import Upload

from db import models
from gql import messages
from gql.auth.permissions import STAFF, allow, public
from gql.context import Info
from gql.domain import portal_access, registration, user_csv
from gql.domain.errors import InvalidInput, Parameter
from gql.schema.portal_user import PortalUser, PortalUserPayload, PortalUserResult, access_config
from gql.schema.results import (
    INPUT,
    Error,
    MutationError,
    attempt,
    error_fields,
    now,
    origin,
    row_id,
)
from gql.schema.scalars import EmailAddress, Line

RECEIVED = "Thank you. If the details can be used, an email with the next step is on its way."


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
    marketing_consent: bool = strawberry.field(
        default=False,
        description="Agrees to the portal's marketing consent text (`PublicPortal.texts"
        ".marketingConsent`) in the registration's language; stored with the text and time.",
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


ReceivedResult = Annotated[
    RequestReceived | MutationError,
    strawberry.union(
        "ReceivedResult",
        description="Answer of `register`, `resendActivation`, `requestPasswordReset` and"
        " `requestLoginCode`:"
        " RequestReceived whether or not an email was sent (so it does not reveal"
        " which addresses have an account), or MutationError for invalid input or too"
        " many requests.",
    ),
]
ActivatedResult = Annotated[
    AccountActivated | MutationError,
    strawberry.union(
        "ActivatedResult",
        description="Answer of `activateAccount` and `acceptInvitation`: AccountActivated, or"
        " MutationError (e.g. INVALID_TOKEN for an unknown, used or expired link).",
    ),
]
PasswordResetResult = Annotated[
    PasswordReset | MutationError,
    strawberry.union(
        "PasswordResetResult",
        description="Answer of `resetPassword`: PasswordReset, or MutationError (e.g."
        " INVALID_TOKEN, or a password that is too weak).",
    ),
]


async def register(
    info: Info, input: Annotated[RegisterInput, strawberry.argument(description=INPUT)]
) -> ReceivedResult:
    async def work(db: AsyncSession) -> RequestReceived:
        await registration.register(
            db,
            access_config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            email=input.email,
            password=input.password,
            identifiers={item.key: item.value for item in input.identifiers},
            language=input.language,
            accepted_terms=input.accepted_terms,
            marketing_consent=input.marketing_consent,
            origin=origin(info),
            now=now(),
        )
        return RequestReceived(message=RECEIVED)

    return await attempt(info, work, portal=input.portal_id)


def _activated(user: models.PortalUser) -> AccountActivated:
    return AccountActivated(
        email=user.email,
        can_log_in=user.assignment_status is models.AssignmentStatus.ASSIGNED,
    )


async def activate_account(
    info: Info, input: Annotated[TokenInput, strawberry.argument(description=INPUT)]
) -> ActivatedResult:
    async def work(db: AsyncSession) -> AccountActivated:
        user = await registration.activate(
            db,
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            token=input.token,
            origin=origin(info),
            now=now(),
        )
        return _activated(user)

    return await attempt(info, work, portal=input.portal_id)


def _queued(request: Any) -> Any:
    """The resolver of a request answered by the mail worker (`registration.resend_activation`,
    `request_password_reset`, `request_login_code`): the same answer for every address."""

    async def resolve(
        info: Info, input: Annotated[PortalEmailInput, strawberry.argument(description=INPUT)]
    ) -> ReceivedResult:
        async def work(db: AsyncSession) -> RequestReceived:
            await request(
                db,
                access_config(info),
                portal_id=row_id(input.portal_id, "Portal", "portalId"),
                email=input.email,
                origin=origin(info),
                now=now(),
            )
            return RequestReceived(message=RECEIVED)

        return await attempt(info, work, portal=input.portal_id)

    return resolve


resend_activation = _queued(registration.resend_activation)
request_password_reset = _queued(registration.request_password_reset)
request_login_code = _queued(registration.request_login_code)


async def reset_password(
    info: Info, input: Annotated[TokenPasswordInput, strawberry.argument(description=INPUT)]
) -> PasswordResetResult:
    async def work(db: AsyncSession) -> PasswordReset:
        user = await registration.reset_password(
            db,
            access_config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            token=input.token,
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return PasswordReset(email=user.email)

    return await attempt(info, work, portal=input.portal_id)


async def accept_invitation(
    info: Info, input: Annotated[TokenPasswordInput, strawberry.argument(description=INPUT)]
) -> ActivatedResult:
    async def work(db: AsyncSession) -> AccountActivated:
        user = await portal_access.accept_invitation(
            db,
            access_config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            token=input.token,
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        return _activated(user)

    return await attempt(info, work, portal=input.portal_id)


# --- Invitations ---------------------------------------------------------------------------


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


@strawberry.type(description="What a bulk invitation did.")
class BulkInvitationPayload:
    invited: int = public("Contacts invited now (one email each).")
    skipped: int = public("Contacts whose email another contact's access already uses.")
    remaining: int = public("Contacts still without access (0 when done).")


BulkInvitationResult = Annotated[
    BulkInvitationPayload | MutationError,
    strawberry.union(
        "BulkInvitationResult",
        description="Answer of `inviteUninvitedContacts`: BulkInvitationPayload with the"
        " invitations sent, or MutationError.",
    ),
]


async def invite_contact(
    info: Info, input: Annotated[InviteContactInput, strawberry.argument(description=INPUT)]
) -> PortalUserResult:
    async def work(db: AsyncSession) -> PortalUserPayload:
        user = await portal_access.invite(
            db,
            info.context.actor,
            access_config(info),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            origin=origin(info),
            now=now(),
        )
        return PortalUserPayload(portal_user=cast(PortalUser, user), revoked_sessions=0)

    return await attempt(info, work)


async def invite_uninvited_contacts(
    info: Info,
    input: Annotated[InviteUninvitedContactsInput, strawberry.argument(description=INPUT)],
) -> BulkInvitationResult:
    if not 1 <= input.limit <= 5000:
        return MutationError.of(InvalidInput("limit_out_of_range", field="limit"))

    async def work(db: AsyncSession) -> BulkInvitationPayload:
        report, remaining = await portal_access.invite_batch(
            db,
            info.context.actor,
            access_config(info),
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


# --- Export and import ---------------------------------------------------------------------


@strawberry.type(description="A file to download.")
class ExportedFile:
    filename: str = public("Suggested file name.")
    content_type: str = public("Media type.")
    content: str = public("The file (UTF-8 text).")


async def _row_message(root: ImportRowError, info: Info) -> str:
    language = await info.context.language()
    return messages.message("INVALID_INPUT", language, root.values, "", root.key)


@strawberry.type(description="A problem in one line of an imported file.")
class ImportRowError:
    line: int = public("Line in the file (the header is line 1).")
    column: str = public("Column at fault.")
    message: str = public(
        "What is wrong, in the caller's language (as `Error.message`).", resolver=_row_message
    )
    # The problem's message key and parameters (gql/domain/user_csv.py RowError).
    key: strawberry.Private[str]
    values: strawberry.Private[Mapping[str, Parameter]]


@strawberry.type(description="The file was imported.")
class PortalUsersImported:
    created: int = public("New portal users (INVITED; invite them to send the links).")
    updated: int = public("Existing users changed.")
    unchanged: int = public("Existing users already as in the file.")


@strawberry.type(
    description="The file has problems; nothing was imported (code INVALID_INPUT, field `file`)."
)
class PortalUsersImportRefused(Error):
    errors: list[ImportRowError] = public("Every problem, by line (at most 100).")


ExportResult = Annotated[
    ExportedFile | MutationError,
    strawberry.union(
        "ExportPortalUsersResult",
        description="Answer of `exportPortalUsers`: ExportedFile (the CSV), or MutationError (e.g."
        " NOT_FOUND for another organization's portal).",
    ),
]
ImportResult = Annotated[
    PortalUsersImported | PortalUsersImportRefused | MutationError,
    strawberry.union(
        "ImportPortalUsersResult",
        description="Answer of `importPortalUsers`: PortalUsersImported; PortalUsersImportRefused"
        " naming the faulty rows (nothing was imported); or MutationError.",
    ),
]


async def export_portal_users(
    info: Info,
    portal_id: Annotated[
        relay.GlobalID, strawberry.argument(description="The portal whose users to export.")
    ],
) -> ExportResult:
    async def work(db: AsyncSession) -> ExportedFile:
        text = await user_csv.export(
            db, info.context.actor, row_id(portal_id, "Portal", "portalId")
        )
        return ExportedFile(
            filename="portal-users.csv", content_type="text/csv; charset=utf-8", content=text
        )

    return await attempt(info, work)


async def import_portal_users(
    info: Info,
    portal_id: Annotated[
        relay.GlobalID, strawberry.argument(description="The portal to import the users into.")
    ],
    file: Annotated[
        Upload,
        strawberry.argument(
            description="CSV (UTF-8) with a header line; columns as the export writes them"
            " (email, language, customer_number, permission_group, ...).",
        ),
    ],
) -> ImportResult:
    try:
        raw = await file.read()  # type: ignore[attr-defined]
    finally:
        await file.close()  # type: ignore[attr-defined]
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    except UnicodeDecodeError:
        return MutationError.of(InvalidInput("csv_not_utf8", field="file"))

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
                **error_fields(refused),
                errors=[
                    ImportRowError(line=e.line, column=e.column, key=e.key, values=e.parameters)
                    for e in refused.errors
                ],
            )
        return PortalUsersImported(
            created=report.created, updated=report.updated, unchanged=report.unchanged
        )

    return await attempt(info, work)


@strawberry.type
class Query:
    """Registration and invitations: fields of the root `Query` (merged in root.py)."""

    export_portal_users: ExportResult | None = allow(
        STAFF,
        description="A portal's users as a CSV download (formula-like cells neutralised).",
        resolver=export_portal_users,
    )


@strawberry.type
class Mutation:
    """Registration and invitations: fields of the root `Mutation` (merged in root.py)."""

    register: ReceivedResult = public(
        "Register on a portal; the same answer whether or not the email or a contact"
        " exists (what differs goes into the email).",
        resolver=register,
    )
    activate_account: ActivatedResult = public(
        "Confirm a registration with the token of the activation email.",
        resolver=activate_account,
    )
    resend_activation: ReceivedResult = public(
        "Send a new activation email (older links stop working).",
        resolver=resend_activation,
    )
    request_password_reset: ReceivedResult = public(
        "Send a password reset link; the same answer whether or not the email exists.",
        resolver=request_password_reset,
    )
    request_login_code: ReceivedResult = public(
        "Mail a one-time login code (portals with passwordless login); the same answer"
        " whether or not the email has an access that may log in.",
        resolver=request_login_code,
    )
    reset_password: PasswordResetResult = public(
        "Set a new password with the token of the reset email; ends every session.",
        resolver=reset_password,
    )
    accept_invitation: ActivatedResult = public(
        "Set the password with the token of an invitation; the access is active at once.",
        resolver=accept_invitation,
    )
    invite_contact: PortalUserResult | None = allow(
        STAFF,
        description="Invite a contact to a portal (again: a new link).",
        resolver=invite_contact,
    )
    invite_uninvited_contacts: BulkInvitationResult | None = allow(
        STAFF,
        description="Invite contacts without access to a portal, idempotently, in batches.",
        resolver=invite_uninvited_contacts,
    )
    import_portal_users: ImportResult | None = allow(
        STAFF,
        description="Create or update portal users from a CSV upload (multipart request):"
        " all or nothing, idempotent.",
        resolver=import_portal_users,
    )
