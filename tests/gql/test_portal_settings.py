"""Draft settings as an ADMIN edits them, and `publicPortal`: the published version, in a
language, with nothing internal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from graphql import get_named_type

from gql.schema import schema
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, global_id
from tests.http_helpers import post, staff_token

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
UPDATE = """mutation($input: UpdatePortalSettingsInput!) { updatePortalSettings(input: $input) {
  __typename ... on PortalPayload { portal { draftSettings } }
  ... on MutationError { code message field } } }"""
PUBLISH = (
    """mutation($input: PublishPortalInput!) { publishPortal(input: $input) { __typename } }"""
)
PUBLIC = """query($lang: Line) {
  publicPortal(domain: "Musterstadt.Portale.example.", language: $lang) {
  id name language languages design { primaryColor }
  layout { header { enabled } leftSide { enabled title bullets }
    footer { leftLinks { label url } } }
  texts { login privacy } pageTitles { key title } identifiers { key } selfRegistration termsUrl
} }"""

LAYOUT = {
    "layout": {
        "leftSide": {
            "enabled": True,
            "imageUrl": "https://img.example/haus.jpg",
            "title": {"de": "Alles an einem Ort", "en": "All in one place"},
            "bullets": {"de": ["Verträge", "Zählerstände"]},
        },
        "footer": {"leftLinks": [{"label": {"de": "Impressum"}, "url": "https://sw.example/i"}]},
    },
    "texts": {"de": {"login": "Willkommen zurück"}, "en": {"login": "Welcome back"}},
    "pageTitles": {"de": {"contracts": "Meine Verträge"}},
    "privacyText": {"de": "Wir schützen Ihre Daten."},
}


async def result(gql: GraphQLClient, query: str, actor: str = "admin", **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def test_changes_reach_the_public_page_only_when_published(gql: GraphQLClient) -> None:
    before = await result(gql, PUBLIC, "anonymous")
    changed = await result(
        gql,
        UPDATE,
        input={"id": PORTAL, "changes": {**LAYOUT, "design": {"primaryColor": "#00aa00"}}},
    )
    settings = changed["portal"]["draftSettings"]
    assert settings["design"]["primaryColor"] == "#00AA00"
    assert settings["design"]["secondaryColor"] == "#F39200"  # objects merge
    assert await result(gql, PUBLIC, "anonymous") == before

    await result(gql, PUBLISH, input={"id": PORTAL})
    german = await result(gql, PUBLIC, "anonymous")
    assert german["design"] == {"primaryColor": "#00AA00"}
    assert german["layout"]["leftSide"] == {
        "enabled": True,
        "title": "Alles an einem Ort",
        "bullets": ["Verträge", "Zählerstände"],
    }
    assert german["layout"]["footer"]["leftLinks"] == [
        {"label": "Impressum", "url": "https://sw.example/i"}
    ]
    assert german["texts"] == {"login": "Willkommen zurück", "privacy": "Wir schützen Ihre Daten."}
    assert {"key": "contracts", "title": "Meine Verträge"} in german["pageTitles"]
    assert [i["key"] for i in german["identifiers"]] == ["contact.email", "contact.customer_number"]

    english = await result(gql, PUBLIC, "anonymous", lang="en")
    assert english["language"] == "en"
    assert english["texts"]["login"] == "Welcome back"
    assert english["layout"]["leftSide"]["title"] == "All in one place"
    # The demo's English bullets stay: objects merge, so only German ones were replaced.
    assert english["layout"]["leftSide"]["bullets"][0] == "Everything at a glance"
    unknown = await result(gql, PUBLIC, "anonymous", lang="fr")
    assert unknown["language"] == "de"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"design": {"primaryColor": "red"}}, "changes.design.primaryColor"),
        ({"design": {"font": "Comic Sans"}}, "changes.design.font"),
        ({"colour": "#000000"}, "changes.colour"),
        ({"languages": ["en"]}, "changes"),  # the default language de is no longer offered
        ({"registration": {"identifiers": []}}, "changes.registration.identifiers"),
        (
            {"layout": {"leftSide": {"bullets": {"de": ["x"] * 7}}}},
            "changes.layout.leftSide.bullets.de",
        ),
        (
            {"rules": {"dueDate": {"editableUntilDaysBefore": 90}}},
            "changes.rules.dueDate.editableUntilDaysBefore",
        ),
        ({"processes": [{"kind": "Hausanschluss"}]}, "changes.processes.0.kind"),
        ({"processes": [{"kind": "a", "steps": ["x", "x"]}]}, "changes.processes.0.steps"),
        ({"processes": [{"kind": "a"}, {"kind": "a"}]}, "changes.processes"),
        ([1, 2], "changes"),
    ],
)
async def test_every_setting_is_validated_with_its_path(
    gql: GraphQLClient, changes: Any, field: str
) -> None:
    refused = await result(gql, UPDATE, input={"id": PORTAL, "changes": changes})
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", field), refused


async def test_public_portal_is_only_for_active_published_portals(gql: GraphQLClient) -> None:
    assert (
        await result(
            gql, PUBLIC.replace("Musterstadt.Portale.example.", "nirgends.example"), "anonymous"
        )
        is None
    )
    others = await result(gql, UPDATE, "other_admin", input={"id": PORTAL, "changes": {}})
    assert others["code"] == "NOT_FOUND"


def test_public_portal_shows_nothing_internal() -> None:
    public = schema._schema.type_map["PublicPortal"]
    fields = set(public.fields)  # type: ignore[attr-defined]
    assert fields == set(
        """id name type domain language languages defaultLanguage design layout texts pageTitles
        identifiers selfRegistration registrationLink termsUrl privacyUrl twoFactor
        passwordPolicy identityProviders""".split()
    )
    # Of a provider, the login button: never its issuer, client or secret.
    provider = schema._schema.type_map["PublicIdentityProvider"]
    assert set(provider.fields) == {"slug", "name"}  # type: ignore[attr-defined]
    for name in fields:
        assert get_named_type(public.fields[name].type).name not in {"Portal", "PortalUser"}  # type: ignore[attr-defined]


async def test_staff_to_notify_and_approval_attributes_must_exist(gql: GraphQLClient) -> None:
    agent = str(ACTORS["agent"].subject_id)
    other = str(ACTORS["other_admin"].subject_id)
    for changes, field in [
        ({"notifyStaffUserIds": [other]}, "changes.notifyStaffUserIds"),
        ({"notifyStaffUserIds": ["kein-uuid"]}, "changes.notifyStaffUserIds"),
        ({"approvalRequiredAttributes": ["contract.tariff"]}, "changes.approvalRequiredAttributes"),
    ]:
        refused = await result(gql, UPDATE, input={"id": PORTAL, "changes": changes})
        assert (refused["code"], refused["field"]) == ("INVALID_INPUT", field)
    ok = await result(
        gql,
        UPDATE,
        input={
            "id": PORTAL,
            "changes": {
                "notifyStaffUserIds": [agent],
                "approvalRequiredAttributes": ["contract.iban"],
            },
        },
    )
    assert ok["portal"]["draftSettings"]["notifyStaffUserIds"] == [agent]


SEED_003: list[tuple[str, str, dict[str, Any]]] = [
    (
        "createPortal",
        "CreatePortalInput",
        {
            "type": "CUSTOMER",
            "name": "Kundenportal Süd",
            "subdomain": "sued",
            "languages": ["de", "en"],
        },
    ),
    (
        "updatePortalSettings",
        "UpdatePortalSettingsInput",
        {
            "changes": {
                "design": {"primaryColor": "#112233", "logoUrl": "https://sued.example/logo.svg"},
                "registration": {
                    "selfRegistration": "ALLOW_WITH_CONTACT",
                    "termsUrl": "https://sued.example/agb",
                },
                "texts": {"de": {"login": "Hallo Süd"}, "en": {"login": "Hello South"}},
                "twoFactor": "OPTIONAL",
            }
        },
    ),
    (
        "createTile",
        "CreateTileInput",
        {
            "kind": "ENTITY",
            "content": {
                "entity": "contract",
                "de": {"title": "Verträge"},
                "en": {"title": "Contracts"},
            },
        },
    ),
    ("publishPortal", "PublishPortalInput", {}),
    ("activatePortal", "PortalIdInput", {}),
]


async def test_an_admin_sets_up_a_portal_along_the_seed_003_checklist(
    client: httpx.AsyncClient,
) -> None:
    """Create, configure, add a tile, publish, activate, and see it as the public does,
    over HTTP as the demo admin."""
    token = await staff_token(client, "admin@musterstadt.example", "Demo-Admin-1")
    portal_id = None
    for name, input_type, input in SEED_003:
        if portal_id is not None:
            key = "portalId" if name == "createTile" else "id"
            input = {**input, key: portal_id}
        payload = (
            "... on TilePayload { tile { id } }"
            if name == "createTile"
            else "... on PortalPayload { portal { id status } }"
        )
        query = (
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename"
            f" {payload} ... on MutationError {{ code message field }} }} }}"
        )
        body = (await post(client, query, token, input=input)).json()
        assert "errors" not in body, (name, body)
        answer = body["data"][name]
        assert answer["__typename"] in ("PortalPayload", "TilePayload"), (name, answer)
        if name == "createPortal":
            portal_id = answer["portal"]["id"]
    assert answer["portal"]["status"] == "ACTIVE"

    public = (
        await post(
            client,
            '{ publicPortal(domain: "sued.portale.example", language: "en") {'
            " name design { primaryColor } texts { login } selfRegistration termsUrl } }",
        )
    ).json()["data"]["publicPortal"]
    assert public == {
        "name": "Kundenportal Süd",
        "design": {"primaryColor": "#112233"},
        "texts": {"login": "Hello South"},
        "selfRegistration": "ALLOW_WITH_CONTACT",
        "termsUrl": "https://sued.example/agb",
    }
