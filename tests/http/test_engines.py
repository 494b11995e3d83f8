"""The two engines against each other on generated documents.

hypothesis-graphql generates queries from the part of the schema query plans claim to
translate (roots `viewer`, `contacts` and `portalUsers`; every field the compiler answers: declared
relations, plain column fields, ids, connections with their paging, searches, filters and
ID and enum arguments: KEPT_ARGUMENTS), with
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
    FieldNode,
    GraphQLEnumType,
    GraphQLObjectType,
    ObjectTypeDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    print_ast,
    visit,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry import relay

from db import demo, models
from db.portal_settings import SharedProcess
from gql import query_plans
from gql.query_plans import _computed, _declared, _plain_attribute
from gql.schema import schema
from gql.schema.pagination import encode_cursor
from tests.conftest import CUSTOMER_PORTAL, INSTALLER_PORTAL, MUSTERSTADT, global_id
from tests.engine_helpers import (
    ACCOUNTS,
    READ_ONLY_GROUP,
    WEB_EXECUTOR_READS,
    answered_alike,
    tokens_of_every_caller,
    web_queries,
)
from tests.statement_helpers import answered_by_plan

EXAMPLES = int(os.environ.get("ENGINE_EXAMPLES", "30"))
GRAPHQL_SCHEMA: Any = schema._schema
ROOTS = ("viewer", "contacts", "portalUsers")
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
        # Types a query can not reach from the roots stay as they are.
        if isinstance(definition, ObjectTypeDefinitionNode) and definition.name.value in kept:
            fields: list[FieldDefinitionNode] = []
            for field in definition.fields or ():
                if field.name.value not in kept[definition.name.value]:
                    continue
                arguments = tuple(
                    a for a in field.arguments or () if a.name.value in KEPT_ARGUMENTS
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
    executor = engines[0]
    tokens = await tokens_of_every_caller(executor, session)
    documents = generated_documents()
    assert len(documents) >= EXAMPLES // 2
    compared = plans = 0
    for query in documents:
        for name, token in tokens.items():
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"query": query}
            plans += await answered_alike(engines, connection, body, headers, (name, query))
            compared += 1
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


def filter_cases(ids: dict[str, str]) -> list[tuple[str, str, dict[str, Any]]]:
    """For every field under Query with a `filter` argument, each field of its filter
    input alone with each value of its kind, as a variable and written in the document:
    (label, query, variables). `ids`: a global ID per type an ID field names."""
    cases: list[tuple[str, str, dict[str, Any]]] = []
    for root, field in GRAPHQL_SCHEMA.query_type.fields.items():
        if "filter" not in field.args:
            continue
        filter_type = get_named_type(field.args["filter"].type)
        for name, input_field in filter_type.fields.items():
            kind = get_named_type(input_field.type)
            if isinstance(kind, GraphQLEnumType):
                values: list[Any] = list(kind.values)
            elif kind.name == "ID":
                values = [ids[name.removesuffix("Id")]]
            else:
                values = FILTER_VALUES[kind.name]  # a new kind of condition: add its values
            page = f"{root}(first: 50, filter"
            selection = "{ totalCount edges { node { id } } }"
            for value in values:
                query = f"query($f: {filter_type.name}) {{ {page}: $f) {selection} }}"
                cases.append((f"{root}.{name}={value}", query, {"f": {name: value}}))
            literal = values[0] if isinstance(kind, GraphQLEnumType) else json.dumps(values[0])
            query = f"{{ {page}: {{{name}: {literal}}}) {selection} }}"
            cases.append((f"{root}.{name} written", query, {}))
    return cases


# Values of the filters' scalar fields (enums take each member, IDs a row of their type).
FILTER_VALUES: dict[str, list[Any]] = {
    "Boolean": [True, False],
    "Line": ["a", "becker"],
    "DateTime": ["2024-01-01T00:00:00Z", "2999-01-01T00:00:00Z"],
}


async def test_every_filter_condition_answers_alike_on_both_engines(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """Each condition of each filter, alone, for every kind of caller: the plan's answer
    (the second request) is the executor's. A plan that translates none or only some of
    a filter's fields must leave a request naming another to the executor, never answer
    it without the condition (it did: `contacts(filter: {hasPortalUser: false})` listed
    every contact from its second request on)."""
    executor = engines[0]
    tokens = await tokens_of_every_caller(executor, session)
    ids = {
        "portal": global_id("Portal", CUSTOMER_PORTAL),
        "contact": global_id("Contact", demo.demo_id("contact:musterstadt:c01")),
        "permissionGroup": global_id("PermissionGroup", READ_ONLY_GROUP),
    }
    cases = filter_cases(ids)
    assert {label.split(".")[0] for label, _, _ in cases} >= {"contacts", "portalUsers"}
    plans = 0
    for name, token in tokens.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for label, query, variables in cases:
            body = {"query": query, "variables": variables}
            plans += await answered_alike(engines, connection, body, headers, (name, label))
    assert plans > 0  # not vacuous: the conditions plans translate were planned


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


# The rules read in advance (computed after the plan's statement from inputs it read,
# gql/schema/rules.py) and a document's download link (signed after it).
READ_IN_ADVANCE = """
query InAdvance($id: ID!, $at: DateTime) {
  node(id: $id) { __typename ... on Contract { number
    paymentMethodOptions { method current allowed reason message nextPossibleAt needsApproval }
    intervals: installmentIntervalOptions { __typename interval current allowed amount code
      message nextPossibleAt needsApproval }
    meters { edges { node { number registers { obisCode ...Range
      fixed: readingRange(readAt: "2024-06-01T00:00:00Z") { lowestPlausibleValue
        highestPlausibleValue previousValue previousReadAt }
    } } } }
  }
  ... on Meter { number registers { obisCode ...Range } } }
}
fragment Range on MeterRegister {
  now: readingRange { obisCode acceptsReadings readAt earliestReadAt latestReadAt
    minimumValue maximumValue lowestPlausibleValue highestPlausibleValue previousValue
    previousReadAt }
  then: readingRange(readAt: $at) { readAt earliestReadAt latestReadAt minimumValue
    maximumValue lowestPlausibleValue highestPlausibleValue previousValue previousReadAt }
}
"""
METER_RANGE = """
query MeterRange($id: ID!, $at: DateTime) {
  node(id: $id) { ... on Meter { number registers { obisCode ...Range } } }
}
""" + READ_IN_ADVANCE[READ_IN_ADVANCE.index("fragment Range") :]
DOCUMENT = """
query Document($id: ID!) {
  node(id: $id) { ... on Document { id name downloadUrl contract { number } } }
}
"""
MY_DOCUMENTS = """
query MyDocuments {
  viewer { contact { documents(first: 3) { edges { node { name downloadUrl } } } } }
}
"""


async def _alike_on_both_engines(
    connection: AsyncConnection,
    executor: httpx.AsyncClient,
    planned: httpx.AsyncClient,
    tokens: dict[str, str | None],
    requests: list[tuple[str, str, dict[str, Any]]],
) -> tuple[dict[tuple[str, str, str], Any], set[tuple[str, str, str]]]:
    """Each request for each caller in de and en, on the executor and twice with plans
    (the first makes the document known): the answers are the same to the byte. The
    answers by (caller, language, label), and which of them a plan gave."""
    planned_reads: set[tuple[str, str, str]] = set()
    answers: dict[tuple[str, str, str], Any] = {}
    for caller, token in tokens.items():
        for accept in ("de", "en"):
            headers = {"Accept-Language": accept}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            for label, query, variables in requests:
                body = {"query": query, "variables": variables}
                expected = _body(await executor.post("/graphql", json=body, headers=headers))
                first = _body(await planned.post("/graphql", json=body, headers=headers))
                response, was_planned = await answered_by_plan(
                    connection, planned.post("/graphql", json=body, headers=headers)
                )
                assert first == expected, (caller, accept, label)
                assert _body(response) == expected, (caller, accept, label, was_planned)
                answers[(caller, accept, label)] = response.json()
                if was_planned:
                    planned_reads.add((caller, accept, label))
    return answers, planned_reads


async def _first(session: AsyncSession, statement: Any) -> Any:
    found = await session.scalar(statement.limit(1))
    assert found is not None, statement
    return found


async def test_rules_in_advance_and_download_links_answer_alike_on_both_engines(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """Payment method and interval options (with their refusals' words in the caller's
    language: a portal user's own, else the request's for staff), reading ranges (now,
    at a variable's moment, at a literal one) and download links, for every kind of
    caller on Anna's contract, meter and document, another customer's and another
    organization's, and the installer's meter. Plans answer each caller what they may
    read; another customer's or organization's rows are null on both engines."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    anna_contract = demo.demo_id("contract:musterstadt:V-2023-1000001")
    # Something overdue: the payment method is refused, with the sum in the message.
    payment = await _first(
        session, sa.select(models.Payment).where(models.Payment.contract_id == anna_contract)
    )
    payment.status = models.PaymentStatus.OVERDUE
    await session.flush()
    contract, meter, document = models.Contract, models.Meter, models.Document
    other_org = await _first(
        session, sa.select(contract.id).where(contract.organization_id != MUSTERSTADT)
    )
    installer = await _first(
        session,
        sa.select(models.PortalUser.contact_id).where(
            models.PortalUser.email == "montage@elektro-schmidt.example"
        ),
    )
    installer_meter = await _first(
        session,
        sa.select(models.Order.meter_id).where(
            models.Order.partner_contact_id == installer, models.Order.meter_id.is_not(None)
        ),
    )
    contracts = {
        "anna": anna_contract,
        "jonas": demo.demo_id("contract:musterstadt:V-2023-1000003"),
        "other_org": other_org,
    }
    ids = {
        **{f"contract:{label}": global_id("Contract", row) for label, row in contracts.items()},
        "meter:anna": global_id(
            "Meter",
            await _first(session, sa.select(meter.id).where(meter.contract_id == anna_contract)),
        ),
        "meter:installer": global_id("Meter", installer_meter),
    }
    documents = {
        label: global_id(
            "Document",
            await _first(
                session,
                sa.select(document.id)
                .join(contract, contract.contact_id == document.contact_id)
                .where(contract.id == row),
            ),
        )
        for label, row in contracts.items()
    }
    requests = [
        (f"rules:{label}", READ_IN_ADVANCE, {"id": node_id, "at": "2025-01-15T12:00:00"})
        for label, node_id in ids.items()
    ]
    requests += [
        (f"range:{label}", METER_RANGE, {"id": ids[label], "at": "2025-01-15T12:00:00"})
        for label in ("meter:anna", "meter:installer")
    ]
    requests += [(f"document:{label}", DOCUMENT, {"id": id_}) for label, id_ in documents.items()]
    requests.append(("myDocuments", MY_DOCUMENTS, {}))
    answers, planned_reads = await _alike_on_both_engines(
        connection, executor, planned, tokens, requests
    )
    for caller in ("customer", "admin", "agent"):
        for accept in ("de", "en"):
            assert (caller, accept, "rules:contract:anna") in planned_reads, caller
    assert ("installer", "de", "range:meter:installer") in planned_reads
    for caller in ("customer", "admin"):
        assert (caller, "de", "document:anna") in planned_reads, caller
    assert ("customer", "de", "myDocuments") in planned_reads

    # Not vacuous: refusals in words, in the caller's language.
    def refusal(caller: str, accept: str) -> str:
        node = answers[(caller, accept, "rules:contract:anna")]["data"]["node"]
        methods = node["paymentMethodOptions"]
        assert {o["reason"] for o in methods} == {"OVERDUE_PAYMENTS"}, methods
        return str(methods[0]["message"])

    assert refusal("customer", "en") == refusal("customer", "de") == refusal("admin", "de")
    assert refusal("admin", "en") != refusal("admin", "de")
    # Anna chooses English: her messages follow whatever the request asks for.
    anna_user = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
    await session.execute(
        sa.update(models.PortalUser).where(models.PortalUser.id == anna_user).values(language="en")
    )
    headers = {"Authorization": f"Bearer {tokens['customer']}", "Accept-Language": "de"}
    body = {"query": READ_IN_ADVANCE, "variables": requests[0][2]}
    expected = _body(await executor.post("/graphql", json=body, headers=headers))
    response, was_planned = await answered_by_plan(
        connection, planned.post("/graphql", json=body, headers=headers)
    )
    assert was_planned
    assert _body(response) == expected
    english = response.json()["data"]["node"]["paymentMethodOptions"][0]["message"]
    assert english == refusal("admin", "en") != refusal("customer", "de")
    anna = answers[("customer", "de", "rules:contract:anna")]["data"]["node"]
    ranges = anna["meters"]["edges"][0]["node"]["registers"][0]
    assert ranges["then"]["readAt"] == "2025-01-15T12:00:00+00:00"
    assert ranges["now"]["acceptsReadings"] is True
    assert any(o["message"] for o in anna["intervals"])
    link = answers[("customer", "de", "document:anna")]["data"]["node"]["downloadUrl"]
    assert link.startswith("/documents/")
    # Another customer's and another organization's rows: nothing, on both engines.
    for label in ("rules:contract:jonas", "rules:contract:other_org", "document:other_org"):
        assert answers[("customer", "de", label)]["data"]["node"] is None, label
    assert answers[("customer", "de", "document:jonas")]["data"]["node"] is None
    assert answers[("other_org_customer", "de", "rules:contract:anna")]["data"]["node"] is None


ANNAS_PROCESS = global_id("Process", demo.demo_id("process:musterstadt:meter-change"))


def _step_id(key: str) -> str:
    return global_id("ProcessStep", demo.demo_id(f"process-step:musterstadt:meter-change:{key}"))


async def test_the_web_portals_queries_answer_alike_on_both_engines_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """Every query the reference portal sends (web/src), as it sends it, for every kind
    of caller asking in German and in English, the contract page on Anna's contract,
    another customer's and another organization's; Anna has a change of her contract
    waiting for approval (ChangeRequest.contract). Plans answer Anna every page but the
    anonymous ones (tests/http/test_front_end_reads.py says why)."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    anna = {"Authorization": f"Bearer {tokens['customer']}"}
    anna_contract = demo.demo_id("contract:musterstadt:V-2023-1000001")
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"approval_required_attributes": ["contract.installment"]}
    )
    await session.flush()
    rules = await executor.post(
        "/graphql",
        json={"query": CONTRACT_PART, "variables": {"id": global_id("Contract", anna_contract)}},
        headers=anna,
    )
    amount = rules.json()["data"]["node"]["rules"]["minAmount"]
    changes = {"id": global_id("Contract", anna_contract), "name": "Anna", "amount": amount}
    changed = await executor.post(
        "/graphql", json={"query": CHANGES, "variables": changes}, headers=anna
    )
    assert changed.json()["data"]["changeInstallment"] == {"__typename": "ChangeRequested"}
    other_org = await _first(
        session,
        sa.select(models.Contract.id).where(models.Contract.organization_id != MUSTERSTADT),
    )
    contracts = {
        "anna": anna_contract,
        "jonas": demo.demo_id("contract:musterstadt:V-2023-1000003"),
        "other_org": other_org,
    }
    requests: list[tuple[str, str, dict[str, Any]]] = []
    for name, query in web_queries().items():
        if name == "Contract":
            requests += [
                (f"Contract:{label}", query, {"id": global_id("Contract", contract)})
                for label, contract in contracts.items()
            ]
        elif name == "Process":
            requests.append((name, query, {"id": ANNAS_PROCESS}))
        elif name == "LoginOptions":
            email = ACCOUNTS["customer"][0] if ACCOUNTS["customer"] else ""
            login = {"portalId": global_id("Portal", CUSTOMER_PORTAL), "email": email}
            requests.append((name, query, {"input": login}))
        elif name == "PublicPortal":
            requests.append(
                (name, query, {"domain": demo.CUSTOMER_PORTAL_DOMAIN, "language": "en"})
            )
        else:
            requests.append((name, query, {}))
    answers, planned_both = await _alike_on_both_engines(
        connection, executor, planned, tokens, requests
    )
    planned_reads = {(caller, label) for caller, _, label in planned_both}
    every_page = {label for label, _, _ in requests} - WEB_EXECUTOR_READS.keys()
    every_page -= {"Contract:jonas", "Contract:other_org"}
    assert {"Processes", "Process"} <= every_page
    assert {("customer", label) for label in every_page} <= planned_reads, planned_reads
    assert ("read_only_customer", "MyData") in planned_reads
    assert ("installer", "Security") in planned_reads
    # Not vacuous: the change waiting for approval names Anna's contract.
    waiting = answers[("customer", "de", "Changes")]["data"]["viewer"]["myChangeRequests"]
    contract = waiting["edges"][0]["node"]["contract"]
    assert contract == {"id": global_id("Contract", anna_contract), "number": "V-2023-1000001"}
    tiles = answers[("customer", "de", "Home")]["data"]["portalHome"]["tiles"]
    links = [d["downloadUrl"] for tile in tiles for d in tile["documents"] or ()]
    assert links, tiles
    assert all(link.startswith("/documents/") for link in links), links
    security = answers[("customer", "en", "Security")]["data"]["viewer"]
    assert [s["current"] for s in security["sessions"]].count(True) == 1
    # Another customer's contract and another organization's: nothing, on both engines.
    for label in ("Contract:jonas", "Contract:other_org"):
        assert answers[("customer", "de", label)]["data"]["node"] is None, label
    # Anna's process (the Processes and Process pages): where it stands, in the steps
    # her portal shares. Another customer, another organization and the installer
    # (whose portal shares no process) are told it is not there, by a plan as by the
    # executor; staff see every step.
    process = answers[("customer", "de", "Process")]["data"]["node"]
    listed = answers[("customer", "de", "Processes")]["data"]["viewer"]["contact"]["processes"]
    assert listed == [process]
    assert process["currentStep"] == {"id": _step_id("meter_exchange")}
    assert _step_id("technical_review") not in {step["id"] for step in process["steps"]}
    for caller in ("read_only_customer", "other_org_customer", "installer"):
        assert answers[(caller, "en", "Process")] == {"data": {"node": None}}, caller
        assert (caller, "Process") in planned_reads, caller
    assert ("read_only_customer", "Processes") in planned_reads
    staff = answers[("admin", "de", "Process")]["data"]["node"]
    assert len(staff["steps"]) == len(process["steps"]) + 1
    assert staff["currentStep"] == process["currentStep"]
    assert ("admin", "Process") in planned_reads


async def _share(session: AsyncSession, portal_id: Any, shared: SharedProcess) -> None:
    """The portal's published settings share meter changes as `shared`."""
    portal = await session.get_one(models.Portal, portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(update={"processes": [shared]})
    await session.flush()


async def test_the_process_pages_answer_alike_on_both_engines_as_portals_share_processes(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """Anna's portal shares meter changes without dates, the installer's with every
    step and dates: the steps' dates are null for Anna only (processes.shows_dates),
    the installer follows the process of the order assigned to their company, staff
    see everything; plans answer each of them as the executor does."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    customer_steps = ["order_received", "appointment_set", "meter_exchange", "final_reading"]
    await _share(
        session,
        CUSTOMER_PORTAL,
        SharedProcess(kind="meter_change", steps=customer_steps, show_dates=False),
    )
    await _share(session, INSTALLER_PORTAL, SharedProcess(kind="meter_change"))
    web = web_queries()
    requests = [
        ("Processes", web["Processes"], {}),
        ("Process", web["Process"], {"id": ANNAS_PROCESS}),
    ]
    callers = {name: tokens[name] for name in ("customer", "installer", "admin")}
    answers, planned_both = await _alike_on_both_engines(
        connection, executor, planned, callers, requests
    )
    for caller in callers:
        assert (caller, "de", "Process") in planned_both, caller
    assert ("customer", "de", "Processes") in planned_both

    def steps(caller: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = answers[(caller, "de", "Process")]["data"]["node"]["steps"]
        return found

    assert [step["id"] for step in steps("customer")] == [_step_id(k) for k in customer_steps]
    assert all(step["plannedFor"] is None and step["doneAt"] is None for step in steps("customer"))
    for caller in ("installer", "admin"):
        assert len(steps(caller)) == 5, caller
        assert steps(caller)[0]["doneAt"] == "2026-11-03T09:00:00+00:00", caller
        assert steps(caller)[3]["plannedFor"] == "2026-12-02", caller
    process = answers[("customer", "de", "Processes")]["data"]["viewer"]["contact"]["processes"]
    assert process[0]["currentStep"] == {"id": _step_id("meter_exchange")}


NODE_OF = "query Node($id: ID!) { node(id: $id) { __typename ... on TYPE { id } } }"


def _node_types_selected(query: str) -> set[str]:
    """The object types implementing Node that a query selects fields of."""
    type_info = TypeInfo(GRAPHQL_SCHEMA)
    found: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            named = get_named_type(type_info.get_type())
            if isinstance(named, GraphQLObjectType) and any(
                interface.name == "Node" for interface in named.interfaces
            ):
                found.add(named.name)

    visit(parse(query), TypeInfoVisitor(type_info, Collect()))
    return found


def _global_ids(answer: Any) -> set[str]:
    """Every relay ID in an answer (the `id` of each object in it)."""
    found: set[str] = set()
    if isinstance(answer, dict):
        if isinstance(answer.get("id"), str):
            found.add(answer["id"])
        for value in answer.values():
            found |= _global_ids(value)
    elif isinstance(answer, list):
        for value in answer:
            found |= _global_ids(value)
    return found


async def test_node_of_every_row_type_the_web_pages_show_is_planned_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    session: AsyncSession,
) -> None:
    """`node(id:)` on an ID of each Node type the reference portal's queries select (as
    Anna, the installer and staff see them): for every kind of caller a plan answers,
    the row or null (not theirs: not found), as the executor does."""
    executor, planned = engines
    tokens = await tokens_of_every_caller(executor, session)
    web = web_queries()
    variables: dict[str, dict[str, Any]] = {
        "Contract": {
            "id": global_id("Contract", demo.demo_id("contract:musterstadt:V-2023-1000001"))
        },
        "Process": {"id": ANNAS_PROCESS},
    }
    selected = set().union(*(_node_types_selected(query) for query in web.values()))
    ids: dict[str, str] = {}
    for caller in ("customer", "installer", "admin"):
        headers = {"Authorization": f"Bearer {tokens[caller]}"}
        for name, query in web.items():
            body = {"query": query, "variables": variables.get(name, {})}
            answer = (await executor.post("/graphql", json=body, headers=headers)).json()
            for node_id in sorted(_global_ids(answer.get("data"))):
                ids.setdefault(relay.GlobalID.from_id(node_id).type_name, node_id)
    assert {"Contract", "Meter", "Document", "Process", "ProcessStep"} <= selected
    assert selected <= ids.keys(), selected - ids.keys()  # a row of each, to ask for
    requests = [
        (name, NODE_OF.replace("TYPE", name), {"id": ids[name]}) for name in sorted(selected)
    ]
    answers, planned_both = await _alike_on_both_engines(
        connection, executor, planned, tokens, requests
    )
    assert set(answers) == planned_both, set(answers) - planned_both
    for type_name in ("Contract", "Process", "ProcessStep"):
        assert answers[("customer", "de", type_name)]["data"]["node"] is not None, type_name
        for caller in ("read_only_customer", "other_org_customer", "anonymous"):
            assert answers[(caller, "de", type_name)]["data"]["node"] is None, (caller, type_name)
