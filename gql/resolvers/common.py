"""Resolver helpers shared by the feature modules: relations and pages through loaders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from db import models
from gql.context import Info
from gql.domain import publishing
from gql.domain.scope import visible
from gql.schema.pagination import Connection, connection, page_request, slice_connection


async def load_one(info: Info, model: type[Any], row_id: uuid.UUID | None) -> Any:
    """The related row if the caller may see it, else None."""
    if row_id is None:
        return None
    return await info.context.loaders.by_id(model).load(row_id)


async def load_page(
    info: Info,
    column: Any,
    key: uuid.UUID,
    first: int | None,
    after: str | None,
    *order: Any,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Any]:
    """A page of the visible rows whose `column` equals `key`, through a batched loader."""
    rows = await info.context.loaders.by_fk(column, *order).load(key)
    return slice_connection(rows, first, after, info.context.settings.max_page_size, last, before)


async def query_page(
    info: Info,
    model: type[Any],
    first: int | None,
    after: str | None,
    *,
    where: tuple[Any, ...] = (),
    order_by: tuple[Any, ...] = (),
    last: int | None = None,
    before: str | None = None,
    id_order: Any = None,
) -> Connection[Any]:
    """A page of a top-level list, filtered through the scope, paged in SQL; the id
    ends the order (`id_order`: ascending unless given)."""
    window = page_request(first, after, info.context.settings.max_page_size, last, before)
    condition = sa.and_(visible(model, info.context.actor), *where)

    async def count() -> int:
        statement = sa.select(sa.func.count()).select_from(model).where(condition)
        return int((await info.context.execute(statement)).scalar_one())

    # The last items of a list sit where its length says: one count before the page.
    counted = await count() if window.needs_total else None
    offset, limit = window.resolve(counted)

    async def page(offset: int, limit: int) -> Sequence[Any]:
        return await info.context.scalars(
            sa.select(model)
            .where(condition)
            .order_by(*order_by, model.id if id_order is None else id_order)
            .offset(offset)
            .limit(limit + 1)
        )

    rows = await page(offset, limit)
    if counted is None and window.ends_early(offset, limit, len(rows)):
        counted = await count()  # rare: a stale `before`; still a fixed number of statements
        offset, limit = window.resolve(counted)
        rows = await page(offset, limit)
    if counted is not None:
        return connection(rows, offset=offset, limit=limit, total=counted)
    # The total follows from a page that ends the list, unless the page is past the
    # end (an `after` beyond the last row): then only a count knows it.
    ends = len(rows) <= limit and (len(rows) > 0 or offset == 0)
    known = offset + len(rows) if ends else None
    return connection(rows, offset=offset, limit=limit, total=known if known is not None else count)


async def published_tiles(
    info: Info, portal: models.Portal, *, home: bool = False
) -> list[models.Tile]:
    """The tiles of the portal's published version the caller may see, in order
    (`publishing.tile_shown`; on the home page with `home`); through a loader, so a
    list of portals costs one statement."""
    if portal.published_version is None:
        return []
    actor = info.context.actor

    async def load(execute: Any, keys: list[uuid.UUID]) -> list[list[dict[str, Any]]]:
        shown = publishing.shown_tiles(actor, home=home).subquery()
        statement = (
            sa.select(shown.c.portal_id, shown.c.tile)
            .where(shown.c.portal_id.in_(keys))
            .order_by(shown.c.position)
        )
        found: dict[uuid.UUID, list[dict[str, Any]]] = {key: [] for key in keys}
        for portal_id, tile in (await execute(statement)).all():
            found[portal_id].append(tile)
        return [found[key] for key in keys]

    loader = info.context.loaders.batch("home_tiles" if home else "published_tiles", load)
    return [models.Tile.from_snapshot(tile, portal) for tile in await loader.load(portal.id)]


async def readings_page(
    info: Info,
    column: Any,
    parent_id: uuid.UUID,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Any]:
    """A page of the readings of a meter or register (`column`: `MeterReading.meter_id`
    or `.register_id`), newest first; every meter or register of a request shares the
    statements of its level."""
    window = page_request(first, after, info.context.settings.max_page_size, last, before)
    loaders = info.context.loaders
    if window.needs_total and window.last is not None:
        # The oldest readings end the list; their positions follow from the count.
        total = await loaders.count_by_fk(column).load(parent_id)
        offset, limit = window.resolve(total)
        oldest = await loaders.readings_by(column).load((parent_id, window.last, True))
        return connection(
            oldest[offset - (total - len(oldest)) :], offset=offset, limit=limit, total=total
        )
    offset, limit = window.resolve()
    # One row more than the page tells whether another page follows.
    rows = await loaders.readings_by(column).load((parent_id, offset + limit + 1, False))
    if window.ends_early(offset, limit, len(rows) - offset):
        # The list ends before `before`: the rows loaded are all of them.
        offset, limit = window.resolve(len(rows))
    if len(rows) <= offset + limit:
        return connection(rows[offset:], offset=offset, limit=limit, total=len(rows))

    async def count() -> int:
        return await loaders.count_by_fk(column).load(parent_id)

    return connection(rows[offset:], offset=offset, limit=limit, total=count)
