"""One database session per HTTP request, opened when a step first needs it
(authentication's session check, the route) and closed once the answer is sent."""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Receive, Scope, Send

from db.session import Database, RequestSession

log = structlog.get_logger(__name__)


class SessionPerRequest:
    """One database session per HTTP request, closed afterwards. The request's state
    holds it (`session`, a RequestSession: opened on first use, so a planned read that
    runs its one statement on a pooled connection opens none), with the lock every
    statement of the request takes (`session_lock`, see Context) and, once the answer
    is sent, `session_closed`."""

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database
        self.engine = database.pooled_engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_session = RequestSession(self.database.sessions, self.engine)
        lock = asyncio.Lock()  # the statements of the request, one at a time (Context)
        state = scope.setdefault("state", {})
        state["session"], state["session_lock"] = request_session, lock
        try:
            await self.app(scope, receive, send)
        finally:
            # Fields GraphQL abandoned may still be running a statement, or start one
            # later from a DataLoader batch: wait for the running one, then close and
            # refuse the rest (Context.execute) rather than check out a new connection.
            async with lock:
                state["session_closed"] = True
            # A query read on the replica (gql/http/reads.py) has a session there too.
            if (replica := state.get("replica_session")) is not None:
                try:
                    await replica.close()
                except SQLAlchemyError:
                    await replica.invalidate()
            # Not opened, or nothing begun or loaded (db/raw.py ran the statements):
            # nothing to close.
            session = request_session.opened
            if session is not None and (
                session.in_transaction() or session.sync_session.identity_map
            ):
                try:
                    await session.close()
                except SQLAlchemyError:
                    # A statement was cancelled mid-flight (GraphQL abandons sibling
                    # fields once a non-null error has decided the answer) and asyncpg
                    # closed the connection: nothing to roll back; drop it instead of
                    # answering 500.
                    log.warning("session.connection_lost", path=scope.get("path"))
                    await session.invalidate()
