"""Sessions end when what they speak for changes, over HTTP through the ASGI app.

An impersonation lives only as long as the staff session it was started from: the
staff member's logout, logoutEverywhere, password change (from another session), role
change or being disabled end it. A portal user moved to another contact, unassigned,
deactivated or deleted - by a mutation or by the CSV import - loses every session at
once: access tokens (on the executor's path and on the query plan's, where the session
check runs in the plan's statement), refresh tokens and staff impersonating them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from db import demo, models
from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.settings import Settings
from tests.conftest import ACTORS, CUSTOMER_PORTAL, global_id
from tests.document_helpers import invoice_of
from tests.http_helpers import impersonate, login, portal_gid, post
from tests.statement_helpers import answered_by_plan

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
ANNA_ID = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
ANNA = global_id("PortalUser", ANNA_ID)
AGENT = global_id("StaffUser", ACTORS["agent"].subject_id)  # type: ignore[arg-type]
AGENT_LOGIN = ("agent@musterstadt.example", "Demo-Agent-1")
ADMIN_LOGIN = ("admin@musterstadt.example", "Demo-Admin-1")
ANNA_LOGIN = ("anna.becker@example.org", "Demo-Kunde-1")
# A document the planner answers for portal users once the executor has answered it.
DASHBOARD = "{ viewer { contact { customerNumber } contracts { edges { node { number } } } } }"
VIEWER = "{ viewer { role } }"
REFRESH = """mutation($refresh: Line!) { refreshSession(input: {refreshToken: $refresh}) {
  __typename ... on LoggedIn { accessToken } ... on LoginError { code } } }"""
DOWNLOAD_URL = "query($id: ID!) { node(id: $id) { ... on Document { downloadUrl } } }"
UNAUTHENTICATED = {
    "errors": [
        {"message": "Invalid or expired access token.", "extensions": {"code": "UNAUTHENTICATED"}}
    ]
}


class Http:
    """The app over HTTP, with the test's connection (to see which answers came from
    plans)."""

    def __init__(self, client: httpx.AsyncClient, connection: AsyncConnection, plans: bool) -> None:
        self.client = client
        self.connection = connection
        self.plans = plans  # whether plans' statements run (not with QUERY_PLANS=off)

    async def post(self, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
        return await post(self.client, query, token, **variables)

    async def mutate(self, query: str, token: str, **variables: Any) -> Any:
        body = (await self.post(query, token, **variables)).json()
        assert "errors" not in body, body
        return next(iter(body["data"].values()))

    async def login(self, email: str, password: str, portal: str | None = None) -> Tokens:
        result = await login(self.client, email, password, portal)
        assert result["__typename"] == "LoggedIn", result
        return Tokens(result["accessToken"], result["refreshToken"])


@dataclass(frozen=True)
class Tokens:
    access: str
    refresh: str


@pytest.fixture
async def http(
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    test_settings: Settings,
    tokens: TokenService,
) -> AsyncIterator[Http]:
    app = create_app(test_settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        # QUERY_PLANS=compare: the executor answers, then the plan's statement runs too.
        yield Http(client, connection, test_settings.query_plans or test_settings.compare_plans)


async def assert_refused(http: Http, access: str, *, planned: bool = False) -> None:
    """The access token gets 401 on every path: the plan's statement (when the session
    was known and the document planned), the middleware's check, the executor."""
    documents = (DASHBOARD, VIEWER) if planned else (VIEWER, DASHBOARD)
    for document in documents:
        response = await http.post(document, access)
        assert response.status_code == 401, (document, response.text)
        assert response.json() == UNAUTHENTICATED


async def assert_refresh_refused(http: Http, refresh: str) -> None:
    result = await http.mutate(REFRESH, "", refresh=refresh)
    assert result == {"__typename": "LoginError", "code": "INVALID_SESSION"}


async def invoice_link(http: Http, session: AsyncSession, settings: Settings, bearer: str) -> str:
    """A download link of Anna's first invoice, issued to `bearer`'s session; it works."""
    invoice = await invoice_of(session, ACTORS["customer"], settings)
    body = (await http.post(DOWNLOAD_URL, bearer, id=global_id("Document", invoice.id))).json()
    url = str(body["data"]["node"]["downloadUrl"])
    assert (await http.client.get(url)).status_code == 200
    return url


async def assert_link_refused(http: Http, url: str) -> None:
    response = await http.client.get(url)
    assert (response.status_code, response.text) == (404, "This document is not available.")


async def known_and_planned(http: Http, access: str) -> None:
    """Answer DASHBOARD until a plan answers it with the session check in its statement
    (with plans switched off: the executor, after the middleware's check)."""
    for _ in range(2):  # the executor, then the plan (the session is known now)
        assert "errors" not in (await http.post(DASHBOARD, access)).json()
    response, planned = await answered_by_plan(http.connection, http.post(DASHBOARD, access))
    assert "errors" not in response.json()
    assert planned == http.plans


# --- Impersonation ends with the staff session it was started from ---------------------------


