"""`portalHome` on both engines: for every kind of caller the query plan
(gql/home_plans.py) answers as the executor does, key order included, on a home page
with every case of the tile rule (hidden, shown to one group, to another, needing a
grant the caller lacks), every list a tile shows, limits and missing texts."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import demo, models
from tests.conftest import CUSTOMER_PORTAL, INSTALLER_PORTAL
from tests.engine_helpers import READ_ONLY_GROUP, answered_alike, tokens_of_every_caller
from tests.statement_helpers import counting_statements, is_plan, settings_reads

BENCH = (
    "{ portalHome { language tiles { id kind position title text buttonLabel url journeyId"
    " imageUrl linkUrl entity limit contracts { number tariffName } meters { number unit }"
    " documents { name createdAt } payments { amount dueDate } } } }"
)
EVERY_LIST = """{ portalHome { __typename language tiles { __typename kind position title
  text entity limit contracts { number status } orders { number status }
  opportunities { title status } meters { number unit } documents { name type createdAt }
  payments { amount dueDate } } } }"""
ALIASES = """query Home { home: portalHome { lang: language
  shown: tiles { id heading: title ...Lists } } }
fragment Lists on HomeTile { kind rows: documents { name } contracts { number } }"""
# What an installer's page reads (no contracts, documents or payments).
INSTALLER_PAGE = (
    "{ portalHome { language tiles { kind title orders { number } meters { number } } } }"
)
# The web portal's home page (web/src/pages/Home.tsx), `downloadUrl` included: signed
# after the plan's statement by the executor's function (gql/resolvers/computed.py).
WEB_HOME = """query Home { portalHome { language tiles { id kind position title text buttonLabel
  url linkUrl imageUrl contracts { id number tariffName installmentAmount }
  meters { id number contract { id } } documents { id name downloadUrl }
  payments { id kind status amount dueDate } } } }"""
# The home page's `pages` are the executor's: the document is never planned.
PAGES = "{ portalHome { language pages { ordersPage { showOrders } } tiles { kind } } }"
DOCUMENTS = {
    "bench": BENCH,
    "everyList": EVERY_LIST,
    "aliases": ALIASES,
    "installerPage": INSTALLER_PAGE,
    "pages": PAGES,
    "webHome": WEB_HOME,
}
PORTAL_USERS = {"customer", "read_only_customer", "other_org_customer", "installer"}


def _tile(position: int, kind: str, content: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": kind,
        "position": position,
        "visible": rest.get("visible", True),
        "permission_group_ids": [str(group) for group in rest.get("groups", ())],
        "content": content,
    }


def _titled(title: str) -> dict[str, Any]:
    return {"de": {"title": title}, "en": {"title": f"{title} (en)"}}


EXTRA_TILES = [
    _tile(20, "TEXT", _titled("Versteckt"), visible=False),
    _tile(21, "TEXT", _titled("Nur Lesegruppe"), groups=[READ_ONLY_GROUP]),
    _tile(22, "TEXT", _titled("Andere Gruppe"), groups=[uuid.uuid4()]),
    _tile(23, "ENTITY", {"entity": "order", **_titled("Aufträge")}),
    _tile(24, "ENTITY", {"entity": "opportunity", **_titled("Angebote")}),
    _tile(25, "ENTITY", {"entity": "meter", **_titled("Zähler")}),
    _tile(26, "DOCUMENTS", {**_titled("Zwei Dokumente"), "limit": 2}),
    _tile(27, "DOCUMENTS", _titled("Dokumente ohne Grenze")),
    _tile(28, "TEXT", {"en": {"title": "Only English", "text": "Nur auf Englisch"}}),
    _tile(29, "TEXT", {"de": {}, "en": {"title": "German empty"}}),
    _tile(30, "ENTITY", {"entity": "unknown", **_titled("Unbekannt")}),
    _tile(3, "PAYMENTS", {**_titled("Vor den anderen"), "limit": 200}),
]


async def _richer_home_pages(session: AsyncSession) -> None:
    """Every case of the tile rule on the published pages of both Musterstadt portals;
    Jonas reads English."""
    version, portal = models.PortalVersion, models.Portal
    published = sa.select(portal.published_version).where(portal.id == version.portal_id)
    await session.execute(
        sa.update(version)
        .where(
            version.portal_id.in_([CUSTOMER_PORTAL, INSTALLER_PORTAL]),
            version.version == published.scalar_subquery(),
        )
        .values(tiles=version.tiles.op("||")(sa.cast(EXTRA_TILES, JSONB)))
    )
    jonas = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:jonas.wolf@example.org")
    await session.execute(
        sa.update(models.PortalUser).where(models.PortalUser.id == jonas).values(language="en")
    )


async def test_both_engines_answer_the_home_page_alike_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    executor = engines[0]
    tokens = await tokens_of_every_caller(executor, session)
    await _richer_home_pages(session)
    answered: set[tuple[str, str]] = set()
    for label, query in DOCUMENTS.items():
        for name, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"query": query}
            if await answered_alike(engines, connection, body, headers, (name, label)):
                answered.add((name, label))
    # Staff and anonymous callers may not read it: the executor refuses them.
    assert {name for name, _ in answered} <= PORTAL_USERS
    assert not {label for _, label in answered} & {"pages"}
    # Every kind of portal user got plans, Anna for every document but `pages`.
    assert {name for name, _ in answered} == PORTAL_USERS, answered
    assert {
        ("customer", label) for label in ("bench", "everyList", "aliases", "webHome")
    } <= answered


async def test_the_home_page_shows_what_the_tile_rule_says(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient], session: AsyncSession
) -> None:
    """Not vacuous: the richer page shows its cases (read from the plan's answer)."""
    _, planned = engines
    tokens = await tokens_of_every_caller(planned, session)
    await _richer_home_pages(session)
    pages = {}
    for name in ("customer", "read_only_customer"):
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        for _ in range(2):  # the executor's answer, then the plan's
            response = await planned.post("/graphql", json={"query": EVERY_LIST}, headers=headers)
        pages[name] = response.json()["data"]["portalHome"]
    anna = {t["title"]: t for t in pages["customer"]["tiles"]}
    assert "Versteckt" not in anna
    assert "Andere Gruppe" not in anna
    assert "Nur Lesegruppe" not in anna
    assert anna["Vor den anderen"]["position"] == 3
    assert len(anna["Zwei Dokumente"]["documents"]) == 2
    assert len(anna["Dokumente ohne Grenze"]["documents"]) <= 5
    assert anna["Aufträge"]["orders"] is not None
    assert anna["Aufträge"]["contracts"] is None
    assert anna[""]["kind"] == "TEXT"  # English only: no German title
    jonas = pages["read_only_customer"]
    assert jonas["language"] == "en"
    titles = [t["title"] for t in jonas["tiles"]]
    assert "Nur Lesegruppe (en)" in titles
    assert "Only English" in titles


async def test_the_home_plan_unpacks_the_portals_settings_once(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """The language and its fallback come from one unpacking of the published settings
    (portal_texts.language_settings), the statement's only read of them: a login
    session's check reads no settings (sessions.valid_as), only an impersonation
    session's reads `impersonation_writes`."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    headers = {"Authorization": f"Bearer {tokens['customer']}"}
    await planned.post("/graphql", json={"query": BENCH}, headers=headers)
    with counting_statements(connection) as statements:
        response = await planned.post("/graphql", json={"query": BENCH}, headers=headers)
    assert response.json()["data"]["portalHome"]["language"] == "de"
    (plan,) = {statement for statement in statements if is_plan(statement)}
    assert "jsonb_to_record(portal.published_settings)" in plan
    assert settings_reads(plan) == 1, plan


async def test_the_home_plan_computes_each_tiles_columns_once(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """A tile's content and its texts in the reader's language (else the default
    language) are columns of a derived table PostgreSQL does not flatten into the
    tiles' JSON (OFFSET 0), so each is computed once per tile, not again at every field
    that reads it: the statement picks each language once."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    headers = {"Authorization": f"Bearer {tokens['customer']}"}
    await planned.post("/graphql", json={"query": BENCH}, headers=headers)
    with counting_statements(connection) as statements:
        response = await planned.post("/graphql", json={"query": BENCH}, headers=headers)
    assert response.json()["data"]["portalHome"]["tiles"]
    (plan,) = {statement for statement in statements if is_plan(statement)}
    assert len(re.findall(r"-> \w+\.language\b", plan)) == 1, plan
    assert len(re.findall(r"-> \w+\.fallback\b", plan)) == 1, plan
    assert re.search(r"\bOFFSET 0\) AS (\w+) ORDER BY \1\.position\)", plan), plan
