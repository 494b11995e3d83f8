"""The Starlette application: `/graphql`, `/documents/<id>` (signed download links),
`/healthz`, `/metrics` (Prometheus, gql/http/metrics.py); the steps of a request in
order (the middlewares below, then the route; each step's module is in gql/http/)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.session import Database
from gql import collector, delivery, graphiql, metrics, portal_web, tracing, unavailable
from gql.auth.backend import BearerTokenBackend, KnownSessions, on_auth_error
from gql.auth.tokens import TokenService
from gql.dev_mail import MAILBOX, mails_endpoint
from gql.domain import documents, registration
from gql.domain.storage import release
from gql.downloads import download_endpoint
from gql.http.database import SessionPerRequest
from gql.http.limits import BodyLimit, MultipartNeedsToken, SecurityHeaders
from gql.http.metrics import metrics_endpoint
from gql.http.view import PortalGraphQL
from gql.settings import Settings

# Where the GraphQL view is mounted; the authentication middleware is given the route's
# path (below), not a copy of its own.
GRAPHQL_PATH = "/graphql"


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
    tracer_provider: TracerProvider | None = None,
    collect_on_loop: bool = False,
) -> Starlette:
    """Build the ASGI app. The caller owns `database` (tests pass one bound to a
    rolled-back transaction); it is disposed on shutdown only if it has an engine.
    With `mail_worker` the outbox is delivered by a background task while the app runs;
    with `dev_mails` (development only) the mails the sink of `portal serve` received are
    listed at `/dev/mails`. Document files go to `storage`
    (default: what the settings configure). With a `tracer_provider` (gql/tracing.py)
    requests and the engine's statements are traced. With `collect_on_loop` garbage is
    collected by the event loop's thread only while the app runs (gql/collector.py)."""
    tokens = tokens or TokenService.from_settings(settings)
    storage = storage or documents.storage_for(settings)
    metrics.watch_sessions(database.sessions)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        collecting = contextlib.ExitStack()
        if collect_on_loop:
            collecting.enter_context(collector.on_loop())
        stop = asyncio.Event()
        worker = None
        watcher = None
        if database.replica is not None and database.engine is not None:
            # Whether the replica may answer queries (db/replica.py), polled all along.
            watcher = asyncio.create_task(database.replica.watch(database.engine, stop))
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
            collecting.close()
            stop.set()
            if worker is not None:
                await worker
            await release(storage)
            if watcher is not None:
                await watcher
            await database.dispose()

    # What the session check last said of each portal user's session: the
    # authentication middleware assumes it, the GraphQL view checks it (gql/http/plans.py).
    known = KnownSessions()
    view = PortalGraphQL(
        settings, tokens, storage, known, database, traced=tracer_provider is not None
    )
    graphql = Route(GRAPHQL_PATH, view)
    app = Starlette(
        debug=False,
        # 7. After the middlewares below, the route (GraphQL: gql/http/view.py); the
        #    router tries them in turn, so the one nearly every request takes comes first.
        routes=[
            graphql,
            Route("/healthz", healthz),
            Route("/metrics", metrics_endpoint(settings), methods=["GET"]),
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
            *(
                [Route(graphiql.PREFIX + "{name}", graphiql.asset, methods=["GET"])]
                if settings.development
                else []
            ),
            *portal_web.routes(settings.portal_local_domain),
        ],
        # The steps of every request, outermost first (gql/http/__init__.py).
        middleware=[
            # 1. Every answer, refusals included, carries the security headers.
            Middleware(SecurityHeaders, production=settings.environment == "production"),
            # 2. Bodies over a document and the rest of its multipart request are refused
            #    before they are read; nothing else comes close.
            Middleware(BodyLimit, limit=settings.document_max_bytes + 1024 * 1024),
            # 3. Uploads (multipart, which a cross-site form can send) need a token.
            Middleware(MultipartNeedsToken),
            # 4. The database down or its pool exhausted: 503 SERVICE_UNAVAILABLE, not 500.
            Middleware(unavailable.DatabaseUnavailable),
            # 5. One database session per request, for the session check and the route
            #    (opened when one of them first needs it).
            Middleware(SessionPerRequest, database=database),
            # 6. The token's actor, its session checked - or, for a portal user's known
            #    session posting to the GraphQL route, checked by the view in the plan's
            #    statement (the route's own path, so the two can not drift apart).
            Middleware(
                AuthenticationMiddleware,
                backend=BearerTokenBackend(tokens, known, graphql_path=graphql.path),
                on_error=on_auth_error,
            ),
        ],
        lifespan=lifespan,
    )
    if tracer_provider is not None:
        tracing.trace_app(app, tracer_provider)
        if database.engine is not None:
            tracing.trace_engine(database.engine.sync_engine, tracer_provider)
    return app


def app_from_environment() -> Starlette:
    """The app as `portal serve` runs it in each worker process (an ASGI factory):
    settings from the environment, `DATABASE_URL` required; the outbox is delivered
    in-process unless `PORTAL_MAIL_WORKER=0` (several workers deliver safely side by
    side: each row is claimed with SKIP LOCKED)."""
    settings = Settings.from_env()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is required")
    metrics.forget_process_at_exit()
    app = create_app(
        settings,
        Database.from_url(
            settings.database_url,
            replica_url=settings.database_replica_url,
            replica_max_lag=settings.replica_max_lag_seconds,
        ),
        mail_worker=os.environ.get("PORTAL_MAIL_WORKER", "1") == "1",
        dev_mails=os.environ.get("PORTAL_DEV_MAILS") == "1",
        tracer_provider=tracing.provider_from_environment(os.environ),
        # granian's threads and the password executor's allocate too: a collection they
        # started would finalize the loop's garbage in their thread (gql/collector.py).
        collect_on_loop=True,
    )
    # What start-up built (schema, models, SQLAlchemy's and Strawberry's structures:
    # hundreds of thousands of objects) is left out of garbage collection: otherwise each
    # full collection walks all of it, a pause of tens of milliseconds in the p99.
    gc.collect()
    gc.freeze()
    return app