async def _logout(http: Http, agent: Tokens) -> None:
    assert await http.mutate("mutation { logout { revokedSessions } }", agent.access) == {
        "revokedSessions": 1
    }


async def _logout_everywhere(http: Http, agent: Tokens) -> None:
    result = await http.mutate("mutation { logoutEverywhere { revokedSessions } }", agent.access)
    assert result["revokedSessions"] >= 1


async def _change_password_elsewhere(http: Http, agent: Tokens) -> None:
    elsewhere = await http.login(*AGENT_LOGIN)
    result = await http.mutate(
        """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
          __typename ... on PasswordChanged { revokedSessions } } }""",
        elsewhere.access,
        input={"currentPassword": AGENT_LOGIN[1], "newPassword": "Zählerstand-2026!"},
    )
    assert result["__typename"] == "PasswordChanged", result


async def _disable(http: Http, agent: Tokens) -> None:
    admin = await http.login(*ADMIN_LOGIN)
    result = await http.mutate(
        """mutation($input: StaffUserIdInput!) { disableStaffUser(input: $input) {
          __typename ... on StaffUserPayload { revokedSessions } } }""",
        admin.access,
        input={"id": AGENT},
    )
    assert result["__typename"] == "StaffUserPayload", result


async def _change_role(http: Http, agent: Tokens) -> None:
    admin = await http.login(*ADMIN_LOGIN)
    result = await http.mutate(
        """mutation($input: UpdateStaffUserInput!) { updateStaffUser(input: $input) {
          __typename ... on StaffUserPayload { revokedSessions } } }""",
        admin.access,
        input={"id": AGENT, "role": "ADMIN"},
    )
    assert result["__typename"] == "StaffUserPayload", result


STAFF_ACTIONS: dict[str, Callable[[Http, Tokens], Awaitable[None]]] = {
    "logout": _logout,
    "logoutEverywhere": _logout_everywhere,
    "changePassword": _change_password_elsewhere,
    "disableStaffUser": _disable,
    "updateStaffUser-role": _change_role,
}


@pytest.mark.parametrize("action", STAFF_ACTIONS)
async def test_impersonation_staff_session_ends_impersonation_refused(
    http: Http, session: AsyncSession, test_settings: Settings, action: str
) -> None:
    agent = await http.login(*AGENT_LOGIN)
    impersonation = (await impersonate(http.client, agent.access))["accessToken"]
    for document in (VIEWER, DASHBOARD, DASHBOARD):  # answered while the agent's session lives
        assert "errors" not in (await http.post(document, impersonation)).json()
    link = await invoice_link(http, session, test_settings, impersonation)

    await STAFF_ACTIONS[action](http, agent)

    await assert_refused(http, impersonation)
    await assert_link_refused(http, link)
    await assert_refused(http, agent.access)
    await assert_refresh_refused(http, agent.refresh)


async def test_impersonation_another_staff_session_ends_impersonation_lives(http: Http) -> None:
    """Bound to the one session: the agent logging out elsewhere, or changing the password
    from this session, leaves it (and the customer's own session) alone."""
    agent = await http.login(*AGENT_LOGIN)
    anna = await http.login(*ANNA_LOGIN, portal_gid("musterstadt-kunden"))
    impersonation = (await impersonate(http.client, agent.access))["accessToken"]
    elsewhere = await http.login(*AGENT_LOGIN)
    await _logout(http, elsewhere)
    assert (await http.post(VIEWER, impersonation)).status_code == 200
    result = await http.mutate(
        """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
          __typename } }""",
        agent.access,
        input={"currentPassword": AGENT_LOGIN[1], "newPassword": "Zählerstand-2026!"},
    )
    assert result == {"__typename": "PasswordChanged"}
    assert (await http.post(VIEWER, impersonation)).status_code == 200
    assert (await http.post(VIEWER, anna.access)).status_code == 200


async def test_impersonation_without_its_staff_session_refused(
    http: Http, session: AsyncSession
) -> None:
    """The session check itself refuses an impersonation whose staff session ended, even
    one the staff member's sessions were ended around (no second revocation needed)."""
    agent = await http.login(*AGENT_LOGIN)
    impersonation = (await impersonate(http.client, agent.access))["accessToken"]
    await session.execute(
        sa.update(models.AuthSession)
        .where(models.AuthSession.staff_user_id == ACTORS["agent"].subject_id)
        .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
    )
    await assert_refused(http, impersonation)


# --- A portal user's contact, status or existence changes -------------------------------------


async def _agent_mutation(http: Http, query: str) -> Any:
    agent = await http.login(*AGENT_LOGIN)
    return await http.mutate(query, agent.access, input={"id": ANNA})


async def _unassign(http: Http) -> None:
    result = await _agent_mutation(
        http,
        """mutation($input: PortalUserIdInput!) { unassignPortalUser(input: $input) {
          __typename ... on PortalUserPayload { revokedSessions } } }""",
    )
    assert result["revokedSessions"] >= 2, result  # Anna's and the impersonation


