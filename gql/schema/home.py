"""`portalHome`: the published home page of a logged-in customer or installer: the tiles
they may see, in order, in their language, with what each tile shows loaded through
the request's loaders (tiles that show the same rows share one statement)."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry import relay

from db import models
from db.models.enums import Grant
from gql.auth.permissions import PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain.portal_texts import chosen_language
from gql.resolvers.common import load_one, published_tiles
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

# What a portal user must hold to see a tile at all.
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


def required_grant(tile: models.Tile) -> Grant | None:
    if tile.kind is models.TileKind.ENTITY:
        return ENTITY_GRANTS.get(str(tile.content.get("entity")))
    return KIND_GRANTS.get(tile.kind)


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

    @allow(PORTAL_USERS, grant=CONTRACT, description="Contracts (ENTITY contract).")
    async def contracts(self, info: Info) -> list[Contract] | None:
        if self.entity != "contract":
            return None
        return await info.context.loaders.all_visible(models.Contract, models.Contract.number)

    @allow(PORTAL_USERS, grant=ORDER, description="Orders, newest first (ENTITY order).")
    async def orders(self, info: Info) -> list[Order] | None:
        if self.entity != "order":
            return None
        order = models.Order
        return await info.context.loaders.all_visible(order, order.created_at.desc())

    @allow(PORTAL_USERS, grant=OPPORTUNITY, description="Offers (ENTITY opportunity).")
    async def opportunities(self, info: Info) -> list[Opportunity] | None:
        if self.entity != "opportunity":
            return None
        model = models.Opportunity
        return await info.context.loaders.all_visible(model, model.created_at.desc())

    @allow(PORTAL_USERS, grant=METER, description="Meters (ENTITY meter, METER_READING).")
    async def meters(self, info: Info) -> list[Meter] | None:
        if self.entity != "meter" and self.kind is not models.TileKind.METER_READING:
            return None
        return await info.context.loaders.all_visible(models.Meter, models.Meter.number)

    @allow(PORTAL_USERS, grant=DOCUMENT, description="Newest documents (DOCUMENTS).")
    async def documents(self, info: Info) -> list[Document] | None:
        if self.kind is not models.TileKind.DOCUMENTS:
            return None
        model = models.Document
        rows = await info.context.loaders.all_visible(model, model.created_at.desc())
        return cast(list[Document], rows[: self.limit or 5])

    @allow(PORTAL_USERS, grant=PAYMENT, description="Latest payments (PAYMENTS).")
    async def payments(self, info: Info) -> list[Payment] | None:
        if self.kind is not models.TileKind.PAYMENTS:
            return None
        model = models.Payment
        rows = await info.context.loaders.all_visible(model, model.due_date.desc())
        return cast(list[Payment], rows[: self.limit or 5])


@strawberry.type(description="The home page of the viewer's portal.")
class PortalHome:
    language: str = public("Language of the texts.")
    tiles: list[HomeTile] = public("Tiles the viewer may see, in order.")
    pages: PortalPages = public(
        "What the portal configured for its pages: external links, journeys, the requests"
        " and orders page (published version, in the language above)."
    )


def _texts(content: dict[str, Any], language: str, fallback: str) -> dict[str, Any]:
    return dict(content.get(language) or content.get(fallback) or {})


def home_tile(tile: models.Tile, language: str, fallback: str) -> HomeTile:
    content = tile.content
    texts = _texts(content, language, fallback)
    return HomeTile(
        id=relay.GlobalID("Tile", str(tile.id)),
        kind=tile.kind,
        position=tile.position,
        title=str(texts.get("title", "")),
        text=texts.get("text"),
        button_label=texts.get("button_label"),
        url=content.get("url"),
        journey_id=content.get("journey_id"),
        image_url=content.get("image_url"),
        link_url=content.get("link_url"),
        entity=content.get("entity"),
        limit=content.get("limit"),
    )


async def portal_home(info: Info) -> PortalHome | None:
    actor = info.context.actor
    portal = await load_one(info, models.Portal, actor.portal_id)
    user = await load_one(info, models.PortalUser, actor.subject_id)
    if portal is None or user is None or portal.published_settings is None:
        return None
    settings = portal.published_settings
    language = chosen_language(settings, user.language)
    tiles = [
        tile
        for tile in await published_tiles(info, portal)
        if (grant := required_grant(tile)) is None or actor.may(grant)
    ]
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
