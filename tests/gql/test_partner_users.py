"""Installer partners manage their own company's users (gql.domain.partner_users): the
partner's admin lists, invites and removes the company's logins; other companies',
customers' and other organizations' logins are out of reach, and without the grant (or
as any other role) nothing is allowed."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from tests.conftest import ACTORS, MUSTERSTADT, GraphQLClient, global_id

INSTALLER = ACTORS["installer"]
PARTNER_PORTAL = INSTALLER.portal_id
LIST = """{ partnerUsers(first: 50) { totalCount edges { node { id email registrationStatus
  contact { displayName } permissionGroup { name } } } } }"""
INVITE = """mutation($input: InvitePartnerUserInput!) { invitePartnerUser(input: $input) {
  __typename ... on PortalUserPayload { portalUser { id email registrationStatus
    assignmentStatus } }
  ... on MutationError { code field } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
REMOVE = """mutation($input: RemovePartnerUserInput!) { removePartnerUser(input: $input) {
  __typename ... on PartnerUserRemoved { removedId } ... on MutationError { code field } } }"""


def login_id(email: str, portal: str = "musterstadt-partner") -> str:
    portal_id = demo.demo_id(f"portal:{portal}")
    return global_id("PortalUser", demo.demo_id(f"portal-user:{portal_id}:{email}"))


BUERO = login_id("buero@elektro-schmidt.example")
MONTAGE = login_id("montage@elektro-schmidt.example")
ANNA = login_id("anna.becker@example.org", "musterstadt-kunden")


async def run(gql: GraphQLClient, query: str, actor: Any = "installer", **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


@pytest.fixture
async def other_company(session: AsyncSession) -> str:
    """A second installer company with one login on the same portal."""
    contact = models.Contact(organization_id=MUSTERSTADT, company_name="Sanitär Kurz KG")
    session.add(contact)
    await session.flush()
    group = demo.demo_id("group:musterstadt-partner:default")
    user = models.PortalUser(
        organization_id=MUSTERSTADT,
        portal_id=PARTNER_PORTAL,
        email="info@sanitaer-kurz.example",
        registration_status=models.RegistrationStatus.INVITED,
        assignment_status=models.AssignmentStatus.ASSIGNED,
        contact_id=contact.id,
        permission_group_id=group,
    )
    session.add(user)
    await session.commit()  # kept when a refused mutation rolls its own work back
    return global_id("PortalUser", user.id)


async def test_the_partners_admin_lists_the_companys_logins_only(
    gql: GraphQLClient, other_company: str
) -> None:
    listed = await run(gql, LIST)
    emails = sorted(edge["node"]["email"] for edge in listed["edges"])
    assert emails == ["buero@elektro-schmidt.example", "montage@elektro-schmidt.example"]
    assert listed["totalCount"] == 2
    # The admin's own group shows (as to any portal user); colleagues' groups are staff's.
    groups = {e["node"]["email"]: e["node"]["permissionGroup"] for e in listed["edges"]}
    assert groups["montage@elektro-schmidt.example"] == {"name": "Partner-Administration"}
    # Another company's login is not even a node the admin can look up.
    data, _ = await gql(NODE, "installer", id=other_company)
    assert data == {"node": None}


async def test_the_admin_invites_a_colleague(gql: GraphQLClient, session: AsyncSession) -> None:
    invited = await run(gql, INVITE, input={"email": "Geselle@Elektro-Schmidt.example"})
    user = invited["portalUser"]
    assert (user["email"], user["registrationStatus"], user["assignmentStatus"]) == (
        "geselle@elektro-schmidt.example",
        "INVITED",
        "ASSIGNED",
    )
    row = await session.scalar(
        sa.select(models.PortalUser).where(
            models.PortalUser.email == "geselle@elektro-schmidt.example"
        )
    )
    assert row is not None
    assert (row.portal_id, row.contact_id) == (PARTNER_PORTAL, INSTALLER.contact_id)
    assert row.permission_group_id == demo.demo_id("group:musterstadt-partner:default")
    mail = await session.scalar(
        sa.select(models.OutboundEmail).where(
            models.OutboundEmail.recipient == "geselle@elektro-schmidt.example"
        )
    )
    assert mail is not None
    assert mail.kind == "invitation"
    assert "https://musterstadt-partner.portale.example/portal/invitation?token=" in mail.body_text
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "portal_user.invited",
            models.AuditEvent.entity_id == row.id,
        )
    )
    assert event is not None
    assert event.actor_id == INSTALLER.subject_id
    assert len((await run(gql, LIST))["edges"]) == 3


async def test_inviting_a_colleague_still_invited_sends_a_new_link(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    again = await run(gql, INVITE, input={"email": "buero@elektro-schmidt.example"})
    assert again["portalUser"]["id"] == BUERO


async def test_an_email_that_is_another_login_on_the_portal_is_refused(
    gql: GraphQLClient, other_company: str
) -> None:
    for email in ("montage@elektro-schmidt.example", "info@sanitaer-kurz.example"):
        refused = await run(gql, INVITE, input={"email": email})
        assert (refused["code"], refused["field"]) == ("CONFLICT", "email"), email


async def test_the_admin_removes_a_colleague_whose_sessions_end(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    removed = await run(gql, REMOVE, input={"portalUserId": BUERO})
    assert removed == {"__typename": "PartnerUserRemoved", "removedId": BUERO}
    emails = [e["node"]["email"] for e in (await run(gql, LIST))["edges"]]
    assert emails == ["montage@elektro-schmidt.example"]
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "portal_user.deleted")
    )
    assert event is not None
    assert event.actor_id == INSTALLER.subject_id


@pytest.mark.parametrize("target", ["self", "other_company", "customer"])
async def test_the_admin_can_not_remove_itself_or_others_logins(
    gql: GraphQLClient, session: AsyncSession, other_company: str, target: str
) -> None:
    victim = {"self": MONTAGE, "other_company": other_company, "customer": ANNA}[target]
    refused = await run(gql, REMOVE, input={"portalUserId": victim})
    expected = "RULE_VIOLATED" if target == "self" else "NOT_FOUND"
    assert (refused["code"], refused["field"]) == (expected, "portalUserId")
    count = sa.select(sa.func.count()).select_from(models.AuditEvent)
    assert await session.scalar(count.where(models.AuditEvent.action == "portal_user.deleted")) == 0


async def test_an_installer_without_the_grant_gets_nothing(gql: GraphQLClient) -> None:
    colleague = dataclasses.replace(
        INSTALLER,
        permission_group_id=demo.demo_id("group:musterstadt-partner:default"),
        grants=INSTALLER.grants - {"partner_users:manage"},
    )
    for query, variables in (
        (LIST, {}),
        (INVITE, {"input": {"email": "x@elektro-schmidt.example"}}),
        (REMOVE, {"input": {"portalUserId": BUERO}}),
    ):
        data, errors = await gql(query, colleague, **variables)
        assert data is not None
        assert next(iter(data.values())) is None
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
        assert (errors[0].extensions or {}).get("grant") == "partner_users:manage"
    # ... and sees only its own login through the node lookup, as before.
    data, _ = await gql(NODE, colleague, id=BUERO)
    assert data == {"node": None}


@pytest.mark.parametrize(
    "actor", ["admin", "agent", "customer", "other_customer", "other_org_customer", "anonymous"]
)
async def test_other_roles_can_not_manage_partner_users(
    gql: GraphQLClient, session: AsyncSession, actor: str
) -> None:
    for query, variables in (
        (LIST, {}),
        (INVITE, {"input": {"email": "x@elektro-schmidt.example"}}),
        (REMOVE, {"input": {"portalUserId": BUERO}}),
    ):
        data, errors = await gql(query, actor, **variables)
        assert data is not None
        assert next(iter(data.values())) is None
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    assert (
        await session.get(
            models.PortalUser,
            demo.demo_id(f"portal-user:{PARTNER_PORTAL}:buero@elektro-schmidt.example"),
        )
        is not None
    )
