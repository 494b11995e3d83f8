"""The lists a customer's front end shows: readings per register, paging backwards as
well as forwards (Relay), and filters on values of fields the caller may read."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from db import demo
from db.models.enums import Grant
from gql.schema.pagination import encode_cursor
from tests.conftest import ACTORS, GraphQLClient, contact_id, global_id

HEAT_PUMP_METER = "1WPZ2000001"  # Anna's two-tariff meter in the demo (db/demo.py)

REGISTER_READINGS = """
query($first: Int) { viewer { meters(first: 100) { edges { node {
  number
  readings(first: 100) { edges { node { id register { obisCode } } } }
  registers { obisCode readings(first: $first) {
    totalCount pageInfo { hasNextPage }
    edges { node { id readAt register { obisCode } } }
  } }
} } } } }
"""

STAFF_REGISTER_READINGS = """
query($id: ID!) { node(id: $id) { ... on Meter { number registers { obisCode readings(first: 3) {
  edges { node { register { obisCode } } }
} } } } }
"""


def _meters(data: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    assert data is not None
    return {e["node"]["number"]: e["node"] for e in data["viewer"]["meters"]["edges"]}


async def test_register_readings_of_a_two_tariff_meter_are_the_registers_own(
    gql: GraphQLClient,
) -> None:
    data, errors = await gql(REGISTER_READINGS, "customer", first=3)
    assert errors == []
    meter = _meters(data)[HEAT_PUMP_METER]
    registers = {r["obisCode"]: r["readings"] for r in meter["registers"]}
    assert set(registers) == {"1.8.1", "1.8.2"}
    for obis, page in registers.items():
        edges = page["edges"]
        assert [e["node"]["register"]["obisCode"] for e in edges] == [obis] * 3
        read_at = [e["node"]["readAt"] for e in edges]
        assert read_at == sorted(read_at, reverse=True)  # newest first
        assert (page["totalCount"], page["pageInfo"]["hasNextPage"]) == (12, True)
    # The meter's readings mix both registers; the registers' together are all of them.
    mixed = {e["node"]["register"]["obisCode"] for e in meter["readings"]["edges"][:3]}
    assert mixed == {"1.8.1", "1.8.2"}
    data, errors = await gql(REGISTER_READINGS, "customer", first=100)
    assert errors == []
    meter = _meters(data)[HEAT_PUMP_METER]
    by_register = {e["node"]["id"] for r in meter["registers"] for e in r["readings"]["edges"]}
    assert by_register == {e["node"]["id"] for e in meter["readings"]["edges"]}


async def test_register_readings_for_staff_too(gql: GraphQLClient) -> None:
    meter = global_id("Meter", demo.demo_id("meter:musterstadt:V-2024-2000001"))
    data, errors = await gql(STAFF_REGISTER_READINGS, "agent", id=meter)
    assert errors == []
    assert data is not None
    registers = data["node"]["registers"]
    assert data["node"]["number"] == HEAT_PUMP_METER
    assert len(registers) == 2
    for register in registers:
        shown = [e["node"]["register"]["obisCode"] for e in register["readings"]["edges"]]
        assert shown == [register["obisCode"]] * 3


PAGE = "first: $first, after: $after, last: $last, before: $before"
ITEMS = (
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } }"
)
VARIABLES = "$first: Int, $after: Cursor, $last: Int, $before: Cursor"

# Every customer-facing list: (query, path to the connection, meter to pick if any).
LISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "viewer.contracts": (
        f"query({VARIABLES}) {{ viewer {{ contracts({PAGE}) {{ {ITEMS} }} }} }}",
        ("viewer", "contracts"),
    ),
    "viewer.meters": (
        f"query({VARIABLES}) {{ viewer {{ meters({PAGE}) {{ {ITEMS} }} }} }}",
        ("viewer", "meters"),
    ),
    "viewer.orders": (
        f"query({VARIABLES}) {{ viewer {{ orders({PAGE}) {{ {ITEMS} }} }} }}",
        ("viewer", "orders"),
    ),
    "viewer.contact.documents": (
        f"query({VARIABLES}) {{ viewer {{ contact {{ documents({PAGE}) {{ {ITEMS} }} }} }} }}",
        ("viewer", "contact", "documents"),
    ),
    "viewer.contact.contracts": (
        f"query({VARIABLES}) {{ viewer {{ contact {{ contracts({PAGE}) {{ {ITEMS} }} }} }} }}",
        ("viewer", "contact", "contracts"),
    ),
    "Meter.readings": (
        f"query({VARIABLES}) {{ viewer {{ meters(first: 100) {{ edges {{ node {{ number"
        f" readings({PAGE}) {{ {ITEMS} }} }} }} }} }} }}",
        ("viewer", "meters", HEAT_PUMP_METER, "readings"),
    ),
    "MeterRegister.readings": (
        f"query({VARIABLES}) {{ viewer {{ meters(first: 100) {{ edges {{ node {{ number"
        f" registers {{ readings({PAGE}) {{ {ITEMS} }} }} }} }} }} }} }}",
        ("viewer", "meters", HEAT_PUMP_METER, "registers", "0", "readings"),
    ),
}


def _at(data: Any, path: tuple[str, ...]) -> dict[str, Any]:
    for step in path:
        if isinstance(data, dict) and "edges" in data and not step.isdigit():
            data = next(e["node"] for e in data["edges"] if e["node"]["number"] == step)
        elif isinstance(data, list):
            data = data[int(step)]
        else:
            data = data[step]
    assert isinstance(data, dict)
    return data


async def _page(gql: GraphQLClient, name: str, actor: str, **page: Any) -> dict[str, Any]:
    query, path = LISTS[name]
    data, errors = await gql(query, actor, **page)
    assert errors == [], errors
    return _at(data, path)


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_paging_backwards_gives_the_forward_pages_in_reverse(
    gql: GraphQLClient, name: str
) -> None:
    whole = await _page(gql, name, "customer", first=100)
    items = [(e["cursor"], e["node"]["id"]) for e in whole["edges"]]
    assert items, f"the demo customer has no {name}"
    for size in range(1, len(items) + 2):
        forward: list[tuple[str, str]] = []
        after = None
        while True:
            page = await _page(gql, name, "customer", first=size, after=after)
            info = page["pageInfo"]
            assert info["hasPreviousPage"] is (after is not None)
            forward += [(e["cursor"], e["node"]["id"]) for e in page["edges"]]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]
        backward: list[tuple[str, str]] = []
        before = None
        while True:
            page = await _page(gql, name, "customer", last=size, before=before)
            info = page["pageInfo"]
            shown = [(e["cursor"], e["node"]["id"]) for e in page["edges"]]
            assert 0 < len(shown) <= size
            assert info["hasNextPage"] is (before is not None)
            assert (info["startCursor"], info["endCursor"]) == (shown[0][0], shown[-1][0])
            backward = shown + backward
            if not info["hasPreviousPage"]:
                break
            before = info["startCursor"]
        # The same items with the same cursors, whichever way and however many at a time.
        assert forward == items, size
        assert backward == items, size
    # Before the first item nothing precedes; the last items end where the list ends.
    first_cursor, last_cursor = items[0][0], items[-1][0]
    empty = await _page(gql, name, "customer", last=5, before=first_cursor)
    assert (empty["edges"], empty["pageInfo"]["hasPreviousPage"]) == ([], False)
    assert empty["pageInfo"]["hasNextPage"] is True
    tail = await _page(gql, name, "customer", last=1)
    assert [e["cursor"] for e in tail["edges"]] == [last_cursor]
    assert tail["pageInfo"]["hasNextPage"] is False
    # A `before` beyond the end (the list shrank since) ends the page where the list does.
    stale = await _page(gql, name, "customer", last=2, before=encode_cursor(len(items) + 3))
    assert [(e["cursor"], e["node"]["id"]) for e in stale["edges"]] == items[-2:]
    assert stale["pageInfo"]["hasNextPage"] is False
    between = await _page(gql, name, "customer", after=first_cursor, before=last_cursor)
    assert [(e["cursor"], e["node"]["id"]) for e in between["edges"]] == items[1:-1][-20:]


@pytest.mark.parametrize("name", sorted(LISTS))
async def test_first_with_last_is_refused(gql: GraphQLClient, name: str) -> None:
    query, _ = LISTS[name]
    _data, errors = await gql(query, "customer", first=1, last=1)
    # One error per list asked for (the readings of every meter).
    assert {(e.extensions or {}).get("code") for e in errors} == {"BAD_USER_INPUT"}
    assert "`first` or `last`" in errors[0].message


@pytest.mark.parametrize("page", [{"last": -1}, {"last": 101}, {"before": "bm9wZQ=="}])
async def test_a_wrong_backward_page_is_refused(gql: GraphQLClient, page: dict[str, Any]) -> None:
    query, _ = LISTS["viewer.contracts"]
    _, errors = await gql(query, "customer", **page)
    assert [(e.extensions or {}).get("code") for e in errors] == ["BAD_USER_INPUT"]


CONTRACTS = """
query($status: [ContractStatus!], $search: Line) { viewer { contracts(
  status: $status, search: $search, first: 100
) { totalCount edges { node { id number status tariffName contractAccountNumber } } } } }
"""
ORDERS = """
query($status: [OrderStatus!]) { viewer { orders(status: $status, first: 100) {
  totalCount edges { node { id status } } } } }
