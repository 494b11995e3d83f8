"""The Starlette application: `/graphql`, `/documents/<id>` (signed download links),
`/healthz`, authentication middleware."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import structlog
from cross_web import HTTPException
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from db.session import Database
from gql import delivery, graphql_over_http, unavailable
from gql.auth.actor import ANONYMOUS, Actor
from gql.auth.backend import (
    ActorUser,
    BearerTokenBackend,
    KnownSessions,
    SessionEnded,
    on_auth_error,
    unauthenticated,
)
from gql.auth.tokens import TokenService
from gql.client_address import client_address
from gql.context import Context
from gql.dev_mail import MAILBOX, mails_endpoint
from gql.domain import documents, registration, sessions
from gql.downloads import download_endpoint
from gql.persisted_queries import PersistedQueries, PersistedQueryError
from gql.query_plans import Plan, Planner
from gql.schema import build_schema
from gql.settings import Settings

log = structlog.get_logger(__name__)


class SessionMiddleware:
    """Opens one database session per HTTP request and closes it afterwards."""

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self.database.sessions()
        lock = asyncio.Lock()  # the statements of the request, one at a time (Context)
        state = scope.setdefault("state", {})
        state["session"], state["session_lock"] = session, lock
        try:
            await self.app(scope, receive, send)
        finally:
            # Fields GraphQL abandoned may still be running a statement, or start one
            # later from a DataLoader batch: wait for the running one, then close and
            # refuse the rest (Context.execute) rather than check out a new connection.
            async with lock:
                state["session_closed"] = True
            try:
                await session.close()
            except SQLAlchemyError:
                # A statement was cancelled mid-flight (GraphQL abandons sibling fields
                # once a non-null error has decided the answer) and asyncpg closed the
                # connection: nothing to roll back; drop it instead of answering 500.
                log.warning("session.connection_lost", path=scope.get("path"))
                await session.invalidate()


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    """A request refused before it reaches GraphQL, answered in GraphQL's error shape."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before they are parsed: the
    multipart parser would otherwise spool any upload, however large, to disk."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._too_large(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request is larger than {self.limit} bytes."
        response = _refusal(413, "PAYLOAD_TOO_LARGE", message)
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class SecurityHeaders:
    """Headers every answer carries unless the route set its own: nothing is sniffed,
    framed, cached or referred, and the API's answers may run no content (CSP). In
    production HSTS too (TLS ends in front of the app). GraphiQL, a development page
    loading its scripts, gets no CSP."""

    def __init__(self, app: ASGIApp, production: bool) -> None:
        self.app = app
        common = {
            b"x-content-type-options": b"nosniff",
            b"x-frame-options": b"DENY",
            b"referrer-policy": b"no-referrer",
            b"cache-control": b"no-store",
        }
        if production:
            common[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
        self.common = common
        self.csp = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                html = any(
                    n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers
                )
                extra = dict(self.common)
                if not html:
                    extra[self.csp[0]] = self.csp[1]
                headers += [(n, v) for n, v in extra.items() if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class MultipartNeedsToken:
    """A multipart POST is a "simple" request a cross-site form can send without a
    CORS preflight; every upload mutation needs a logged-in user anyway, so a multipart
    request without an `Authorization` header is refused before it is parsed (JSON
    and other content types are left to the GraphQL view, which accepts only JSON)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
            if multipart and b"authorization" not in headers:
                message = "Uploads need an Authorization header."
                response = _refusal(401, "UNAUTHENTICATED", message)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class PortalGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        settings: Settings,
        tokens: TokenService,
        storage: documents.DocumentStorage,
        known: KnownSessions,
    ) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.development else None,
            allow_queries_via_get=False,
            # CSV imports and documents (GraphQL multipart request spec); every call
            # needs a bearer token, not a cookie, so a cross-site form can not use it.
            multipart_uploads_enabled=True,
        )
        self.settings = settings
        self.tokens = tokens
        self.storage = storage
        self.persisted = PersistedQueries()
        self.planner = Planner(cast(Any, self.schema)._schema)
        self.known = known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Like Strawberry's, but a request it can not take (not JSON, wrong shape, wrong
        method) is answered as GraphQL over HTTP says: its status with an `errors` list
        in JSON, never plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except SessionEnded:  # raised before anything of the answer was sent
            response = unauthenticated()
        except HTTPException as error:
            response = graphql_over_http.request_error(
                error.status_code, error.reason, graphql_over_http.media_type(scope)
            )
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """orjson: invalid UTF-8 and nesting beyond 1,024 levels are JSON errors (the
        standard library raised UnicodeDecodeError or RecursionError: a 500)."""
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):  # a list is a batch, refused later
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:
        content_type = (request.content_type or "").partition(";")[0].strip().lower()
        if request.method == "POST" and content_type not in (
            "application/json",
            "multipart/form-data",
        ):
            raise HTTPException(415, "Unsupported content type")
        parsed = await super().parse_http_body(request)
        assert isinstance(parsed, GraphQLRequestData)  # batches are refused before
        if not isinstance(parsed.operation_name, str | None):
            raise HTTPException(
                400, "The GraphQL operation's `operationName` must be a string or null."
            )
        return parsed

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Persisted queries, then a query plan when there is one (one statement, the
        JSON built by PostgreSQL), else the executor."""
        try:
            digest = self.persisted.requested_hash(request_data.extensions)
            if digest is not None:
                text = self.persisted.resolve(context.actor, request_data.query, digest)
                request_data = replace(request_data, query=text)
        except PersistedQueryError as error:
            await self._confirm(context)
            return ExecutionResult(data=None, errors=[error])
        plannable = request_adapter.method == "POST" and request_data.query is not None
        if context.unconfirmed:
            # The session check, with the plan of this document in the same statement
            # when there is one; alone otherwise.
            if plannable:
                answer = await self._planned_with_session(request_data, context)
                if answer is not None:
                    return answer
            await self._confirm(context)
        if plannable:
            answer = await self._planned(request_data, context)
            if answer is not None:
                return answer
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        if request_data.query is not None and result.data is not None:
            if digest is not None:
                self.persisted.keep(context.actor, digest, request_data.query)
            if not result.errors:
                self.planner.answered(request_data.query, request_data.operation_name)
        return result

    def _plan(
        self, request: GraphQLRequestData, actor: Actor, *, checking_session: bool = False
    ) -> tuple[Plan, list[Any]] | None:
        """The plan of `request` for `actor` (the variant behind the session check if
        asked) and its arguments, if it has one and the arguments are for a plan."""
        assert request.query is not None
        plan = self.planner.plan(request.query, request.operation_name, actor)
        extra = None
        if checking_session:
            plan = plan.with_session if plan is not None else None
            extra = sessions.session_parameters(actor, datetime.now(UTC))
        if plan is None:
            return None
        variables = request.variables or {}
        arguments = plan.arguments(actor, variables, self.settings.max_page_size, extra)
        return None if arguments is None else (plan, arguments)

    def _planned_answer(self, data: str) -> ExecutionResult:
        # Already JSON: orjson writes the fragment into the answer as it is.
        return ExecutionResult(data=cast(Any, orjson.Fragment(data)), errors=None)

    async def _planned(
        self, request: GraphQLRequestData, context: Context
    ) -> ExecutionResult | None:
        found = self._plan(request, context.actor)
        if found is None:
            return None
        plan, arguments = found
        return self._planned_answer(await context.fetch_text(plan.sql, arguments))

    async def _planned_with_session(
        self, request: GraphQLRequestData, context: Context
    ) -> ExecutionResult | None:
        """One statement: the session check of the token and the plan compiled for the
        grants the session had last time. Its answer counts only if the check says the
        same now; otherwise the actor is completed from the check and the request goes
        on (None). SessionEnded when the session has ended."""
        assumed = context.actor
        found = self._plan(request, assumed, checking_session=True)
        if found is None:
            return None
        plan, arguments = found
        row = await context.fetch_row(plan.sql, arguments)
        if row is None:
            self.known.forget(assumed)
            raise SessionEnded
        actor = sessions.completed(assumed, row)
        self.known.remember(actor)
        context.confirm(actor)
        if not KnownSessions.same(actor, assumed):
            return None  # the group changed: the plan assumed other grants
        return self._planned_answer(row[4])

    async def _confirm(self, context: Context) -> None:
        """The session check on its own, if the middleware left it to the view."""
        if not context.unconfirmed:
            return
        actor = await sessions.authorize(context.session, context.actor, datetime.now(UTC))
        if actor is None:
            self.known.forget(context.actor)
            raise SessionEnded
        self.known.remember(actor)
        context.confirm(actor)

    def encode_json(self, data: object) -> bytes:
        """orjson: several times faster than the standard library on large answers."""
        return orjson.dumps(data)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Carries the media type the client asked for to `create_response`."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = graphql_over_http.media_type(request.scope)
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        """503 with Retry-After when the database could not serve the operation. In
        `application/graphql-response+json` a request error (nothing executed: the
        document or the variables refused) is a 400 without `data`."""
        media_type = sub_response.media_type or graphql_over_http.JSON
        if (
            media_type == graphql_over_http.GRAPHQL_RESPONSE
            and isinstance(response_data, dict)
            and graphql_over_http.is_request_error(response_data)
        ):
            response_data = cast(Any, {"errors": response_data["errors"]})
            sub_response.status_code = 400
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media_type
        if unavailable.has_unavailable_error(response_data):
            response.status_code = 503
            response.headers["Retry-After"] = str(unavailable.RETRY_AFTER_SECONDS)
        return response

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        user = request.user if "user" in request.scope else None
        actor = user.actor if isinstance(user, ActorUser) else ANONYMOUS
        return Context(
            unconfirmed=isinstance(user, ActorUser) and not user.confirmed,
            session=request.state.session,
            lock=request.state.session_lock,
            closed=lambda: getattr(request.state, "session_closed", False),
            actor=actor,
            settings=self.settings,
            tokens=self.tokens,
            client_ip=client_address(request, self.settings),
            user_agent=request.headers.get("user-agent"),
            document_storage=self.storage,
        )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(
    settings: Settings,
    database: Database,
    tokens: TokenService | None = None,
    *,
    mail_worker: bool = False,
    dev_mails: bool = False,
    storage: documents.DocumentStorage | None = None,
) -> Starlette:
    """Build the ASGI app. The caller owns `database` (tests pass one bound to a
    rolled-back transaction); it is disposed on shutdown only if it has an engine.
    With `mail_worker` the outbox is delivered by a background task while the app runs;
    with `dev_mails` (development only) the mails the sink of `portal serve` received are
    listed at `/dev/mails`. Document files go to `storage`
    (default: what the settings configure)."""
    tokens = tokens or TokenService.from_settings(settings)
    storage = storage or documents.storage_for(settings)

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
                    prepare=registration.answering(
                        database.sessions, registration.AccessConfig.from_settings(settings)
                    ),
                )
            )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await database.dispose()

    known = KnownSessions()
    graphql = PortalGraphQL(settings, tokens, storage, known)
    app = Starlette(
        debug=False,
        routes=[
            Route("/healthz", healthz),
            Route("/graphql", graphql),
            Route(
                "/documents/{document_id}",
                download_endpoint(settings, storage),
                methods=["GET"],
            ),
            *(
                [Route("/dev/mails", mails_endpoint(settings.data_dir / MAILBOX))]
                if dev_mails and settings.development
                else []
            ),
        ],
        middleware=[
            # A document and the rest of its multipart request; nothing else comes close.
            Middleware(SecurityHeaders, production=settings.environment == "production"),
            Middleware(BodyLimit, limit=settings.document_max_bytes + 1024 * 1024),
            Middleware(MultipartNeedsToken),
            # The database down or its pool exhausted: 503 SERVICE_UNAVAILABLE, not 500.
            Middleware(unavailable.DatabaseUnavailable),
            Middleware(SessionMiddleware, database=database),
            Middleware(
                AuthenticationMiddleware,
                backend=BearerTokenBackend(tokens, known),
                on_error=on_auth_error,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.tokens = tokens
    return app


def app_from_environment() -> Starlette:
    """The app as `portal serve` runs it in each worker process (an ASGI factory):
    settings from the environment, `DATABASE_URL` required; the outbox is delivered
    in-process unless `PORTAL_MAIL_WORKER=0` (several workers deliver safely side by
    side: each row is claimed with SKIP LOCKED)."""
    settings = Settings.from_env()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is required")
    app = create_app(
        settings,
        Database.from_url(settings.database_url),
        mail_worker=os.environ.get("PORTAL_MAIL_WORKER", "1") == "1",
        dev_mails=os.environ.get("PORTAL_DEV_MAILS") == "1",
    )
    # What start-up built (schema, models, SQLAlchemy's and Strawberry's structures:
    # hundreds of thousands of objects) is left out of garbage collection: otherwise each
    # full collection walks all of it, a pause of tens of milliseconds in the p99.
    gc.collect()
    gc.freeze()
    return app
