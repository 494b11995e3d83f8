"""Login: the mutation that turns credentials into an access token."""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from strawberry import relay

from gql.auth.permissions import RoleEnum, public
from gql.context import Info
from gql.domain import audit, authentication
from gql.domain.errors import DomainError
from gql.schema.node import parse_uuid


@strawberry.enum(description="Why a login failed.")
class LoginErrorCode(enum.Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PASSWORD = "INVALID_PASSWORD"  # noqa: S105 - an error code, not a secret
    INVALID_PORTAL_ID = "INVALID_PORTAL_ID"


@strawberry.input(description="Credentials; staff leave out the portal.")
class LoginInput:
    email: str = strawberry.field(description="Login email.")
    password: str = strawberry.field(description="Password.")
    portal_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Portal of a customer or installer login; none for staff."
    )


@strawberry.type(description="A successful login.")
class LoggedIn:
    access_token: str = public("Bearer token for the Authorization header.")
    token_type: str = public("Always 'Bearer'.")
    expires_in: int = public("Seconds until the access token expires.")
    role: RoleEnum = public("Role the token carries.")


@strawberry.type(description="A refused login; the same answer whatever was wrong.")
class LoginError:
    code: LoginErrorCode = public("Machine-readable reason.")
    message: str = public("Human-readable reason.")
    field: str | None = public("Input field at fault, if one.")


LoginResult = Annotated[LoggedIn | LoginError, strawberry.union("LoginResult")]


async def login(info: Info, input: LoginInput) -> LoginResult:
    context = info.context
    portal_id = None
    if input.portal_id is not None:
        portal_id = parse_uuid(input.portal_id.node_id)
        if input.portal_id.type_name != "Portal" or portal_id is None:
            return LoginError(
                code=LoginErrorCode.INVALID_PORTAL_ID,
                message="Unknown portal.",
                field="portalId",
            )
    try:
        async with context.unit_of_work() as session:
            actor = await authentication.login(
                session,
                email=input.email,
                password=input.password,
                portal_id=portal_id,
                origin=audit.Origin(context.client_ip, context.user_agent),
                profile=context.settings.password_profile,
            )
    except DomainError as error:
        return LoginError(code=LoginErrorCode(error.code), message=error.message, field=error.field)
    return LoggedIn(
        access_token=context.tokens.issue(actor),
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=context.tokens.ttl_seconds,
        role=actor.role,
    )
