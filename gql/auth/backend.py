"""Authentication middleware: `Authorization: Bearer <jwt>` -> Actor, once per request."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cachetools import LRUCache
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
    """The caller. `confirmed` is False when the session check is left to the GraphQL
    view (KnownSessions): the actor's grants are then what the check said last time,
    and the view checks the session before anything of the request is read."""

    def __init__(self, actor: Actor, *, confirmed: bool = True) -> None:
        self.actor = actor
        self.confirmed = confirmed

    @property
    def is_authenticated(self) -> bool:
        return self.actor is not ANONYMOUS

    @property
    def display_name(self) -> str:
        return str(self.actor.subject_id or "anonymous")


KNOWN_SESSIONS = 10_000


class KnownSessions:
    """What the session check last said of each portal user's session: its permission
    group, grants, visibility criteria (bounded LRU, per process). Only an assumption:
    GraphQL requests of portal users run the session check in the same statement as a
    query plan compiled for that assumption, and use the plan's answer only when the
    check still says the same (gql/http/plans.py); otherwise, and whenever there is no plan,
    the view runs the check on its own before anything else."""

    def __init__(self, size: int = KNOWN_SESSIONS) -> None:
        self._grants: LRUCache[uuid.UUID, tuple[Any, ...]] = LRUCache(size)

    @staticmethod
    def _of(actor: Actor) -> tuple[Any, ...]:
        return (
            actor.permission_group_id,
            actor.grants,
            actor.visibility,
            actor.impersonation_writes,
        )

    def remember(self, actor: Actor) -> None:
        if actor.session_id is None or not actor.is_portal_user:
            return
        self._grants[actor.session_id] = self._of(actor)

    def forget(self, actor: Actor) -> None:
        if actor.session_id is not None:
            self._grants.pop(actor.session_id, None)

    def assume(self, verified: Actor) -> Actor | None:
        """The token's actor with its session's last known grants, if known."""
        if verified.session_id is None or verified.is_impersonated:
            return None
        known = self._grants.get(verified.session_id)
        if known is None:
            return None
        group, grants, visibility, writes = known
        return replace(
            verified,
            permission_group_id=group,
            grants=grants,
            visibility=visibility,
            impersonation_writes=writes,
        )

    @staticmethod
    def same(first: Actor, second: Actor) -> bool:
        return KnownSessions._of(first) == KnownSessions._of(second)


class BearerTokenBackend(AuthenticationBackend):
    """The actor of the bearer token, its session checked. With `known` the check of a
    portal user's POST to `graphql_path` (the GraphQL view's route, which checks the
    session itself, gql/http/plans.py) is left to the view when the session is known."""

    def __init__(
        self, tokens: TokenService, known: KnownSessions | None = None, graphql_path: str = ""
    ) -> None:
        self.tokens = tokens
        self.known = known
        self.graphql_path = graphql_path

    def _deferrable(self, conn: HTTPConnection, verified: Actor) -> bool:
        """GraphQL operations of portal users and staff (the view checks the session
        itself)."""
        scope = conn.scope
        return (
            scope.get("method") == "POST"
            and scope.get("path") == self.graphql_path
            and (verified.is_portal_user or verified.is_staff)
            and not verified.is_impersonated
        )

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
        credentials = AuthCredentials(["authenticated", verified.role.value])
        if self.known is not None and self._deferrable(conn, verified):
            # A staff token says all the check would add (the role); a portal user's
            # grants are what its session's check said last time.
            assumed = verified if verified.is_staff else self.known.assume(verified)
            if assumed is not None:
                return credentials, ActorUser(assumed, confirmed=False)
        # The session behind the token must still be active (logout, password change
        # and disabling take effect at once); this also loads a portal user's grants.
        actor = await sessions.authorize(conn.scope["state"]["session"], verified, _now())
        if actor is None:
            raise AuthenticationError("Invalid or expired access token.")
        if self.known is not None:
            self.known.remember(actor)
        return credentials, ActorUser(actor)


class SessionEnded(Exception):
    """The session behind a token has ended (found by the GraphQL view's check)."""


def unauthenticated() -> Response:
    return on_auth_error(None, AuthenticationError("Invalid or expired access token."))


def on_auth_error(conn: HTTPConnection | None, exc: AuthenticationError) -> Response:
    """A bad token is a 401 with a GraphQL-shaped body, never silently anonymous."""
    return JSONResponse(
        {"errors": [{"message": str(exc), "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