async def _deactivate(http: Http) -> None:
    result = await _agent_mutation(
        http,
        """mutation($input: PortalUserIdInput!) { deactivatePortalUser(input: $input) {
          __typename ... on PortalUserPayload { revokedSessions } } }""",
    )
    assert result["revokedSessions"] >= 2, result


async def _delete(http: Http) -> None:
    result = await _agent_mutation(
        http,
        """mutation($input: PortalUserIdInput!) { deletePortalUser(input: $input) {
          __typename } }""",
    )
    assert result == {"__typename": "DeletePortalUserPayload"}


async def _import_to_another_contact(http: Http) -> None:
    agent = await http.login(*AGENT_LOGIN)
    operations = {
        "query": """mutation($portal: ID!, $file: Upload!) {
          importPortalUsers(portalId: $portal, file: $file) { __typename
          ... on PortalUsersImported { updated } } }""",
        "variables": {"portal": PORTAL, "file": None},
    }
    text = "email,language,customer_number\nanna.becker@example.org,de,K-100007\n"
    response = await http.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", text.encode(), "text/csv")},
        headers={"Authorization": f"Bearer {agent.access}"},
    )
    assert response.json() == {
        "data": {"importPortalUsers": {"__typename": "PortalUsersImported", "updated": 1}}
    }


async def _moved_without_ending_sessions(http: Http, session: AsyncSession) -> None:
    """A future path that changes the contact and forgets to end the sessions."""
    other = await session.scalar(
        sa.select(models.Contact.id).where(
            models.Contact.organization_id == ACTORS["customer"].organization_id,
            models.Contact.customer_number == "K-100007",
        )
    )
    await session.execute(
        sa.update(models.PortalUser).where(models.PortalUser.id == ANNA_ID).values(contact_id=other)
    )


PORTAL_USER_ACTIONS: dict[str, Callable[[Http, AsyncSession], Awaitable[None]]] = {
    "importPortalUsers-other-contact": lambda http, _: _import_to_another_contact(http),
    "unassignPortalUser": lambda http, _: _unassign(http),
    "deactivatePortalUser": lambda http, _: _deactivate(http),
    "deletePortalUser": lambda http, _: _delete(http),
    "a-path-that-forgets": _moved_without_ending_sessions,
}


@pytest.mark.parametrize("action", PORTAL_USER_ACTIONS)
async def test_portal_user_access_changes_sessions_refused(
    http: Http, session: AsyncSession, test_settings: Settings, action: str
) -> None:
    anna = await http.login(*ANNA_LOGIN, portal_gid("musterstadt-kunden"))
    planned = await http.login(*ANNA_LOGIN, portal_gid("musterstadt-kunden"))
    await known_and_planned(http, planned.access)
    agent = await http.login(*AGENT_LOGIN)
    impersonation = (await impersonate(http.client, agent.access))["accessToken"]
    assert (await http.post(VIEWER, impersonation)).status_code == 200
    links = [await invoice_link(http, session, test_settings, anna.access)]
    links.append(await invoice_link(http, session, test_settings, impersonation))

    await PORTAL_USER_ACTIONS[action](http, session)

    if action != "a-path-that-forgets":  # ended, not only refused by the session check
        active = await session.scalar(
            sa.select(sa.func.count()).where(
                models.AuthSession.portal_user_id == ANNA_ID,
                models.AuthSession.revoked_at.is_(None),
            )
        )
        assert active == 0
    await assert_refused(http, planned.access, planned=True)
    await assert_refused(http, anna.access)
    await assert_refused(http, impersonation)
    await assert_refresh_refused(http, anna.refresh)
    await assert_refresh_refused(http, planned.refresh)
    for link in links:
        await assert_link_refused(http, link)
    # The agent's own session is not the portal user's: it goes on.
    assert (await http.post(VIEWER, agent.access)).status_code == 200


async def test_portal_user_import_unchanged_contact_sessions_live(http: Http) -> None:
    """Only a move ends sessions: a row that changes only the language keeps them."""
    anna = await http.login(*ANNA_LOGIN, portal_gid("musterstadt-kunden"))
    agent = await http.login(*AGENT_LOGIN)
    operations = {
        "query": """mutation($portal: ID!, $file: Upload!) {
          importPortalUsers(portalId: $portal, file: $file) { __typename
          ... on PortalUsersImported { updated } } }""",
        "variables": {"portal": PORTAL, "file": None},
    }
    text = "email,language,customer_number\nanna.becker@example.org,en,K-100001\n"
    response = await http.client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", text.encode(), "text/csv")},
        headers={"Authorization": f"Bearer {agent.access}"},
    )
    assert response.json()["data"]["importPortalUsers"]["updated"] == 1, response.text
    assert (await http.post(VIEWER, anna.access)).status_code == 200
    refreshed = await http.mutate(REFRESH, "", refresh=anna.refresh)
    assert refreshed["__typename"] == "LoggedIn"
