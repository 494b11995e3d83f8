"""Assigning portal users to contacts (seed 000) and finding contacts without access."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from tests.conftest import CUSTOMER_PORTAL, GraphQLClient, contact_id, global_id
from tests.http_helpers import login, post

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
RESULT = """__typename
  ... on PortalUserPayload { revokedSessions portalUser { assignmentStatus
      contact { customerNumber lastName } } }
  ... on MutationError { code message field detail }"""
ASSIGN = (
    f"mutation($input: AssignPortalUserInput!) {{ assignPortalUser(input: $input) {{ {RESULT} }} }}"
)
ASSIGN_NEW = (
    "mutation($input: AssignPortalUserToNewContactInput!) {"
    f" assignPortalUserToNewContact(input: $input) {{ {RESULT} }} }}"
)
UNASSIGN = (
    f"mutation($input: PortalUserIdInput!) {{ unassignPortalUser(input: $input) {{ {RESULT} }} }}"
)
DELETE = """mutation($input: PortalUserIdInput!) { deletePortalUser(input: $input) {
  __typename ... on DeletePortalUserPayload { deletedId } ... on MutationError { code } } }"""


def user_gid(email: str) -> str:
    return global_id("PortalUser", demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:{email}"))


WAITING = user_gid("wartet.zuordnung@example.org")  # ACTIVE, PENDING, password Demo-Wartet-1
ANNA = user_gid("anna.becker@example.org")


async def result(gql: GraphQLClient, query: str, actor: str = "agent", **input: Any) -> Any:
    data, errors = await gql(query, actor, input=input)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


async def set_contact_email(session: AsyncSession, key: str, email: str) -> None:
    contact = await session.get_one(models.Contact, contact_id("musterstadt", key))
    contact.email = email
    await session.commit()


async def test_by_email_unique_then_the_user_can_log_in(
    gql: GraphQLClient, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    refused = await login(client, "wartet.zuordnung@example.org", "Demo-Wartet-1", PORTAL)
    assert refused["code"] == "INVALID_CREDENTIALS"
    await set_contact_email(session, "c06", "wartet.zuordnung@example.org")
    assigned = await result(gql, ASSIGN, portalUserId=WAITING)
    assert assigned["portalUser"]["assignmentStatus"] == "ASSIGNED"
    assert assigned["portalUser"]["contact"]["customerNumber"] == "K-100007"
    ok = await login(client, "wartet.zuordnung@example.org", "Demo-Wartet-1", PORTAL)
    assert ok["__typename"] == "LoggedIn"


async def test_by_email_ambiguous_or_none_says_why(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    none = await result(gql, ASSIGN, portalUserId=WAITING)
    assert (none["code"], none["field"]) == ("INVALID_INPUT", "contactId")
    assert "No contact has the primary email" in none["detail"]
    await set_contact_email(session, "c06", "wartet.zuordnung@example.org")
    await set_contact_email(session, "c07", "wartet.zuordnung@example.org")
    several = await result(gql, ASSIGN, portalUserId=WAITING)
    assert "2 contacts" in several["detail"]
    assert "K-100007" in several["detail"]
    assert "K-100008" in several["detail"]
    chosen = await result(
        gql,
        ASSIGN,
        portalUserId=WAITING,
        contactId=global_id("Contact", contact_id("musterstadt", "c07")),
    )
    assert chosen["portalUser"]["contact"]["customerNumber"] == "K-100008"


async def test_only_while_pending_and_only_own_contacts(gql: GraphQLClient) -> None:
    already = await result(gql, ASSIGN, portalUserId=ANNA)
    assert (already["code"], already["field"]) == ("RULE_VIOLATED", "portalUserId")
    foreign_contact = global_id("Contact", contact_id("nachbarstadt", "c00"))
    foreign = await result(gql, ASSIGN, portalUserId=WAITING, contactId=foreign_contact)
    assert (foreign["code"], foreign["field"]) == ("NOT_FOUND", "contactId")
    other_org = await result(gql, ASSIGN, "other_admin", portalUserId=WAITING)
    assert (other_org["code"], other_org["field"]) == ("NOT_FOUND", "portalUserId")


async def test_a_new_contact_is_created_and_assigned(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    missing = await result(gql, ASSIGN_NEW, portalUserId=WAITING, contact={"firstName": "Wer"})
    assert (missing["code"], missing["field"]) == ("INVALID_INPUT", "contact.lastName")
    created = await result(
        gql,
        ASSIGN_NEW,
        portalUserId=WAITING,
        contact={"firstName": " Wilma ", "lastName": "Wartet", "city": "Musterstadt"},
    )
    assert created["portalUser"]["contact"]["lastName"] == "Wartet"
    contact = await session.scalar(
        sa.select(models.Contact).where(models.Contact.email == "wartet.zuordnung@example.org")
    )
    assert contact is not None
    assert (contact.first_name, contact.city) == ("Wilma", "Musterstadt")


async def test_unassigning_ends_sessions_and_deleting_erases(
    gql: GraphQLClient, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    token = (await login(client, "anna.becker@example.org", "Demo-Kunde-1", PORTAL))["accessToken"]
    unassigned = await result(gql, UNASSIGN, id=ANNA)
    assert unassigned["portalUser"] == {"assignmentStatus": "PENDING", "contact": None}
    assert unassigned["revokedSessions"] == 1
    assert (await post(client, "{ viewer { role } }", token)).status_code == 401

    deleted = await result(gql, DELETE, id=ANNA)
    assert deleted == {"__typename": "DeletePortalUserPayload", "deletedId": ANNA}
    anna_id = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
    assert await session.get(models.PortalUser, anna_id) is None
    for model in (models.AuthSession, models.OneTimeCode):
        count = sa.select(sa.func.count()).where(model.portal_user_id == anna_id)
        assert await session.scalar(count) == 0
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "portal_user.deleted")
    )
    assert event is not None
    assert event.entity_id == anna_id
    assert "anna" not in str(event.data)


async def test_contacts_without_access_for_the_bulk_invitation(gql: GraphQLClient) -> None:
    query = """query($has: Boolean, $portal: ID) {
      contacts(filter: {hasPortalUser: $has, portalId: $portal}, first: 100) { totalCount
        edges { node { customerNumber portalUsers { edges { node { portal { id } } } } } } } }"""
    data, errors = await gql(query, "agent", has=False, portal=PORTAL)
    assert errors == []
    assert data is not None
    without = data["contacts"]
    assert without["totalCount"] > 0
    portals = {
        user["node"]["portal"]["id"]
        for edge in without["edges"]
        for user in edge["node"]["portalUsers"]["edges"]
    }
    assert PORTAL not in portals  # some have access to the installer portal, not this one
    numbers = {e["node"]["customerNumber"] for e in without["edges"]}
    assert "K-100001" not in numbers  # Anna has access
    data, _ = await gql(query, "agent", has=True, portal=PORTAL)
    assert data is not None
    assert "K-100001" in {e["node"]["customerNumber"] for e in data["contacts"]["edges"]}


USERS = """query($portal: ID, $filter: PortalUserFilter, $order: PortalUserOrder) {
  portalUsers(portalId: $portal, filter: $filter, orderBy: $order, first: 100) {
    totalCount edges { node { email registrationStatus assignmentStatus lastLoginAt
      totpEnabled contact { customerNumber } } } } }"""


async def users(gql: GraphQLClient, **variables: Any) -> list[dict[str, Any]]:
    data, errors = await gql(USERS, "agent", portal=PORTAL, **variables)
    assert errors == [], errors
    assert data is not None
    connection = data["portalUsers"]
    assert connection["totalCount"] == len(connection["edges"])
    return [edge["node"] for edge in connection["edges"]]


async def test_portal_users_filtered_and_sorted(gql: GraphQLClient) -> None:
    everyone = await users(gql)
    assert len(everyone) == 8
    fields = "email registrationStatus assignmentStatus lastLoginAt totpEnabled contact".split()
    assert set(fields) <= set(everyone[0])
    pending = await users(gql, filter={"assignmentStatus": "PENDING"})
    assert {u["email"] for u in pending} == {
        "neu.interessent@example.org",
        "wartet.zuordnung@example.org",
    }
    invited = await users(gql, filter={"registrationStatus": "INVITED"})
    assert [u["registrationStatus"] for u in invited] == ["INVITED"]
    by_name = await users(gql, filter={"search": "BECKER"})
    assert [u["email"] for u in by_name] == ["anna.becker@example.org"]
    by_number = await users(gql, filter={"search": "k-100002"})
    assert [u["email"] for u in by_number] == ["jonas.wolf@example.org"]
    read_only = global_id("PermissionGroup", demo.demo_id("group:musterstadt-kunden:read-only"))
    assert await users(gql, filter={"permissionGroupId": read_only}) == []
    assert await users(gql, filter={"createdAfter": "2100-01-01T00:00:00Z"}) == []
    assert len(await users(gql, filter={"createdBefore": "2100-01-01T00:00:00"})) == 8
    by_email = await users(gql, order={"field": "EMAIL", "direction": "ASC"})
    emails = [u["email"] for u in by_email]
    assert emails == sorted(emails)


async def test_only_staff_filter_by_portal_access(gql: GraphQLClient) -> None:
    query = "{ contacts(filter: {hasPortalUser: true}) { totalCount } }"
    data, errors = await gql(query, "installer")
    assert data == {"contacts": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
