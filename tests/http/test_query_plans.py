"""Query plans (gql/query_plans.py) against the executor, over HTTP.

The first time a document is sent the executor answers it; from the second time on a
plan answers it in one statement when it can. So every case below sends the same
request twice and compares the two bodies, byte for byte after re-encoding (key order
included), for each kind of caller: customers of two contacts and two organizations,
an installer, a customer of the read-only group, staff and
anonymous callers. The documents cover every relation a plan follows, every leaf field
a plan claims for customers and installers, connections with their arguments, cursors,
page info and totals, aliases and `__typename`.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from graphql import FieldNode, GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, parse
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from strawberry import relay

from bench import workloads
from db import demo, models, portal_settings
from db.raw import DIALECT
from db.session import Database
from gql import app as gql_app
from gql import json_text, query_plans
from gql.app import create_app
from gql.auth.actor import ANONYMOUS, Actor, Visibility
from gql.auth.tokens import TokenService
from gql.domain.scope import IMPLIED_BY_PARENT, visible, visible_below
from gql.http.view import PortalGraphQL
from gql.persisted_queries import sha256
from gql.query_plans import NotPlannable, Planner, compile_plan
from gql.resolvers import computed, relations
from gql.resolvers.relations import RELATION
from gql.schema import rules, schema
from gql.schema.pagination import encode_cursor, page_window
from gql.settings import Settings, SettingsError
from tests.conftest import ACTORS, CUSTOMER_PORTAL, INSTALLER_PORTAL, NACHBAR_PORTAL, global_id
from tests.statement_helpers import answered_by_plan, counting_statements, is_plan

GRAPHQL_SCHEMA: Any = schema._schema
ANNA = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
READ_ONLY_GROUP = demo.demo_id("group:musterstadt-kunden:read-only")


def _plannable_leafs(type_name: str, actor: Actor) -> list[str]:
    """The leaf fields of `type_name` a plan answers for callers like `actor`, found by
    asking the compiler about each one (so a field the compiler claims is always
    compared with the executor below)."""
    graphql_type = GRAPHQL_SCHEMA.type_map[type_name]
    path = {
        "Contact": "viewer {{ contact {{ {} }} }}",
        "Contract": "viewer {{ contracts {{ edges {{ node {{ {} }} }} }} }}",
        "Meter": "viewer {{ meters {{ edges {{ node {{ {} }} }} }} }}",
        "MeterReading": (
            "viewer {{ meters {{ edges {{ node {{"
            " readings {{ edges {{ node {{ {} }} }} }} }} }} }} }}"
        ),
    }[type_name]
    found = []
    for name, field in graphql_type.fields.items():
        leaf = field.type
        while hasattr(leaf, "of_type"):
            leaf = leaf.of_type
        if field.args or not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
            continue
        try:
            compile_plan(GRAPHQL_SCHEMA, "{ " + path.format(name) + " }", None, actor)
        except NotPlannable:
            continue
        found.append(name)
    return found


CUSTOMER = ACTORS["customer"]
INSTALLER = ACTORS["installer"]
CONTACT = " ".join(_plannable_leafs("Contact", CUSTOMER))
CONTRACT = " ".join(_plannable_leafs("Contract", CUSTOMER))
METER = " ".join(_plannable_leafs("Meter", CUSTOMER))
READING = " ".join(_plannable_leafs("MeterReading", CUSTOMER))
PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }"

# The benchmark's dashboard (bench/workloads.py), as a portal's home page asks for it.
DASHBOARD = (
    "{ viewer { contact { displayName } contracts { edges { node { number"
    " meters { edges { node { number readings(first: 3) { edges { node { value readAt } } }"
    " } } } } } } } }"
)
CONTACT_TREE = f"""
query ContactTree($first: Int, $after: Cursor) {{
  viewer {{
    __typename role isImpersonation
    contact {{ {CONTACT}
      contracts(first: $first, after: $after) {{ totalCount {PAGE_INFO} __typename
        edges {{ cursor __typename node {{ {CONTRACT}
          contact {{ id displayName }}
          meters {{ totalCount edges {{ cursor node {{ {METER} contract {{ id number }} }} }} }}
        }} }}
      }}
    }}
  }}
}}
"""
METER_TREE = f"""
query MeterTree($first: Int, $after: Cursor) {{
  viewer {{
    meters(first: $first) {{ {PAGE_INFO} totalCount
      edges {{ cursor node {{ {METER}
        readings(first: 3, after: $after) {{ totalCount {PAGE_INFO}
          edges {{ cursor node {{ {READING}
            meter {{ id number contract {{ id status contact {{ id displayName }} }} }}
          }} }}
        }}
      }} }}
    }}
  }}
}}
"""
CONTRACT_LIST = f"""
query Contracts($first: Int, $after: Cursor) {{
  viewer {{
    contracts(first: $first, after: $after) {{ totalCount {PAGE_INFO}
      edges {{ cursor node {{ {CONTRACT} meters {{ edges {{ node {{ number }} }} }} }} }}
    }}
    first: contracts(first: 1) {{ edges {{ node {{ number }} }} }}
    second: contracts(first: 1, after: "{encode_cursor(0)}") {{ edges {{ node {{ number }} }} }}
    none: contracts(first: 0) {{ totalCount {PAGE_INFO} edges {{ node {{ id }} }} }}
  }}
  me: viewer {{ role }}
}}
"""
INSTALLER_TREE = f"""
query Installer($first: Int, $after: Cursor) {{
  viewer {{
    role
    contact {{ {" ".join(_plannable_leafs("Contact", INSTALLER))} }}
    meters(first: $first, after: $after) {{ totalCount {PAGE_INFO}
      edges {{ cursor node {{ {" ".join(_plannable_leafs("Meter", INSTALLER))}
        readings(first: 2) {{ edges {{ node {{
          {" ".join(_plannable_leafs("MeterReading", INSTALLER))}
        }} }} }}
      }} }}
    }}
  }}
}}
"""
ROLE_ONLY = "{ viewer { __typename role isImpersonation } }"

CUSTOMER_DOCUMENTS = [DASHBOARD, CONTACT_TREE, METER_TREE, CONTRACT_LIST, ROLE_ONLY]
VARIABLES: list[dict[str, Any]] = [
    {},
    {"first": 1},
    {"first": 1, "after": encode_cursor(0)},
    {"first": 2, "after": encode_cursor(1)},
    {"first": 0},
    {"first": 100, "after": encode_cursor(50)},
]
# Arguments the executor refuses: a plan must leave them to it.
REFUSED: list[dict[str, Any]] = [
    {"first": 101},
    {"first": -1},
    {"after": "kein-cursor"},
    {"first": "zwei"},
]


# The relations of the dashboard's types; the differential test (test_engines.py) runs
# generated documents over every other declared one.
DASHBOARD_RELATIONS = {
    ("Viewer", "contact"),
    ("Viewer", "contracts"),
    ("Viewer", "meters"),
    ("Contact", "contracts"),
    ("Contract", "meters"),
    ("Contract", "contact"),
    ("Meter", "contract"),
    ("Meter", "readings"),
    ("MeterReading", "meter"),
}


def _declares_relation(graphql_type: GraphQLObjectType, name: str) -> bool:
    definition = (graphql_type.fields[name].extensions or {}).get("strawberry-definition")
    return RELATION in getattr(definition, "metadata", {})


def _relations(document: str) -> set[tuple[str, str]]:
    """The (type, field) relations a document follows."""
    found: set[tuple[str, str]] = set()

    def walk(graphql_type: GraphQLObjectType, node: Any) -> None:
        for selection in node.selection_set.selections if node.selection_set else ():
            assert isinstance(selection, FieldNode)
            name = selection.name.value
            if name == "__typename":
                continue
            named = graphql_type.fields[name].type
            while hasattr(named, "of_type"):
                named = named.of_type
            if _declares_relation(graphql_type, name):
                found.add((graphql_type.name, name))
            if isinstance(named, GraphQLObjectType):
                walk(named, selection)

    for definition in parse(document).definitions:
        walk(GRAPHQL_SCHEMA.query_type, definition)
    return found


def test_the_documents_cover_every_relation_and_leaf_field_a_plan_answers() -> None:
    covered = set().union(*(_relations(d) for d in [*CUSTOMER_DOCUMENTS, INSTALLER_TREE]))
    assert covered == DASHBOARD_RELATIONS
    # Not vacuous: the fields a portal shows are among those a plan answers.
    assert {"id", "displayName", "customerNumber", "email"} <= set(CONTACT.split())
    assert {"id", "number", "status", "installmentAmount"} <= set(CONTRACT.split())
    assert {"id", "number", "unit", "type"} <= set(METER.split())
    assert {"id", "value", "readAt", "source"} <= set(READING.split())


# --- HTTP through the app, as each kind of caller -------------------------------------------


@dataclass
class Caller:
    name: str
    token: str | None
    planned: bool  # whether the customer documents get plans


class PlanClient:
    def __init__(
        self, client: httpx.AsyncClient, connection: AsyncConnection, path: str = "/graphql"
    ) -> None:
        self.client = client
        self.connection = connection
        self.path = path
        self.planned_answers = 0  # answers a plan gave (statement_helpers.answered_by_plan)

    async def post(
        self,
        query: str | None,
        token: str | None,
        variables: dict[str, Any] | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict[str, Any] = {"variables": variables or {}}
        if query is not None:
            body["query"] = query
        if extensions is not None:
            body["extensions"] = extensions
        request = self.client.post(self.path, json=body, headers=headers)
        response, planned = await answered_by_plan(self.connection, request)
        self.planned_answers += planned
        return response

    async def login(self, email: str, password: str, portal: uuid.UUID | None) -> str:
        mutation = (
            "mutation($i: LoginInput!) { login(input: $i) {"
            " ... on LoggedIn { accessToken } ... on LoginError { code message } } }"
        )
        payload: dict[str, Any] = {"email": email, "password": password}
        if portal is not None:
            payload["portalId"] = global_id("Portal", portal)
        response = await self.post(mutation, None, {"i": payload})
        token = response.json()["data"]["login"].get("accessToken")
        assert token, response.text
        return str(token)

    async def twice(
        self, query: str, token: str | None, variables: dict[str, Any]
    ) -> tuple[str, str, bool]:
        """The executor's body, the second answer's body, and whether a plan gave it."""
        first = await self.post(query, token, variables)
        before = self.planned_answers
        second = await self.post(query, token, variables)
        assert first.status_code == second.status_code
        return _canonical(first), _canonical(second), self.planned_answers > before


def _canonical(response: httpx.Response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


@pytest.fixture
async def plans(
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    test_settings: Settings,
    tokens: TokenService,
) -> AsyncIterator[PlanClient]:
    # Plans on (and not compared) whatever QUERY_PLANS says: these tests are about them.
    settings = replace(test_settings, query_plans=True, compare_plans=False)
    app = create_app(settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield PlanClient(client, connection)


LOGINS = {login.email: login for login in demo.LOGINS}
PORTALS = {
    "musterstadt-kunden": CUSTOMER_PORTAL,
    "musterstadt-partner": INSTALLER_PORTAL,
    "nachbarstadt-kunden": NACHBAR_PORTAL,
}


async def _login(plans: PlanClient, email: str) -> str:
    account = LOGINS[email]
    return await plans.login(email, account.password, PORTALS.get(account.portal or ""))


@pytest.fixture
async def callers(plans: PlanClient, session: AsyncSession) -> list[Caller]:
    """Every kind of caller, logged in over HTTP. Anna's read-only twin: Jonas moved to
    the "Nur lesen" group (grants without writes, running contracts only) with one of
    his contracts terminated (unassigned portal users can not log in)."""
    jonas = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:jonas.wolf@example.org")
    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == jonas)
        .values(permission_group_id=READ_ONLY_GROUP)
    )
    jonas_contact = demo.demo_id("contact:musterstadt:c01")
    b = demo.DemoBuilder(session, lambda password: password)
    organization = await session.get_one(models.Organization, ACTORS["admin"].organization_id)
    contact = await session.get_one(models.Contact, jonas_contact)
    contract, _ = b.contract_with_meter(
        organization,
        contact,
        "V-2019-0000001",
        models.Commodity.GAS,
        models.PaymentMethod.TRANSFER,
    )
    contract.status = models.ContractStatus.TERMINATED
    await b.flush()
    return [
        Caller("customer", await _login(plans, "anna.becker@example.org"), True),
        Caller("read_only_customer", await _login(plans, "jonas.wolf@example.org"), True),
        Caller("other_org_customer", await _login(plans, "lena.fischer@example.org"), True),
        Caller("installer", await _login(plans, "montage@elektro-schmidt.example"), False),
        Caller("admin", await _login(plans, "admin@musterstadt.example"), False),
        Caller("agent", await _login(plans, "agent@musterstadt.example"), False),
        Caller("other_admin", await _login(plans, "admin@nachbarstadt.example"), False),
        Caller("anonymous", None, False),
    ]


async def test_base64_text_is_pythons_base64_on_one_line(connection: AsyncConnection) -> None:
    """A plan's base64 (global IDs, cursors) is Python's (relay.to_base64): PostgreSQL's
    line breaks are taken out wherever the text may reach a line's bytes, and there are
    none to take out when the text can not: each text below, up to and past two lines
    (multi-byte characters too), encoded knowing its exact size and knowing only a bound
    above a line."""
    texts = ["x" * size for size in range(1, 130)] + ["Zähler:" + "ü" * size for size in (20, 30)]
    for text in texts:
        size = len(text.encode())
        for most_bytes in (size, query_plans.BASE64_LINE_BYTES + 200):
            statement = sa.select(query_plans.base64_text(sa.literal(text, sa.Text), most_bytes))
            encoded = (await connection.execute(statement)).scalar_one()
            assert encoded == base64.b64encode(text.encode()).decode(), (size, most_bytes)


async def test_plans_answer_as_the_executor_does_for_every_caller(
    plans: PlanClient, callers: list[Caller]
) -> None:
    compared = planned = 0
    for caller in callers:
        documents = [*CUSTOMER_DOCUMENTS, INSTALLER_TREE]
        for document in documents:
            for variables in VARIABLES:
                executor, answer, was_planned = await plans.twice(document, caller.token, variables)
                assert answer == executor, (caller.name, document, variables)
                compared += 1
                planned += was_planned
                if document == ROLE_ONLY:
                    assert was_planned, caller.name  # every caller may read its role
                elif document in CUSTOMER_DOCUMENTS and caller.planned:
                    assert was_planned, (caller.name, document, variables)
                    assert "errors" not in json.loads(answer)
                elif document == INSTALLER_TREE and (caller.planned or caller.name == "installer"):
                    assert was_planned, (document, variables)
                else:
                    # Fields this caller may not read: the executor answers (and refuses).
                    assert not was_planned, (caller.name, document)
    assert planned >= compared / 2  # half the cases: customers, installer, roles


async def test_the_answers_hold_each_callers_own_rows(
    plans: PlanClient, callers: list[Caller]
) -> None:
    """Not only the same as the executor: right. Each customer sees their contracts with
    their own meters under each, the newest three readings of each meter; the read-only
    group hides the terminated contract."""
    tokens = {caller.name: caller.token for caller in callers}
    for _ in range(2):  # executor, then plan
        body = (await plans.post(CONTACT_TREE, tokens["customer"], {})).json()
        contracts = body["data"]["viewer"]["contact"]["contracts"]
        numbers = [edge["node"]["number"] for edge in contracts["edges"]]
        assert numbers == ["V-2023-1000001", "V-2023-1000002", "V-2024-2000001"]
        for edge in contracts["edges"]:
            contract = edge["node"]
            meters = contract["meters"]["edges"]
            assert meters
            assert all(m["node"]["contract"]["id"] == contract["id"] for m in meters)

        body = (await plans.post(METER_TREE, tokens["customer"], {})).json()
        for edge in body["data"]["viewer"]["meters"]["edges"]:
            readings = edge["node"]["readings"]["edges"]
            assert len(readings) == 3
            assert {r["node"]["meter"]["id"] for r in readings} == {edge["node"]["id"]}
            times = [r["node"]["readAt"] for r in readings]
            assert times == sorted(times, reverse=True)

        body = (await plans.post(CONTRACT_LIST, tokens["read_only_customer"], {})).json()
        statuses = {e["node"]["status"] for e in body["data"]["viewer"]["contracts"]["edges"]}
        assert statuses == {"ACTIVE"}

    assert plans.planned_answers == 3  # the second round


async def test_arguments_the_executor_refuses_are_left_to_it(
    plans: PlanClient, callers: list[Caller]
) -> None:
    token = callers[0].token
    await plans.post(CONTACT_TREE, token, {})  # known to the planner from here on
    for variables in REFUSED:
        executor, answer, was_planned = await plans.twice(CONTACT_TREE, token, variables)
        assert not was_planned, variables
        assert answer == executor
        assert json.loads(answer)["errors"], variables


async def test_a_planned_dashboard_is_one_statement_with_the_session_check(
    plans: PlanClient, callers: list[Caller], connection: AsyncConnection
) -> None:
    token = callers[0].token
    with counting_statements(connection) as executor:
        first = await plans.post(METER_TREE, token, {"first": 50})
    with counting_statements(connection) as planned:
        second = await plans.post(METER_TREE, token, {"first": 50})
    assert _canonical(first) == _canonical(second)
    # The executor: the session check, then a statement per level and per total.
    checks = [s for s in executor if "auth_session" in s]
    assert len(checks) == 1
    assert len([s for s in executor if s not in checks and "SAVEPOINT" not in s]) >= 4
    # The plan: the session check and the JSON in one statement (the test's session
    # wraps each request in a savepoint; a served one begins no transaction).
    (plan,) = [s for s in planned if "SAVEPOINT" not in s]
    assert "FROM auth_session" in plan
    assert is_plan(plan)


def counting_compilations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents `query_plans.compile_plan` is called for, from now on."""
    compiled: list[str] = []
    real = query_plans.compile_plan

    def counting(
        schema: Any, query: str, operation_name: str | None, actor: Any, *absent: Any
    ) -> Any:
        compiled.append(query)
        return real(schema, query, operation_name, actor, *absent)

    monkeypatch.setattr(query_plans, "compile_plan", counting)
    return compiled


