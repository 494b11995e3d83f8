"""`portalHome`: the published home page of a logged-in customer or installer: the tiles
they may see, in order, in their language, with what each tile shows loaded through
the request's loaders (tiles that show the same rows share one statement)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay

from db import models
from gql.auth.permissions import PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain.portal_texts import chosen_language
from gql.resolvers.common import load_one, published_tiles
from gql.resolvers.relations import (
    HOME_ROWS,
    TILE_CONTRACTS,
    TILE_DOCUMENTS,
    TILE_METERS,
    TILE_OPPORTUNITIES,
    TILE_ORDERS,
    TILE_PAYMENTS,
    TileRows,
    tile_rows,
)
from gql.schema import enums
from gql.schema.crm import (
    CONTRACT,
    DOCUMENT,
    METER,
    OPPORTUNITY,
    ORDER,
    PAYMENT,
    Contract,
    Document,
    Meter,
    Opportunity,
    Order,
    Payment,
)
from gql.schema.portal_pages import PortalPages, portal_pages


async def _listed(info: Info, tile: HomeTile, rows: TileRows) -> list[Any] | None:
    """The rows a tile lists (relations.TileRows), null on a tile that lists others."""
    if not rows.lists(tile.kind.value, tile.entity):
        return None
    relation = rows.relation
    listed = await info.context.loaders.all_visible(
        relation.model, *relation.order_by(), limit=HOME_ROWS
    )
    return listed[: rows.count(tile.limit)]


@strawberry.type(description="A tile of the home page, in the viewer's language.")
class HomeTile:
    id: relay.GlobalID = public("The tile.")
    kind: enums.TileKind = public("What it shows.")
    position: int = public("Order on the page.")
    title: str = public("Title.")
    text: str | None = public("Text (TEXT, TEASER, ACTION, METER_READING).")
    button_label: str | None = public("Button (ACTION).")
    url: str | None = public("Where the button leads (ACTION).")
    journey_id: str | None = public("Journey the button opens (ACTION).")
    image_url: str | None = public("Image (TEASER).")
    link_url: str | None = public("Link (TEASER).")
    entity: str | None = public("What an ENTITY tile lists: contract, order, opportunity, meter.")
    limit: int | None = public("How many rows a DOCUMENTS or PAYMENTS tile lists.")

    @allow(
        PORTAL_USERS,
        grant=CONTRACT,
        description="Contracts (ENTITY contract).",
        metadata=tile_rows(TILE_CONTRACTS),
    )
    async def contracts(self, info: Info) -> list[Contract] | None:
        return await _listed(info, self, TILE_CONTRACTS)

    @allow(
        PORTAL_USERS,
        grant=ORDER,
        description="Orders, newest first (ENTITY order).",
        metadata=tile_rows(TILE_ORDERS),
    )
    async def orders(self, info: Info) -> list[Order] | None:
        return await _listed(info, self, TILE_ORDERS)

    @allow(
        PORTAL_USERS,
        grant=OPPORTUNITY,
        description="Offers (ENTITY opportunity).",
        metadata=tile_rows(TILE_OPPORTUNITIES),
    )
    async def opportunities(self, info: Info) -> list[Opportunity] | None:
        return await _listed(info, self, TILE_OPPORTUNITIES)

    @allow(
        PORTAL_USERS,
        grant=METER,
        description="Meters (ENTITY meter, METER_READING).",
        metadata=tile_rows(TILE_METERS),
    )
    async def meters(self, info: Info) -> list[Meter] | None:
        return await _listed(info, self, TILE_METERS)

    @allow(
        PORTAL_USERS,
        grant=DOCUMENT,
        description="Newest documents (DOCUMENTS).",
        metadata=tile_rows(TILE_DOCUMENTS),
    )
    async def documents(self, info: Info) -> list[Document] | None:
        return await _listed(info, self, TILE_DOCUMENTS)

    @allow(
        PORTAL_USERS,
        grant=PAYMENT,
        description="Latest payments (PAYMENTS).",
        metadata=tile_rows(TILE_PAYMENTS),
    )
    async def payments(self, info: Info) -> list[Payment] | None:
        return await _listed(info, self, TILE_PAYMENTS)


@strawberry.type(description="The home page of the viewer's portal.")
class PortalHome:
    language: str = public("Language of the texts.")
    tiles: list[HomeTile] = public("Tiles the viewer may see, in order.")
    pages: PortalPages = public(
        "What the portal configured for its pages: external links, journeys, the requests"
        " and orders page (published version, in the language above)."
    )


# Where the fields of a home tile come from besides id, kind and position: its content
# as it is, or its texts in the reader's language (the portal's default language where
# the tile has none); a missing title is empty. Read by the query plans too.
CONTENT_FIELDS = ("url", "journey_id", "image_url", "link_url", "entity", "limit")
TEXT_FIELDS = ("text", "button_label")


def tile_texts(content: dict[str, Any], language: str, fallback: str) -> dict[str, Any]:
    """The tile's texts in `language`, else in `fallback`, else none."""
    return dict(content.get(language) or content.get(fallback) or {})


def home_tile(tile: models.Tile, language: str, fallback: str) -> HomeTile:
    content = tile.content
    texts = tile_texts(content, language, fallback)
    return HomeTile(
        id=relay.GlobalID("Tile", str(tile.id)),
        kind=tile.kind,
        position=tile.position,
        title=str(texts.get("title", "")),
        **{name: texts.get(name) for name in TEXT_FIELDS},
        **{name: content.get(name) for name in CONTENT_FIELDS},
    )


async def portal_home(info: Info) -> PortalHome | None:
    actor = info.context.actor
    portal = await load_one(info, models.Portal, actor.portal_id)
    user = await load_one(info, models.PortalUser, actor.subject_id)
    if portal is None or user is None or portal.published_settings is None:
        return None
    settings = portal.published_settings
    language = chosen_language(settings, user.language)
    tiles = await published_tiles(info, portal, home=True)
    return PortalHome(
        language=language,
        tiles=[home_tile(tile, language, settings.default_language) for tile in tiles],
        pages=portal_pages(settings, language),
    )


@strawberry.type
class Query:
    """Home page: fields of the root `Query` (merged in root.py)."""

    portal_home: PortalHome | None = allow(
        PORTAL_USERS,
        description="The viewer's home page: published tiles they may see, with their data.",
        resolver=portal_home,
    )
