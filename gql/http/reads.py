"""Which database answers a GraphQL operation: queries may go to a read replica
(`DATABASE_REPLICA_URL`), everything else to the primary.

A query goes to the replica when all of these hold:

- the replica is usable (db/replica.py): reachable, and not more than
  `REPLICA_MAX_LAG_SECONDS` behind the primary;
- the caller is not impersonating (each impersonated request writes an audit event);
- the session behind the token is checked - always on the primary, so a logout, a
  deactivation or a new permission group is in force at once, whichever process and
  whichever replica answers;
- the replica has replayed the caller's own last write: after each mutation the
  session row records where the primary's WAL stood once it had committed
  (`auth_session.wrote_lsn`), and the session's reads stay on the primary until the
  replica has replayed that far (read your writes, on every process alike, because
  the mark lives in the row every request reads anyway).

A query the replica fails to answer because it went away is answered again by the
primary (queries write nothing, so running one twice is harmless) and the replica is
skipped until its watcher reaches it again.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from cachetools import LRUCache
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from db import models
from db.raw import Prepared
from db.replica import WAL_POSITION_SQL
from db.session import Database, RequestSession
from gql import unavailable
from gql.auth.backend import SessionEnded
from gql.context import Context
from gql.domain import sessions
from gql.http.plans import Plans

log = structlog.get_logger(__name__)

OPERATION_KINDS = 1024  # documents whose operation type is remembered

_WROTE = Prepared(
    sa.select(models.AuthSession.wrote_lsn).where(
        models.AuthSession.id == sa.bindparam("session_id", required=False)
    )
)
# A portal user's session check (gql/domain/sessions.py) with the session's write mark
# as one more column: the check and the mark in one statement on the primary.
_PORTAL_USER_SESSION_MARKED = Prepared(
    sessions.PORTAL_USER_SESSION.add_columns(models.AuthSession.wrote_lsn)
)


def failed_on_database(context: Context, result: ExecutionResult | None) -> bool:
    """Whether the database went away while answering (a statement found it gone)."""
    if context.lost:
        return True
    errors = result.errors if result is not None else None
    return any(unavailable.is_database_unavailable(error.original_error) for error in errors or [])


class Reads:
    """The routing of one app (per process)."""

    def __init__(self, database: Database | None, plans: Plans, max_tokens: int) -> None:
        self.database = database
        self.plans = plans
        self.max_tokens = max_tokens
        self._kinds: LRUCache[tuple[str, str | None], OperationType | None] = LRUCache(
            OPERATION_KINDS
        )

    @property
    def enabled(self) -> bool:
        return self.database is not None and self.database.replica is not None

    def operation_type(self, request: GraphQLRequestData) -> OperationType | None:
        """The type of the operation the request runs; None when the document does not
        parse or names no such operation (the executor then says why)."""
        if request.query is None:
            return None
        key = (request.query, request.operation_name)
        if key not in self._kinds:
            try:
                document = parse(request.query, no_location=True, max_tokens=self.max_tokens)
            except GraphQLError:
                kind = None
            else:
                operation = get_operation_ast(document, request.operation_name)
                kind = None if operation is None else operation.operation
            self._kinds[key] = kind
        return self._kinds[key]

    async def replica_context(
        self, request: Request, context: Context, data: GraphQLRequestData
    ) -> Context | None:
        """A context on the replica for this request, if it may read there (the
        session then checked on the primary); None: the primary answers.

        Raises:
            SessionEnded: the session behind the token has ended.
        """
        if self.database is None:
            return None
        replica, opened = self.database.replica, self.database.replica_sessions
        if replica is None or opened is None or not replica.state.usable():
            return None
        if context.actor.is_impersonated or self.operation_type(data) is not OperationType.QUERY:
            return None
        wrote = await self._checked(context)
        if not replica.state.usable(wrote):
            return None
        session = opened()
        # Closed with the request's own session (gql/http/database.py).
        request.state.replica_session = session
        return dataclasses.replace(context, sessions=RequestSession.given(session))

    async def _checked(self, context: Context) -> int | None:
        """The session checked on the primary if the middleware left that to the view
        (a portal user's: in one statement with the write mark), and the session's
        write mark.

        Raises:
            SessionEnded: the session behind the token has ended.
        """
        actor = context.actor
        if actor.session_id is None:
            return None
        if context.unconfirmed and actor.is_portal_user:
            values = sessions.session_parameters(actor, datetime.now(UTC))
            statement = _PORTAL_USER_SESSION_MARKED
            row = await context.fetch_row(statement.compiled.sql, statement.arguments(values))
            if row is None:
                self.plans.known.forget(actor)
                raise SessionEnded
            confirmed = sessions.completed(actor, row)
            self.plans.known.remember(confirmed)
            context.confirm(confirmed)
            return None if row[4] is None else int(row[4])
        await self.plans.confirm(context)
        values = {"session_id": actor.session_id}
        row = await context.fetch_row(_WROTE.compiled.sql, _WROTE.arguments(values))
        return None if row is None or row[0] is None else int(row[0])

    def replica_failed(self) -> None:
        if self.database is not None and self.database.replica is not None:
            log.warning("replica.failed_request")
            self.database.replica.state.failed = True

    async def wrote(self, context: Context, data: GraphQLRequestData) -> None:
        """After a mutation of a caller with a session: the session's mark, where the
        primary's WAL stands now that it has committed."""
        if not self.enabled or context.actor.session_id is None or context.lost:
            return
        if self.operation_type(data) is not OperationType.MUTATION:
            return
        session = models.AuthSession
        async with context.unit_of_work() as db:
            await db.execute(
                sa.update(session)
                .where(session.id == context.actor.session_id)
                .values(wrote_lsn=sa.literal_column(WAL_POSITION_SQL))
            )
