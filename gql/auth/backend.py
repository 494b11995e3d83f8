"""Authentication middleware: `Authorization: Bearer <jwt>` -> Actor, once per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

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
from gql.lru import LRU


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


class _Known:
    """One session's entry: what its check said (`grants`: group, grants, visibility,
    impersonation writes), the check's row that said it when known, and the last token
    actor it was assumed for with the actor assumed (both reused while they hold)."""

    __slots__ = ("assumed", "grants", "row", "verified")

    def __init__(self, grants: tuple[Any, ...], row: tuple[Any, ...] | None) -> None:
        self.grants = grants
        self.row = row
        self.verified: Actor | None = None
        self.assumed: Actor | None = None


class KnownSessions:
    """What the session check last said of each portal user's session: its permission
    group, grants, visibility criteria (bounded LRU, per process). Only an assumption:
    GraphQL requests of portal users run the session check in the same statement as a
    query plan compiled for that assumption, and use the plan's answer only when the
    check still says the same (gql/http/plans.py); otherwise, and whenever there is no plan,
    the view runs the check on its own before anything else.

    A session's requests usually carry the same token and get the same row from the
    check: the actor assumed for that token, and the actor that row completes it to (the
    same), are kept, not built again per request."""

    def __init__(self, size: int = KNOWN_SESSIONS) -> None:
        self._known: LRU[uuid.UUID, _Known] = LRU(size)

    @staticmethod
    def _of(actor: Actor) -> tuple[Any, ...]:
        return (
            actor.permission_group_id,
            actor.grants,
            actor.visibility,
            actor.impersonation_writes,
        )

    def remember(self, actor: Actor, row: tuple[Any, ...] | None = None) -> None:
        """What the check said of `actor`'s session (`row`: the check's own row, when the
        caller has it)."""
        if actor.session_id is None or not actor.is_portal_user:
            return
        self._known[actor.session_id] = _Known(self._of(actor), row)

    def forget(self, actor: Actor) -> None:
        if actor.session_id is not None:
            self._known.pop(actor.session_id, None)

    def assume(self, verified: Actor) -> Actor | None:
        """The token's actor with its session's last known grants, if known."""
        if verified.session_id is None or verified.is_impersonated:
            return None
        known = self._known.get(verified.session_id)
        if known is None:
            return None
        if known.verified is verified and known.assumed is not None:
            return known.assumed  # the same token's actor (tokens.verify keeps it)
        group, grants, visibility, writes = known.grants
        known.verified, known.assumed = (
            verified,
            replace(
                verified,
                permission_group_id=group,
                grants=grants,
                visibility=visibility,
                impersonation_writes=writes,
            ),
        )
        return known.assumed

    def completed(self, assumed: Actor, row: Sequence[Any]) -> Actor:
        """`assumed` (from `assume`) as a portal user's session check `row` completes it
        (sessions.completed), remembered: `assumed` itself when the row is the one its
        grants came from."""
        checked = tuple(row[: sessions.SESSION_COLUMNS])
        known = self._known.get(assumed.session_id) if assumed.session_id else None
        if known is not None and known.assumed is assumed and known.row == checked:
            return assumed
        actor = sessions.completed(assumed, row)
        self.remember(actor, checked)
        return actor

    @staticmethod
    def same(first: Actor, second: Actor) -> bool:
        return first is second or KnownSessions._of(first) == KnownSessions._of(second)


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
        actor = await sessions.authorize(conn.scope["state"]["session"](), verified, _now())
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
