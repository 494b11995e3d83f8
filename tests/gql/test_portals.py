"""Portals as an ADMIN creates, renames and deletes them."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from db.models.enums import GRANTS_BY_PORTAL_TYPE
from tests.conftest import CUSTOMER_PORTAL, GraphQLClient, contact_id, global_id
from tests.http_helpers import login, post

CUSTOMERS = global_id("Portal", CUSTOMER_PORTAL)

CREATE = """
mutation($input: CreatePortalInput!) { createPortal(input: $input) {
  __typename
  ... on PortalPayload { portal { id name type status domain domainKind domainStatus
      configuration { languages defaultLanguage }
      permissionGroups { name isDefault grants } emailTemplates { kind language } } }
  ... on MutationError { code message field detail }
} }
"""
UPDATE = """
mutation($input: UpdatePortalInput!) { updatePortal(input: $input) {
  __typename ... on PortalPayload { portal { name } } ... on MutationError { code field }
} }
"""
DELETE = """
mutation($input: DeletePortalInput!) { deletePortal(input: $input) {
  __typename ... on DeletePortalPayload { deletedId } ... on MutationError { code field }
} }
"""


async def result(gql: GraphQLClient, query: str, actor: str = "admin", **input: Any) -> Any:
    data, errors = await gql(query, actor, input=input)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


def _uuid(global_id_value: str) -> uuid.UUID:
    return uuid.UUID(relay.from_base64(global_id_value)[1])


async def new_portal(gql: GraphQLClient, **change: Any) -> Any:
    input = {"type": "CUSTOMER", "name": "Mein Portal", "subdomain": "sw-test", **change}
    return await result(gql, CREATE, **input)


async def test_an_admin_creates_a_draft_portal_with_what_it_needs(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    created = await new_portal(gql, subdomain=" SW-Test ", languages=["de", "en"])
    portal = created["portal"]
    assert (portal["status"], portal["domain"]) == ("DRAFT", "sw-test.portale.example")
    assert (portal["domainKind"], portal["domainStatus"]) == ("MANAGED", "READY")
    assert portal["configuration"] == {"languages": ["de", "en"], "defaultLanguage": "de"}
    [group] = portal["permissionGroups"]
    assert (group["name"], group["isDefault"]) == ("Standard", True)
    assert len(group["grants"]) == len(GRANTS_BY_PORTAL_TYPE[models.PortalType.CUSTOMER])
    templates = {(t["kind"], t["language"]) for t in portal["emailTemplates"]}
    assert templates == {
        (kind, language) for kind in models.EmailTemplateKind for language in ("de", "en")
    }
    # A draft is invisible to anonymous callers.
    data, _ = await gql('{ portal(domain: "sw-test.portale.example") { name } }', "anonymous")
    assert data == {"portal": None}
    installer = await new_portal(gql, type="INSTALLER", subdomain="partner-test")
    [group] = installer["portal"]["permissionGroups"]
    assert sorted(group["grants"]) == sorted(
        grant.name for grant in GRANTS_BY_PORTAL_TYPE[models.PortalType.INSTALLER]
    )
    assert "CONTRACT_READ" not in group["grants"]
    languages = [t["language"] for t in installer["portal"]["emailTemplates"]]
    assert languages == ["de"] * len(models.EmailTemplateKind)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"subdomain": "x"}, "INVALID_INPUT", "subdomain"),
        ({"subdomain": "-abc"}, "INVALID_INPUT", "subdomain"),
        ({"subdomain": "ab.cd"}, "INVALID_INPUT", "subdomain"),
        ({"subdomain": "musterstadt"}, "CONFLICT", "subdomain"),
        ({"languages": ["fr"]}, "INVALID_INPUT", "languages"),
        ({"languages": ["de", "de"]}, "INVALID_INPUT", "languages"),
        ({"languages": ["de"], "defaultLanguage": "en"}, "INVALID_INPUT", "defaultLanguage"),
        ({"name": "  "}, "INVALID_INPUT", "name"),
    ],
)
async def test_bad_input_is_refused(
    gql: GraphQLClient, session: AsyncSession, change: dict[str, Any], code: str, field: str
) -> None:
    before = await session.scalar(sa.select(sa.func.count()).select_from(models.Portal))
    refused = await new_portal(gql, **change)
    assert (refused["code"], refused["field"]) == (code, field)
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.Portal)) == before


async def test_rename_and_delete(gql: GraphQLClient, session: AsyncSession) -> None:
    portal = (await new_portal(gql))["portal"]
    assert (await result(gql, UPDATE, id=portal["id"], name="Neuer Name"))["portal"] == {
        "name": "Neuer Name"
    }
    # A portal user of the draft (iPM) goes with it.
    set_password = """mutation($input: SetPortalUserPasswordInput!) {
      setPortalUserPassword(input: $input) { __typename } }"""
    julia = global_id("Contact", contact_id("musterstadt", "c06"))
    input = {"portalId": portal["id"], "contactId": julia, "password": "Zählerstand-2026!"}
    _, errors = await gql(set_password, "admin", input=input)
    assert errors == [], errors
    deleted = await result(gql, DELETE, id=portal["id"])
    assert deleted == {"__typename": "DeletePortalPayload", "deletedId": portal["id"]}
    columns: list[Any] = [
        models.Portal.id,
        models.PortalUser.portal_id,
        models.PermissionGroup.portal_id,
        models.EmailTemplate.portal_id,
    ]
    for column in columns:
        assert (
            await session.scalar(sa.select(sa.func.count()).where(column == _uuid(portal["id"])))
            == 0
        )


async def test_an_active_portal_is_not_deleted_and_others_find_nothing(gql: GraphQLClient) -> None:
    active = global_id("Portal", CUSTOMER_PORTAL)
    refused = await result(gql, DELETE, id=active)
    assert (refused["code"], refused["field"]) == ("RULE_VIOLATED", "id")
    assert (await result(gql, DELETE, "other_admin", id=active))["code"] == "NOT_FOUND"
    assert (await result(gql, UPDATE, "other_admin", id=active, name="X"))["code"] == "NOT_FOUND"


ACTIVATE = """mutation($input: PortalIdInput!) { activatePortal(input: $input) {
  __typename ... on PortalPayload { portal { status } }
  ... on MutationError { code message detail } } }"""
DEACTIVATE = ACTIVATE.replace("activatePortal", "deactivatePortal")
PUBLISH = (
    """mutation($input: PublishPortalInput!) { publishPortal(input: $input) { __typename } }"""
)


async def test_a_portal_goes_online_once_published_and_offline_ends_sessions(
    gql: GraphQLClient, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    portal = (await new_portal(gql))["portal"]
    unpublished = await result(gql, ACTIVATE, id=portal["id"])
    assert unpublished["code"] == "RULE_VIOLATED"
    assert "Publish" in unpublished["detail"]
    await result(gql, PUBLISH, id=portal["id"])
    assert (await result(gql, ACTIVATE, id=portal["id"]))["portal"] == {"status": "ACTIVE"}
    data, _ = await gql('{ portal(domain: "sw-test.portale.example") { name } }', "anonymous")
    assert data == {"portal": {"name": "Mein Portal"}}

    # Taking the demo portal offline ends Anna's session at once.
    token = (await login(client, "anna.becker@example.org", "Demo-Kunde-1", CUSTOMERS))[
        "accessToken"
    ]
    offline = await result(gql, DEACTIVATE, id=CUSTOMERS)
    assert offline["portal"] == {"status": "INACTIVE"}
    assert (await post(client, "{ viewer { role } }", token)).status_code == 401
    assert (await login(client, "anna.becker@example.org", "Demo-Kunde-1", CUSTOMERS))[
        "code"
    ] == "INVALID_CREDENTIALS"


async def test_a_custom_domain_that_is_not_ready_keeps_the_portal_offline(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    portal = (await new_portal(gql))["portal"]
    await result(gql, PUBLISH, id=portal["id"])
    row = await session.get_one(models.Portal, _uuid(portal["id"]))
    row.domain_kind = models.DomainKind.CUSTOM
    row.domain_status = models.DomainStatus.PENDING_VERIFICATION
    await session.commit()
    refused = await result(gql, ACTIVATE, id=portal["id"])
    assert refused["code"] == "RULE_VIOLATED"
    assert "PENDING_VERIFICATION" in refused["detail"]
