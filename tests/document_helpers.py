"""Documents' files as the tests find them: the storage of the test settings (local
files or the S3 bucket, see `document_settings` in conftest.py), what it holds, and a
contact's first demo invoice with its file in it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.demo import demo_pdf
from gql.domain import documents
from gql.domain.documents import DocumentStorage
from gql.settings import Settings


def storage_of(settings: Settings) -> DocumentStorage:
    return documents.storage_for(settings)


async def stored_keys(settings: Settings) -> set[str]:
    return {stored.key async for stored in storage_of(settings).files()}


async def stored_bytes(settings: Settings, key: str) -> bytes:
    return b"".join([chunk async for chunk in await storage_of(settings).open(key)])


async def invoice_of(session: AsyncSession, actor: Any, settings: Settings) -> models.Document:
    """The contact's first demo invoice, with its file in the storage."""
    document = await session.scalar(
        sa.select(models.Document)
        .where(models.Document.contact_id == actor.contact_id)
        .order_by(models.Document.name)
        .limit(1)
    )
    assert document is not None
    await storage_of(settings).put(document.storage_key, demo_pdf(document.name))
    return document
