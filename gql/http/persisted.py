"""The persisted-query step of a GraphQL request (gql/persisted_queries.py has the
protocol and the store): a request naming a hash gets its text before anything else
reads it, and a text the executor could parse and validate is kept under its hash.
A hash this process has not seen is looked up in the database only after the session
check (nothing is read for a caller before it)."""

from __future__ import annotations

from dataclasses import replace

import structlog
from sqlalchemy.exc import SQLAlchemyError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from gql.context import Context
from gql.http.plans import Plans
from gql.persisted_queries import PersistedQueries

log = structlog.get_logger(__name__)


async def with_text(
    store: PersistedQueries, plans: Plans, context: Context, request: GraphQLRequestData
) -> tuple[GraphQLRequestData, str | None]:
    """`request` with the text of the hash it names, and that hash (None when it names
    none).

    Raises:
        PersistedQueryError: the hash is unknown to the caller's tenant, malformed, of
            another protocol version, or not the hash of the text sent with it.
        SessionEnded: the database was to be asked, and the session has ended.
    """
    digest = store.requested_hash(request.extensions)
    if digest is None:
        return request, None
    if request.query is not None:
        return replace(request, query=store.checked(request.query, digest)), digest
    text = store.remembered(context.actor, digest)
    if text is None:
        await plans.confirm(context)
        text = await store.stored(context.execute, context.actor, digest)
    return replace(request, query=text), digest


async def keep(
    store: PersistedQueries,
    context: Context,
    digest: str | None,
    request: GraphQLRequestData,
    result: ExecutionResult,
) -> None:
    """Keep the text under `digest` once the executor answered it with data (it parsed
    and validated: a text that does not is never kept)."""
    if digest is None or request.query is None or result.data is None or context.lost:
        return
    try:
        async with context.unit_of_work() as db:
            await store.keep(db, context.actor, digest, request.query)
    except SQLAlchemyError:  # the answer stands; the client sends the text again
        log.warning("persisted_query.not_kept", exc_info=True)
