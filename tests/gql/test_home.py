"""`portalHome`: the published tiles a portal user may see, in order, in their language,
with their data; tiles that need a grant the user lacks are left out."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import models
from db.models.enums import Grant
from tests.conftest import ACTORS, GraphQLClient, counting_statements

HOME = """{ portalHome { language tiles { kind position title text buttonLabel journeyId
  imageUrl entity limit
  contracts { number } orders { number } meters { number } documents { name createdAt }
  payments { dueDate } } } }"""


async def home(gql: GraphQLClient, actor: Any = "customer", query: str = HOME) -> dict[str, Any]:
    data, errors = await gql(query, actor)
    assert errors == [], errors
    assert data is not None
    return dict(data["portalHome"])


async def test_the_customer_home_page_with_its_data(gql: GraphQLClient) -> None:
    page = await home(gql)
    assert page["language"] == "de"
    tiles = page["tiles"]
    kinds = [t["kind"] for t in tiles]
    assert kinds == "TEXT ENTITY METER_READING DOCUMENTS PAYMENTS ACTION TEASER".split()
    assert [t["position"] for t in tiles] == sorted(t["position"] for t in tiles)
    by_kind = {t["kind"]: t for t in tiles}
    assert by_kind["TEXT"]["title"] == "Willkommen"
    assert len(by_kind["ENTITY"]["contracts"]) == 3  # Anna: power, gas and heat pump (HT/NT)
    assert by_kind["ENTITY"]["meters"] is None
    assert len(by_kind["METER_READING"]["meters"]) == 3
    documents = by_kind["DOCUMENTS"]["documents"]
    assert 0 < len(documents) <= 5
    assert [d["createdAt"] for d in documents] == sorted(
        (d["createdAt"] for d in documents), reverse=True
    )
    assert 0 < len(by_kind["PAYMENTS"]["payments"]) <= 5
    assert by_kind["ACTION"]["buttonLabel"] == "Jetzt melden"
    assert by_kind["ACTION"]["journeyId"] == "umzug"
    assert by_kind["TEASER"]["imageUrl"].startswith("https://")


async def test_in_the_user_s_language(gql: GraphQLClient, session: AsyncSession) -> None:
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    anna.language = "en"
    await session.commit()
    page = await home(gql)
    assert page["language"] == "en"
    assert page["tiles"][0]["title"] == "Welcome"


async def test_tiles_whose_grant_the_group_lacks_are_left_out(gql: GraphQLClient) -> None:
    customer = ACTORS["customer"]
    narrowed = replace(
        customer,
        grants=customer.grants - {Grant.PAYMENT_READ.value, Grant.METER_READING_CREATE.value},
    )
    # (Asking for payments at all would be FORBIDDEN: the field needs the grant too.)
    page = await home(gql, narrowed, "{ portalHome { tiles { kind } } }")
    kinds = [t["kind"] for t in page["tiles"]]
    assert "PAYMENTS" not in kinds
    assert "METER_READING" not in kinds
    assert "DOCUMENTS" in kinds


async def test_the_installer_home_page(gql: GraphQLClient) -> None:
    installer_home = (
        HOME.replace("contracts { number } ", "")
        .replace("documents { name createdAt }", "")
        .replace("payments { dueDate }", "")
    )
    tiles = (await home(gql, "installer", installer_home))["tiles"]
    assert [t["kind"] for t in tiles] == ["ENTITY", "METER_READING"]
    assert len(tiles[0]["orders"]) == 3  # Elektro Schmidt's orders
    assert tiles[1]["meters"]


async def test_tiles_showing_the_same_rows_share_a_statement(
    gql: GraphQLClient, session: AsyncSession, connection: AsyncConnection
) -> None:
    with counting_statements(connection) as before:
        await home(gql)
    # One more published tile listing meters, as the METER_READING tile already does.
    version = await session.scalar(
        sa.select(models.PortalVersion).where(
            models.PortalVersion.portal_id == ACTORS["customer"].portal_id
        )
    )
    assert version is not None
    extra = {
        **version.tiles[1],
        "id": "00000000-0000-0000-0000-0000000000aa",
        "position": 50,
        "content": {"entity": "meter", "de": {"title": "Zähler"}},
    }
    version.tiles = [*version.tiles, extra]
    await session.commit()
    with counting_statements(connection) as after:
        page = await home(gql)
    assert len(page["tiles"]) == 8
    assert len(after) == len(before)
