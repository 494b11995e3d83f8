"""Home page tiles of a portal's draft (seed 001 "Startseite"): create, change, delete
and reorder (drag and drop sends the whole new order). Customers see them once the
portal is published (`gql.domain.publishing`)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.tile_content import validate_content
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import InvalidInput, NotFound, invalid_document
from gql.domain.scope import find_visible


def clean_content(kind: models.TileKind, content: Any, languages: Sequence[str]) -> dict[str, Any]:
    """Validated content of a kind, with texts only in the portal's languages; the first
    problem is reported with its path, e.g. `content.de.title`."""
    try:
        cleaned = validate_content(kind, content)
    except pydantic.ValidationError as error:
        raise invalid_document(error, "content") from error
    foreign = [
        language for language in ("de", "en") if language in cleaned and language not in languages
    ]
    if foreign:
        raise InvalidInput(
            "tile_language_not_spoken",
            field=f"content.{foreign[0]}",
            parameters={"languages": ", ".join(foreign)},
        )
    return cleaned


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(
        db, models.Portal, portal_id, actor, what="portal", field="portalId", lock=True
    )


async def _tile(db: AsyncSession, actor: Actor, tile_id: uuid.UUID | None) -> models.Tile:
    return await find_visible(db, models.Tile, tile_id, actor, what="tile", field="id", lock=True)


async def _groups(
    db: AsyncSession, portal: models.Portal, group_ids: Sequence[uuid.UUID | None]
) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(group_ids))
    if None in wanted:
        raise NotFound(
            "not_an_id", field="permissionGroupIds", parameters={"type": "PermissionGroup"}
        )
    group = models.PermissionGroup
    found = set(
        (
            await db.scalars(
                sa.select(group.id).where(group.portal_id == portal.id, group.id.in_(wanted))
            )
        ).all()
    )
    if len(found) != len(wanted):
        raise InvalidInput("groups_of_other_portal", field="permissionGroupIds")
    return [g for g in wanted if g is not None]


def _languages(portal: models.Portal) -> list[str]:
    return list(portal.draft_settings.languages)


async def create(
    db: AsyncSession,
    actor: Actor,
    *,
    portal_id: uuid.UUID | None,
    kind: models.TileKind,
    content: Any,
    visible: bool,
    group_ids: Sequence[uuid.UUID | None],
    origin: audit.Origin,
) -> models.Tile:
    """A new tile at the end of the draft's home page."""
    portal = await _portal(db, actor, portal_id)
    last = await db.scalar(
        sa.select(sa.func.max(models.Tile.position)).where(models.Tile.portal_id == portal.id)
    )
    tile = models.Tile(
        organization_id=portal.organization_id,
        portal_id=portal.id,
        kind=kind,
        position=0 if last is None else last + 1,
        visible=visible,
        permission_group_ids=await _groups(db, portal, group_ids),
        content=clean_content(kind, content, _languages(portal)),
    )
    db.add(tile)
    await db.flush()
    audit.about(db, actor, tile, "tile.created", origin, {"kind": kind.value})
    return tile


async def update(
    db: AsyncSession,
    actor: Actor,
    tile_id: uuid.UUID | None,
    *,
    content: Any = None,
    visible: bool | None = None,
    group_ids: Sequence[uuid.UUID | None] | None = None,
    origin: audit.Origin,
) -> models.Tile:
    """Change what is given; None leaves it."""
    tile = await _tile(db, actor, tile_id)
    portal = await db.get_one(models.Portal, tile.portal_id)
    if content is not None:
        tile.content = clean_content(tile.kind, content, _languages(portal))
    if visible is not None:
        tile.visible = visible
    if group_ids is not None:
        tile.permission_group_ids = await _groups(db, portal, group_ids)
    await db.flush()
    audit.about(db, actor, tile, "tile.updated", origin)
    return tile


async def _renumber(db: AsyncSession, order: Sequence[models.Tile]) -> None:
    """Positions 0..n-1 in this order (the unique position is checked at commit)."""
    for position, tile in enumerate(order):
        tile.position = position
    await db.flush()


async def delete(
    db: AsyncSession, actor: Actor, tile_id: uuid.UUID | None, *, origin: audit.Origin
) -> None:
    tile = await _tile(db, actor, tile_id)
    portal_id = tile.portal_id
    audit.about(db, actor, tile, "tile.deleted", origin, {"kind": tile.kind.value})
    await db.delete(tile)
    await db.flush()
    rest = (
        await db.scalars(
            sa.select(models.Tile)
            .where(models.Tile.portal_id == portal_id)
            .order_by(models.Tile.position)
        )
    ).all()
    await _renumber(db, rest)


async def reorder(
    db: AsyncSession,
    actor: Actor,
    *,
    portal_id: uuid.UUID | None,
    tile_ids: Sequence[uuid.UUID | None],
    origin: audit.Origin,
) -> list[models.Tile]:
    """The whole new order, as drag and drop sends it: exactly the portal's tiles, each
    once; anything else is refused with what is wrong."""
    portal = await _portal(db, actor, portal_id)
    tiles = {
        tile.id: tile
        for tile in (
            await db.scalars(
                sa.select(models.Tile).where(models.Tile.portal_id == portal.id).with_for_update()
            )
        ).all()
    }
    repeated = sorted(str(i) for i, n in Counter(tile_ids).items() if n > 1 and i is not None)
    if repeated:
        raise InvalidInput(
            "tiles_repeated", field="tileIds", parameters={"tiles": ", ".join(repeated)}
        )
    foreign = [i for i in tile_ids if i not in tiles]
    if foreign:
        raise InvalidInput("tiles_foreign", field="tileIds", parameters={"count": len(foreign)})
    missing = sorted(str(i) for i in set(tiles) - set(tile_ids))
    if missing:
        raise InvalidInput(
            "tiles_missing", field="tileIds", parameters={"tiles": ", ".join(missing)}
        )
    order = [tiles[i] for i in tile_ids if i is not None]
    await _renumber(db, order)
    audit.about(db, actor, portal, "tiles.reordered", origin)
    return order
