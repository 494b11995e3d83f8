"""The caller's own account: changing the password and the language."""

from __future__ import annotations

from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.permissions import AUTHENTICATED, Impersonation, allow, public
from gql.context import Info
from gql.domain import account, authentication
from gql.domain.errors import DomainError
from gql.schema.results import INPUT, MutationError, attempt, now, origin
from gql.schema.scalars import Line


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
