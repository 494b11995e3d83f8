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
from gql.query_plans import _declared, _plain_attribute
from gql.schema import schema
from gql.schema.pagination import encode_cursor
from tests.conftest import global_id
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
    return _declared(field) is not None or (_plain_attribute(field) is not None and not field.args)


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
    assert "downloadUrl" not in sdl  # signed per request: the executor's


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
