"""Authentication middleware: `Authorization: Bearer <jwt>` -> Actor, once per request."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from gql.auth.actor import ANONYMOUS, Actor
from gql.auth.tokens import InvalidToken, TokenService
from gql.domain import sessions


def _now() -> datetime:
    return datetime.now(UTC)


class ActorUser(BaseUser):
    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    @property
    def is_authenticated(self) -> bool:
        return self.actor is not ANONYMOUS

    @property
    def display_name(self) -> str:
        return str(self.actor.subject_id or "anonymous")


class BearerTokenBackend(AuthenticationBackend):
    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        header = conn.headers.get("authorization")
        if not header:
            return AuthCredentials(), ActorUser(ANONYMOUS)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>'.")
        try:
            verified = self.tokens.verify(token.strip())
        except InvalidToken as exc:
            # The reason stays in the server; the client learns only that it must log in.
            raise AuthenticationError("Invalid or expired access token.") from exc
        # The session behind the token must still be active (logout, password change
        # and disabling take effect at once); this also loads a portal user's grants.
        actor = await sessions.authorize(conn.scope["state"]["session"], verified, _now())
        if actor is None:
            raise AuthenticationError("Invalid or expired access token.")
        return AuthCredentials(["authenticated", actor.role.value]), ActorUser(actor)


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """A bad token is a 401 with a GraphQL-shaped body, never silently anonymous."""
    return JSONResponse(
        {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
