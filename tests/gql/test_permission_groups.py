"""Permission groups: the rules as plain functions, the staff mutations, and what a
change means for the members' next request (over HTTP, without logging in again)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from db.models.enums import Grant
from gql.domain import permission_groups, text
from gql.domain.errors import InvalidInput
from gql.domain.permission_groups import VisibilityCriteria
from tests import factories
from tests.conftest import ACTORS, CUSTOMER_PORTAL, INSTALLER_PORTAL, GraphQLClient, global_id
from tests.http_helpers import login, portal_gid, post

CUSTOMERS = global_id("Portal", CUSTOMER_PORTAL)
INSTALLERS = global_id("Portal", INSTALLER_PORTAL)
DEFAULT_GROUP = demo.demo_id("group:musterstadt-kunden:default")
READ_ONLY_GROUP = demo.demo_id("group:musterstadt-kunden:read-only")
ANNA = ACTORS["customer"].subject_id
assert ANNA is not None

RESULT = """
    __typename
    ... on PermissionGroupPayload {
      permissionGroup {
        id name grants isDefault portalUserCount
        visibility { contractStatuses documentTypes }
      }
    }
    ... on MutationError { code message field detail }
"""
CREATE = (
    "mutation($input: CreatePermissionGroupInput!) { createPermissionGroup(input: $input) {"
    + RESULT
    + "} }"
)
UPDATE = (
    "mutation($input: UpdatePermissionGroupInput!) { updatePermissionGroup(input: $input) {"
    + RESULT
    + "} }"
)
DELETE = """
mutation($input: DeletePermissionGroupInput!) {
  deletePermissionGroup(input: $input) {
    __typename
    ... on DeletePermissionGroupPayload { deletedId movedPortalUsers }
    ... on MutationError { code message field }
  }
}
"""
ASSIGN = """
mutation($input: SetPortalUserPermissionGroupInput!) {
  setPortalUserPermissionGroup(input: $input) {
    __typename
    ... on PortalUserPayload { portalUser { id permissionGroup { name } } }
    ... on MutationError { code message field }
  }
}
"""


def gid(row_id: uuid.UUID | None, type_name: str = "PermissionGroup") -> str:
    assert row_id is not None
    return global_id(type_name, row_id)


async def run(gql: GraphQLClient, query: str, actor: str = "admin", **input: Any) -> Any:
    data, errors = await gql(query, actor, input=input)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def groups_of(session: AsyncSession, portal: uuid.UUID) -> dict[str, models.PermissionGroup]:
    rows = await session.scalars(
        sa.select(models.PermissionGroup)
        .where(models.PermissionGroup.portal_id == portal)
        .execution_options(populate_existing=True)
    )
    return {row.name: row for row in rows}


async def audit_actions(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        sa.select(models.AuditEvent.action).order_by(models.AuditEvent.created_at)
    )
    return list(rows)


# --- Rules --------------------------------------------------------------------------------------


def test_grants_are_stored_once_and_sorted() -> None:
    chosen = [Grant.METER_READ, Grant.CONTRACT_READ, Grant.METER_READ]
    assert permission_groups.clean_grants(chosen, models.PortalType.CUSTOMER) == [
        "contract:read",
        "meter:read",
    ]


def test_installer_portals_refuse_customer_grants() -> None:
    with pytest.raises(InvalidInput) as refused:
        permission_groups.clean_grants(
            [Grant.ORDER_READ, Grant.INSTALLMENT_UPDATE, Grant.CONTRACT_READ],
            models.PortalType.INSTALLER,
        )
    assert refused.value.field == "grants"
    assert "contract:read, installment:update" in refused.value.message


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        (VisibilityCriteria(contract_statuses=frozenset()), "visibility.contractStatuses"),
        (VisibilityCriteria(document_types=frozenset()), "visibility.documentTypes"),
    ],
)
def test_an_empty_criterion_would_hide_everything(criteria: VisibilityCriteria, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        permission_groups.clean_visibility(criteria, models.PortalType.CUSTOMER)
    assert refused.value.field == field


def test_installer_portals_take_no_visibility_criteria() -> None:
    criteria = VisibilityCriteria(contract_statuses=frozenset({models.ContractStatus.ACTIVE}))
    with pytest.raises(InvalidInput):
        permission_groups.clean_visibility(criteria, models.PortalType.INSTALLER)
    assert permission_groups.clean_visibility(criteria, models.PortalType.CUSTOMER) == {
        "contract_statuses": ["ACTIVE"]
    }


@pytest.mark.parametrize(("name", "cleaned"), [("  Nur   Zähler ", "Nur Zähler"), ("A", "A")])
def test_names_are_trimmed(name: str, cleaned: str) -> None:
    assert text.clean_name(name) == cleaned


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_names_must_be_given_and_short(name: str) -> None:
    with pytest.raises(InvalidInput):
        text.clean_name(name)


# --- Mutations --------------------------------------------------------------------------------


async def test_an_admin_creates_a_group(gql: GraphQLClient, session: AsyncSession) -> None:
    result = await run(
        gql,
        CREATE,
        portalId=CUSTOMERS,
        name="Zählerablesung",
        grants=["METER_READ", "METER_READING_CREATE", "METER_READ"],
        visibility={"contractStatuses": ["ACTIVE", "PENDING"]},
    )
    assert result["__typename"] == "PermissionGroupPayload", result
    group = result["permissionGroup"]
    assert group["name"] == "Zählerablesung"
    assert group["grants"] == ["METER_READ", "METER_READING_CREATE"]
    assert group["isDefault"] is False
    assert group["portalUserCount"] == 0
    assert group["visibility"] == {"contractStatuses": ["ACTIVE", "PENDING"], "documentTypes": None}
    assert "permission_group.created" in await audit_actions(session)


async def test_a_name_is_unique_per_portal_and_nothing_is_written(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    before = set(await groups_of(session, CUSTOMER_PORTAL))
    result = await run(gql, CREATE, portalId=CUSTOMERS, name="standard", grants=[])
    assert result == {
        "__typename": "MutationError",
        "code": "CONFLICT",
        # Staff without Accept-Language read German: the specific sentence, not only the code's.
        "message": "Das Portal hat bereits eine Gruppe namens „standard“.",
        "detail": "The portal already has a group named 'standard'.",
        "field": "name",
    }
    assert set(await groups_of(session, CUSTOMER_PORTAL)) == before
    assert "permission_group.created" not in await audit_actions(session)


async def test_bad_input_gets_a_specific_error(gql: GraphQLClient) -> None:
    result = await run(gql, CREATE, portalId=INSTALLERS, name="X", grants=["PAYMENT_READ"])
    assert (result["code"], result["field"]) == ("INVALID_INPUT", "grants")
    result = await run(gql, CREATE, portalId=CUSTOMERS, name=" ", grants=[])
    assert (result["code"], result["field"]) == ("INVALID_INPUT", "name")
    result = await run(gql, CREATE, portalId=gid(ANNA, "PortalUser"), name="X", grants=[])
    assert (result["code"], result["field"]) == ("NOT_FOUND", "portalId")


async def test_a_new_default_replaces_the_old_one(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    result = await run(
        gql, UPDATE, id=gid(READ_ONLY_GROUP), isDefault=True, name="Lesen", grants=["CONTRACT_READ"]
    )
    assert result["permissionGroup"]["isDefault"] is True
    groups = await groups_of(session, CUSTOMER_PORTAL)
    assert [name for name, group in groups.items() if group.is_default] == ["Lesen"]
    assert groups["Lesen"].grants == ["contract:read"]


async def test_the_default_can_only_be_replaced(gql: GraphQLClient) -> None:
    result = await run(gql, UPDATE, id=gid(DEFAULT_GROUP), isDefault=False)
    assert (result["code"], result["field"]) == ("RULE_VIOLATED", "isDefault")
    result = await run(gql, DELETE, id=gid(DEFAULT_GROUP))
    assert (result["code"], result["field"]) == ("RULE_VIOLATED", "id")


async def test_clearing_the_criteria_shows_everything(gql: GraphQLClient) -> None:
    result = await run(gql, UPDATE, id=gid(READ_ONLY_GROUP), visibility={})
    assert result["permissionGroup"]["visibility"] == {
        "contractStatuses": None,
        "documentTypes": None,
    }


async def test_deleting_a_group_moves_its_members_to_the_default(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    moved = await run(
        gql, ASSIGN, portalUserId=gid(ANNA, "PortalUser"), permissionGroupId=gid(READ_ONLY_GROUP)
    )
    assert moved["portalUser"]["permissionGroup"]["name"] == "Nur lesen"

    result = await run(gql, DELETE, id=gid(READ_ONLY_GROUP))
    assert result == {
        "__typename": "DeletePermissionGroupPayload",
        "deletedId": gid(READ_ONLY_GROUP),
        "movedPortalUsers": 1,
    }
    anna = await session.get_one(models.PortalUser, ANNA, populate_existing=True)
    assert anna.permission_group_id == DEFAULT_GROUP
    actions = await audit_actions(session)
    assert "portal_user.permission_group_changed" in actions
    assert "permission_group.deleted" in actions


async def test_a_group_that_tiles_are_shown_to_is_not_deleted(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    await session.execute(
        sa.update(models.Tile)
        .where(models.Tile.portal_id == CUSTOMER_PORTAL, models.Tile.position == 0)
        .values(permission_group_ids=[READ_ONLY_GROUP])
    )
    result = await run(gql, DELETE, id=gid(READ_ONLY_GROUP))
    assert (result["code"], result["field"]) == ("CONFLICT", "id")


async def test_a_group_of_another_portal_is_refused(gql: GraphQLClient) -> None:
    installer_group = demo.demo_id("group:musterstadt-partner:default")
    result = await run(
        gql,
        ASSIGN,
        "agent",
        portalUserId=gid(ANNA, "PortalUser"),
        permissionGroupId=gid(installer_group),
    )
    assert (result["code"], result["field"]) == ("INVALID_INPUT", "permissionGroupId")


async def test_another_organization_finds_nothing(gql: GraphQLClient) -> None:
    attempts: list[tuple[str, dict[str, Any]]] = [
        (UPDATE, {"id": gid(READ_ONLY_GROUP), "name": "Übernommen"}),
        (DELETE, {"id": gid(READ_ONLY_GROUP)}),
        (CREATE, {"portalId": CUSTOMERS, "name": "Fremd", "grants": []}),
        (
            ASSIGN,
            {"portalUserId": gid(ANNA, "PortalUser"), "permissionGroupId": gid(READ_ONLY_GROUP)},
        ),
    ]
    for query, input in attempts:
        result = await run(gql, query, "other_admin", **input)
        assert result["code"] == "NOT_FOUND", (query, result)


@pytest.mark.parametrize(
    ("actor", "query", "input"),
    [
        ("agent", CREATE, {"portalId": CUSTOMERS, "name": "X", "grants": []}),
        ("agent", DELETE, {"id": gid(READ_ONLY_GROUP)}),
        ("customer", UPDATE, {"id": gid(DEFAULT_GROUP), "grants": list(Grant.__members__)}),
        (
            "customer",
            ASSIGN,
            {"portalUserId": gid(ANNA, "PortalUser"), "permissionGroupId": gid(DEFAULT_GROUP)},
        ),
    ],
)
async def test_only_admins_configure_and_only_staff_assign(
    gql: GraphQLClient, actor: str, query: str, input: dict[str, Any]
) -> None:
    _, errors = await gql(query, actor, input=input)
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]


# --- What members see, request by request -----------------------------------------------------

CONTRACTS = "{ viewer { contracts { totalCount edges { node { number status } } } } }"


async def anna_token(client: httpx.AsyncClient) -> str:
    result = await login(
        client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid("musterstadt-kunden")
    )
    return str(result["accessToken"])


async def add_terminated_contract(session: AsyncSession) -> None:
    anna = await session.get_one(models.PortalUser, ANNA)
    assert anna.contact_id is not None
    contact = await session.get_one(models.Contact, anna.contact_id)
    contract = await factories.make_contract(
        session,
        contact,
        number="V-OLD-1",
        status=models.ContractStatus.TERMINATED,
        tariff_name="Alt",
        start_date=date(2019, 1, 1),
        end_date=date(2022, 12, 31),
        installment_amount=Decimal("40.00"),
    )
    await factories.make_document(
        session,
        anna.contact_id,
        anna.organization_id,
        contract_id=contract.id,
        name="Schlussrechnung.pdf",
        storage_key="documents/schlussrechnung.pdf",
    )
    await session.commit()


async def test_a_group_change_applies_to_the_next_request(
    client: httpx.AsyncClient, session: AsyncSession, gql: GraphQLClient
) -> None:
    await add_terminated_contract(session)
    token = await anna_token(client)
    seen = (await post(client, CONTRACTS, token)).json()["data"]["viewer"]["contracts"]
    assert seen["totalCount"] == 4

    # Staff move Anna into "Nur lesen" (running contracts only); her token stays the same.
    await run(
        gql, ASSIGN, portalUserId=gid(ANNA, "PortalUser"), permissionGroupId=gid(READ_ONLY_GROUP)
    )
    seen = (await post(client, CONTRACTS, token)).json()["data"]["viewer"]["contracts"]
    assert seen["totalCount"] == 3
    assert {edge["node"]["status"] for edge in seen["edges"]} == {"ACTIVE"}
    documents = "{ viewer { contact { documents { edges { node { name } } } } } }"
    body = (await post(client, documents, token)).json()
    names = {e["node"]["name"] for e in body["data"]["viewer"]["contact"]["documents"]["edges"]}
    assert names
    assert "Schlussrechnung.pdf" not in names

    # The group loses contract:read: the same token now gets FORBIDDEN for contracts.
    await run(gql, UPDATE, id=gid(READ_ONLY_GROUP), grants=["DOCUMENT_READ"])
    body = (await post(client, CONTRACTS, token)).json()
    assert body["data"]["viewer"]["contracts"] is None
    assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN", "grant": "contract:read"}


async def test_documents_can_be_narrowed_by_type(
    client: httpx.AsyncClient, session: AsyncSession, gql: GraphQLClient
) -> None:
    await run(
        gql,
        UPDATE,
        id=gid(DEFAULT_GROUP),
        visibility={"documentTypes": ["CONTRACT"]},
    )
    token = await anna_token(client)
    body = (await post(client, "{ viewer { contact { documents { totalCount } } } }", token)).json()
    assert body["data"]["viewer"]["contact"]["documents"]["totalCount"] == 0
