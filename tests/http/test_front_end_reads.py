"""The reads the front-end makes, each as its page sends it (the workloads of issue 17):
how many statements a request costs once the document is known (the first request is
the executor's, which makes the document plannable), whether a query plan answered
it, and that the answer is the one the executor gives with plans switched off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from bench import workloads
from db import demo
from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.resolvers import computed
from gql.settings import Settings
from tests.conftest import CUSTOMER_PORTAL, INSTALLER_PORTAL, MUSTERSTADT, global_id
from tests.engine_helpers import WEB_EXECUTOR_READS, WEB_SOURCES, web_queries
from tests.statement_helpers import counting_statements, is_plan

DASHBOARD = (
    "{ viewer { contact { displayName } contracts { edges { node { number"
    " meters { edges { node { number readings(first: 3) { edges { node { value readAt } } }"
    " } } } } } } } }"
)
PORTAL_HOME = (
    "{ portalHome { language tiles { id kind position title text buttonLabel url journeyId"
    " imageUrl linkUrl entity limit contracts { number tariffName } meters { number unit }"
    " documents { name createdAt } payments { amount dueDate } } } }"
)
CONTRACT_PAGE = """
query Contract($id: ID!) {
  node(id: $id) { __typename id ... on Contract {
    number tariffName status installmentAmount installmentInterval dueDay paymentMethod
    installmentRules { minAmount maxAmount changePossible nextChangeAt needsApproval }
    meters { edges { node { id number unit
      registers { id obisCode name latest: readings(first: 1) { edges { node { value readAt } } } }
    } } }
    payments(first: 10) { edges { node { kind status amount dueDate } } }
  } }
  viewer {
    contact {
      documents(first: 10, contractId: $id) { edges { node { id name type createdAt } } }
      opportunities { edges { node { id title status } } }
    }
    myChangeRequests { edges { node { id attribute status createdAt } } }
  }
}
"""
DOCUMENTS = """
query Documents($first: Int) {
  viewer { contact { documents(first: $first) { totalCount
    edges { cursor node { id name type mimeType sizeBytes createdAt isNew uploadedByCustomer } }
  } } }
}
"""
PORTAL_USERS = """
query PortalUsers($first: Int, $portal: ID, $filter: PortalUserFilter) {
  portalUsers(first: $first, portalId: $portal, filter: $filter) { totalCount
    edges { node { id email registrationStatus assignmentStatus lastLoginAt createdAt
      contact { id displayName customerNumber } } }
  }
}
"""
STAFF_CONTACTS = """
query Contacts($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) { totalCount edges { node { id displayName
    contracts { totalCount edges { node { id number
      meters { edges { node { id number
        readings(first: 12) { totalCount edges { node { id value readAt } } }
      } } }
    } } }
  } } }
}
"""
INSTALLER_CONTACTS = """
query Contacts($first: Int) {
  contacts(first: $first) { edges { node { id displayName address { street city } } } }
}
"""
ANNA_CONTRACT = global_id("Contract", demo.demo_id("contract:musterstadt:V-2023-1000001"))
ANNA_PROCESS = global_id("Process", demo.demo_id("process:musterstadt:meter-change"))
ANNA = "anna.becker@example.org"
ADMIN = "admin@musterstadt.example"
INSTALLER = "montage@elektro-schmidt.example"


@dataclass(frozen=True)
class Read:
    name: str
    email: str | None  # None: an anonymous caller
    query: str
    variables: dict[str, Any]
    planned: bool  # answered by a query plan once the document is known
    statements: int  # per request from then on, the session check included
    why_not: str = ""  # for a read the executor answers: why it is not compiled


# Before issue 17 (executor, then plan where there was one): dashboard 1, portalHome
# 8, contract 13, documents 3, staffPortalUsers 3, staffContacts 6, installerContacts 2.
# Staff's session check was the middleware's own statement; it rides in the plan too
# since (1), as portal users' does.
# The contract page's rule fields read their facts in one statement since (12); since
# computed values (gql/resolvers/computed.py) a plan answers it (1), also as the bench
# sends it (bench/workloads.py). portalHome is answered by a plan since (1: the plan
# with the session check).
assert (DASHBOARD, PORTAL_HOME) == (workloads.DASHBOARD, workloads.PORTAL_HOME)
READS = [
    Read("dashboard", ANNA, DASHBOARD, {}, True, 1),
    Read("portalHome", ANNA, PORTAL_HOME, {}, True, 1),
    Read("contract", ANNA, CONTRACT_PAGE, {"id": ANNA_CONTRACT}, True, 1),
    Read("benchContract", ANNA, workloads.CONTRACT, {"id": ANNA_CONTRACT}, True, 1),
    Read("documents", ANNA, DOCUMENTS, {"first": 20}, True, 1),
    Read(
        "staffPortalUsers",
        ADMIN,
        PORTAL_USERS,
        {
            "first": 50,
            "portal": global_id("Portal", CUSTOMER_PORTAL),
            "filter": {"registrationStatus": "ACTIVE", "search": "example"},
        },
        True,
        1,
    ),
    Read("staffContacts", ADMIN, STAFF_CONTACTS, {"first": 50, "search": "Last"}, True, 1),
    # The staff reads as the bench sends them (bench/workloads.py; its dashboard and
    # portalHome are the documents above).
    Read(
        "benchStaffPortalUsers",
        ADMIN,
        workloads.STAFF_PORTAL_USERS,
        {"portal": global_id("Portal", CUSTOMER_PORTAL), "search": "example"},
        True,
        1,
    ),
    Read("benchStaffContacts", ADMIN, workloads.STAFF_CONTACTS, {"search": "Last"}, True, 1),
    Read("installerContacts", INSTALLER, INSTALLER_CONTACTS, {"first": 50}, True, 1),
]


WEB_QUERIES = web_queries()
ANONYMOUS_PORTAL = global_id("Portal", CUSTOMER_PORTAL)
# Every query the reference portal sends, as its pages send it: a plan in one statement
# (portal users' session check in it), or the executor and why. The process pages took
# the executor (6 and 4 statements) until `Process.currentStep` and the steps' dates
# were declared computations (gql/schema/processes.py).
WEB_READS = [
    Read("web:Home", ANNA, WEB_QUERIES["Home"], {}, True, 1),
    Read("web:Contracts", ANNA, WEB_QUERIES["Contracts"], {}, True, 1),
    Read("web:Contract", ANNA, WEB_QUERIES["Contract"], {"id": ANNA_CONTRACT}, True, 1),
    Read("web:Documents", ANNA, WEB_QUERIES["Documents"], {}, True, 1),
    Read("web:Changes", ANNA, WEB_QUERIES["Changes"], {}, True, 1),
    Read("web:MyData", ANNA, WEB_QUERIES["MyData"], {}, True, 1),
    Read("web:Security", ANNA, WEB_QUERIES["Security"], {}, True, 1),
    Read("web:Processes", ANNA, WEB_QUERIES["Processes"], {}, True, 1),
    Read("web:Process", ANNA, WEB_QUERIES["Process"], {"id": ANNA_PROCESS}, True, 1),
    Read(
        "web:LoginOptions",
        None,
        WEB_QUERIES["LoginOptions"],
        {"input": {"portalId": ANONYMOUS_PORTAL}},
        False,
        2,
        WEB_EXECUTOR_READS["LoginOptions"],
    ),
    Read(
        "web:PublicPortal",
        None,
        WEB_QUERIES["PublicPortal"],
        {"domain": demo.CUSTOMER_PORTAL_DOMAIN, "language": "en"},
        False,
        2,
        WEB_EXECUTOR_READS["PublicPortal"],
    ),
]
PORTALS = {
    "musterstadt-kunden": CUSTOMER_PORTAL,
    "musterstadt-partner": INSTALLER_PORTAL,
}
LOGINS = {login.email: login for login in demo.LOGINS}


@pytest.fixture
async def app_client(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with query plans (whatever QUERY_PLANS says: these are their figures)."""
    async with _client(replace(test_settings, query_plans=True), sessions, tokens) as client:
        yield client


