"""The persisted-query step of a GraphQL request (gql/persisted_queries.py has the
protocol and the store): a request naming a hash gets its text before anything else
reads it, and a text the executor could parse and validate is kept under its hash."""

from __future__ import annotations

from dataclasses import replace

from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from gql.auth.actor import Actor
from gql.persisted_queries import PersistedQueries


def with_text(
    store: PersistedQueries, actor: Actor, request: GraphQLRequestData
) -> tuple[GraphQLRequestData, str | None]:
    """`request` with the text of the hash it names, and that hash (None when it names
    none).

    Raises:
        PersistedQueryError: the hash is unknown to the caller's tenant, malformed, of
            another protocol version, or not the hash of the text sent with it.
    """
    digest = store.requested_hash(request.extensions)
    if digest is None:
        return request, None
    return replace(request, query=store.resolve(actor, request.query, digest)), digest


def keep(
    store: PersistedQueries,
    actor: Actor,
    digest: str | None,
    request: GraphQLRequestData,
    result: ExecutionResult,
) -> None:
    """Keep the text under `digest` once the executor answered it with data (it parsed
    and validated: a text that does not is never kept)."""
    if digest is not None and request.query is not None and result.data is not None:
        store.keep(actor, digest, request.query)
