"""The two engines against each other on generated documents.

hypothesis-graphql generates queries from the part of the schema query plans claim to
translate (root `viewer` and `contacts`; every field the compiler answers: declared
relations, plain column fields, ids, connections with `first`/`after`), with
fragments, aliases and `__typename` as it likes. Each document goes, for every kind of
caller, to an app with query plans switched off (the executor) and twice to one with
them on (the executor, then the plan where there is one); all three answers must be
the same, key order included. Documents a caller may not read in full are answered by
the executor on both sides; the test also checks that plans answered a good share.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from graphql import (
    DocumentNode,
    FieldDefinitionNode,
    GraphQLObjectType,
    ObjectTypeDefinitionNode,
    get_named_type,
    parse,
    print_ast,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import demo, models
from gql import query_plans
from gql.query_plans import _computed, _declared, _plain_attribute
from gql.schema import schema
from gql.schema.pagination import encode_cursor
from tests.conftest import CUSTOMER_PORTAL, MUSTERSTADT, global_id
from tests.engine_helpers import tokens_of_every_caller
from tests.statement_helpers import answered_by_plan

EXAMPLES = int(os.environ.get("ENGINE_EXAMPLES", "30"))
GRAPHQL_SCHEMA: Any = schema._schema
ROOTS = ("viewer", "contacts")
CONNECTION_PARTS = {"edges", "node", "cursor", "pageInfo", "totalCount"}
PAGE_INFO = {"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}
VIEWER_LEAFS = {"role", "isImpersonation"}
# Paging, and the searches, filters and ID and enum arguments declared in criteria.py.
KEPT_ARGUMENTS = {"first", "after", "search", "filter", "portalId", "status", "type", "contractId"}


def _claimed(graphql_type: GraphQLObjectType, name: str) -> bool:
    """Whether the compiler claims the field (whoever may read it)."""
    field = graphql_type.fields[name]
    if name == "id" or (name in VIEWER_LEAFS and graphql_type.name == "Viewer"):
        return True
    if graphql_type.name.endswith(("Connection", "Edge")) and name in CONNECTION_PARTS:
        return True
    if graphql_type.name == "PageInfo":
        return name in PAGE_INFO
    if _declared(field) is not None or _computed(field) is not None:
        return True
    return _plain_attribute(field) is not None and not field.args


def plannable_sdl() -> str:
    """The schema cut down to what plans translate, as SDL for hypothesis-graphql:
    the fields the compiler claims, with the arguments plans translate."""
    kept: dict[str, set[str]] = {"Query": set(ROOTS)}
    pending = [GRAPHQL_SCHEMA.query_type.fields[name].type for name in ROOTS]
    while pending:
        named = get_named_type(pending.pop())
        if not isinstance(named, GraphQLObjectType) or named.name in kept:
            continue
        kept[named.name] = {name for name in named.fields if _claimed(named, name)}
        pending += [named.fields[name].type for name in kept[named.name]]
    document: DocumentNode = parse(str(schema))
    definitions = []
    for definition in document.definitions:
        # Types a query can not reach from `viewer` and `contacts` stay as they are.
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value in kept:
            fields: list[FieldDefinitionNode] = []
            for field in definition.fields or ():
                if field.name.value not in kept[definition.name.value]:
                    continue
                arguments = tuple(
                    a for a in field.arguments or () if a.name.value in ("first", "after", "search")
                )
                fields.append(
                    FieldDefinitionNode(
                        name=field.name,
                        type=field.type,
                        arguments=arguments,
                        directives=(),
                        description=None,
                    )
                )
            definition = ObjectTypeDefinitionNode(
                name=definition.name,
                interfaces=definition.interfaces,
                directives=(),
                fields=tuple(fields),
                description=None,
            )
        definitions.append(definition)
    return print_ast(DocumentNode(definitions=tuple(definitions)))


SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "Cursor": st.integers(min_value=0, max_value=4).map(lambda n: nodes.String(encode_cursor(n))),
    "DateTime": st.sampled_from(["2024-01-01T00:00:00+00:00", "2030-01-01T00:00:00Z"]).map(
        nodes.String
    ),
    "Line": st.sampled_from(
        ["", " ", "a", "becker", "K-1", "V-2023", "%", "_", "/", "x" * 300]
    ).map(nodes.String),
}


def generated_documents() -> list[str]:
    found: list[str] = []
    sdl = plannable_sdl()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(query=from_schema(sdl, fields=ROOTS, custom_scalars=SCALARS, mode=Mode.POSITIVE))
    def collect(query: str) -> None:
        found.append(query)

    collect()
    return found


def _body(response: httpx.Response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)


async def test_both_engines_answer_generated_documents_alike_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    documents = generated_documents()
    assert len(documents) >= EXAMPLES // 2
    compared = plans = 0
    for query in documents:
        for name, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"query": query}
            expected = _body(await executor.post("/graphql", json=body, headers=headers))
            first = _body(await planned.post("/graphql", json=body, headers=headers))
            response, was_planned = await answered_by_plan(
                connection, planned.post("/graphql", json=body, headers=headers)
            )
            assert first == expected, (name, query)
            assert _body(response) == expected, (name, query, was_planned)
            compared += 1
            plans += was_planned
    # Not vacuous: plans answered a good share (customers, installer and staff read
    # most of what is generated; anonymous callers and refused fields take the executor).
    assert plans >= compared // 4, (plans, compared)


def test_the_generated_schema_is_the_compilers_claim() -> None:
    """The cut-down schema holds the fields a portal's pages read most."""
    sdl = plannable_sdl()
    for line in ("displayName", "readings(", "registers", "payments(", "documents"):
        assert line in sdl, line
    assert "downloadUrl" in sdl  # signed after the statement (gql/resolvers/computed.py)