def test_plans_are_kept_per_kind_of_caller_and_never_hold_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = counting_compilations(monkeypatch)
    planner = Planner(GRAPHQL_SCHEMA)
    assert planner.plan(DASHBOARD, None, CUSTOMER) is None  # not answered yet
    planner.answered(DASHBOARD, None)
    plan = planner.plan(DASHBOARD, None, CUSTOMER)
    assert plan is not None
    assert planner.plan(DASHBOARD, None, ACTORS["other_customer"]) is plan
    assert planner.plan(DASHBOARD, None, ACTORS["other_org_customer"]) is plan
    assert len(compiled) == 1
    for actor in ACTORS.values():
        for value in (actor.organization_id, actor.contact_id, actor.subject_id):
            assert value is None or str(value) not in plan.sql
    assert planner.plan(DASHBOARD, None, ACTORS["admin"]) is None  # staff: no contact
    assert planner.plan(DASHBOARD, None, ANONYMOUS) is None
    impersonated = replace(CUSTOMER, impersonator_id=ACTORS["admin"].subject_id)
    assert impersonated.is_impersonated
    assert planner.plan(DASHBOARD, None, impersonated) is None


def test_the_plan_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = counting_compilations(monkeypatch)
    planner = Planner(GRAPHQL_SCHEMA, size=3)
    documents = [f"{{ viewer {{ role a{i}: isImpersonation }} }}" for i in range(5)]
    for document in documents:
        planner.answered(document, None)
        assert planner.plan(document, None, CUSTOMER) is not None
    assert len(compiled) == 5
    assert planner.plan(documents[0], None, CUSTOMER) is None  # forgotten as not answered
    assert planner.plan(documents[-1], None, CUSTOMER) is not None
    assert len(compiled) == 5


