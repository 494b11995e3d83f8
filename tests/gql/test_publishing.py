"""Draft, publish, restore: customers see the published version only; a tile created in
the draft is invisible until published; a restored version is a draft until published."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import TwoFactorPolicy
from tests import factories
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, global_id
from tests.http_helpers import login, post

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
RESULT = """__typename ... on PortalPayload { portal { publishedVersion } }
  ... on MutationError { code field }"""
PUBLISH = f"""mutation($input: PublishPortalInput!) {{
  publishPortal(input: $input) {{ {RESULT} }} }}"""
RESTORE = f"""mutation($input: RestorePortalVersionInput!) {{
  restorePortalVersion(input: $input) {{ {RESULT} }} }}"""
TILES = (
    f'{{ node(id: "{PORTAL}") {{ ... on Portal {{'
    " tiles { edges { node { id kind content } } } } } }"
)
STAFF_VIEW = (
    f'{{ node(id: "{PORTAL}") {{ ... on Portal {{ publishedVersion'
    " versions { version publishedBy { email } }"
    " draftTiles { totalCount } tiles { totalCount } draftConfiguration { twoFactor }"
    " configuration { twoFactor } } } }"
)


async def result(gql: GraphQLClient, query: str, actor: str = "admin", **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def add_draft_tile(session: AsyncSession, title: str = "Neu im Portal") -> models.Tile:
    tile = await factories.make_tile(
        session, CUSTOMER_PORTAL, content={"de": {"title": title, "text": "Frisch."}}
    )
    await session.commit()
    return tile


async def change_draft_settings(session: AsyncSession) -> None:
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    portal.draft_settings = portal.draft_settings.model_copy(
        update={"two_factor": TwoFactorPolicy.OFF}
    )
    await session.commit()


async def customer_tiles(gql: GraphQLClient) -> list[str]:
    portal = await result(gql, TILES, "customer")
    return [edge["node"]["content"]["de"]["title"] for edge in portal["tiles"]["edges"]]


async def test_a_draft_tile_is_invisible_until_published(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    before = await customer_tiles(gql)
    assert "Meine Verträge" in before
    await add_draft_tile(session)
    await change_draft_settings(session)
    assert await customer_tiles(gql) == before
    staff = await result(gql, STAFF_VIEW)
    assert staff["draftTiles"]["totalCount"] == staff["tiles"]["totalCount"] + 1
    assert staff["draftConfiguration"] != staff["configuration"]

    published = await result(gql, PUBLISH, input={"id": PORTAL})
    assert published == {"__typename": "PortalPayload", "portal": {"publishedVersion": 2}}
    assert await customer_tiles(gql) == [*before, "Neu im Portal"]
    staff = await result(gql, STAFF_VIEW)
    assert staff["configuration"] == {"twoFactor": "OFF"}
    assert [v["version"] for v in staff["versions"]] == [2, 1]
    assert staff["versions"][0]["publishedBy"] == {"email": "admin@musterstadt.example"}


async def test_restoring_a_version_changes_the_draft_only(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    before = await customer_tiles(gql)
    await add_draft_tile(session)
    await result(gql, PUBLISH, input={"id": PORTAL})
    assert len(await customer_tiles(gql)) == len(before) + 1

    restored = await result(gql, RESTORE, input={"portalId": PORTAL, "version": 1})
    assert restored["portal"]["publishedVersion"] == 2  # still showing version 2
    assert len(await customer_tiles(gql)) == len(before) + 1
    staff = await result(gql, STAFF_VIEW)
    assert staff["draftTiles"]["totalCount"] == len(before)

    await result(gql, PUBLISH, input={"id": PORTAL})
    assert await customer_tiles(gql) == before
    missing = await result(gql, RESTORE, input={"portalId": PORTAL, "version": 42})
    assert (missing["code"], missing["field"]) == ("NOT_FOUND", "version")


async def test_tiles_shown_to_a_group_and_hidden_tiles(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    other_group = await factories.make_permission_group(session, CUSTOMER_PORTAL, name="Gewerbe")
    tiles = (
        await session.scalars(
            sa.select(models.Tile)
            .where(models.Tile.portal_id == CUSTOMER_PORTAL)
            .order_by(models.Tile.position)
        )
    ).all()
    tiles[0].visible = False
    tiles[1].permission_group_ids = [other_group.id]
    tiles[2].permission_group_ids = [other_group.id, ACTORS["customer"].permission_group_id]  # type: ignore[list-item]
    await session.commit()
    await result(gql, PUBLISH, input={"id": PORTAL})
    seen = await customer_tiles(gql)
    assert len(seen) == len(tiles) - 2
    staff = await result(gql, STAFF_VIEW)
    assert staff["tiles"]["totalCount"] == len(tiles)  # staff see every published tile


async def test_tile_rows_are_not_readable_by_customers(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tile = await add_draft_tile(session, "Geheim")
    token = (
        await login(
            client, "anna.becker@example.org", "Demo-Kunde-1", global_id("Portal", CUSTOMER_PORTAL)
        )
    )["accessToken"]
    query = f'{{ node(id: "{global_id("Tile", tile.id)}") {{ id }} }}'
    body = (await post(client, query, token)).json()
    assert body == {"data": {"node": None}}


async def test_publishing_keeps_the_settings_in_the_portals_row(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    """The published settings (the demo's some 5 kB, over the 2 kB from which PostgreSQL
    compresses a value and moves it into the TOAST table by default) are stored as they
    are (db/models/portal.py): not compressed, which in a column of storage MAIN means in
    the row (PostgreSQL moves such a value out only after compressing it)."""
    await change_draft_settings(session)
    await result(gql, PUBLISH, input={"id": PORTAL})
    stored = await session.execute(
        sa.text(
            "SELECT pg_column_compression(published_settings),"
            " octet_length(published_settings::text), published_settings ->> 'two_factor'"
            " FROM portal WHERE id = :id"
        ),
        {"id": CUSTOMER_PORTAL},
    )
    compression, length, two_factor = stored.one()
    assert (compression, two_factor) == (None, "OFF")  # the new draft, published
    assert length > 2032
