"""Draft and publish (seed 001: after every change the page must be published again).

Staff change the draft: the portal's `draft_settings` and its tile rows. Publishing
copies both into a numbered `PortalVersion`, which is what anonymous callers and
portal users see; restoring a version copies it back into the draft (and publishes
nothing). A change to the draft never changes what customers see.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db import models
from db.models.enums import Grant
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import NotFound
from gql.domain.scope import find_visible, visible


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


# What a portal user must hold to see a home page tile at all (`portalHome`): an
# ENTITY tile the grant of what it lists, these kinds theirs.
ENTITY_GRANTS = {
    "contract": Grant.CONTRACT_READ,
    "order": Grant.ORDER_READ,
    "opportunity": Grant.OPPORTUNITY_READ,
    "meter": Grant.METER_READ,
}
KIND_GRANTS = {
    models.TileKind.DOCUMENTS: Grant.DOCUMENT_READ,
    models.TileKind.PAYMENTS: Grant.PAYMENT_READ,
    models.TileKind.METER_READING: Grant.METER_READING_CREATE,
}


def tile_shown(tile: Any, actor: Actor, *, home: bool = False) -> ColumnElement[bool]:
    """Whether `actor` sees a tile of a published version (`tile`: the JSONB snapshot,
    an element of `PortalVersion.tiles`): staff all of them, portal users the visible
    ones shown to everybody or to their group; on the home page (`home`) only those
    whose grant (ENTITY_GRANTS, KIND_GRANTS) they hold. The one rule of both engines:
    the executor's loader and the query plans select tiles with it (`shown_tiles`)."""
    if not actor.is_portal_user:
        return sa.true()
    groups = tile["permission_group_ids"]
    own: Any = actor.permission_group_id  # a statement parameter in a query plan
    if not isinstance(own, sa.ColumnElement):
        own = sa.literal(own, sa.Uuid)
    group = sa.func.jsonb_build_array(sa.cast(own, sa.Text))
    shown = sa.and_(
        tile["visible"].as_boolean(),
        sa.or_(sa.func.jsonb_array_length(groups) == 0, groups.contains(group)),
    )
    if not home:
        return shown
    kind, entity = tile["kind"].astext, tile["content"]["entity"].astext
    withheld = [kind == k.value for k, grant in KIND_GRANTS.items() if not actor.may(grant)]
    entities = [e for e, grant in ENTITY_GRANTS.items() if not actor.may(grant)]
    if entities:
        withheld.append(sa.and_(kind == models.TileKind.ENTITY.value, entity.in_(entities)))
    if not withheld:
        return shown
    return sa.and_(shown, sa.not_(sa.func.coalesce(sa.or_(*withheld), sa.false())))


def shown_tiles(actor: Actor, *, home: bool = False) -> sa.Select[Any]:
    """The tiles of the portals' published versions `actor` sees (`tile_shown`): rows
    of (portal_id, position, tile: the JSONB snapshot), for the caller to narrow to its
    portals and order by position."""
    version, portal = models.PortalVersion, models.Portal
    published = sa.and_(portal.id == version.portal_id, portal.published_version == version.version)
    tiles = (
        sa.select(
            version.portal_id.label("portal_id"),
            sa.func.jsonb_array_elements(version.tiles, type_=JSONB).label("tile"),
        )
        .join(portal, published)
        .where(visible(version, actor))
        .subquery("published_tile")
    )
    tile = tiles.c.tile
    return sa.select(
        tiles.c.portal_id,
        sa.cast(tile["position"].astext, sa.Integer).label("position"),
        tile,
    ).where(tile_shown(tile, actor, home=home))
