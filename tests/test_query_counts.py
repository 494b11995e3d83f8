"""Structural performance: the number of SQL statements of a nested query depends on the
shape of the query, not on the number of rows it returns (DataLoaders batch every level)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import demo
from tests.conftest import MUSTERSTADT, GraphQLClient, counting_statements

NESTED = """
query Nested($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) {
    totalCount
    edges { node {
      id displayName
      contracts { totalCount edges { node {
        id number
        meters { edges { node {
          id number
          readings(first: 12) { totalCount edges { node { id value readAt } } }
        } } }
      } } }
    } }
  }
}
"""


@pytest.fixture
async def volume(session: AsyncSession) -> str:
    await demo.add_volume_customers(session, MUSTERSTADT, 60, label="Lasttest")
    return "Lasttest"


async def _run(
    gql: GraphQLClient, connection: AsyncConnection, first: int, search: str
) -> tuple[list[str], dict[str, Any]]:
    with counting_statements(connection) as statements:
        data, errors = await gql(NESTED, "admin", first=first, search=search)
    assert errors == []
    assert data is not None
    return statements, data


async def test_nested_query_statements_do_not_grow_with_contacts(
    gql: GraphQLClient, connection: AsyncConnection, volume: str
) -> None:
    few, few_data = await _run(gql, connection, 2, volume)
    many, many_data = await _run(gql, connection, 50, volume)

    edges = many_data["contacts"]["edges"]
    assert len(few_data["contacts"]["edges"]) == 2
    assert len(edges) == 50
    readings = [
        reading
        for contact in edges
        for contract in contact["node"]["contracts"]["edges"]
        for meter in contract["node"]["meters"]["edges"]
        for reading in meter["node"]["readings"]["edges"]
    ]
    assert len(readings) == 50 * 12
    # contacts, their total count, contracts, meters, readings: one statement each.
    assert len(few) == len(many), (few, many)
    assert len(many) == 5, many


async def test_total_count_of_a_last_page_costs_no_statement(
    gql: GraphQLClient, connection: AsyncConnection, volume: str
) -> None:
    """totalCount comes from the page itself when it is the last one (60 contacts of at
    most 100, 12 readings of at most 12)."""
    statements, data = await _run(gql, connection, 100, volume)
    assert data["contacts"]["totalCount"] == 60
    assert len(statements) == 4, statements
    assert not any("count(" in s.lower() for s in statements)


RULES_IN_ADVANCE = """
query Rules($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) { edges { node {
    contracts { edges { node {
      installmentRules { minAmount maxAmount changePossible nextChangeAt needsApproval }
      dueDateRules { changePossible changeableUntil nextChangeOn }
      paymentMethodOptions { method allowed reason nextPossibleAt }
      meters { edges { node {
        registers { readingRange { minimumValue lowestPlausibleValue highestPlausibleValue } }
      } } }
    } } }
  } } }
}
"""


async def test_rules_in_advance_statements_do_not_grow_with_contracts(
    gql: GraphQLClient, connection: AsyncConnection, volume: str
) -> None:
    """The rules read in advance load the portal, the cadence history, the overdue sums,
    the contract periods and the readings once per request, for every contract and
    register of the page."""
    counted = []
    for first in (1, 2, 50):
        with counting_statements(connection) as statements:
            data, errors = await gql(RULES_IN_ADVANCE, "admin", first=first, search=volume)
        assert errors == []
        assert data is not None
        contracts = [
            contract["node"]
            for contact in data["contacts"]["edges"]
            for contract in contact["node"]["contracts"]["edges"]
        ]
        assert len(contracts) == first
        assert all(c["installmentRules"]["changePossible"] for c in contracts)
        ranges = [
            register["readingRange"]
            for contract in contracts
            for meter in contract["meters"]["edges"]
            for register in meter["node"]["registers"]
        ]
        assert len(ranges) >= first
        assert all(r["lowestPlausibleValue"] is not None for r in ranges)
        counted.append(statements)
    assert len(counted[0]) == len(counted[1]) == len(counted[2]), counted
    # contacts, contracts, portals, the contracts' facts (cadence history and overdue
    # sums in one), meters, registers, the registers' meters, contract periods, readings.
    assert len(counted[2]) == 9, counted[2]


LISTS_BOTH_WAYS = """
query Lists($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) { edges { node {
    documents(last: 2, type: [INVOICE]) { edges { node { id } } }
    contracts { edges { node {
      meters(last: 5) { edges { node {
        oldest: readings(last: 2) { totalCount edges { node { id } } }
        registers {
          newest: readings(first: 2) { totalCount edges { cursor } }
          oldest: readings(last: 3) { totalCount edges { cursor } }
        }
      } } }
    } } }
  } } }
}
"""


async def test_register_readings_and_backward_pages_do_not_grow_with_rows(
    gql: GraphQLClient, connection: AsyncConnection, volume: str
) -> None:
    """Readings per register, and the last items of every nested list, cost the same
    statements for 1 or 50 contacts: each level batches its meters or registers."""
    counted = []
    for first in (1, 50):
        with counting_statements(connection) as statements:
            data, errors = await gql(LISTS_BOTH_WAYS, "admin", first=first, search=volume)
        assert errors == []
        assert data is not None
        registers = [
            register
            for contact in data["contacts"]["edges"]
            for contract in contact["node"]["contracts"]["edges"]
            for meter in contract["node"]["meters"]["edges"]
            for register in meter["node"]["registers"]
        ]
        assert len(registers) >= first
        assert all(
            len(r["oldest"]["edges"]) == min(3, r["oldest"]["totalCount"]) for r in registers
        )
        assert any(r["oldest"]["totalCount"] > 3 for r in registers)
        counted.append(statements)
    assert len(counted[0]) == len(counted[1]), counted
    # contacts, documents, contracts, meters, the meters' reading counts and oldest
    # readings, registers, the registers' reading counts (one for both pages), newest
    # and oldest register readings.
    assert len(counted[1]) == 10, counted[1]


BILLING = """
query Billing($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) {
    edges { node {
      billingAccount { balance openAmount nextInstallment { dueDate } items(first: 5) {
        totalCount edges { node { amount } } } }
      contracts { edges { node { meters { edges { node {
        registers { consumption { period value estimated } }
      } } } } } }
    } }
  }
}
"""


async def test_billing_accounts_and_consumption_do_not_grow_with_contacts(
    gql: GraphQLClient, connection: AsyncConnection, volume: str
) -> None:
    counts = []
    for first in (2, 50):
        with counting_statements(connection) as statements:
            data, errors = await gql(BILLING, "admin", first=first, search=volume)
        assert errors == []
        assert data is not None
        edges = data["contacts"]["edges"]
        assert len(edges) == first
        months = [
            month
            for contact in edges
            for contract in contact["node"]["contracts"]["edges"]
            for meter in contract["node"]["meters"]["edges"]
            for register in meter["node"]["registers"]
            for month in register["consumption"]
        ]
        assert months, "the volume customers' readings give consumption"
        counts.append(len(statements))
    # contacts, contracts, payments, meters, registers, the registers' meters, consumption.
    assert counts[0] == counts[1] == 7, counts


COSTS = """
query Costs($first: Int!, $search: Line!) {
  contacts(first: $first, search: $search) {
    edges { node { contracts { edges { node {
      prices { validFrom workingPrice }
      costs { periodStart consumption net gross estimated registers { obisCode net } }
    } } } } }
  }
}
"""


async def test_costs_are_one_statement_for_every_contract(
    gql: GraphQLClient, connection: AsyncConnection, volume: str
) -> None:
    counts = []
    for first in (2, 50):
        with counting_statements(connection) as statements:
            data, errors = await gql(COSTS, "admin", first=first, search=volume)
        assert errors == []
        assert data is not None
        periods = [
            period
            for contact in data["contacts"]["edges"]
            for contract in contact["node"]["contracts"]["edges"]
            for period in contract["node"]["costs"]
        ]
        assert len(periods) > first, "the volume contracts have costs"
        assert all(period["gross"] is not None for period in periods), "priced from the start"
        costs = [s for s in statements if "meter_reading" in s and "contract_price" in s]
        assert len(costs) == 1, statements
        counts.append(len(statements))
    # contacts, contracts, prices, costs.
    assert counts[0] == counts[1] == 4, counts
