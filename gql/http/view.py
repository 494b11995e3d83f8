"""The GraphQL view (the route, step 7 in gql/app.py): `POST /graphql` as the steps it
takes, in order.

a. GraphQL over HTTP: only JSON (or a multipart upload) is parsed; a request that can not
   be taken is answered with its status and an `errors` list (gql/graphql_over_http.py).
b. Persisted query: a hash gets its text (gql/http/persisted.py); a refused hash is
   answered only after the session check.
c. Session check and plan: the check the middleware left to the view, in the plan's
   statement when there is a plan, alone otherwise; then the plan (gql/http/plans.py).
   A front-end mutation the executor has answered once takes the short way
   (gql/http/short_mutations.py), its check riding its lock as on Strawberry's way.
   With a read replica, a query may be answered there instead, the session checked on
   the primary first (gql/http/reads.py).
d. The executor (Strawberry), when no plan answered; what it answered may be planned
   and kept as a persisted text from then on.
e. The answer: 503 when the database could not serve it, 400 for a request error in
   `application/graphql-response+json`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import orjson
import structlog
from cross_web import HTTPException
from opentelemetry import trace
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import MaskErrors
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from db.session import Database
from gql import graphiql, graphql_over_http, metrics, unavailable
from gql.auth.actor import ANONYMOUS
from gql.auth.backend import ActorUser, KnownSessions, SessionEnded, unauthenticated
from gql.auth.tokens import TokenService
from gql.client_address import client_address
from gql.context import Context
from gql.domain import documents, session_check
from gql.http import mutations, persisted
from gql.http.plans import Plans
from gql.http.reads import Reads, failed_on_database
from gql.http.short_mutations import Shape, ShortMutations
from gql.persisted_queries import PersistedQueries, PersistedQueryError
from gql.resolvers import computed
from gql.schema import build_schema, input_errors
from gql.settings import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")

# The members of a request body the short way of a planned read takes (`extensions`,
# a persisted query's hash, takes Strawberry's way).
_PLAIN_REQUEST = frozenset({"query", "variables", "operationName"})


def _outcome(engine: str, result: ExecutionResult | None) -> str:
    """ok; unavailable (the database); refused (before plan and executor: a persisted
    query's hash); error (any other error in the answer); exception (none came)."""
    if result is None:
        return "exception"
    if not result.errors:
        return "ok"
    codes = {(error.extensions or {}).get("code") for error in result.errors}
    if unavailable.CODE in codes:
        return "unavailable"
    return "refused" if engine == "none" else "error"


def _planned_response(result: ExecutionResult, scope: Scope) -> Response:
    """A plan's answer as Strawberry's way answers it (`process_result`, `encode_json`,
    `create_response`: status 200, the media type asked for), built directly: a plan's
    answer has `data` alone, no errors (so neither a 400 nor a 503) and no extensions."""
    body = orjson.dumps({"data": result.data})
    return Response(body, media_type=graphql_over_http.media_type(scope))


class PortalGraphQL(GraphQL[Context, None]):
    def __init__(
        self,
        settings: Settings,
        tokens: TokenService,
        storage: documents.DocumentStorage,
        known: KnownSessions,
        database: Database | None = None,
        *,
        traced: bool = False,
    ) -> None:
        """`traced`: requests are traced (gql/tracing.py), and the operation is named on
        the request's span."""
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
        self.traced = traced
        self.persisted = PersistedQueries()
        graphql_schema = cast(Any, self.schema)._schema
        self.plans = Plans(graphql_schema, known, settings.max_page_size)
        self.reads = Reads(database, self.plans, settings.max_query_tokens)
        self.short = ShortMutations(graphql_schema, self._process_errors())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Like Strawberry's, but a request it can not take (not JSON, wrong shape, wrong
        method) is answered as GraphQL over HTTP says: its status with an `errors` list
        in JSON, never plain text."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response, context = await self._planned_read(request)
            if response is None:
                response = await self.run(request, context=context)
        except SessionEnded:  # raised before anything of the answer was sent
            response = unauthenticated()
        except HTTPException as error:
            response = graphql_over_http.request_error(
                error.status_code, error.reason, graphql_over_http.media_type(scope)
            )
        await response(scope, receive, send)

    # --- a. to e. for a planned read, the short way --------------------------------------

    async def _planned_read(self, request: Request) -> tuple[Response | None, Any]:
        """A plain JSON query the plans answer (the steps below in the same order, with
        what does not apply to it left out: no upload, no persisted-query hash, no
        replica): the body parsed once, the session check and the plan's statement,
        the plan's JSON as the answer; with the request's context once made. No answer
        when anything about the request is other than that: Strawberry's way then reads
        the same body again (cached), with the same context if there is one (its session
        check done), and gives the usual answers and errors."""
        if not (self.settings.query_plans and request.method == "POST"):
            return None, UNSET
        content_type = request.headers.get("content-type", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            return None, UNSET
        if self.reads.database is not None and self.reads.database.replica is not None:
            return None, UNSET
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None, UNSET
        if not isinstance(body, dict) or not body.keys() <= _PLAIN_REQUEST:
            return None, UNSET
        query, variables = body.get("query"), body.get("variables")
        operation_name = body.get("operationName")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(operation_name, str | None)
        ):
            return None, UNSET
        started = time.perf_counter()
        context = await self.get_context(request, None)
        shape = self.short.shape(query, operation_name)
        if shape is not None:
            result = await self._short_mutation(shape, variables, context)
            if result is None:
                return None, context  # the executor answers, the session checked by then
            response = await self._short_response(request, context, result)
            self._observe(operation_name, query, "short", result, started)
            return response, context
        if self._rides(context, query, operation_name):
            return None, context  # no plan; the check rides the mutation's lock (`_answer`)
        data = GraphQLRequestData(query, variables, operation_name, None)
        result = await self.plans.answer(data, context, plannable=True)
        if result is None:
            return None, context
        self._observe(operation_name, query, "plan", result, started)
        return _planned_response(result, request.scope), context

    def _observe(
        self,
        name: str | None,
        query: str | None,
        engine: str,
        result: ExecutionResult | None,
        started: float,
    ) -> None:
        """The operation counted and timed by name, engine and outcome (gql/metrics.py);
        when requests are traced, its name and engine on the request's span."""
        operation = metrics.observe_operation(
            name, query, engine, _outcome(engine, result), time.perf_counter() - started
        )
        if self.traced:
            span = trace.get_current_span()
            if span.is_recording():
                span.set_attributes({"graphql.operation.name": operation, "portal.engine": engine})

    async def _short_mutation(
        self, shape: Shape, variables: dict[str, Any] | None, context: Context
    ) -> ExecutionResult | None:
        """A mutation the short way (gql/http/short_mutations.py), with the session check
        riding its lock when it locks first, else (or when the check did not ride, or
        found other grants) the check before it; None when the executor is to answer.

        Raises:
            SessionEnded: the session has ended (nothing was locked or written).
        """
        run = functools.partial(self.short.run, shape, variables, context)
        if context.unconfirmed and context.actor.is_portal_user and shape.locks_first:
            result = await self._riding(context, run)
            if result is not None:
                return result
        await self.plans.confirm(context)
        return await run()

    async def _short_response(
        self, request: Request, context: Context, result: ExecutionResult
    ) -> Response:
        """The answer as Strawberry's way writes it: directly when it has data alone (a
        plan's way), else through the same processing and response."""
        if not result.errors:
            return _planned_response(result, request.scope)
        if input_errors.refused_values(result.errors):
            result.errors = input_errors.localized(result.errors, await self._language(context))
        sub_response = await self.get_sub_response(request)
        return self.create_response(process_result(result), sub_response)

    def _process_errors(self) -> Callable[[list[Any]], list[Any]]:
        """What the schema does with the errors of an answer: logs them, and masks them
        as its error extension does (gql.schema.PortalErrors)."""
        extensions = cast(Any, self.schema).get_extensions()
        masking = next(e for e in extensions if isinstance(e, MaskErrors))

        def process(errors: list[Any]) -> list[Any]:
            self.schema.process_errors(errors)
            return masking._process_errors(errors)

        return process

    # --- a. GraphQL over HTTP: what is parsed ---------------------------------------------

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

    async def get_context(self, request: Request, response: Any) -> Context:  # type: ignore[override]
        user = request.user if "user" in request.scope else None
        actor = user.actor if isinstance(user, ActorUser) else ANONYMOUS
        return Context(
            unconfirmed=isinstance(user, ActorUser) and not user.confirmed,
            sessions=request.state.session,
            lock=request.state.session_lock,
            closed=lambda: getattr(request.state, "session_closed", False),
            actor=actor,
            settings=self.settings,
            tokens=self.tokens,
            client_ip=client_address(request, self.settings),
            user_agent=request.headers.get("user-agent"),
            accept_language=request.headers.get("accept-language"),
            document_storage=self.storage,
        )

    # --- b. to d.: persisted query, session check and plan, executor ----------------------

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The operation, counted and timed by name, engine and outcome (gql/metrics.py)."""
        started = time.perf_counter()
        engine, result = "none", None
        try:
            with computed.one_moment():
                engine, result = await self._execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        finally:
            self._observe(request_data.operation_name, request_data.query, engine, result, started)
        assert result is not None  # set unless an exception left the block
        return result

    async def _execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> tuple[str, ExecutionResult]:
        """Persisted queries, then the session check and a query plan when there is one
        (one statement, the JSON built by PostgreSQL), else the executor; on the
        replica when the query may read there, else (or when the replica failed it) on
        the primary, marking the session's write after a mutation; with which engine
        answered (none: refused before either)."""
        try:
            request_data, digest = await persisted.with_text(
                self.persisted, self.plans, context, request_data
            )
        except PersistedQueryError as error:
            await self.plans.confirm(context)
            return "none", ExecutionResult(data=None, errors=[error])
        run = (request, request_adapter, sub_response, root_value, request_data)
        answered = None
        replica = await self.reads.replica_context(request, context, request_data)
        if replica is not None:
            try:
                answered = await self._answer(replica, *run)
            except Exception as error:
                if not unavailable.is_database_unavailable(error):
                    raise
            if failed_on_database(replica, answered and answered[0]):
                self.reads.replica_failed()  # the primary answers it again
                answered = None
        if answered is None:
            answered = await self._answer(context, *run)
            await self.reads.wrote(context, request_data)
        result, planned = answered
        if planned:
            return "plan", result
        if self.settings.query_plans:  # answered with data: the mutation's short way from now on
            self.short.answered(request_data.query, request_data.operation_name, result)
        await persisted.keep(self.persisted, context, digest, request_data, result)
        if result.errors and input_errors.refused_values(result.errors):
            result.errors = input_errors.localized(result.errors, await self._language(context))
        return "executor", result

    async def _answer(
        self,
        context: Context,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> tuple[ExecutionResult, bool]:
        """The session check and plan, else the executor (whose answer may be planned
        from now on); whether a plan answered."""
        plannable = (
            self.settings.query_plans
            and request_adapter.method == "POST"
            and request_data.query is not None
        )
        run = (request, request_adapter, sub_response, context, root_value, request_data)
        if plannable and self._rides(context, request_data.query, request_data.operation_name):
            result = await self._with_riding_check(*run)
            if result is not None:
                return result, False
        answer = await self.plans.answer(request_data, context, plannable=plannable)
        if answer is not None:
            return answer, True
        result = await super().execute_single(*run)
        self.plans.answered(request_data, result)
        if self.settings.compare_plans and request_adapter.method == "POST":
            await self.plans.compare(request_data, context, result)
        return result, False

    @staticmethod
    def _rides(context: Context, query: str | None, operation_name: str | None) -> bool:
        """Whether the session check the middleware left to the view may ride the row
        the mutation locks (a portal user's; gql/http/mutations.py)."""
        return (
            context.unconfirmed
            and context.actor.is_portal_user
            and query is not None
            and mutations.locks_first(query, operation_name)
        )

    async def _with_riding_check(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult | None:
        """The mutation with the session check in the statement that locks its row
        (gql/domain/session_check.py); its answer when the check said the grants the
        request assumed. None when the mutation is to run again (abandoned, rolled
        back): the check did not ride (the context is still unconfirmed then) or found
        other grants (the context confirmed with them).

        Raises:
            SessionEnded: the session has ended (nothing was locked or written).
        """
        run = functools.partial(
            super().execute_single,
            request,
            request_adapter,
            sub_response,
            context,
            root_value,
            request_data,
        )
        return await self._riding(context, run)

    async def _riding(self, context: Context, run: Callable[[], Awaitable[T]]) -> T | None:
        """`run()` with the session check riding the row it locks first; its answer
        when the check said the grants the request assumed, else None (see
        `_with_riding_check`).

        Raises:
            SessionEnded: the session has ended (nothing was locked or written).
        """
        assumed = context.actor
        confirm = functools.partial(self.plans.confirm_row, context, assumed)
        check = session_check.RidingCheck(assumed, datetime.now(UTC), confirm)
        session_check.let_ride(context.session, check)
        try:
            result = await run()
        finally:
            session_check.take(context.session)
        if check.outcome is session_check.Outcome.ENDED:
            self.plans.known.forget(assumed)
            raise SessionEnded
        return result if check.outcome is session_check.Outcome.SAME else None

    @staticmethod
    async def _language(context: Context) -> str:
        """The caller's language for refused values (Context.language); English when the
        database that would tell is what failed."""
        try:
            return await context.language()
        except Exception:  # the database may be why: the English message stays
            log.warning("graphql.language_unknown")
            return "en"

    # --- e. The answer --------------------------------------------------------------------

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL with its files from this server (gql/graphiql.py), not a CDN."""
        return graphiql.page()

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
