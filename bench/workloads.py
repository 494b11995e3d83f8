"""What the benchmark sends: the customer dashboard as our GraphQL query, as
PostGraphile's and as the floor's URL; portalHome, login and submitMeterReading; the
request files wrk picks a random line of; and the checks that all three servers answer
the dashboard with the same data (2 contracts x 2 meters x 3 readings)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench import dataset

DASHBOARD = (
    "{ viewer { contact { displayName } contracts { edges { node { number"
    " meters { edges { node { number readings(first: 3) { edges { node { value readAt } } }"
    " } } } } } } } }"
)
POSTGRAPHILE_DASHBOARD = (
    "query($id: UUID!) { contactById(id: $id) { firstName lastName"
    " contractsByContactId(orderBy: NUMBER_ASC) { nodes { number"
    " metersByContractId(orderBy: NUMBER_ASC) { nodes { number"
    " meterReadingsByMeterId(first: 3, orderBy: READ_AT_DESC) { nodes { value readAt } }"
    " } } } } } }"
)
PORTAL_HOME = (
    "{ portalHome { language tiles { id kind position title text buttonLabel url journeyId"
    " imageUrl linkUrl entity limit contracts { number tariffName } meters { number unit }"
    " documents { name createdAt } payments { amount dueDate } } } }"
)
LOGIN = (
    "mutation($i: LoginInput!) { login(input: $i) { __typename"
    " ... on LoggedIn { accessToken } ... on LoginError { code } } }"
)

# Normalised dashboard: (name, ((contract, ((meter, ((value, readAt), ...)), ...)), ...))
Readings = tuple[tuple[Decimal, datetime], ...]
Dashboard = tuple[str, tuple[tuple[str, tuple[tuple[str, Readings], ...]], ...]]


def login_body(contact: int) -> dict[str, Any]:
    credentials = {
        "email": dataset.email(contact),
        "password": dataset.PASSWORD,
        "portalId": dataset.PORTAL_GLOBAL_ID,
    }
    return {"query": LOGIN, "variables": {"i": credentials}}


def graphql_body(query: str, **variables: object) -> dict[str, Any]:
    return {"query": query, "variables": variables} if variables else {"query": query}


# --- Logins ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tokens:
    """Access tokens of logged-in bench customers, by contact ordinal."""

    by_contact: dict[int, str]
    logged_in_at: float  # time.monotonic()
    seconds: float  # how long the logins took
    concurrency: int

    @property
    def rate(self) -> float:
        return len(self.by_contact) / self.seconds


async def log_in(base_url: str, contacts: Iterable[int], concurrency: int) -> Tokens:
    """Log each contact in through the real `login` mutation, `concurrency` at a time."""
    semaphore = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one(contact: int) -> tuple[int, str]:
            async with semaphore:
                response = await client.post("/graphql", json=login_body(contact))
            result = response.json()["data"]["login"]
            if result["__typename"] != "LoggedIn":
                raise RuntimeError(f"login of {dataset.email(contact)} refused: {result}")
            return contact, str(result["accessToken"])

        started = time.monotonic()
        pairs = await asyncio.gather(*(one(contact) for contact in contacts))
        elapsed = time.monotonic() - started
    return Tokens(dict(pairs), started, elapsed, concurrency)


# --- Request files for wrk_bench.lua --------------------------------------------------


def _line(method: str, path: str, authorization: str = "", body: object = None) -> str:
    text = "" if body is None else json.dumps(body, separators=(",", ":"))
    return "\t".join((method, path, authorization, text))


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def ours_lines(tokens: Tokens, query: str) -> list[str]:
    return [
        _line("POST", "/graphql", f"Bearer {token}", graphql_body(query))
        for token in tokens.by_contact.values()
    ]


def postgraphile_lines(contacts: Iterable[int]) -> list[str]:
    return [
        _line("POST", "/graphql", "", graphql_body(POSTGRAPHILE_DASHBOARD, id=str(contact_id)))
        for contact_id in (dataset.bench_id("contact", c) for c in contacts)
    ]


def floor_lines(contacts: Iterable[int]) -> list[str]:
    return [_line("GET", f"/dashboard/{dataset.bench_id('contact', c)}") for c in contacts]


def login_lines(contacts: Iterable[int]) -> list[str]:
    return [_line("POST", "/graphql", "", login_body(contact)) for contact in contacts]


def submit_lines(tokens: Tokens, shape: dataset.Shape) -> list[str]:
    """One line per meter of each logged-in customer: token, meter, its line."""
    origin = int(dataset.LINE_ORIGIN.timestamp())
    return [
        "\t".join(
            (
                f"Bearer {token}",
                line.meter_global_id,
                str(line.base),
                str(line.per_day),
                str(origin),
            )
        )
        for contact, token in tokens.by_contact.items()
        for line in (dataset.MeterLine(ordinal) for ordinal in shape.meters_of(contact))
    ]


# --- The same dashboard from every server ---------------------------------------------


def _readings(nodes: Iterable[dict[str, Any]]) -> Readings:
    return tuple(
        (Decimal(str(node["value"])), datetime.fromisoformat(node["readAt"])) for node in nodes
    )


def ours_dashboard(body: dict[str, Any]) -> Dashboard:
    if body.get("errors"):
        raise RuntimeError(f"our dashboard answered errors: {body['errors']}")
    viewer = body["data"]["viewer"]
    return (
        viewer["contact"]["displayName"],
        tuple(
            (
                contract["node"]["number"],
                tuple(
                    (
                        meter["node"]["number"],
                        _readings(
                            reading["node"] for reading in meter["node"]["readings"]["edges"]
                        ),
                    )
                    for meter in contract["node"]["meters"]["edges"]
                ),
            )
            for contract in viewer["contracts"]["edges"]
        ),
    )


def postgraphile_dashboard(body: dict[str, Any]) -> Dashboard:
    if body.get("errors"):
        raise RuntimeError(f"PostGraphile answered errors: {body['errors']}")
    contact = body["data"]["contactById"]
    return (
        f"{contact['firstName']} {contact['lastName']}",
        tuple(
            (
                contract["number"],
                tuple(
                    (meter["number"], _readings(meter["meterReadingsByMeterId"]["nodes"]))
                    for meter in contract["metersByContractId"]["nodes"]
                ),
            )
            for contract in contact["contractsByContactId"]["nodes"]
        ),
    )


def floor_dashboard(body: dict[str, Any]) -> Dashboard:
    return (
        body["displayName"],
        tuple(
            (
                contract["number"],
                tuple(
                    (meter["number"], _readings(meter["readings"])) for meter in contract["meters"]
                ),
            )
            for contract in body["contracts"]
        ),
    )


def shape_problem(dashboard: Dashboard, shape: dataset.Shape, readings: int) -> str | None:
    """What a customer must see: every contract, every meter, the newest readings."""
    contracts = dashboard[1]
    found = (
        len(contracts),
        {len(meters) for _, meters in contracts},
        {len(values) for _, meters in contracts for _, values in meters},
    )
    wanted = (shape.contracts_per_contact, {shape.meters_per_contract}, {readings})
    if found == wanted:
        return None
    return f"(contracts, meters per contract, readings per meter) = {found}, expected {wanted}"
