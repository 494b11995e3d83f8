"""Automatic persisted queries (Apollo's protocol): a client sends the SHA-256 of a
query instead of its text once the server knows it.

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}

Unknown hash without the text: `PERSISTED_QUERY_NOT_FOUND`, and the client sends the
text with the hash, which the server checks and keeps. Known texts are kept in
PostgreSQL (`persisted_query`), so a hash one process learnt is known to every process
at once, and only texts the executor could parse and validate are kept. Each process
remembers the texts it read in a bounded LRU map in front: a text under a hash never
changes, so nothing there can go stale and nothing needs invalidating. A tenant keeps
at most `TENANT_TEXTS` texts (a client's operations are a few dozen; the bound stops a
caller from filling the table with generated texts); beyond it, texts are run but not
kept, and clients simply send the text with the hash.

Texts are kept per tenant: staff per organization, portal users per portal. Whether a
hash is known says that someone sent that text, and a text may hold values (an email, a
customer number as a literal), so a caller of one tenant must not learn what callers of
another sent. Anonymous callers share no tenant: their texts are never kept (a bare
hash from them is always unknown; Apollo's clients then send the text with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import sqlalchemy as sa
from cachetools import LRUCache
from graphql import GraphQLError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from db import models
from gql.auth.actor import Actor

__all__ = ["PersistedQueries", "PersistedQueryError"]

STORE_SIZE = 1024  # texts each process remembers
TENANT_TEXTS = 1024  # texts kept per tenant in the database


class PersistedQueryError(GraphQLError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def tenant(actor: Actor) -> str | None:
    """Whose texts a caller may find: its organization (staff) or portal (portal users,
    impersonation included); None for anonymous callers."""
    if actor.is_staff and actor.organization_id is not None:
        return f"organization:{actor.organization_id}"
    if actor.portal_id is not None:
        return f"portal:{actor.portal_id}"
    return None


class PersistedQueries:
    def __init__(self, size: int = STORE_SIZE) -> None:
        self._texts: LRUCache[tuple[str, str], str] = LRUCache(size)
        # Texts this process has offered to the database: not offered again, but not
        # answered from here either (a tenant over its bound keeps nothing, and every
        # process must then answer the same: unknown).
        self._offered: LRUCache[tuple[str, str], bool] = LRUCache(size)

    @staticmethod
    def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
        """The hash a request names, if it uses the protocol; PersistedQueryError if it
        names one wrongly."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return None
        if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
            raise PersistedQueryError(
                "Unsupported persisted query version (only 1).", "PERSISTED_QUERY_NOT_SUPPORTED"
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or len(digest) != 64:
            raise PersistedQueryError(
                "persistedQuery.sha256Hash must be 64 hex digits.", "BAD_USER_INPUT"
            )
        return digest.lower()

    def checked(self, query: str, digest: str) -> str:
        """The sent text, if it has the hash sent with it."""
        if sha256(query) != digest:
            raise PersistedQueryError("provided sha does not match query", "BAD_USER_INPUT")
        return query

    def remembered(self, actor: Actor, digest: str) -> str | None:
        """The text of a bare hash if this process has read or kept it."""
        scope = tenant(actor)
        return None if scope is None else self._texts.get((scope, digest))

    async def stored(
        self,
        execute: Callable[[Executable], Awaitable[Result[Any]]],
        actor: Actor,
        digest: str,
    ) -> str:
        """The text of a bare hash from the database (the caller's tenant's only).

        Raises:
            PersistedQueryError: no such text is kept for the caller's tenant.
        """
        missing = PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        scope = tenant(actor)
        if scope is None:
            raise missing
        row = models.PersistedQuery
        found = await execute(sa.select(row.text).where(row.tenant == scope, row.sha256 == digest))
        text = found.scalar()
        if not isinstance(text, str):
            raise missing
        self._texts[scope, digest] = text
        return text

    async def keep(self, db: AsyncSession, actor: Actor, digest: str, query: str) -> None:
        """Keep a text under its hash for the caller's tenant (once; not beyond the
        tenant's bound). The caller commits."""
        scope = tenant(actor)
        if scope is None or (scope, digest) in self._texts or (scope, digest) in self._offered:
            return
        row = models.PersistedQuery
        held = sa.select(sa.func.count()).where(row.tenant == scope).scalar_subquery()
        await db.execute(
            insert(row)
            .from_select(
                ["tenant", "sha256", "text"],
                sa.select(sa.literal(scope), sa.literal(digest), sa.literal(query)).where(
                    held < TENANT_TEXTS
                ),
            )
            .on_conflict_do_nothing()
        )
        self._offered[scope, digest] = True

    def __len__(self) -> int:
        return len(self._texts)