@pytest.mark.parametrize(
    "document",
    [
        "{ viewer { contact @include(if: true) { id } } }",
        "query($id: ID!) { node(id: $id) { id } }",  # no row type named: no branch
        "{ viewer { contact { ...C @include(if: true) } } } fragment C on Contact { id }",
        "mutation { logout { __typename } }",
        "{ viewer { portal { id } } }",
        "query($f: Int = 2) { viewer { contracts(first: $f) { totalCount } } }",
        # Backward pages and variable defaults: the executor's alone.
        "{ viewer { contracts(last: 2) { totalCount } } }",
        "query($b: Cursor) { viewer { meters(before: $b) { totalCount } } }",
        "{ viewer { meters { edges { node { readings(last: 1) { totalCount } } } } } }",
    ],
)
def test_what_a_plan_does_not_translate_is_left_to_the_executor(document: str) -> None:
    with pytest.raises(NotPlannable):
        compile_plan(GRAPHQL_SCHEMA, document, None, CUSTOMER)


# --- Automatic persisted queries ----------------------------------------------------------


def _persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}


async def test_a_persisted_query_is_asked_for_then_answered_by_its_hash(
    plans: PlanClient, callers: list[Caller]
) -> None:
    token = callers[0].token
    extensions = _persisted(DASHBOARD)
    missing = (await plans.post(None, token, extensions=extensions)).json()
    assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert missing["data"] is None

    with_text = await plans.post(DASHBOARD, token, extensions=extensions)
    by_hash = await plans.post(None, token, extensions=extensions)
    assert with_text.status_code == by_hash.status_code == 200
    assert "errors" not in with_text.json()
    assert _canonical(by_hash) == _canonical(with_text)
    # Another caller of the same portal: the hash answers with that caller's own rows.
    other = (await plans.post(None, callers[1].token, extensions=extensions)).json()
    assert other["data"]["viewer"]["contact"] != with_text.json()["data"]["viewer"]["contact"]


async def test_a_persisted_query_says_nothing_across_tenants(
    plans: PlanClient, callers: list[Caller]
) -> None:
    """Whether a hash is known tells that someone sent that text, and a text may hold
    values: texts are kept per organization (staff) and per portal (portal users), and
    never for anonymous callers."""
    by_name = {caller.name: caller.token for caller in callers}
    texts = {
        "customer": DASHBOARD,
        "admin": '{ contacts(search: "anna.becker@example.org") { totalCount } }',
        "anonymous": '{ publicPortal(domain: "musterstadt.portale.example") { name } }',
    }
    for owner, text in texts.items():
        extensions = _persisted(text)
        sent = await plans.post(text, by_name[owner], extensions=extensions)
        assert "errors" not in sent.json(), sent.json()
        for caller in callers:
            answer = (await plans.post(None, caller.token, extensions=extensions)).json()
            codes = [e["extensions"]["code"] for e in answer.get("errors", [])]
            same_tenant = owner != "anonymous" and _tenant(caller.name) == _tenant(owner)
            assert ("PERSISTED_QUERY_NOT_FOUND" not in codes) == same_tenant, (owner, caller)


def _tenant(caller: str) -> str:
    return {
        "customer": "musterstadt customer portal",
        "read_only_customer": "musterstadt customer portal",
        "installer": "musterstadt installer portal",
        "admin": "musterstadt staff",
        "agent": "musterstadt staff",
        "other_org_customer": "nachbarstadt customer portal",
        "other_admin": "nachbarstadt staff",
        "anonymous": "nobody",
    }[caller]


async def test_a_persisted_query_is_checked_against_its_hash(
    plans: PlanClient, callers: list[Caller]
) -> None:
    token = callers[0].token
    wrong = {"persistedQuery": {"version": 1, "sha256Hash": sha256(ROLE_ONLY)}}
    body = (await plans.post(DASHBOARD, token, extensions=wrong)).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # The mismatching text was not kept under the hash it claimed.
    body = (await plans.post(None, token, extensions=wrong)).json()
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"persistedQuery": {"version": 2, "sha256Hash": sha256(ROLE_ONLY)}},
            "PERSISTED_QUERY_NOT_SUPPORTED",
        ),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "BAD_USER_INPUT"),
        ({"persistedQuery": "yes"}, "PERSISTED_QUERY_NOT_SUPPORTED"),
    ]
    for extensions, code in cases:
        body = (await plans.post(ROLE_ONLY, token, extensions=extensions)).json()
        assert body["errors"][0]["extensions"]["code"] == code, extensions


async def test_an_invalid_query_is_not_kept_under_its_hash(
    plans: PlanClient, callers: list[Caller]
) -> None:
    invalid = "{ viewer { nichtDa } }"
    token = callers[0].token
    body = (await plans.post(invalid, token, extensions=_persisted(invalid))).json()
    assert body["errors"]
    body = (await plans.post(None, token, extensions=_persisted(invalid))).json()
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_a_translation_bug_costs_speed_not_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug in the translation")

    monkeypatch.setattr(query_plans, "compile_plan", broken)
    planner = Planner(GRAPHQL_SCHEMA)
    planner.answered(DASHBOARD, None)
    assert planner.plan(DASHBOARD, None, CUSTOMER) is None


def _foreign_key(child: Any, parent: Any) -> Any:
    """The column of `child` referring to the id of `parent` (a reading's register_id:
    its foreign key holds the meter too)."""
    (column,) = [
        c
        for c in child.__table__.columns
        if any(fk.column is parent.__table__.c.id for fk in c.foreign_keys)
    ]
    return column


@pytest.mark.parametrize("pair", sorted(IMPLIED_BY_PARENT, key=str), ids=lambda p: p[0].__name__)
async def test_a_childs_rule_implied_by_its_parent_is_the_full_rule(
    session: AsyncSession, pair: tuple[Any, Any]
) -> None:
    """Plans check only the tenant of rows below a parent whose visibility implies
    theirs (scope.visible_below: meters below contracts, readings below meters and
    registers, ...): the same rows as the full rule, for every caller."""
    child, parent = pair
    read_only = replace(
        CUSTOMER, visibility=Visibility.from_json({"contract_statuses": ["TERMINATED"]})
    )
    found = 0
    for actor in [*ACTORS.values(), read_only]:
        below = _foreign_key(child, parent).in_(sa.select(parent.id).where(visible(parent, actor)))
        full = set(await session.scalars(sa.select(child.id).where(below, visible(child, actor))))
        reduced = visible_below(child, parent, actor)
        assert set(await session.scalars(sa.select(child.id).where(below, reduced))) == full
        found += len(full)
    assert found  # not vacuous: customers and staff see some


# --- The session check in the plan's statement ------------------------------------------------

