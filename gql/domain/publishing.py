"""Draft and publish (seed 001: after every change the page must be published again).

Staff change the draft: the portal's `draft_settings` and its tile rows. Publishing
copies both into a numbered `PortalVersion`, which is what anonymous callers and
portal users see; restoring a version copies it back into the draft (and publishes
nothing). A change to the draft never changes what customers see.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import NotFound
from gql.domain.scope import find_visible


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(
        db, models.Portal, portal_id, actor, what="portal", field="id", lock=True
    )


async def draft_tiles(db: AsyncSession, portal: models.Portal) -> list[models.Tile]:
    return list(
        (
            await db.scalars(
                sa.select(models.Tile)
                .where(models.Tile.portal_id == portal.id)
                .order_by(models.Tile.position)
            )
        ).all()
    )


async def publish(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    *,
    origin: audit.Origin,
    now: datetime,
) -> models.Portal:
    """Make the draft (settings and tiles) the next published version."""
    portal = await _portal(db, actor, portal_id)
    version = (portal.published_version or 0) + 1
    tiles = [tile.snapshot() for tile in await draft_tiles(db, portal)]
    db.add(
        models.PortalVersion(
            organization_id=portal.organization_id,
            portal_id=portal.id,
            version=version,
            settings=portal.draft_settings,
            tiles=tiles,
            published_by_id=actor.subject_id,
        )
    )
    portal.published_settings = portal.draft_settings
    portal.published_version = version
    portal.published_at = now
    await db.flush()
    audit.about(db, actor, portal, "portal.published", origin, {"version": version})
    return portal


async def restore(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    version: int,
    *,
    origin: audit.Origin,
) -> models.Portal:
    """Make a published version the draft again (settings and tiles); publish it to
    show it."""
    portal = await _portal(db, actor, portal_id)
    found = await db.scalar(
        sa.select(models.PortalVersion).where(
            models.PortalVersion.portal_id == portal.id, models.PortalVersion.version == version
        )
    )
    if found is None:
        raise NotFound("portal_version_unknown", field="version", parameters={"version": version})
    portal.draft_settings = found.settings
    await db.execute(sa.delete(models.Tile).where(models.Tile.portal_id == portal.id))
    db.add_all(models.Tile.from_snapshot(tile, portal) for tile in found.tiles)
    await db.flush()
    audit.about(db, actor, portal, "portal.version_restored", origin, {"version": version})
    return portal


def published_tiles(
    portal: models.Portal, version: models.PortalVersion | None, actor: Actor
) -> list[models.Tile]:
    """The tiles of the published version the actor may see, in order: staff all of
    them, portal users the visible ones shown to everybody or to their group."""
    if version is None:
        return []
    tiles = [models.Tile.from_snapshot(data, portal) for data in version.tiles]
    if actor.is_portal_user:
        tiles = [
            tile
            for tile in tiles
            if tile.visible
            and (
                not tile.permission_group_ids
                or actor.permission_group_id in tile.permission_group_ids
            )
        ]
    return sorted(tiles, key=lambda tile: tile.position)