NODE = """
query Node($id: ID!) {
  node(id: $id) { __typename id
    ... on Contract { number status ...Meters }
    ... on Meter { number unit contract { number } }
  }
  viewer { __typename role }
}
fragment Meters on Contract {
  meters { edges { node { number registers { obisCode readings(first: 1) { edges {
    node { value readAt } } } } } } }
}
"""


async def test_node_answers_alike_on_both_engines(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """`node(id:)` with fragments: a branch per type the fragments name, the row through
    the caller's scope; another type's ID or a malformed one goes to the executor."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    anna_contract = demo.demo_id("contract:musterstadt:V-2023-1000001")
    meter = await session.scalar(
        sa.select(models.Meter.id).where(models.Meter.contract_id == anna_contract).limit(1)
    )
    assert meter is not None
    ids = {
        "contract": (global_id("Contract", anna_contract), True),
        "meter": (global_id("Meter", meter), True),
        "contact": (global_id("Contact", demo.demo_id("contact:musterstadt:c01")), False),
        "malformed": ("kein-global-id", False),
    }
    plans = 0
    for name, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for label, (node_id, branch) in ids.items():
            body = {"query": NODE, "variables": {"id": node_id}}
            expected = _body(await executor.post("/graphql", json=body, headers=headers))
            await planned.post("/graphql", json=body, headers=headers)
            response, was_planned = await answered_by_plan(
                connection, planned.post("/graphql", json=body, headers=headers)
            )
            assert _body(response) == expected, (name, label)
            assert not was_planned or branch, (name, label)
            plans += was_planned
    assert plans >= 4  # Anna's contract and meter, as Anna and as staff at least
    body = {"query": NODE, "variables": {"id": ids["contract"][0]}}
    other = {"Authorization": f"Bearer {tokens['other_org_customer']}"}
    answer = (await planned.post("/graphql", json=body, headers=other)).json()
    assert answer["data"]["node"] is None  # another tenant's contract: not visible


# The contract page as the bench sends it (bench/workloads.py), and its contract part
# alone, which staff may read in full (the viewer's part is portal users').
CONTRACT_PART = """
query ContractPart($id: ID!) {
  node(id: $id) { ... on Contract {
    id number tariffName commodity status startDate installmentAmount dueDay paymentMethod
    ibanMasked balance
    rules: installmentRules { __typename minAmount maxAmount changePossible nextChangeAt
      needsApproval enabled }
    dueDateRules { enabled allowedDays nextDueDate changePossible changeableUntil nextChangeOn
      needsApproval }
    meters { edges { node { id number unit registers { obisCode name
      readings(first: 1) { edges { node { value readAt } } } } } } }
    payments(first: 5) { edges { node { amount dueDate status } } }
  } }
}
"""
CHANGES = """mutation($id: ID!, $name: Line!, $amount: Decimal!) {
  changeInstallment(input: {contractId: $id, amount: $amount}) { __typename }
  updateMyContact(input: {firstName: $name, lastName: "Becker"}) {
    ... on MyContactUpdated { changeRequests { attribute } } }
}"""


async def test_the_contract_page_answers_alike_on_both_engines_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """The contract page (issue 17's `contract` workload) and its contract part: the
    computed values (installment range, masked IBAN, change request attributes) from
    the same functions on both engines, for the customer (after a change of the
    installment that the cadence counts and a change of name that waits for approval),
    another customer, staff, another organization and the installer; each contract
    through the caller's scope. Plans answer the customer's page and staff's part."""
    from bench.workloads import CONTRACT

    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    anna_contract = demo.demo_id("contract:musterstadt:V-2023-1000001")
    anna = {"Authorization": f"Bearer {tokens['customer']}"}
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"approval_required_attributes": ["contact.name"]}
    )
    await session.flush()
    rules = await executor.post(
        "/graphql",
        json={"query": CONTRACT_PART, "variables": {"id": global_id("Contract", anna_contract)}},
        headers=anna,
    )
    amount = rules.json()["data"]["node"]["rules"]["minAmount"]
    changes = {"id": global_id("Contract", anna_contract), "name": "Anne", "amount": amount}
    changed = await executor.post(
        "/graphql", json={"query": CHANGES, "variables": changes}, headers=anna
    )
    assert changed.json()["data"] == {
        "changeInstallment": {"__typename": "InstallmentChanged"},
        "updateMyContact": {"changeRequests": [{"attribute": "NAME"}]},
    }, changed.json()
    # JSON of timestamps is written in the session's time zone; answers are in UTC.
    await session.execute(sa.text("SET LOCAL TimeZone = 'Europe/Berlin'"))
    others = await session.execute(
        sa.select(models.Contract.id, models.Contract.organization_id).where(
            models.Contract.id != anna_contract
        )
    )
    other_org = next(i for i, org in others if org != MUSTERSTADT)
    contracts = {
        "anna": anna_contract,
        "jonas": demo.demo_id("contract:musterstadt:V-2023-1000003"),
        "other_org": other_org,
    }
    planned_pages: set[tuple[str, str, str]] = set()
    for document_name, document in (("page", CONTRACT), ("part", CONTRACT_PART)):
        for name, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            for label, contract in contracts.items():
                body = {"query": document, "variables": {"id": global_id("Contract", contract)}}
                expected = _body(await executor.post("/graphql", json=body, headers=headers))
                first = _body(await planned.post("/graphql", json=body, headers=headers))
                response, was_planned = await answered_by_plan(
                    connection, planned.post("/graphql", json=body, headers=headers)
                )
                assert first == expected, (document_name, name, label)
                assert _body(response) == expected, (document_name, name, label, was_planned)
                if was_planned:
                    planned_pages.add((document_name, name, label))
    for caller in ("customer", "admin", "agent"):
        seen = ("page" if caller == "customer" else "part", caller, "anna")
        assert seen in planned_pages, (seen, planned_pages)
    answer = (
        await planned.post(
            "/graphql",
            json={"query": CONTRACT, "variables": {"id": global_id("Contract", anna_contract)}},
            headers=anna,
        )
    ).json()["data"]
    contract = answer["node"]
    assert contract["installmentAmount"] == amount
    assert contract["installmentRules"]["changePossible"] is False
    assert contract["installmentRules"]["nextChangeAt"] is not None
    assert contract["ibanMasked"] is None or "*" in contract["ibanMasked"]
    requests = answer["viewer"]["myChangeRequests"]["edges"]
    body = {"query": CONTRACT_PART, "variables": {"id": global_id("Contract", anna_contract)}}
    part = (await planned.post("/graphql", json=body, headers=anna)).json()["data"]["node"]
    assert part["dueDateRules"]["enabled"] is True  # the portal's rule, not the default
    assert part["dueDateRules"]["allowedDays"]
    assert requests[0]["node"]["attribute"] == "NAME"
    # Another customer's contract and another organization's: nothing, on both engines.
    for label in ("jonas", "other_org"):
        body = {"query": CONTRACT, "variables": {"id": global_id("Contract", contracts[label])}}
        assert (await planned.post("/graphql", json=body, headers=anna)).json()["data"][
            "node"
        ] is None


async def test_a_failing_computation_costs_the_plan_not_the_answer(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A computed value that fails after the plan's statement: the executor answers."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    headers = {"Authorization": f"Bearer {tokens['customer']}"}
    anna_contract = global_id("Contract", demo.demo_id("contract:musterstadt:V-2023-1000001"))
    body = {"query": CONTRACT_PART, "variables": {"id": anna_contract}}
    expected = _body(await executor.post("/graphql", json=body, headers=headers))
    await planned.post("/graphql", json=body, headers=headers)
    response, was_planned = await answered_by_plan(
        connection, planned.post("/graphql", json=body, headers=headers)
    )
    assert was_planned
    assert _body(response) == expected

    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug in a computation")

    monkeypatch.setattr(query_plans, "finish", broken)
    response, was_planned = await answered_by_plan(
        connection, planned.post("/graphql", json=body, headers=headers)
    )
    assert not was_planned
    assert _body(response) == expected
