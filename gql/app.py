"""The Starlette application: `/graphql`, `/healthz`, authentication middleware."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL

from db.session import Database
from gql import delivery
from gql.auth.actor import ANONYMOUS
from gql.auth.backend import ActorUser, BearerTokenBackend, on_auth_error
from gql.auth.tokens import TokenService
from gql.context import Context
from gql.dev_mail import MailSink, mails_endpoint
from gql.schema import build_schema
from gql.settings import Settings


class SessionMiddleware:
    """Opens one database session per HTTP request and closes it afterwards."""

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.database.session() as session:
            scope.setdefault("state", {})["session"] = session
            await self.app(scope, receive, send)


class PortalGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings, tokens: TokenService) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.development else None,
            allow_queries_via_get=False,
            # CSV imports (GraphQL multipart request spec); every call needs a bearer
            # token, not a cookie, so a cross-site form can not use it.
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.tokens = tokens

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        user = request.user if "user" in request.scope else None
        actor = user.actor if isinstance(user, ActorUser) else ANONYMOUS
        return Context(
            session=request.state.session,
            actor=actor,
            settings=self.settings,
            tokens=self.tokens,
            client_ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings,
    database: Database,
    tokens: TokenService | None = None,
    *,
    mail_worker: bool = False,
    mail_sink: MailSink | None = None,
) -> Starlette:
    """Build the ASGI app. The caller owns `database` (tests pass one bound to a
    rolled-back transaction); it is disposed on shutdown only if it has an engine.
    With `mail_worker` the outbox is delivered by a background task while the app runs;
    a development `mail_sink` is listed at `/dev/mails`."""
    tokens = tokens or TokenService.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker = None
        if mail_worker:
            worker = asyncio.create_task(
                delivery.run_worker(
                    database.sessions,
                    delivery.SmtpTransport.from_settings(settings),
                    delivery.RetryPolicy.from_settings(settings),
                    stop,
                )
            )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await database.dispose()

    graphql = PortalGraphQL(settings, tokens)
    app = Starlette(
        debug=False,
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", graphql),
            *(
                [Route("/dev/mails", mails_endpoint(mail_sink))]
                if mail_sink is not None and settings.development
                else []
            ),
        ],
        middleware=[
            Middleware(SessionMiddleware, database=database),
            Middleware(
                AuthenticationMiddleware,
                backend=BearerTokenBackend(tokens),
                on_error=on_auth_error,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tokens = tokens
    return app
