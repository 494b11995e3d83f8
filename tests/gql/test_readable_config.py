"""The configuration a portal's pages show, readable where it is shown: external links,
journeys and the requests and orders page on `portalHome` (the published version, in the
reader's language, the portal's default where a text is missing), and on `publicPortal`
the password policy and what the registration identifiers are called."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import models
from db.models.enums import Grant
from db.portal_settings import IDENTIFIER_LABELS, Identifier
from gql.domain.errors import InvalidInput
from gql.domain.password_policy import check_password
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, counting_statements, global_id

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
UPDATE = """mutation($input: UpdatePortalSettingsInput!) { updatePortalSettings(input: $input) {
  __typename ... on PortalPayload { portal { draftSettings } }
  ... on MutationError { code message field } } }"""
PUBLISH = """mutation($input: PublishPortalInput!) { publishPortal(input: $input) {
  __typename } }"""
PAGES = """{ portalHome { language pages {
  externalLinks { label url }
  journeys { placement journeyId label entity }
  firstLogin: journeys(placement: FIRST_LOGIN) { journeyId }
  onMeters: journeys(entity: METER) { journeyId }
  onContracts: journeys(entity: CONTRACT) { journeyId }
  ordersPage { showOrders showRequests orderStatuses requestStatuses title text
    teaser { title text imageUrl linkUrl linkLabel } } } } }"""
PUBLIC = """query($lang: Line) {
  publicPortal(domain: "musterstadt.portale.example", language: $lang) {
  language passwordPolicy { minLength maxLength rejectsEmail rejectsCommon }
  identifiers { key label en: label(language: "en") de: label(language: "de") } } }"""

CONFIGURED = {
    "externalLinks": [
        {"label": {"de": "Tarifrechner", "en": "Tariff calculator"}, "url": "https://sw.example/t"},
        {"label": {"de": "Nur auf Deutsch"}, "url": "https://sw.example/d"},
    ],
    "journeys": [
        {
            "placement": "NAVIGATION",
            "journeyId": "umzug",
            "label": {"de": "Umzug melden", "en": "Report a move"},
        },
        {"placement": "FIRST_LOGIN", "journeyId": "willkommen", "label": {"de": "Willkommen"}},
        {
            "placement": "ENTITY",
            "journeyId": "zaehlerwechsel",
            "label": {"de": "Zähler tauschen", "en": "Replace the meter"},
            "entity": "METER",
        },
    ],
    "ordersPage": {
        "showRequests": False,
        "orderStatuses": ["OFFER", "OPEN", "IN_PROGRESS"],
        "title": {"de": "Meine Aufträge", "en": "My orders"},
        "text": {"de": "Hier sehen Sie Ihre Aufträge."},
        "teaser": {
            "title": {"de": "Wärmepumpe?", "en": "Heat pump?"},
            "text": {"de": "Mit Förderung."},
            "imageUrl": "https://sw.example/wp.jpg",
            "linkUrl": "https://sw.example/wp",
            "linkLabel": {"de": "Mehr erfahren"},
        },
    },
}


async def result(gql: GraphQLClient, query: str, actor: Any = "admin", **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def configure(gql: GraphQLClient, changes: dict[str, Any], *, publish: bool) -> None:
    changed = await result(gql, UPDATE, input={"id": PORTAL, "changes": changes})
    assert changed["__typename"] == "PortalPayload", changed
    if publish:
        published = await result(gql, PUBLISH, input={"id": PORTAL})
        assert published["__typename"] == "PortalPayload", published


async def test_defaults_of_a_portal_that_configured_nothing(gql: GraphQLClient) -> None:
    # The demo's installer portal configures no links, journeys or orders page.
    pages = (await result(gql, PAGES, "installer"))["pages"]
    assert pages["externalLinks"] == []
    assert pages["journeys"] == []
    orders = pages["ordersPage"]
    assert (orders["showOrders"], orders["showRequests"]) == (True, True)
    assert orders["orderStatuses"] == [s.value for s in models.OrderStatus]
    assert orders["requestStatuses"] == [s.value for s in models.OpportunityStatus]
    assert (orders["title"], orders["text"], orders["teaser"]) == (None, None, None)


async def test_the_demo_customer_portal_shows_each_kind(gql: GraphQLClient) -> None:
    pages = (await result(gql, PAGES, "customer"))["pages"]
    assert pages["externalLinks"][0]["label"] == "Tarifrechner"
    placements = {j["placement"] for j in pages["journeys"]}
    assert placements == {"OFFER_ACCEPTED", "OFFER_DECLINED", "FIRST_LOGIN", "ENTITY"}
    assert pages["onMeters"] == [{"journeyId": "zaehlerwechsel"}]
    assert pages["ordersPage"]["teaser"]["linkLabel"] == "Angebot anfragen"


async def test_customers_read_the_published_pages_in_their_language(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await configure(gql, CONFIGURED, publish=True)
    german = (await result(gql, PAGES, "customer"))["pages"]
    assert german["externalLinks"] == [
        {"label": "Tarifrechner", "url": "https://sw.example/t"},
        {"label": "Nur auf Deutsch", "url": "https://sw.example/d"},
    ]
    assert german["journeys"] == [
        {"placement": "NAVIGATION", "journeyId": "umzug", "label": "Umzug melden", "entity": None},
        {
            "placement": "FIRST_LOGIN",
            "journeyId": "willkommen",
            "label": "Willkommen",
            "entity": None,
        },
        {
            "placement": "ENTITY",
            "journeyId": "zaehlerwechsel",
            "label": "Zähler tauschen",
            "entity": "METER",
        },
    ]
    assert german["firstLogin"] == [{"journeyId": "willkommen"}]
    assert german["onMeters"] == [{"journeyId": "zaehlerwechsel"}]
    assert german["onContracts"] == []
    assert german["ordersPage"] == {
        "showOrders": True,
        "showRequests": False,
        "orderStatuses": ["OFFER", "OPEN", "IN_PROGRESS"],
        "requestStatuses": ["OPEN", "OFFER_SENT", "ACCEPTED", "DECLINED"],
        "title": "Meine Aufträge",
        "text": "Hier sehen Sie Ihre Aufträge.",
        "teaser": {
            "title": "Wärmepumpe?",
            "text": "Mit Förderung.",
            "imageUrl": "https://sw.example/wp.jpg",
            "linkUrl": "https://sw.example/wp",
            "linkLabel": "Mehr erfahren",
        },
    }

    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    anna.language = "en"
    await session.commit()
    english = await result(gql, PAGES, "customer")
    assert english["language"] == "en"
    pages = english["pages"]
    # A text missing in English is shown in the portal's default language, German.
    assert [link["label"] for link in pages["externalLinks"]] == [
        "Tariff calculator",
        "Nur auf Deutsch",
    ]
    labels = [j["label"] for j in pages["journeys"]]
    assert labels == ["Report a move", "Willkommen", "Replace the meter"]
    assert pages["ordersPage"]["title"] == "My orders"
    assert pages["ordersPage"]["text"] == "Hier sehen Sie Ihre Aufträge."
    assert pages["ordersPage"]["teaser"]["text"] == "Mit Förderung."
    assert pages["ordersPage"]["teaser"]["title"] == "Heat pump?"

    # A language the portal no longer offers reads as the default language.
    await configure(gql, {"languages": ["de"]}, publish=True)
    assert (await result(gql, PAGES, "customer"))["pages"] == german


async def test_drafts_never_reach_customers(gql: GraphQLClient) -> None:
    await configure(gql, CONFIGURED, publish=True)
    published = await result(gql, PAGES, "customer")
    draft = {
        "externalLinks": [{"label": {"de": "Entwurf"}, "url": "https://sw.example/entwurf"}],
        "journeys": [{"placement": "FIRST_LOGIN", "journeyId": "entwurf"}],
        "ordersPage": {"showOrders": False, "title": {"de": "Entwurf"}, "teaser": None},
    }
    await configure(gql, draft, publish=False)
    assert await result(gql, PAGES, "customer") == published
    await result(gql, PUBLISH, input={"id": PORTAL})
    pages = (await result(gql, PAGES, "customer"))["pages"]
    assert pages["externalLinks"] == [{"label": "Entwurf", "url": "https://sw.example/entwurf"}]
    assert pages["firstLogin"] == [{"journeyId": "entwurf"}]
    assert (pages["ordersPage"]["showOrders"], pages["ordersPage"]["title"]) == (False, "Entwurf")


async def test_staff_edit_the_page_settings_as_a_draft(gql: GraphQLClient) -> None:
    await configure(gql, {"ordersPage": {"showRequests": False}}, publish=False)
    data, _ = await gql(
        "query($id: ID!) { node(id: $id) { ... on Portal { draftSettings } } }", "admin", id=PORTAL
    )
    assert data is not None
    orders = data["node"]["draftSettings"]["ordersPage"]
    assert (orders["showOrders"], orders["showRequests"]) == (True, False)
    # Staff have no home page of their own; they read the draft above.
    data, errors = await gql(PAGES, "admin")
    assert errors
    assert data is None or data["portalHome"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"journeys": [{"placement": "NAVIGATION", "journeyId": "x", "entity": "METER"}]}, "0"),
        ({"ordersPage": {"orderStatuses": ["OPEN", "OPEN"]}}, "orderStatuses"),
        ({"ordersPage": {"orderStatuses": ["SHIPPED"]}}, "orderStatuses"),
        ({"ordersPage": {"teaser": {"linkUrl": "kein link"}}}, "linkUrl"),
    ],
)
async def test_page_settings_are_validated(
    gql: GraphQLClient, changes: dict[str, Any], field: str
) -> None:
    refused = await result(gql, UPDATE, input={"id": PORTAL, "changes": changes})
    assert refused["code"] == "INVALID_INPUT"
    assert refused["field"].startswith("changes."), refused
    assert field in refused["field"], refused


@pytest.mark.parametrize("actor", ["anonymous", "customer", "admin"])
async def test_public_portal_explains_the_password_policy_check_password_enforces(
    gql: GraphQLClient, actor: str
) -> None:
    policy = (await result(gql, PUBLIC, actor))["passwordPolicy"]
    assert policy["rejectsEmail"]
    assert policy["rejectsCommon"]
    shortest = "Kx9#mPq2Lw!r7Zt4Vb8Nc3Hd6"[: policy["minLength"]]
    assert check_password(shortest) == shortest
    with pytest.raises(InvalidInput):
        check_password(shortest[:-1])
    longest = ("Kx9#mPq2Lw!r7Zt4" * 100)[: policy["maxLength"]]
    assert check_password(longest) == longest
    with pytest.raises(InvalidInput):
        check_password(longest + "y")
    with pytest.raises(InvalidInput):
        check_password("anna.becker@example.org", "anna.becker@example.org")
    with pytest.raises(InvalidInput):
        check_password("password123")


async def test_identifiers_are_named_in_the_page_language(gql: GraphQLClient) -> None:
    # The demo portal asks for the email and the customer number.
    german = await result(gql, PUBLIC, "anonymous")
    assert german["identifiers"] == [
        {
            "key": "contact.email",
            "label": "E-Mail-Adresse",
            "en": "Email address",
            "de": "E-Mail-Adresse",
        },
        {
            "key": "contact.customer_number",
            "label": "Kundennummer",
            "en": "Customer number",
            "de": "Kundennummer",
        },
    ]
    english = await result(gql, PUBLIC, "anonymous", lang="en")
    assert [i["label"] for i in english["identifiers"]] == ["Email address", "Customer number"]
    assert [i["de"] for i in english["identifiers"]] == ["E-Mail-Adresse", "Kundennummer"]
    # Where no page language is known (a portal's configuration), the portal's default.
    await configure(gql, {"languages": ["de", "en"], "defaultLanguage": "en"}, publish=True)
    data, errors = await gql(
        "{ viewer { portal { configuration { identifiers { label } } } } }", "customer"
    )
    assert errors == []
    assert data is not None
    labels = data["viewer"]["portal"]["configuration"]["identifiers"]
    assert labels == [{"label": "Email address"}, {"label": "Customer number"}]
    for actor in ("customer", "admin"):
        shown = await result(gql, PUBLIC, actor, lang="de")
        assert shown["identifiers"][1]["label"] == "Kundennummer"


def test_every_identifier_of_the_catalogue_has_a_label_in_every_language() -> None:
    for entity, attributes in IDENTIFIER_LABELS.items():
        for attribute, labels in attributes.items():
            assert set(labels) == {"de", "en"}, (entity, attribute)
            assert all(label.strip() for label in labels.values())
            assert Identifier(entity=entity, attribute=attribute).label("de") == labels["de"]


LISTS = """{ portalHome { pages { ordersPage {
  orders { title status } requests { title status } } } } }"""


async def lists(gql: GraphQLClient, actor: Any = "customer") -> dict[str, Any]:
    return dict((await result(gql, LISTS, actor))["pages"]["ordersPage"])


async def test_the_page_lists_what_it_is_configured_to_list(gql: GraphQLClient) -> None:
    # Anna's orders: the heat meter change in progress and the photovoltaic offer.
    everything = await lists(gql)
    assert sorted(o["status"] for o in everything["orders"]) == ["IN_PROGRESS", "OFFER"]
    assert everything["requests"] == [{"title": "Photovoltaik-Angebot", "status": "OFFER_SENT"}]

    await configure(
        gql, {"ordersPage": {"orderStatuses": ["OFFER"], "showRequests": False}}, publish=True
    )
    offers_only = await lists(gql)
    assert [o["status"] for o in offers_only["orders"]] == ["OFFER"]
    assert offers_only["requests"] is None
    # A draft lists nothing differently until it is published.
    await configure(gql, {"ordersPage": {"orderStatuses": ["COMPLETED"]}}, publish=False)
    assert await lists(gql) == offers_only
    await configure(gql, {"ordersPage": {"showOrders": False, "showRequests": True}}, publish=True)
    assert await lists(gql) == {"orders": None, "requests": everything["requests"]}


async def test_the_page_s_lists_need_the_grants_of_their_rows(gql: GraphQLClient) -> None:
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.ORDER_READ.value})
    data, errors = await gql(LISTS, without)
    assert [e.path[-1] for e in errors] == ["orders"]
    assert data is not None
    page = data["portalHome"]["pages"]["ordersPage"]
    assert page["orders"] is None
    assert page["requests"] == [{"title": "Photovoltaik-Angebot", "status": "OFFER_SENT"}]


def home(selection: str) -> str:
    return "{ portalHome { " + selection + " } }"


async def test_the_configuration_costs_no_statement_and_each_list_one(
    gql: GraphQLClient, connection: AsyncConnection
) -> None:
    tiles = "tiles { title }"
    configuration = "pages { externalLinks { label } journeys { journeyId } ordersPage { title } }"
    both_lists = "pages { ordersPage { orders { title } requests { title } } }"
    await result(gql, home(tiles), "customer")  # the first request warms the caches
    counts = []
    for selection in (tiles, f"{tiles} {configuration}", f"{tiles} {both_lists} {both_lists}"):
        with counting_statements(connection) as statements:
            await result(gql, home(selection), "customer")
        counts.append(len(statements))
    # The settings come with the portal row the home page loads anyway; asked twice, each
    # list is still one statement (the request's loader).
    assert counts[1] == counts[0]
    assert counts[2] == counts[0] + 2