"""
DOCUMENTS = """
query($type: [DocumentType!], $contractId: ID) { viewer { contact { documents(
  type: $type, contractId: $contractId, first: 100
) { totalCount edges { node { id type contract { id } } } } } } }
"""


async def test_contract_filters_match_the_values_the_customer_reads(
    gql: GraphQLClient,
) -> None:
    data, errors = await gql(CONTRACTS, "customer")
    assert errors == []
    assert data is not None
    every = [e["node"] for e in data["viewer"]["contracts"]["edges"]]
    assert len(every) >= 2
    for status in {c["status"] for c in every} | {"TERMINATED"}:
        data, errors = await gql(CONTRACTS, "customer", status=[status])
        assert errors == []
        assert data is not None
        found = [e["node"]["id"] for e in data["viewer"]["contracts"]["edges"]]
        assert found == [c["id"] for c in every if c["status"] == status]
        assert data["viewer"]["contracts"]["totalCount"] == len(found)
    searched = ("number", "tariffName", "contractAccountNumber")
    for contract in every:
        for field in searched:
            # A part, in other case (ASCII only: the database's ILIKE folds no umlauts).
            text = "".join(c.lower() if c.isascii() else c for c in contract[field][2:-1])
            data, errors = await gql(CONTRACTS, "customer", search=text)
            assert errors == []
            assert data is not None
            found = [e["node"]["id"] for e in data["viewer"]["contracts"]["edges"]]
            assert found == [
                c["id"] for c in every if any(text.lower() in c[f].lower() for f in searched)
            ]
    data, errors = await gql(CONTRACTS, "customer", search="%")
    assert errors == []
    assert data is not None
    assert data["viewer"]["contracts"]["edges"] == []


async def test_order_and_document_filters_match_the_values_the_customer_reads(
    gql: GraphQLClient,
) -> None:
    data, errors = await gql(ORDERS, "customer")
    assert errors == []
    assert data is not None
    orders = [e["node"] for e in data["viewer"]["orders"]["edges"]]
    assert orders
    for status in {o["status"] for o in orders}:
        data, errors = await gql(ORDERS, "customer", status=[status])
        assert errors == []
        assert data is not None
        found = [e["node"]["id"] for e in data["viewer"]["orders"]["edges"]]
        assert found == [o["id"] for o in orders if o["status"] == status]
    data, errors = await gql(DOCUMENTS, "customer")
    assert errors == []
    assert data is not None
    documents = [e["node"] for e in data["viewer"]["contact"]["documents"]["edges"]]
    assert documents
    for kind in {d["type"] for d in documents}:
        data, errors = await gql(DOCUMENTS, "customer", type=[kind])
        assert errors == []
        assert data is not None
        found = [e["node"]["id"] for e in data["viewer"]["contact"]["documents"]["edges"]]
        assert found == [d["id"] for d in documents if d["type"] == kind]
    contracts = {d["contract"]["id"] for d in documents if d["contract"]}
    assert contracts
    for contract in contracts:
        data, errors = await gql(DOCUMENTS, "customer", contractId=contract)
        assert errors == []
        assert data is not None
        found = [e["node"]["id"] for e in data["viewer"]["contact"]["documents"]["edges"]]
        expected = [d["id"] for d in documents if (d["contract"] or {}).get("id") == contract]
        assert found == expected


STAFF_DOCUMENTS = """
query($id: ID!, $type: [DocumentType!], $contractId: ID) { contact(id: $id) { documents(
  type: $type, contractId: $contractId, first: 100
) { edges { node { id type contract { id } } } } } }
"""


async def test_document_filters_for_staff_match_the_customers_view(gql: GraphQLClient) -> None:
    anna = global_id("Contact", contact_id("musterstadt", "c00"))
    customer, _ = await gql(DOCUMENTS, "customer", type=["INVOICE"])
    staff, errors = await gql(STAFF_DOCUMENTS, "agent", id=anna, type=["INVOICE"])
    assert errors == []
    assert customer is not None
    assert staff is not None
    ids = [e["node"]["id"] for e in staff["contact"]["documents"]["edges"]]
    assert ids
    assert ids == [e["node"]["id"] for e in customer["viewer"]["contact"]["documents"]["edges"]]


async def test_a_filter_by_a_field_the_customer_may_not_read_is_refused(
    gql: GraphQLClient,
) -> None:
    """Without the contract grant the documents' contract is hidden, so filtering by it
    is refused; the kind, which the customer reads, still filters."""
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.CONTRACT_READ})
    contract = global_id("Contract", demo.demo_id("contract:musterstadt:V-2023-1000001"))
    data, errors = await gql(DOCUMENTS, without, contractId=contract)
    assert data == {"viewer": {"contact": {"documents": None}}}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    assert (errors[0].extensions or {})["argument"] == "Contact.documents.contractId"
    data, errors = await gql(
        "query($t: [DocumentType!]) { viewer { contact { documents(type: $t) { totalCount } } } }",
        without,
        t=["INVOICE"],
    )
    assert errors == []
    assert data is not None
    assert data["viewer"]["contact"]["documents"]["totalCount"] > 0
