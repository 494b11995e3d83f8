"""Automatic persisted queries (Apollo's protocol): a client sends the SHA-256 of a
query instead of its text once the server knows it.

    {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}

Unknown hash without the text: `PERSISTED_QUERY_NOT_FOUND`, and the client sends the
text with the hash, which the server checks and keeps. Known texts are kept per process
in a bounded LRU map (a second process learns them from its own first miss), and only
texts the executor could parse and validate are kept.

Texts are kept per tenant: staff per organization, portal users per portal. Whether a
hash is known says that someone sent that text, and a text may hold values (an email, a
customer number as a literal), so a caller of one tenant must not learn what callers of
another sent. Anonymous callers share no tenant: their texts are never kept (a bare
hash from them is always unknown; Apollo's clients then send the text with it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from cachetools import LRUCache
from graphql import GraphQLError

from gql.auth.actor import Actor

__all__ = ["PersistedQueries", "PersistedQueryError"]

STORE_SIZE = 1024


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

    def resolve(self, actor: Actor, query: str | None, digest: str) -> str:
        """The text to run: the stored one of the caller's tenant for a bare hash, else
        the sent one after checking that it has that hash."""
        if query is None:
            scope = tenant(actor)
            text = None if scope is None else self._texts.get((scope, digest))
            if text is None:
                raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            return text
        if sha256(query) != digest:
            raise PersistedQueryError("provided sha does not match query", "BAD_USER_INPUT")
        return query

    def keep(self, actor: Actor, digest: str, query: str) -> None:
        scope = tenant(actor)
        if scope is not None:
            self._texts[scope, digest] = query

    def __len__(self) -> int:
        return len(self._texts)
