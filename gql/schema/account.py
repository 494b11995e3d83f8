"""The caller's own account: changing the password, the language and (portal users, with
a confirmation from the new address) the login email; closing a portal user's access."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.permissions import AUTHENTICATED, PORTAL_USERS, Impersonation, allow, public
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import account, authentication, email_change
from gql.domain.errors import DomainError
from gql.schema.portal_user import access_config
from gql.schema.results import INPUT, MutationError, attempt, notifier, now, origin
from gql.schema.scalars import EmailAddress, Line


@strawberry.input(description="The current password and a new one.")
class ChangePasswordInput:
    current_password: Line = strawberry.field(description="The password now.")
    new_password: Line = strawberry.field(description="At least 10 characters, not a common one.")


@strawberry.type(description="The password is changed; other sessions were ended.")
class PasswordChanged:
    revoked_sessions: int = public("How many other sessions were ended.")


ChangePasswordResult = Annotated[
    PasswordChanged | MutationError,
    strawberry.union(
        "ChangePasswordResult",
        description="Answer of `changePassword`: PasswordChanged, or MutationError (e.g. wrong"
        " current password, or a new one that is too weak).",
    ),
]


async def change_password(
    info: Info, input: Annotated[ChangePasswordInput, strawberry.argument(description=INPUT)]
) -> ChangePasswordResult:
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
            return MutationError.of(
                DomainError(revoked.message, code=revoked.code, field=revoked.field)
            )
        return PasswordChanged(revoked_sessions=revoked)

    return await attempt(info, work)


@strawberry.input(description="The caller's language.")
class UpdateLanguageInput:
    language: Line = strawberry.field(description="de or en.")


@strawberry.type(description="The language is saved.")
class LanguageUpdated:
    language: str = public("The language now.")


LanguageResult = Annotated[
    LanguageUpdated | MutationError,
    strawberry.union(
        "LanguageResult",
        description="Answer of `updateLanguage`: LanguageUpdated, or MutationError (a language the"
        " portal does not offer).",
    ),
]


async def update_language(
    info: Info, input: Annotated[UpdateLanguageInput, strawberry.argument(description=INPUT)]
) -> LanguageResult:
    async def work(db: AsyncSession) -> LanguageUpdated:
        language = await account.set_language(
            db, info.context.actor, input.language, origin=origin(info)
        )
        return LanguageUpdated(language=language)

    return await attempt(info, work)


def _refusal(refused: authentication.Refused) -> MutationError:
    # Returned, not raised: the transaction commits the counted failure.
    return MutationError.of(DomainError(refused.message, code=refused.code, field=refused.field))


# --- The login email ---------------------------------------------------------------------


@strawberry.input(description="A new login email, and the password to allow it.")
class RequestEmailChangeInput:
    new_email: EmailAddress = strawberry.field(description="The address to log in with.")
    password: Line = strawberry.field(description="The current password.")


@strawberry.type(description="A confirmation link is on its way to the new address.")
class EmailChangeRequested:
    email: str = public("The new address, as it will be stored; nothing changes until confirmed.")
    expires_in: int = public("Seconds the link is valid.")


RequestEmailChangeResult = Annotated[
    EmailChangeRequested | MutationError,
    strawberry.union(
        "RequestEmailChangeResult",
        description="Answer of `requestEmailChange`: EmailChangeRequested (also when the address"
        " can not be used, which only the confirmation tells), or MutationError (e.g. a wrong"
        " password, the current address, too many requests).",
    ),
]


async def request_email_change(
    info: Info, input: Annotated[RequestEmailChangeInput, strawberry.argument(description=INPUT)]
) -> RequestEmailChangeResult:
    access = access_config(info)

    async def work(db: AsyncSession) -> EmailChangeRequested | MutationError:
        sent = await email_change.request_email_change(
            db,
            info.context.actor,
            info.context.identity,
            access,
            new_email=input.new_email,
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        if isinstance(sent, authentication.Refused):
            return _refusal(sent)
        return EmailChangeRequested(
            email=sent, expires_in=int(access.email_change_ttl.total_seconds())
        )

    return await attempt(info, work)


@strawberry.input(description="The token of the link sent to the new address.")
class ConfirmEmailChangeInput:
    token: Line = strawberry.field(description="From the link in the email.")


if TYPE_CHECKING:
    ContactEmail = email_change.ContactEmail
else:
    ContactEmail = described_enum(
        email_change.ContactEmail,
        "What a confirmed change of the login email did to the contact's email.",
        {
            email_change.ContactEmail.CHANGED: "It changed too (the portal says so).",
            email_change.ContactEmail.REQUESTED: "A change request waits for staff's approval"
            " (the portal requires one for the email).",
            email_change.ContactEmail.UNCHANGED: "It stays (the portal does not change it, or"
            " it is the new address already, or a change of it waits already).",
        },
    )


@strawberry.type(description="The login email is changed; the account's other sessions ended.")
class EmailChangeConfirmed:
    email: str = public("The login email now.")
    revoked_sessions: int = public("Sessions ended (all but the one the change was asked from).")
    contact_email: ContactEmail = public("What happened to the contact's email.")


ConfirmEmailChangeResult = Annotated[
    EmailChangeConfirmed | MutationError,
    strawberry.union(
        "ConfirmEmailChangeResult",
        description="Answer of `confirmEmailChange`: EmailChangeConfirmed, or MutationError"
        " (INVALID_TOKEN for an unknown, used or expired link; CONFLICT when another access of"
        " the portal has the address).",
    ),
]


async def confirm_email_change(
    info: Info, input: Annotated[ConfirmEmailChangeInput, strawberry.argument(description=INPUT)]
) -> ConfirmEmailChangeResult:
    async def work(db: AsyncSession) -> EmailChangeConfirmed | MutationError:
        changed = await email_change.confirm_email_change(
            db,
            access_config(info),
            notifier(info),
            token=input.token,
            origin=origin(info),
            now=now(),
        )
        if isinstance(changed, email_change.EmailTaken):
            return MutationError.of(changed)  # returned: the used link and its audit stay
        return EmailChangeConfirmed(
            email=changed.user.email,
            revoked_sessions=changed.revoked_sessions,
            contact_email=changed.contact,
        )

    return await attempt(info, work)


# --- Closing the access ---------------------------------------------------------------------


@strawberry.input(description="The password, to close the own access.")
class DeleteMyAccountInput:
    password: Line = strawberry.field(description="The current password.")


@strawberry.type(description="The access is deleted; a confirmation is on its way.")
class AccountDeleted:
    email: str = public("The address the confirmation was sent to.")


DeleteMyAccountResult = Annotated[
    AccountDeleted | MutationError,
    strawberry.union(
        "DeleteMyAccountResult",
        description="Answer of `deleteMyAccount`: AccountDeleted, or MutationError (e.g. a wrong"
        " password, RATE_LIMITED after too many).",
    ),
]


async def delete_my_account(
    info: Info, input: Annotated[DeleteMyAccountInput, strawberry.argument(description=INPUT)]
) -> DeleteMyAccountResult:
    async def work(db: AsyncSession) -> AccountDeleted | MutationError:
        deleted = await account.delete_my_account(
            db,
            info.context.actor,
            info.context.identity,
            access_config(info),
            password=input.password,
            origin=origin(info),
            now=now(),
        )
        if isinstance(deleted, authentication.Refused):
            return _refusal(deleted)
        return AccountDeleted(email=deleted)

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """The own account: fields of the root `Mutation` (merged in root.py)."""

    change_password: ChangePasswordResult | None = allow(
        AUTHENTICATED,
        description="Change the own password; every other session ends.",
        resolver=change_password,
    )
    update_language: LanguageResult | None = allow(
        AUTHENTICATED,
        description="Set the caller's language for emails and the portal (de, en).",
        resolver=update_language,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
    )
    request_email_change: RequestEmailChangeResult | None = allow(
        PORTAL_USERS,
        description="Ask to log in with another email: a link to confirm goes to that address"
        " (never under impersonation).",
        resolver=request_email_change,
    )
    confirm_email_change: ConfirmEmailChangeResult = public(
        "Switch the login email with the link's token; the old address is told, other"
        " sessions end.",
        resolver=confirm_email_change,
    )
    delete_my_account: DeleteMyAccountResult | None = allow(
        PORTAL_USERS,
        description="Close the own access (the customer data stay); needs the password, never"
        " under impersonation.",
        resolver=delete_my_account,
    )