UNAUTHENTICATED = {
    "errors": [
        {"message": "Invalid or expired access token.", "extensions": {"code": "UNAUTHENTICATED"}}
    ]
}


async def test_an_ended_session_is_refused_on_the_planned_path_too(plans: PlanClient) -> None:
    """Once a session's grants are known, the middleware leaves its check to the view,
    which runs it in the plan's statement: a logout still takes effect at once."""
    token = await _login(plans, "anna.becker@example.org")
    for _ in range(2):  # the executor, then the plan (the session's grants are known now)
        assert "errors" not in (await plans.post(DASHBOARD, token)).json()
    before = plans.planned_answers
    assert "errors" not in (await plans.post(DASHBOARD, token)).json()
    assert plans.planned_answers == before + 1

    logout = await plans.post("mutation { logout { revokedSessions } }", token)
    assert logout.json() == {"data": {"logout": {"revokedSessions": 1}}}
    for document in (DASHBOARD, "{ viewer { portalUser { email } } }", DASHBOARD):
        response = await plans.post(document, token)  # planned, not planned, forgotten
        assert response.status_code == 401, document
        assert response.json() == UNAUTHENTICATED
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert plans.planned_answers == before + 1


STAFF_PORTAL_USERS = """query($portal: ID!, $search: Line!) {
  portalUsers(first: 50, portalId: $portal,
              filter: {registrationStatus: ACTIVE, search: $search}) {
    edges { node { id email registrationStatus contact { displayName customerNumber } } }
  }
}"""


async def test_a_staff_list_is_one_statement_with_the_session_check(
    plans: PlanClient, connection: AsyncConnection
) -> None:
    """Staff tokens say all the session check would add (the role), so the view runs
    their check in the plan's statement from the first planned request on; a logout
    still takes effect at once."""
    token = await _login(plans, "admin@musterstadt.example")
    variables = {"portal": global_id("Portal", CUSTOMER_PORTAL), "search": "a"}
    first = await plans.post(STAFF_PORTAL_USERS, token, variables)  # the executor
    before = plans.planned_answers
    with counting_statements(connection) as planned:
        second = await plans.post(STAFF_PORTAL_USERS, token, variables)
    assert plans.planned_answers == before + 1
    assert _canonical(first) == _canonical(second)
    assert second.json()["data"]["portalUsers"]["edges"]
    (plan,) = [s for s in planned if "SAVEPOINT" not in s]
    assert "FROM auth_session" in plan
    assert is_plan(plan)

    logout = await plans.post("mutation { logout { revokedSessions } }", token)
    assert logout.json() == {"data": {"logout": {"revokedSessions": 1}}}
    for document in (STAFF_PORTAL_USERS, "{ viewer { role } }"):  # planned, not planned
        response = await plans.post(document, token, variables)
        assert (response.status_code, response.json()) == (401, UNAUTHENTICATED), document


async def test_a_search_texts_way_is_decided_once_then_its_statement_has_no_sample(
    plans: PlanClient, connection: AsyncConnection
) -> None:
    """The first planned request with a text decides the way of its search in the
    statement (the sample) and reports it; the next ones with that text run the
    statement of that way, without the sample: one statement each time, the same
    answer as the executor's."""
    token = await _login(plans, "admin@musterstadt.example")
    variables = {"portal": global_id("Portal", CUSTOMER_PORTAL), "search": "Becker"}
    first = await plans.post(STAFF_PORTAL_USERS, token, variables)  # the executor
    assert first.json()["data"]["portalUsers"]["edges"]
    before = plans.planned_answers
    statements = []
    for _ in range(2):
        with counting_statements(connection) as ran:
            again = await plans.post(STAFF_PORTAL_USERS, token, variables)
        assert _canonical(again) == _canonical(first)
        (statement,) = [s for s in ran if "SAVEPOINT" not in s]
        statements.append(statement)
    assert plans.planned_answers == before + 2
    deciding, decided = statements
    assert deciding.count("TABLESAMPLE") == 1  # one sample decides and is reported
    assert "TABLESAMPLE" not in decided
    assert "FROM auth_session" in decided  # the session check rides in it still


@pytest.mark.parametrize("frequent", [True, False], ids=["frequent", "rare"])
async def test_a_statement_whose_search_way_is_known_keeps_a_generic_plan(
    connection: AsyncConnection, frequent: bool
) -> None:
    """With the search's way decided, the statement hides its values from the planner
    (`(SELECT $n)`), so that PostgreSQL estimates its custom and generic plans alike
    and keeps the generic one after its five custom plans: no planning per execution.
    It answers what the statement that decides the way itself answers."""
    admin = ACTORS["admin"]
    variables = {"portal": global_id("Portal", CUSTOMER_PORTAL), "search": "e"}
    full = compile_plan(GRAPHQL_SCHEMA, STAFF_PORTAL_USERS, None, admin)
    values = full.values(admin, variables)
    assert values is not None
    absent = full.left_out(values)
    deciding = compile_plan(GRAPHQL_SCHEMA, STAFF_PORTAL_USERS, None, admin, absent)
    assert deciding.deciding == ("filter_0_search",)
    assert deciding.sql.count("TABLESAMPLE") == 1
    decided = frozenset({("filter_0_search", frequent)})
    plan = compile_plan(GRAPHQL_SCHEMA, STAFF_PORTAL_USERS, None, admin, absent, decided)
    assert plan.deciding == ()
    assert "TABLESAMPLE" not in plan.sql
    assert "= (SELECT $" in plan.sql
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    expected = await driver.fetchrow(deciding.sql, *deciding.arguments(values))
    prepared = await driver.prepare(plan.sql)
    for _ in range(7):
        answer = await prepared.fetchrow(*plan.arguments(values))
        assert answer[-1] == expected[-1]
    assert '"node"' in answer[-1]  # not vacuous: users found
    generic, custom = await driver.fetchrow(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
        plan.sql,
    )
    assert (generic, custom) == (2, 5)


# Every condition of the staff list optional: the ID, two enums and the search.
OPTIONAL_CONDITIONS = """query($portal: ID, $status: RegistrationStatus,
    $assignment: AssignmentStatus, $search: Line) {
  portalUsers(first: 50, portalId: $portal,
              filter: {registrationStatus: $status, assignmentStatus: $assignment,
                       search: $search}) {
    edges { node { id email registrationStatus assignmentStatus contact { displayName } } }
  }
}"""
# What each variable's condition reads, as the statement's text has it (a parameter,
# or one hidden from the planner once the search's way is known; a rare text's logins
# are found as `found_user.email`).
CONDITION_TEXT = {
    "portal": "portal_user.portal_id = ",
    "status": "CAST(portal_user.registration_status AS TEXT) = ",
    "assignment": "CAST(portal_user.assignment_status AS TEXT) = ",
    "search": "email LIKE ",
}
GIVEN = {
    "portal": global_id("Portal", CUSTOMER_PORTAL),
    "status": "ACTIVE",
    "assignment": "ASSIGNED",
    "search": "a",
}
GIVEN_SETS = [frozenset(), frozenset(GIVEN), frozenset({"portal"}), frozenset({"search"})]
GIVEN_SETS += [frozenset({"portal", "status", "search"}), frozenset({"assignment", "status"})]


def _variables(given: frozenset[str], *, blank_search: bool = False) -> dict[str, Any]:
    """The variables with `given` set; the others null (absent), or a blank search."""
    variables: dict[str, Any] = {name: GIVEN[name] if name in given else None for name in GIVEN}
    if blank_search and "search" not in given:
        variables["search"] = "   "
    return variables


@pytest.mark.parametrize("given", GIVEN_SETS, ids=lambda g: "+".join(sorted(g)) or "none")
def test_a_condition_not_given_is_not_in_the_statement(given: frozenset[str]) -> None:
    """A request runs the statement compiled without the conditions of its null
    arguments (and blank search): no `$n IS NULL OR ...` for PostgreSQL to plan for
    any value, and the given ones as plain conditions."""
    admin = ACTORS["admin"]
    full = compile_plan(GRAPHQL_SCHEMA, OPTIONAL_CONDITIONS, None, admin)
    assert "IS NULL OR" not in full.sql
    for text in CONDITION_TEXT.values():
        assert text in full.sql
    for blank_search in (False, True):
        values = full.values(admin, _variables(given, blank_search=blank_search))
        assert values is not None
        absent = full.left_out(values)
        plan = compile_plan(GRAPHQL_SCHEMA, OPTIONAL_CONDITIONS, None, admin, absent)
        for name, text in CONDITION_TEXT.items():
            assert (text in plan.sql) == (name in given), name
            assert (text in plan.with_session.sql) == (name in given), name  # type: ignore[union-attr]
        assert "IS NULL OR" not in plan.sql
        assert not absent & set(plan.names)  # left out: no parameter either
        assert len(plan.arguments(values)) == len(plan.names)


