"""Draft tiles: content validated per kind, visibility per group, reorder as a strict
permutation (duplicates, missing and foreign tiles refused)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from db.tile_content import validate_content
from gql.domain import tiles
from gql.domain.errors import InvalidInput
from tests.conftest import CUSTOMER_PORTAL, INSTALLER_PORTAL, GraphQLClient, global_id

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
TILE = "__typename ... on MutationError { code message field }"
CREATE = (
    "mutation($input: CreateTileInput!) { createTile(input: $input) { "
    + TILE
    + " ... on TilePayload { tile { id kind position content } } } }"
)
UPDATE = (
    "mutation($input: UpdateTileInput!) { updateTile(input: $input) { "
    + TILE
    + " ... on TilePayload { tile { visible content permissionGroups { name } } } } }"
)
DELETE = (
    "mutation($input: DeleteTileInput!) { deleteTile(input: $input) { "
    + TILE
    + " ... on DeleteTilePayload { deletedId } } }"
)
REORDER = (
    "mutation($input: ReorderTilesInput!) { reorderTiles(input: $input) { "
    + TILE
    + " ... on TilesPayload { tiles { id position } } } }"
)


async def result(gql: GraphQLClient, query: str, actor: str = "admin", **input: Any) -> Any:
    data, errors = await gql(query, actor, input=input)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def draft_tile_ids(session: AsyncSession, portal: Any = CUSTOMER_PORTAL) -> list[str]:
    rows = await session.scalars(
        sa.select(models.Tile.id)
        .where(models.Tile.portal_id == portal)
        .order_by(models.Tile.position)
        .execution_options(populate_existing=True)
    )
    return [global_id("Tile", row) for row in rows]


GOOD_CONTENT: dict[str, dict[str, Any]] = {
    "TEXT": {"de": {"title": "Hinweis", "text": "Wartung am Sonntag."}},
    "ACTION": {"de": {"title": "Umzug", "button_label": "Melden"}, "journey_id": "umzug-1"},
    "ENTITY": {"entity": "meter", "de": {"title": "Zähler"}, "en": {"title": "Meters"}},
    "TEASER": {"de": {"title": "Solar"}, "image_url": "https://img.example/solar.png"},
    "DOCUMENTS": {"de": {"title": "Dokumente"}, "limit": 3},
    "PAYMENTS": {"de": {"title": "Zahlungen"}},
    "METER_READING": {"de": {"title": "Zählerstand"}},
}


@pytest.mark.parametrize("kind", sorted(GOOD_CONTENT))
async def test_every_kind_with_its_content(
    gql: GraphQLClient, session: AsyncSession, kind: str
) -> None:
    before = await draft_tile_ids(session)
    created = await result(gql, CREATE, portalId=PORTAL, kind=kind, content=GOOD_CONTENT[kind])
    assert created["__typename"] == "TilePayload", created
    assert created["tile"]["position"] == len(before)
    assert created["tile"]["content"]["de"]["title"] == GOOD_CONTENT[kind]["de"]["title"]


@pytest.mark.parametrize(
    ("kind", "content", "field"),
    [
        ("TEXT", {}, "content"),
        ("TEXT", {"de": {"text": "ohne Titel"}}, "content.de.title"),
        ("TEXT", {"de": {"title": "x" * 81}}, "content.de.title"),
        ("TEXT", {"de": {"title": "A"}, "color": "red"}, "content.color"),
        ("ACTION", {"de": {"title": "A", "button_label": "B"}}, "content"),
        ("ENTITY", {"de": {"title": "A"}, "entity": "invoice"}, "content.entity"),
        ("TEASER", {"de": {"title": "A"}, "image_url": "kein-link"}, "content.image_url"),
        ("DOCUMENTS", {"de": {"title": "A"}, "limit": 50}, "content.limit"),
    ],
)
async def test_bad_content_is_refused_with_its_path(
    gql: GraphQLClient, kind: str, content: dict[str, Any], field: str
) -> None:
    refused = await result(gql, CREATE, portalId=PORTAL, kind=kind, content=content)
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", field)


def test_texts_only_in_the_portal_s_languages() -> None:
    content = {"de": {"title": "Aufträge"}, "en": {"title": "Orders"}}
    with pytest.raises(InvalidInput) as refused:
        tiles.clean_content(models.TileKind.TEXT, content, ["de"])
    assert refused.value.field == "content.en"
    cleaned = tiles.clean_content(models.TileKind.TEXT, content, ["de", "en"])
    assert cleaned == {
        "de": {"title": "Aufträge", "text": ""},
        "en": {"title": "Orders", "text": ""},
    }


async def test_the_demo_home_pages_are_valid_and_complete(session: AsyncSession) -> None:
    rows = (await session.scalars(sa.select(models.Tile))).all()
    for row in rows:
        validate_content(row.kind, row.content)
    customer = {row.kind for row in rows if row.portal_id == CUSTOMER_PORTAL}
    assert customer == set(models.TileKind)
    assert len([row for row in rows if row.portal_id == INSTALLER_PORTAL]) == 2


async def test_update_visibility_and_groups(gql: GraphQLClient, session: AsyncSession) -> None:
    [first, *_] = await draft_tile_ids(session)
    read_only = global_id("PermissionGroup", demo.demo_id("group:musterstadt-kunden:read-only"))
    updated = await result(gql, UPDATE, id=first, visible=False, permissionGroupIds=[read_only])
    assert updated["tile"]["visible"] is False
    assert updated["tile"]["permissionGroups"] == [{"name": "Nur lesen"}]
    installer_group = global_id(
        "PermissionGroup", demo.demo_id("group:musterstadt-partner:default")
    )
    refused = await result(gql, UPDATE, id=first, permissionGroupIds=[installer_group])
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "permissionGroupIds")


async def test_reorder_is_a_strict_permutation(gql: GraphQLClient, session: AsyncSession) -> None:
    ids = await draft_tile_ids(session)
    reversed_ids = list(reversed(ids))
    done = await result(gql, REORDER, portalId=PORTAL, tileIds=reversed_ids)
    assert [t["id"] for t in done["tiles"]] == reversed_ids
    assert await draft_tile_ids(session) == reversed_ids

    foreign = (await draft_tile_ids(session, INSTALLER_PORTAL))[0]
    for bad in (
        [ids[1], *ids[1:]],  # a duplicate (and one missing)
        ids[:-1],  # one missing
        [*ids[:-1], foreign],  # another portal's tile instead
        [*ids, global_id("Contact", demo.demo_id("contact:musterstadt:c00"))],
    ):
        refused = await result(gql, REORDER, portalId=PORTAL, tileIds=bad)
        assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "tileIds"), bad
    assert await draft_tile_ids(session) == reversed_ids  # nothing changed


async def test_delete_closes_the_gap(gql: GraphQLClient, session: AsyncSession) -> None:
    ids = await draft_tile_ids(session)
    deleted = await result(gql, DELETE, id=ids[1])
    assert deleted == {"__typename": "DeleteTilePayload", "deletedId": ids[1]}
    positions = await session.scalars(
        sa.select(models.Tile.position)
        .where(models.Tile.portal_id == CUSTOMER_PORTAL)
        .order_by(models.Tile.position)
    )
    assert list(positions) == list(range(len(ids) - 1))


async def test_others_can_not_touch_the_tiles(gql: GraphQLClient, session: AsyncSession) -> None:
    ids = await draft_tile_ids(session)
    assert (await result(gql, DELETE, "other_admin", id=ids[0]))["code"] == "NOT_FOUND"
    _, errors = await gql(DELETE, "agent", input={"id": ids[0]})
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