@pytest.fixture
async def executor_client(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(replace(test_settings, query_plans=False), sessions, tokens) as client:
        yield client


@asynccontextmanager
async def _client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


async def _login(client: httpx.AsyncClient, email: str) -> str:
    account = LOGINS[email]
    payload: dict[str, Any] = {"email": email, "password": account.password}
    if account.portal:
        payload["portalId"] = global_id("Portal", PORTALS[account.portal])
    mutation = "mutation($i: LoginInput!) { login(input: $i) { ... on LoggedIn { accessToken } } }"
    response = await client.post("/graphql", json={"query": mutation, "variables": {"i": payload}})
    return str(response.json()["data"]["login"]["accessToken"])


async def _statements(
    connection: AsyncConnection, request: Awaitable[httpx.Response]
) -> tuple[httpx.Response, list[str]]:
    """The response, and every statement sent for it (the test's savepoints aside)."""
    with counting_statements(connection) as statements:
        response = await request
    return response, [s for s in statements if "SAVEPOINT" not in s]


def test_every_query_of_the_web_portal_is_a_front_end_read() -> None:
    """A query added to web/src is listed here: planned, or the executor's and why."""
    assert WEB_QUERIES, WEB_SOURCES
    listed = {read.name.removeprefix("web:") for read in WEB_READS}
    assert listed == set(WEB_QUERIES)
    for read in WEB_READS:
        assert read.planned or read.why_not, read.name


@pytest.mark.parametrize("read", READS + WEB_READS, ids=[r.name for r in READS + WEB_READS])
async def test_a_front_end_read_costs_its_statements_and_answers_as_the_executor(
    app_client: httpx.AsyncClient,
    executor_client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    read: Read,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One moment for both engines' computed values (a link's expiry, a plausible value).
    now = datetime.now(UTC)
    monkeypatch.setattr(computed, "clock", lambda: now)
    await demo.add_volume_customers(session, MUSTERSTADT, 60, label="Last")
    headers = {}
    if read.email is not None:
        headers["Authorization"] = f"Bearer {await _login(app_client, read.email)}"
    body = {"query": read.query, "variables": read.variables}
    expected = (await executor_client.post("/graphql", json=body, headers=headers)).json()
    assert "errors" not in expected, expected
    await app_client.post("/graphql", json=body, headers=headers)  # the executor's, once
    response, sent = await _statements(
        connection, app_client.post("/graphql", json=body, headers=headers)
    )
    assert response.json() == expected
    assert json.dumps(response.json()) == json.dumps(expected)  # key order too
    assert (bool(sent) and is_plan(sent[-1])) == read.planned, sent
    assert len(sent) == read.statements, sent