async def test_a_plan_without_some_conditions_answers_as_the_executor(
    plans: PlanClient, connection: AsyncConnection
) -> None:
    """Whichever arguments a request leaves null, the statement compiled without their
    conditions answers what the executor answers, in one statement."""
    token = await _login(plans, "admin@musterstadt.example")
    for given in GIVEN_SETS:
        # A document of its own (a comment apart), so that the executor answers first.
        document = f"# given: {sorted(given)}\n{OPTIONAL_CONDITIONS}"
        variables = _variables(given)
        before = plans.planned_answers
        first = await plans.post(document, token, variables)
        assert "errors" not in first.json(), given
        assert plans.planned_answers == before
        with counting_statements(connection) as planned:
            second = await plans.post(document, token, variables)
        assert plans.planned_answers == before + 1, given
        assert _canonical(first) == _canonical(second), given
        (statement,) = [s for s in planned if "SAVEPOINT" not in s]
        for name, text in CONDITION_TEXT.items():
            assert (text in statement) == (name in given), (given, name)


async def test_the_check_rides_in_the_plan_wherever_the_view_is_mounted(
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    test_settings: Settings,
    tokens: TokenService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The middleware leaves the session check to the view at the path the GraphQL route
    is mounted at, not at a path of its own: mounted elsewhere, a known session's
    planned answer is still one statement, and an ended session is still refused."""
    monkeypatch.setattr(gql_app, "GRAPHQL_PATH", "/api/graphql")
    settings = replace(test_settings, query_plans=True, compare_plans=False)
    app = create_app(settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        plans = PlanClient(client, connection, path="/api/graphql")
        token = await _login(plans, "anna.becker@example.org")
        for _ in range(2):  # the executor, then the plan (the session's grants are known now)
            assert "errors" not in (await plans.post(DASHBOARD, token)).json()
        with counting_statements(connection) as statements:
            before = plans.planned_answers
            assert "errors" not in (await plans.post(DASHBOARD, token)).json()
            assert plans.planned_answers == before + 1
        (plan,) = [s for s in statements if "SAVEPOINT" not in s]
        assert "FROM auth_session" in plan

        logout = await plans.post("mutation { logout { revokedSessions } }", token)
        assert logout.json() == {"data": {"logout": {"revokedSessions": 1}}}
        response = await plans.post(DASHBOARD, token)
        assert (response.status_code, response.json()) == (401, UNAUTHENTICATED)
        assert (await client.post("/graphql", json={"query": ROLE_ONLY})).status_code == 404


async def test_a_changed_group_is_seen_by_the_next_request(
    plans: PlanClient, session: AsyncSession
) -> None:
    """The plan runs for the grants the session had; when the check in the same
    statement says otherwise, its answer is dropped and the request answered for the
    new group."""
    jonas = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:jonas.wolf@example.org")
    token = await _login(plans, "jonas.wolf@example.org")
    await session.execute(
        sa.update(models.Contract)
        .where(models.Contract.number == "V-2023-1000003")
        .values(status=models.ContractStatus.TERMINATED)
    )
    for _ in range(2):
        body = (await plans.post(CONTRACT_LIST, token)).json()
        statuses = {e["node"]["status"] for e in body["data"]["viewer"]["contracts"]["edges"]}
        assert statuses == {"TERMINATED"}

    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == jonas)
        .values(permission_group_id=READ_ONLY_GROUP)
    )
    before = plans.planned_answers
    body = (await plans.post(CONTRACT_LIST, token)).json()
    assert body["data"]["viewer"]["contracts"]["edges"] == []  # running contracts only
    # Planned again, now for the read-only group's kind of caller.
    assert plans.planned_answers == before + 1
    again = (await plans.post(CONTRACT_LIST, token)).json()
    assert again == body
    assert plans.planned_answers == before + 2

    # A group without the meter grant: the executor refuses the meters.
    await session.execute(
        sa.update(models.PermissionGroup)
        .where(models.PermissionGroup.id == READ_ONLY_GROUP)
        .values(grants=[models.Grant.CONTRACT_READ.value])
    )
    body = (await plans.post(METER_TREE, token)).json()
    assert body["data"]["viewer"]["meters"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_switched_off_every_answer_is_the_executors(
    sessions: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    """QUERY_PLANS=off: the same document, sent again and again, never takes a plan."""
    settings = replace(test_settings, query_plans=False, compare_plans=False)
    app = create_app(settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        plans = PlanClient(client, connection)
        token = await _login(plans, "anna.becker@example.org")
        answers = {_canonical(await plans.post(DASHBOARD, token)) for _ in range(3)}
    assert plans.planned_answers == 0
    assert len(answers) == 1
    assert "errors" not in json.loads(answers.pop())


def test_the_switch_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUERY_PLANS", "off")
    assert Settings.from_env().query_plans is False
    monkeypatch.setenv("QUERY_PLANS", "on")
    assert Settings.from_env().query_plans is True
    monkeypatch.setenv("QUERY_PLANS", "maybe")
    with pytest.raises(SettingsError, match="QUERY_PLANS"):
        Settings.from_env()


async def test_a_planned_read_takes_the_short_way_with_the_same_answer(
    plans: PlanClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once planned, a plain JSON query is answered without Strawberry's request
    handling (gql/http/view.py `_planned_read`): the same body, status and headers."""
    through_strawberry: list[object] = []
    real_run = PortalGraphQL.run

    async def run(self: PortalGraphQL, request: Any, *args: Any, **kwargs: Any) -> Any:
        through_strawberry.append(request)
        return await real_run(self, request, *args, **kwargs)

    monkeypatch.setattr(PortalGraphQL, "run", run)
    token = await _login(plans, "anna.becker@example.org")
    answers = []
    for accept in ("application/json", "application/graphql-response+json"):
        for _ in range(3):  # the executor, the plan behind the session check, the plan
            before = len(through_strawberry)
            request = plans.client.post(
                "/graphql",
                json={"query": DASHBOARD},
                headers={"Authorization": f"Bearer {token}", "Accept": accept},
            )
            response, planned = await answered_by_plan(plans.connection, request)
            answers.append((planned, len(through_strawberry) - before, response))
    executor, *planned_answers = answers
    assert executor[:2] == (False, 1)
    assert [(planned, runs) for planned, runs, _ in planned_answers] == [(True, 0)] * 5

    def headers(response: httpx.Response) -> dict[str, str]:
        return {k: v for k, v in response.headers.items() if k != "content-length"}

    for _, _, response in planned_answers[:2]:
        assert response.json() == executor[2].json()
        assert headers(response) == headers(executor[2])
    for _, _, response in planned_answers[2:]:
        assert response.headers["content-type"] == "application/graphql-response+json"
        assert response.json() == executor[2].json()


async def test_a_request_the_short_way_does_not_take_is_answered_as_before(
    plans: PlanClient,
) -> None:
    """A body that is not a plain query (a persisted query's hash, an unknown member, a
    malformed one) takes Strawberry's way, with its usual answer."""
    token = await _login(plans, "anna.becker@example.org")
    for _ in range(2):
        assert "errors" not in (await plans.post(DASHBOARD, token)).json()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    broken = await plans.client.post("/graphql", content=b"{", headers=headers)
    assert broken.status_code == 400
    wrong = await plans.client.post(
        "/graphql", json={"query": DASHBOARD, "operationName": 1}, headers=headers
    )
    assert wrong.status_code == 400
    hashed = await plans.post(
        DASHBOARD, token, extensions={"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    )
    assert hashed.status_code == 200
    assert hashed.json()["errors"][0]["message"] == "provided sha does not match query"


async def test_finish_replaces_the_compilers_marks_and_nothing_else(
    connection: AsyncConnection,
) -> None:
    """PostgreSQL's own text: the compiler's mark (as gql/json_text.py writes it) is
    replaced by its value, byte for byte in place; stored values that look like marks,
    the old key `#` as json and jsonb and a string holding the real mark's text, are
    not."""
    old_mark = '{"#" : [0, "stored"]}'
    real_text = '{"' + computed.MARK + '":[0,"stored"]}'

    def mark(number: int, *inputs: Any) -> json_text.Json:
        return json_text.json_object([(computed.MARK, json_text.json_array([number, *inputs]))])

    def given(name: str, sql_type: Any = sa.Text) -> Any:
        return sa.cast(sa.bindparam(name, type_=sa.Text), sql_type)

    data = json_text.json_object(
        [
            ("a", mark(0, given("x"), 2)),
            ("b", given("old", postgresql.JSON)),
            ("c", given("old", postgresql.JSONB)),
            ("d", given("real")),
            ("e", mark(1, given("y"))),
        ]
    )
    values = {"x": "x", "y": "y", "old": old_mark, "real": real_text}
    text = (await connection.execute(sa.select(data.sql), values)).scalar_one()
    finishers = (
        lambda _given, inputs: {"got": inputs},
        lambda _given, inputs: inputs[0].upper(),
    )
    finished = computed.finish(text, finishers, computed.Given(ANONYMOUS, computed.moment()))
    assert json.loads(finished) == {
        "a": {"got": ["x", 2]},
        "b": {"#": [0, "stored"]},
        "c": {"#": [0, "stored"]},
        "d": real_text,
        "e": "Y",
    }
    marks = json.loads(text)
    first = json.dumps(marks["a"], separators=(",", ":"))
    second = json.dumps(marks["e"], separators=(",", ":"))
    # The builder's spacing, as finish expects it.
    assert first in text
    assert second in text
    spliced = text.replace(first, '{"got":["x",2]}').replace(second, '"Y"')
    assert finished == spliced  # the text around the marks is PostgreSQL's, unchanged


# Values of every kind a plan writes, as text PostgreSQL casts to the type (None: NULL).
_JSON_VALUES: list[tuple[Any, str | None]] = [
    (sa.Integer, "42"),
    (sa.BigInteger, "-9007199254740993"),
    (sa.SmallInteger, "7"),
    (sa.Integer, None),
    (sa.Boolean, "true"),
    (sa.Boolean, "false"),
    (sa.Boolean, None),
    (sa.Text, 'quote " backslash \\ tab \t newline \n bell \x07 umlaut \u00fc euro \u20ac'),
    (sa.Text, ""),
    (sa.Text, None),
    (sa.Numeric, "12.50"),
    (sa.Float, "NaN"),
    (sa.Date, "2026-12-05"),
    (sa.DateTime(timezone=True), "2026-12-05 21:00:00.123+00"),
    (postgresql.JSON, '{"a" : [1, "x"]}'),
    (postgresql.JSONB, '{"a": [1, "x"]}'),
    (postgresql.ARRAY(sa.Text), '{a,"b c"}'),
]


@pytest.mark.parametrize(("sql_type", "value"), _JSON_VALUES)
async def test_json_text_writes_each_value_as_json_build_object_does(
    connection: AsyncConnection, sql_type: Any, value: str | None
) -> None:
    """gql/json_text.py writes a value exactly as `json_build_object` did (only the
    spacing between key and value differs), NULL as `null`."""
    typed = sa.cast(sa.bindparam("value", type_=sa.Text), sql_type)
    ours = json_text.json_object([("v", typed)]).sql
    theirs = sa.cast(sa.func.json_build_object(sa.literal_column("'v'"), typed), sa.Text)
    written, built = (await connection.execute(sa.select(ours, theirs), {"value": value})).one()
    assert built.startswith('{"v" : ')
    assert written == '{"v":' + built.removeprefix('{"v" : ')


async def test_json_text_lists_objects_and_constants(connection: AsyncConnection) -> None:
    """Lists in the order they are read or asked for, `[]` without rows; nested JSON and
    quoted text as they are, NULL as `null`; constants written into the statement."""
    number = sa.column("n", sa.Integer)
    rows = sa.select(number).select_from(sa.func.generate_series(1, 3).alias("n")).subquery()
    item = json_text.json_object(
        [
            ("n", rows.c.n),
            ("quoted", json_text.Quoted(sa.cast(rows.c.n, sa.Text), nullable=False)),
            ("absent", json_text.Quoted(sa.null())),
            (
                "nested",
                json_text.Json(sa.case((rows.c.n > 1, sa.literal_column("'[]'")))),
            ),
            ("__typename", "Thing"),
            ("flag", True),
            ("none", None),
        ]
    )
    down = json_text.json_list(item, order_by=[rows.c.n.desc()])
    odd = json_text.json_list(item, where=rows.c.n % 2 == 1)
    empty = json_text.json_list(item, where=sa.false())
    statement = sa.select(down.sql, odd.sql, empty.sql).select_from(rows)
    listed, odd_ones, nothing = (await connection.execute(statement)).one()
    assert json.loads(listed) == [
        {"n": n, "quoted": str(n), "absent": None, "nested": [] if n > 1 else None}
        | {"__typename": "Thing", "flag": True, "none": None}
        for n in (3, 2, 1)
    ]
    assert [thing["n"] for thing in json.loads(odd_ones)] == [1, 3]
    assert nothing == "[]"
    # The same lists without an aggregate (`json_rows`), a NULL item as `null`.
    maybe = json_text.Json(sa.case((rows.c.n > 1, sa.literal_column("'[]'"))))
    lists = [
        json_text.json_rows(item, rows, order_by=[rows.c.n.desc()]),
        json_text.json_rows(item, rows, where=rows.c.n % 2 == 1),
        json_text.json_rows(item, rows, where=sa.false()),
        json_text.json_rows(maybe, rows, order_by=[rows.c.n]),
    ]
    written = (await connection.execute(sa.select(*(each.sql for each in lists)))).one()
    assert written == (listed, odd_ones, nothing, "[null,[],[]]")


async def test_json_text_writes_not_null_columns_without_coalesce(
    connection: AsyncConnection,
) -> None:
    """NOT NULL columns (integers, numerals, timestamps, text) are written without
    `coalesce`, as json_build_object and the executor write them."""
    table = sa.Table(
        "json_text_values",
        sa.MetaData(),
        sa.Column("i", sa.Integer, nullable=False),
        sa.Column("d", sa.Numeric, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("t", sa.Text, nullable=False),
    )
    await connection.execute(
        sa.text("CREATE TEMP TABLE json_text_values (i int, d numeric, at timestamptz, t text)")
    )
    await connection.execute(
        sa.text(
            "INSERT INTO json_text_values VALUES (3, 12.50, '2026-12-05 21:00:00.5+00', 'a\"b'),"
            " (-4, 0, '2026-12-05 21:00:00+00', '')"
        )
    )
    level = sa.select(table).subquery("level_1")
    written = json_text.json_object(
        [
            ("i", level.c.i),
            ("d", query_plans._leaf(GRAPHQL_SCHEMA.type_map["Decimal"], level.c.d)),
            ("at", query_plans._leaf(GRAPHQL_SCHEMA.type_map["DateTime"], level.c.at)),
            ("t", level.c.t),
        ]
    )
    assert "coalesce" not in str(sa.select(written.sql).compile(dialect=DIALECT))
    answers = (await connection.execute(sa.select(written.sql).select_from(level))).scalars()
    assert [json.loads(answer) for answer in answers] == [
        {"i": 3, "d": "12.50", "at": "2026-12-05T21:00:00.500000+00:00", "t": 'a"b'},
        {"i": -4, "d": "0", "at": "2026-12-05T21:00:00+00:00", "t": ""},
    ]


async def test_json_text_writes_objects_past_postgresqls_argument_limit(
    connection: AsyncConnection,
) -> None:
    """An object of more values than a function takes arguments (100), nested objects'
    pieces included, is one concat of concats, in order."""
    value = sa.cast(sa.bindparam("value", type_=sa.Text), sa.Integer)
    inner = json_text.json_object([(f"k{n}", value) for n in range(70)])
    outer = json_text.json_object([("a", inner), ("b", inner), ("c", value)])
    written = (await connection.execute(sa.select(outer.sql), {"value": "5"})).scalar_one()
    assert json.loads(written) == {"a": dict.fromkeys((f"k{n}" for n in range(70)), 5)} | {
        "b": dict.fromkeys((f"k{n}" for n in range(70)), 5),
        "c": 5,
    }


@pytest.mark.parametrize("key", ["a-b", "a b", 'a"', "é", "", "#", "#XYZ"])
def test_json_text_refuses_keys_it_would_have_to_escape(key: str) -> None:
    with pytest.raises(ValueError, match="not a GraphQL name"):
        json_text.json_object([(key, 1)])


@pytest.mark.parametrize("constant", ["it's", 'say "x"', "back\\slash", "100%", "line\n"])
def test_json_text_refuses_constants_it_would_have_to_escape(constant: str) -> None:
    with pytest.raises(ValueError, match="to escape"):
        json_text.json_object([("a", constant)])


async def test_stored_text_like_a_mark_is_answered_as_stored(
    plans: PlanClient, callers: list[Caller], session: AsyncSession
) -> None:
    """Staff-written values holding a mark's text, even the real key's, next to a
    computed value (the masked IBAN): the plan answers them as the executor does."""
    forged = ['{"#" : [0, "DE89370400440532013000"]}', '{"' + computed.MARK + '" : [0, "x"]}']
    contracts = (await session.scalars(sa.select(models.Contract.id))).all()
    for number, contract in enumerate(contracts):
        await session.execute(
            sa.update(models.Contract)
            .where(models.Contract.id == contract)
            .values(tariff_name=forged[number % 2])
        )
    document = "{ viewer { contracts { edges { node { number tariffName ibanMasked } } } } }"
    executor, answer, was_planned = await plans.twice(document, callers[0].token, {})
    assert was_planned
    assert answer == executor
    names = {
        edge["node"]["tariffName"]
        for edge in json.loads(answer)["data"]["viewer"]["contracts"]["edges"]
    }
    assert names
    assert names <= set(forged)


# --- The statement's sorts -------------------------------------------------------------------

CONTRACT_PAGE = """query Contract($id: ID!) { node(id: $id) { ... on Contract {
  number meters { edges { node { number registers { obisCode
    readings(first: 1) { edges { node { value readAt } } } } } } }
  payments(first: 5) { edges { cursor node { amount dueDate } } } } } }"""


def test_an_order_stops_where_a_unique_constraint_leaves_no_ties() -> None:
    """Below its parent a register's readings are unique by `read_at` and a meter's
    registers by `obis_code`: the id would never decide, so the plan orders by those
    alone (the unique index read as it is). Where ties are possible (a meter's
    readings of several registers, contracts at the viewer) the id stays."""
    assert query_plans._ordering(relations.REGISTER_READINGS) == (("read_at", True),)
    assert query_plans._ordering(relations.METER_REGISTERS) == (("obis_code", False),)
    for relation in (relations.METER_READINGS, relations.VIEWER_CONTRACTS):
        assert query_plans._ordering(relation) == relation.ordering()


def test_lists_take_the_order_of_their_sorted_level() -> None:
    """Every level's rows are sorted in its derived table and listed in that order: no
    list sorts them again (an `ORDER BY` of its own would sort per parent row), no
    list is an aggregate where no page info reads the rows beside it (`json_rows`),
    and a register's last reading is read by its unique index alone."""
    sql = compile_plan(GRAPHQL_SCHEMA, CONTRACT_PAGE, None, ACTORS["customer"]).sql
    assert sql.count("array_to_string(array((SELECT") == 4  # meters, registers, readings, payments
    assert "string_agg" not in sql
    assert " ORDER BY level_" not in sql  # a list's own ORDER BY names the level
    assert "ORDER BY meter_reading.read_at DESC \n LIMIT" in sql
    assert "ORDER BY meter_register.obis_code) AS level_" in sql
    assert "ORDER BY payment.due_date DESC, payment.id \n LIMIT" in sql  # a window: cursors


def test_a_page_read_beside_its_info_is_aggregated_in_one_pass() -> None:
    """A page's edges without its info are a list of their own (no aggregate per
    parent row); beside `pageInfo`, or asked for twice, edges and info are aggregates
    of one pass over the page's rows."""

    def sql(selection: str) -> str:
        document = "{ viewer { contracts(first: 2) { " + selection + " } } }"
        return compile_plan(GRAPHQL_SCHEMA, document, None, ACTORS["customer"]).sql

    alone = sql("edges { node { number } }")
    assert "array_to_string(array((SELECT" in alone
    assert "string_agg" not in alone
    beside = sql("pageInfo { hasNextPage } edges { node { number } }")
    twice = sql("a: edges { node { number } } b: edges { node { id } }")
    for statement, lists in ((beside, 1), (twice, 2)):
        assert statement.count("string_agg(") == lists
        assert "array_to_string" not in statement
        assert statement.count("FROM contract") == 1


def _portals_text(version: str, *, known: bool, increment: str = "10") -> str:
    """A text as `rules._portals` has the statement write it, of one portal."""
    parts = {} if known else {"installment": {"increment_percent": increment}, "approval": []}
    portal = {
        "id": str(uuid.uuid4()),
        "organization_id": str(uuid.uuid4()),
        "type": "CUSTOMER",
        "created_at": "2026-01-02T03:04:05+00:00",
        "published": True,
        "version": version,
        "known": known,
        "installment": None,
        "approval": None,
        **parts,
    }
    return json.dumps([portal])


def test_the_rules_portals_are_parsed_once_per_text() -> None:
    """The portals a plan reads for a contract's rules are one JSON text, the same for
    every contract of a portal: parsed, and each settings part validated, once per text."""
    text = json.dumps(
        [
            {
                "id": str(uuid.uuid4()),
                "organization_id": str(uuid.uuid4()),
                "type": "CUSTOMER",
                "created_at": "2026-01-02T03:04:05+00:00",
                "published": True,
                "version": f"{uuid.uuid4()}:1:(0,1)",
                "known": False,
                "installment": {"increment_percent": "10", "decrement_percent": "10"},
                "approval": ["contract.installment"],
            }
        ]
    )
    (portal,) = rules._read_portals(text)
    assert rules._read_portals((text + " ")[:-1])[0] is portal  # an equal text, not the same object
    published = portal.published_settings
    assert published is not None
    part = published.part("installment", portal_settings.InstallmentRules)
    assert part.increment_percent == Decimal("10")
    assert published.part("installment", portal_settings.InstallmentRules) is part
    assert rules._read_portals(text)[0].published_settings is published
    assert published.approval == frozenset({"contract.installment"})
    assert rules._read_portals(None) == ()


def test_a_known_row_versions_parts_are_the_ones_read_before() -> None:
    """Parts read from a portal row's version are kept under it: a text that says the
    statement knew that version (and so left the parts out) gets them, validated once;
    a version the process has forgotten leaves the request to the executor (the
    finisher fails, gql/http/plans._finished)."""
    version = f"{uuid.uuid4()}:7:(0,3)"
    (read,) = rules._read_portals(_portals_text(version, known=False, increment="12"))
    (again,) = rules._read_portals(_portals_text(version, known=True))
    assert read.published_settings is not None
    assert again.published_settings is read.published_settings
    part = again.published_settings.part("installment", portal_settings.InstallmentRules)
    assert part.increment_percent == Decimal("12")
    known = rules._known(("approval", "installment"))
    assert version in known.versions()
    assert version in computed.PROCESS_PARAMETERS[known.parameter]()
    with pytest.raises(LookupError):
        rules._read_portals(_portals_text(f"{uuid.uuid4()}:7:(0,3)", known=True))


INSTALLMENT_RULES = """query($id: ID!) { node(id: $id) { ... on Contract {
  number installmentRules { minAmount maxAmount needsApproval } } } }"""


async def test_the_rules_portal_is_read_once_per_row_version_and_a_publish_at_once(
    plans: PlanClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement of a contract's installment rules reads the portal's rules only
    for a version of its row this process has not read yet; the answers are the
    executor's throughout, and a publish (any change of the row) is read by the very
    next request."""
    monkeypatch.setattr(rules, "_KNOWN", {})
    rules._read_portals.cache_clear()
    said: list[bool] = []
    described = rules._published

    def spy(portal: Any) -> Any:
        said.append(portal["known"])
        return described(portal)

    monkeypatch.setattr(rules, "_published", spy)
    token = await _login(plans, "anna.becker@example.org")
    contract = await session.scalar(
        sa.select(models.Contract.id).where(models.Contract.number == "V-2023-1000001")
    )
    assert contract is not None
    variables = {"id": global_id("Contract", contract)}

    executor, planned, was_planned = await plans.twice(INSTALLMENT_RULES, token, variables)
    assert was_planned
    assert planned == executor
    assert said == [False]  # read from the statement, then kept
    again = await plans.post(INSTALLMENT_RULES, token, variables)
    assert _canonical(again) == executor
    assert said == [False, True]  # the statement knew the row's version: no rules in it

    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    settings = portal.published_settings
    installment = settings.rules.installment.model_copy(
        update={"increment_percent": Decimal("25"), "decrement_percent": Decimal("25")}
    )
    portal.published_settings = settings.model_copy(
        update={"rules": settings.rules.model_copy(update={"installment": installment})}
    )
    await session.flush()
    changed = await plans.post(INSTALLMENT_RULES, token, variables)
    assert said[-1] is False  # a new version of the row: its rules read again
    rules_now = changed.json()["data"]["node"]["installmentRules"]
    assert rules_now != json.loads(executor)["data"]["node"]["installmentRules"]
    # The executor's answer to the same (a document of its own, answered by it first).
    executor, planned, was_planned = await plans.twice(INSTALLMENT_RULES + " ", token, variables)
    assert was_planned
    assert planned == executor == _canonical(changed)


async def test_the_bench_pages_run_one_prepared_statement_with_a_kept_generic_plan(
    plans: PlanClient, connection: AsyncConnection, session: AsyncSession
) -> None:
    """The contract page, `portalHome` and the dashboard as the benchmark sends them:
    every request of a page runs the same statement text (no value of the request is
    written into it), so asyncpg's statement cache prepares it once per connection, and
    PostgreSQL keeps a generic plan after its five custom ones. Planning (the contract
    page's: about 3 ms, every index of its 14 tables opened and locked) is then paid
    five times per connection, not per request."""
    from bench.workloads import CONTRACT, DASHBOARD, PORTAL_HOME

    token = await _login(plans, "anna.becker@example.org")
    anna = await session.get_one(models.PortalUser, ANNA)
    contracts = (
        await session.scalars(
            sa.select(models.Contract.id).where(models.Contract.contact_id == anna.contact_id)
        )
    ).all()
    assert len(contracts) > 1
    pages: dict[str, list[dict[str, Any] | None]] = {
        "contract": [{"id": global_id("Contract", contract)} for contract in contracts],
        "portalHome": [None],
        "dashboard": [None],
    }
    documents = {"contract": CONTRACT, "portalHome": PORTAL_HOME, "dashboard": DASHBOARD}
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    for page, variables in pages.items():
        ran: set[str] = set()
        for request in range(9):
            with counting_statements(connection) as statements:
                response = await plans.post(
                    documents[page], token, variables[request % len(variables)]
                )
            assert "errors" not in response.json(), (page, response.text)
            ran |= {statement for statement in statements if is_plan(statement)}
        (statement,) = ran
        generic, custom = await driver.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            statement,
        )
        assert custom == 5, (page, generic, custom)
        assert generic >= 1, (page, generic, custom)


def test_a_pages_written_arguments_are_written_into_its_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`readings(first: 3)`: its window is the same for every request, so it is decided
    once, when the plan is compiled for the process's maximum page size, and written
    into the statement (no parameter); a size over the maximum gets no plan, and the
    executor refuses it every time."""
    windows: list[tuple[Any, ...]] = []

    def counted(first: int | None, after: str | None, max_page_size: int) -> tuple[int, int]:
        windows.append((first, after, max_page_size))
        return page_window(first, after, max_page_size)

    monkeypatch.setattr(query_plans, "page_window", counted)
    planner = Planner(GRAPHQL_SCHEMA)
    planner.answered(DASHBOARD, None)
    plan = planner.plan(DASHBOARD, None, CUSTOMER)
    assert plan is not None
    compiled = len(windows)
    assert compiled >= len(plan.pages)
    answers = [plan.values(CUSTOMER, {}) for _ in range(3)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0] is not None
    assert len(windows) == compiled + len(plan.pages)  # once per page, not per request
    for page in plan.pages:
        assert page.offset not in plan.names
        assert page.limit not in plan.names
    offset, limit = page_window(3, None, 100)
    assert plan.with_session is not None
    assert f"LIMIT {limit} OFFSET {offset}" in plan.with_session.sql
    small = Planner(GRAPHQL_SCHEMA, max_page_size=2)
    small.answered(DASHBOARD, None)
    assert small.plan(DASHBOARD, None, CUSTOMER) is None  # first: 3 over a maximum of 2


def test_the_contract_pages_written_arguments_bind_no_parameter() -> None:
    """`payments(first: 5)`, `readings(first: 1)`, `orders(first: 5, status: [OFFER])`
    and `documents(first: 5, contractId: $id)`: the windows and the members written in
    the document are in the statement's text; the contract's ID stays a parameter."""
    from bench.workloads import CONTRACT

    planner = Planner(GRAPHQL_SCHEMA)
    planner.answered(CONTRACT, None)
    plan = planner.plan(CONTRACT, None, CUSTOMER)
    assert plan is not None
    assert plan.with_session is not None
    for compiled in (plan, plan.with_session):
        assert not [n for n in compiled.names if n.startswith(("offset_", "limit_", "among_"))]
        assert "any(ARRAY['OFFER']::TEXT[])" in compiled.sql
        assert {"node_id_0", "row_3_contractId"} <= set(compiled.names)


def test_a_global_id_named_twice_is_parsed_once_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contract page names its contract in `node(id: $id)` and
    `documents(contractId: $id)`."""
    from bench.workloads import CONTRACT

    parsed: list[str] = []
    parse_id = query_plans._parsed_global_id

    def counted(value: str) -> Any:
        parsed.append(value)
        return parse_id(value)

    monkeypatch.setattr(query_plans, "_parsed_global_id", counted)
    planner = Planner(GRAPHQL_SCHEMA)
    planner.answered(CONTRACT, None)
    plan = planner.plan(CONTRACT, None, CUSTOMER)
    assert plan is not None
    contract = uuid.uuid4()
    variables = {"id": global_id("Contract", contract)}
    values = plan.values(CUSTOMER, variables)
    assert values is not None
    assert parsed == [variables["id"]]
    assert contract in values.values()
    assert plan.values(CUSTOMER, {"id": "not a global ID"}) is None


@pytest.mark.parametrize(
    "value",
    [
        global_id("Contract", uuid.UUID(int=7)),
        relay.to_base64("Contract", "not-a-uuid"),
        relay.to_base64("Contract", "a:b"),
        "bm90IGJhc2U2NA",  # no padding
        "not a global ID",
        "",
        "Q29udHJhY3Q=",  # "Contract", no colon
        "//79",  # not UTF-8
    ],
)
def test_a_global_id_is_parsed_as_relay_parses_it(value: str) -> None:
    """The planned step decodes a global ID without building relay's GlobalID: the
    same type name and node id, and the same refusals."""
    from strawberry import relay

    from gql.schema.node import parse_uuid

    try:
        expected: Any = relay.GlobalID.from_id(value)
    except Exception:
        expected = None
    parsed = query_plans._parsed_global_id(value)
    if expected is None:
        assert parsed is None
    else:
        assert parsed == (expected.type_name, parse_uuid(expected.node_id))


def test_a_computed_objects_answer_serializes_each_leaf_and_keeps_null() -> None:
    """A computed object's answer, decided once per plan (the installment rules'
    fields): every field by the schema's own serialization, a null leaf null, a
    constant (`__typename`) as written, under the selection's keys."""
    installment = GRAPHQL_SCHEMA.type_map["InstallmentRules"]

    def leaf(name: str) -> Any:
        named = installment.fields[name].type
        while not isinstance(named, GraphQLScalarType):
            named = named.of_type
        return query_plans._Leaf(named.serialize)

    answer = query_plans._object_answer(
        (
            ("__typename", None, "InstallmentRules"),
            ("low", "min_amount", leaf("minAmount")),
            ("changePossible", "change_possible", leaf("changePossible")),
            ("nextChangeAt", "next_change_at", leaf("nextChangeAt")),
        )
    )
    value = rules.InstallmentRules(
        enabled=True,
        min_amount=Decimal("72.00"),
        max_amount=Decimal("88.00"),
        change_possible=False,
        next_change_at=None,
        needs_approval=True,
    )
    assert answer(value) == {
        "__typename": "InstallmentRules",
        "low": "72.00",
        "changePossible": False,
        "nextChangeAt": None,
    }
    assert answer(None) is None


@pytest.mark.parametrize(
    ("document", "actor"),
    [
        (workloads.DASHBOARD, "customer"),
        (workloads.PORTAL_HOME, "customer"),
        (CONTRACT_PAGE, "customer"),
        (STAFF_PORTAL_USERS, "admin"),
    ],
)
def test_plans_write_their_json_without_postgresqls_json_functions(
    document: str, actor: str
) -> None:
    """A plan's answer is written by gql/json_text.py: no `json_build_object`,
    `json_agg` or `json_build_array`, each of which looks up every argument's type
    again per call."""
    sql = compile_plan(GRAPHQL_SCHEMA, document, None, ACTORS[actor]).sql
    assert is_plan(sql)
    for function in ("json_build_object(", "json_agg(", "json_build_array("):
        assert function not in sql


@pytest.mark.parametrize(
    ("document", "operation", "actor"),
    [
        (workloads.DASHBOARD, None, "customer"),
        (workloads.PORTAL_HOME, None, "customer"),
        (workloads.CONTRACT, "Contract", "customer"),
        (workloads.STAFF_PORTAL_USERS, None, "admin"),
        (workloads.STAFF_CONTACTS, None, "admin"),
    ],
)
def test_the_front_ends_pages_list_their_rows_without_aggregates(
    document: str, operation: str | None, actor: str
) -> None:
    """The bench's pages, the computations' inputs included (the portals a contract's
    rules choose among, its changes), list rows as ARRAY sublinks: no aggregate to set
    up and finish per execution (no page of theirs asks for `pageInfo`)."""
    sql = compile_plan(GRAPHQL_SCHEMA, document, operation, ACTORS[actor]).sql
    assert not re.search(r"\b(string_agg|json_agg|jsonb_agg|array_agg)\(", sql)
    assert "array((SELECT" in sql


def test_a_plans_only_postgresql_json_is_its_computations_inputs() -> None:
    """On the contract page only the computations' inputs are PostgreSQL's JSON (their
    own format, read by their functions): the mark and everything around it are the
    plan's."""
    plan = compile_plan(GRAPHQL_SCHEMA, workloads.CONTRACT, "Contract", ACTORS["customer"])
    marks = plan.sql.count(json_text.object_opening(computed.MARK) + json_text.ARRAY_OPENING)
    assert marks == len(plan.finishers) == 3  # ibanMasked, installmentRules, attribute
    computations = [
        "ibanMasked",
        "installmentRules { minAmount maxAmount changePossible nextChangeAt needsApproval }",
        "attribute ",
    ]
    document = workloads.CONTRACT
    for field in computations:
        assert field in document
        document = document.replace(field, "")
    without_inputs = compile_plan(GRAPHQL_SCHEMA, document, "Contract", ACTORS["customer"])
    assert not without_inputs.finishers
    for function in ("json_build_object(", "json_agg(", "json_build_array("):
        assert function not in without_inputs.sql
