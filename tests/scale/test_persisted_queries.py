"""Persisted queries in PostgreSQL: kept per tenant, at most TENANT_TEXTS each, read by
a store (process) that never saw them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql import persisted_queries
from gql.persisted_queries import PersistedQueries, PersistedQueryError, sha256
from tests.conftest import ACTORS

QUERY = "{ viewer { role } }"


async def test_a_text_one_store_kept_another_store_finds_for_the_same_tenant_only(
    session: AsyncSession,
) -> None:
    await PersistedQueries().keep(session, ACTORS["customer"], sha256(QUERY), QUERY)
    other_process = PersistedQueries()
    same_portal = ACTORS["other_customer"]
    assert await other_process.stored(session.execute, same_portal, sha256(QUERY)) == QUERY
    assert other_process.remembered(same_portal, sha256(QUERY)) == QUERY
    for outsider in ("other_org_customer", "agent", "anonymous"):
        with pytest.raises(PersistedQueryError):
            await other_process.stored(session.execute, ACTORS[outsider], sha256(QUERY))


async def test_a_tenant_keeps_no_more_than_its_bound(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(persisted_queries, "TENANT_TEXTS", 3)
    store = PersistedQueries()
    texts = [f"query Q{n} {{ viewer {{ role }} }}" for n in range(5)]
    for text in texts:
        await store.keep(session, ACTORS["customer"], sha256(text), text)
    await store.keep(session, ACTORS["agent"], sha256(QUERY), QUERY)
    kept = await session.execute(
        sa.select(models.PersistedQuery.tenant, sa.func.count()).group_by(
            models.PersistedQuery.tenant
        )
    )
    assert sorted(count for _, count in kept.all()) == [1, 3]
    # Beyond the bound nothing is kept, and the store that offered it says so too.
    with pytest.raises(PersistedQueryError):
        await store.stored(session.execute, ACTORS["customer"], sha256(texts[4]))
    assert store.remembered(ACTORS["customer"], sha256(texts[4])) is None
