"""Contract prices and costs through GraphQL (ECP getPrices, getCosts) on the demo
world: Anna reads her prices and costs, staff set and remove prices (audited, refusals
naming the field in de and en); another customer, another organization and the
installer get nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from gql import messages
from tests.conftest import ROOT, GraphQLClient, global_id

HEAT_PUMP = demo.demo_id("contract:musterstadt:V-2024-2000001")
POWER = demo.demo_id("contract:musterstadt:V-2023-1000001")
HEAT_PUMP_ID = global_id("Contract", HEAT_PUMP)
POWER_ID = global_id("Contract", POWER)

READ = """
query($id: ID!) { node(id: $id) { ... on Contract {
  prices { id validFrom validUntil obisCode workingPrice basePricePerYear vatRate
           workingPriceGross basePricePerYearGross unit }
  ht14: price(on: "2026-07-14", obisCode: "1.8.1") { workingPrice }
  ht15: price(on: "2026-07-15", obisCode: "1.8.1") { workingPrice }
  general: price(on: "2026-07-15") { workingPrice }
  costs(interval: MONTH, from: "2026-07-01", to: "2026-07-31") {
    periodStart periodEnd consumption unit estimated priced workingPriceNet basePriceNet
    net vat gross registers { obisCode consumption unit estimated net }
  }
  meters { edges { node { registers { obisCode
    consumption(interval: MONTH, from: "2026-07-01", to: "2026-07-31") { value }
  } } } }
} } }
"""

SET = """mutation($input: SetContractPriceInput!) { setContractPrice(input: $input) {
  __typename
  ... on ContractPriceSet { price { id validFrom obisCode workingPrice contract { id } } }
  ... on MutationError { code field message parameters { name value } }
} }"""
REMOVE = """mutation($input: RemoveContractPriceInput!) { removeContractPrice(input: $input) {
  __typename
  ... on ContractPriceRemoved { contract { prices { validFrom validUntil } } }
  ... on MutationError { code field }
} }"""


async def _contract(gql: GraphQLClient, actor: str, contract_id: str = HEAT_PUMP_ID) -> Any:
    data, errors = await gql(READ, actor, id=contract_id)
    assert errors == [], errors
    assert data is not None
    return data["node"]


async def test_anna_reads_her_heat_pump_prices_and_costs(gql: GraphQLClient) -> None:
    contract = await _contract(gql, "customer")

    prices = contract["prices"]
    assert [(p["validFrom"], p["obisCode"], p["validUntil"]) for p in prices] == [
        ("2024-10-01", "1.8.1", "2026-07-14"),
        ("2024-10-01", "1.8.2", "2026-07-14"),
        ("2026-07-15", "1.8.1", None),
        ("2026-07-15", "1.8.2", None),
    ]
    first = prices[0]
    assert (first["workingPrice"], first["vatRate"], first["unit"]) == ("0.315000", "19.00", "kWh")
    assert (first["workingPriceGross"], first["basePricePerYearGross"]) == ("0.374850", "142.80")
    assert (contract["ht14"], contract["ht15"]) == (
        {"workingPrice": "0.315000"},
        {"workingPrice": "0.329000"},
    )
    assert contract["general"] is None  # HT and NT have prices, all registers none

    [july] = contract["costs"]
    assert (july["periodStart"], july["periodEnd"], july["unit"]) == (
        "2026-07-01",
        "2026-07-31",
        "kWh",
    )
    assert july["priced"]
    assert not july["estimated"]
    # The consumption is the registers' consumption of July.
    consumed = {
        register["obisCode"]: Decimal(register["consumption"][0]["value"])
        for meter in contract["meters"]["edges"]
        for register in meter["node"]["registers"]
    }
    lines = {line["obisCode"]: line for line in july["registers"]}
    assert {code: Decimal(line["consumption"]) for code, line in lines.items()} == consumed
    assert Decimal(july["consumption"]) == sum(consumed.values())
    # The price changed on 15 July: each register's July lies between its two prices.
    for code, (old, new) in {"1.8.1": ("0.315", "0.329"), "1.8.2": ("0.245", "0.259")}.items():
        net, used = Decimal(lines[code]["net"]), consumed[code]
        assert used * Decimal(old) < net < used * Decimal(new)
    # 14 days at 120 EUR a year and 17 at 132: 3924 / 365 EUR.
    assert july["basePriceNet"] == "10.75"
    working, base = Decimal(july["workingPriceNet"]), Decimal(july["basePriceNet"])
    assert Decimal(july["net"]) == working + base
    assert abs(sum(Decimal(line["net"]) for line in lines.values()) - working) <= Decimal("0.01")
    assert abs(Decimal(july["vat"]) - Decimal(july["net"]) * Decimal("0.19")) <= Decimal("0.01")
    assert Decimal(july["gross"]) == Decimal(july["net"]) + Decimal(july["vat"])


async def test_a_year_of_costs_sums_its_months(gql: GraphQLClient) -> None:
    query = """query($id: ID!) { node(id: $id) { ... on Contract {
      months: costs(from: "2026-01-01", to: "2026-12-31") { net workingPriceNet basePriceNet }
      years: costs(interval: YEAR, from: "2026-01-01", to: "2026-12-31") {
        periodStart periodEnd net workingPriceNet basePriceNet }
    } } }"""
    data, errors = await gql(query, "customer", id=POWER_ID)
    assert errors == []
    assert data is not None
    months, [year] = data["node"]["months"], data["node"]["years"]
    assert (year["periodStart"], year["periodEnd"]) == ("2026-01-01", "2026-12-31")
    for part in ("workingPriceNet", "basePriceNet"):
        summed = sum(Decimal(month[part]) for month in months)
        # Each month is rounded on its own.
        assert abs(summed - Decimal(year[part])) <= Decimal("0.01") * len(months)


@pytest.mark.parametrize("attacker", ["other_customer", "other_org_customer", "other_admin"])
async def test_others_get_nothing_of_annas_prices_and_costs(
    gql: GraphQLClient, session: AsyncSession, attacker: str
) -> None:
    price = await session.scalar(
        sa.select(models.ContractPrice.id).where(models.ContractPrice.contract_id == HEAT_PUMP)
    )
    assert price is not None
    data, errors = await gql(
        "query($id: ID!, $price: ID!) { node(id: $id) { ... on Contract { prices { id } costs {"
        " net } } } price: node(id: $price) { ... on ContractPrice { workingPrice } } }",
        attacker,
        id=HEAT_PUMP_ID,
        price=global_id("ContractPrice", price),
    )
    assert errors == []
    assert data == {"node": None, "price": None}


async def test_the_installer_sees_no_contract_and_no_price(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    price = await session.scalar(
        sa.select(models.ContractPrice.id).where(models.ContractPrice.contract_id == POWER)
    )
    assert price is not None
    data, errors = await gql(
        "query($id: ID!) { node(id: $id) { __typename } }",
        "installer",
        id=global_id("ContractPrice", price),
    )
    assert errors == []
    assert data == {"node": None}


def _input(**over: Any) -> dict[str, Any]:
    return {
        "contractId": POWER_ID,
        "validFrom": "2027-01-01",
        "workingPrice": "0.359",
        "basePricePerYear": "170.00",
        "vatRate": "19.00",
        **over,
    }


@pytest.mark.parametrize("actor", ["admin", "agent"])
async def test_staff_set_a_price_and_the_one_before_ends(
    gql: GraphQLClient, session: AsyncSession, actor: str
) -> None:
    data, errors = await gql(SET, actor, input=_input())
    assert errors == []
    assert data is not None
    answer = data["setContractPrice"]
    assert answer["__typename"] == "ContractPriceSet", answer
    assert answer["price"]["workingPrice"] == "0.359000"
    assert answer["price"]["contract"]["id"] == POWER_ID

    contract = await _contract(gql, "customer", POWER_ID)
    assert [(p["validFrom"], p["validUntil"]) for p in contract["prices"]][-2:] == [
        ("2026-07-01", "2026-12-31"),
        ("2027-01-01", None),
    ]
    event = models.AuditEvent
    actions = await session.scalars(
        sa.select(event.action).where(event.entity_type == "contract_price")
    )
    assert list(actions) == ["contract_price.set"]


@pytest.mark.parametrize("actor", ["customer", "installer", "anonymous"])
async def test_only_staff_set_prices(gql: GraphQLClient, actor: str) -> None:
    data, errors = await gql(SET, actor, input=_input())
    assert data == {"setContractPrice": None}
    assert [(e.extensions or {}).get("code") for e in errors] in (
        ["FORBIDDEN"],
        ["UNAUTHENTICATED"],
    )


async def test_another_organization_finds_no_contract_to_price(gql: GraphQLClient) -> None:
    data, errors = await gql(SET, "other_admin", input=_input())
    assert errors == []
    assert data is not None
    refused = data["setContractPrice"]
    assert (refused["code"], refused["field"]) == ("NOT_FOUND", "contractId")


@pytest.mark.parametrize(
    ("over", "field", "key", "parameters"),
    [
        (
            {"workingPrice": "-0.1"},
            "workingPrice",
            "price_out_of_range",
            {"allowedMin": "0", "allowedMax": "100"},
        ),
        (
            {"basePricePerYear": "120.001"},
            "basePricePerYear",
            "price_too_many_decimals",
            {"decimals": "2"},
        ),
        (
            {"vatRate": "119"},
            "vatRate",
            "price_out_of_range",
            {"allowedMin": "0", "allowedMax": "100"},
        ),
    ],
)
async def test_a_bad_amount_is_refused_naming_its_field_in_both_languages(
    gql: GraphQLClient, over: dict[str, str], field: str, key: str, parameters: dict[str, str]
) -> None:
    data, errors = await gql(SET, "admin", input=_input(**over))
    assert errors == []
    assert data is not None
    refused = data["setContractPrice"]
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", field)
    assert {p["name"]: p["value"] for p in refused["parameters"]} == parameters
    values = {name: Decimal(value) for name, value in parameters.items()}
    german = messages.message("INVALID_INPUT", "de", values, "", key)
    english = messages.message("INVALID_INPUT", "en", values, "", key)
    assert refused["message"] == german  # staff without Accept-Language: German
    assert german != english
    assert english


async def test_a_register_the_contract_lacks_is_refused_with_its_registers(
    gql: GraphQLClient,
) -> None:
    data, errors = await gql(SET, "admin", input=_input(obisCode="1.8.2"))
    assert errors == []
    assert data is not None
    refused = data["setContractPrice"]
    assert (refused["code"], refused["field"]) == ("REGISTER_UNKNOWN", "obisCode")
    assert refused["parameters"] == [{"name": "registers", "value": "1.8.0"}]


async def test_staff_remove_a_price_and_the_one_before_holds_on(
    gql: GraphQLClient, session: AsyncSession
) -> None:
    price = await session.scalar(
        sa.select(models.ContractPrice.id).where(
            models.ContractPrice.contract_id == POWER,
            models.ContractPrice.valid_from == demo.PRICE_CHANGE,
        )
    )
    assert price is not None
    price_id = global_id("ContractPrice", price)

    for actor in ("other_admin",):
        data, errors = await gql(REMOVE, actor, input={"priceId": price_id})
        assert errors == []
        assert data is not None
        assert data["removeContractPrice"] == {
            "__typename": "MutationError",
            "code": "NOT_FOUND",
            "field": "priceId",
        }
    data, errors = await gql(REMOVE, "customer", input={"priceId": price_id})
    assert data == {"removeContractPrice": None}
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]

    data, errors = await gql(REMOVE, "agent", input={"priceId": price_id})
    assert errors == []
    assert data is not None
    answer = data["removeContractPrice"]
    assert answer["__typename"] == "ContractPriceRemoved"
    assert [p["validUntil"] for p in answer["contract"]["prices"]] == [None]
    event = models.AuditEvent
    removed = await session.scalar(
        sa.select(event).where(event.action == "contract_price.removed", event.entity_id == price)
    )
    assert removed is not None
    assert removed.data["from"]["working_price"] == "0.349000"


async def test_the_documented_query_shows_annas_costs(gql: GraphQLClient) -> None:
    text = (ROOT / "docs" / "features.md").read_text()
    query = text[text.index("query AnnasCosts") :].split("```")[0]
    data, errors = await gql(query, "customer")
    assert errors == []
    assert data is not None
    contracts = {
        edge["node"]["number"]: edge["node"] for edge in data["viewer"]["contracts"]["edges"]
    }
    assert set(contracts) == {"V-2023-1000001", "V-2023-1000002", "V-2024-2000001"}
    for contract in contracts.values():
        assert contract["prices"]
        assert all(period["gross"] is not None for period in contract["costs"])
    gas = contracts["V-2023-1000002"]
    assert {price["unit"] for price in gas["prices"]} == {"m3"}
