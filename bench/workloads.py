"""What the benchmark sends: the customer dashboard, a contract page and the staff lists
of portal users and of contacts (with their contracts, meters and readings) as our
GraphQL query, as PostGraphile's and as the floor's URL; portalHome, login,
submitMeterReading and changeInstallment (ours alone: PostGraphile has neither the
tiles nor the rules); the request files wrk picks a random line of; and the checks that
all three servers answer the dashboard with the same data (2 contracts x 2 meters x 3
readings)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from strawberry import relay

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
# The contract page: the contract with its installment and the range a change may
# take, meters with registers and each register's last reading, payments, the
# contract's documents, open offers and change requests.
CONTRACT = """query Contract($id: ID!) {
  node(id: $id) { ... on Contract {
    id number tariffName commodity status startDate installmentAmount dueDay paymentMethod
    ibanMasked balance
    installmentRules { minAmount maxAmount changePossible nextChangeAt needsApproval }
    meters { edges { node { id number unit registers { obisCode name
      readings(first: 1) { edges { node { value readAt } } } } } } }
    payments(first: 5) { edges { node { amount dueDate status } } }
  } }
  viewer {
    contact { documents(first: 5, contractId: $id) { edges { node { name type createdAt } } } }
    orders(first: 5, status: [OFFER]) { edges { node { number title status totalAmount } } }
    myChangeRequests(first: 5) { edges { node { attribute status createdAt } } }
  }
}"""
POSTGRAPHILE_CONTRACT = """query($id: UUID!) { contractById(id: $id) {
  id number tariffName commodity status startDate installmentAmount dueDay paymentMethod
  iban balance
  metersByContractId(orderBy: NUMBER_ASC) { nodes { id number unit
    meterRegistersByMeterId(orderBy: OBIS_CODE_ASC) { nodes { obisCode name
      meterReadingsByRegisterId(first: 1, orderBy: READ_AT_DESC) { nodes { value readAt } } } } } }
  paymentsByContractId(first: 5, orderBy: DUE_DATE_DESC) { nodes { amount dueDate status } }
  documentsByContractId(first: 5, orderBy: CREATED_AT_DESC) { nodes { name type createdAt } }
  contactByContactId {
    ordersByContactId(first: 5, condition: {status: "OFFER"}) {
      nodes { number title status totalAmount } }
    changeRequestsByContactId(first: 5, orderBy: CREATED_AT_DESC) {
      nodes { attribute status createdAt } }
  }
} }"""
# Staff: 50 portal users of the customer portal with their contacts, newest first.
# Ours filters by a search (a tenth of the users each); PostGraphile 4 has no text
# search, so it and the floor take a page of the same size at an offset instead.
STAFF_PORTAL_USERS = """query($portal: ID!, $search: Line!) {
  portalUsers(first: 50, portalId: $portal,
              filter: {registrationStatus: ACTIVE, search: $search}) {
    edges { node { id email registrationStatus assignmentStatus lastLoginAt
      contact { displayName customerNumber } } }
  }
}"""
POSTGRAPHILE_PORTAL_USERS = """query($portal: UUID!, $offset: Int!) {
  allPortalUsers(first: 50, offset: $offset, orderBy: [CREATED_AT_DESC, ID_DESC],
                 condition: {portalId: $portal, registrationStatus: "ACTIVE"}) {
    nodes { id email registrationStatus assignmentStatus lastLoginAt
      contactByContactId { firstName lastName customerNumber } }
  }
}"""
# Staff: 50 contacts with their contracts, meters and each meter's 12 newest readings.
STAFF_CONTACTS = """query($search: Line!) {
  contacts(first: 50, search: $search) { edges { node { id displayName
    contracts { edges { node { id number
      meters { edges { node { id number
        readings(first: 12) { edges { node { id value readAt } } } } } } } } }
  } } }
}"""
POSTGRAPHILE_CONTACTS = """query($offset: Int!) {
  allContacts(first: 50, offset: $offset, orderBy: [CUSTOMER_NUMBER_ASC],
              condition: {lastName: "Bench"}) { nodes { id firstName lastName
    contractsByContactId(orderBy: NUMBER_ASC) { nodes { id number
      metersByContractId(orderBy: NUMBER_ASC) { nodes { id number
        meterReadingsByMeterId(first: 12, orderBy: READ_AT_DESC) {
          nodes { id value readAt } } } } } } } }
}"""
# A dry run: the portal's cadence allows one change per contract in three months, so
# a load of real changes would be refused after the first; a dry run runs every check
# and every write, and rolls the transaction back instead of committing it.
CHANGE_INSTALLMENT = (
    "mutation($i: ChangeInstallmentInput!) { changeInstallment(input: $i) { __typename"
    " ... on InstallmentChanged { contract { installmentAmount } } ... on Error { code } } }"
)
PAGE = 50


def staff_searches(shape: dataset.Shape) -> list[str]:
    """Emails bench.00N*: a thousand users each (bench.000 the first 999)."""
    return [f"bench.00{digit}" for digit in range(min(10, 1 + (shape.contacts - 1) // 1000))]


def contact_searches(shape: dataset.Shape) -> list[str]:
    """Customer numbers BD-00N* (BD-000001...): a thousand contacts each."""
    return [f"BD-00{digit}" for digit in range(min(10, 1 + (shape.contacts - 1) // 1000))]


def page_offsets(shape: dataset.Shape) -> list[int]:
    """Offsets of up to 20 full pages of 50 among the generated rows."""
    return list(range(0, max(shape.contacts - PAGE, 0) + 1, PAGE))[:20]


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


def contract_of(contact: int, shape: dataset.Shape) -> uuid.UUID:
    """The id of the contact's first contract."""
    return dataset.bench_id("contract", (contact - 1) * shape.contracts_per_contact + 1)


LOGIN_ATTEMPTS = 10


async def logged_in(client: httpx.AsyncClient, body: dict[str, Any], who: str) -> str:
    """The access token of one `login`. A 503 (the server's password hashing is full:
    every slot busy for its whole wait, as on a loaded machine) is tried again after the
    response's Retry-After, as a client should; any other refusal ends the run."""
    for _ in range(LOGIN_ATTEMPTS):
        response = await client.post("/graphql", json=body)
        if response.status_code != 503:
            break
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    result = response.json()["data"]["login"]
    if result["__typename"] != "LoggedIn":
        raise RuntimeError(f"login of {who} refused: {result}")
    return str(result["accessToken"])


async def staff_token(base_url: str, email: str, password: str) -> str:
    """An access token of a staff user, logged in through `login`."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        body = {"query": LOGIN, "variables": {"i": {"email": email, "password": password}}}
        return await logged_in(client, body, email)


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
                token = await logged_in(client, login_body(contact), dataset.email(contact))
            return contact, token

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


def contract_lines(tokens: Tokens, shape: dataset.Shape) -> list[str]:
    return [
        _line(
            "POST",
            "/graphql",
            f"Bearer {token}",
            graphql_body(
                CONTRACT,
                id=relay.to_base64("Contract", contract_of(contact, shape)),
            ),
        )
        for contact, token in tokens.by_contact.items()
    ]


def change_installment_lines(tokens: Tokens, shape: dataset.Shape) -> list[str]:
    """A dry-run change of the customer's first contract within the portal's range."""
    return [
        _line(
            "POST",
            "/graphql",
            f"Bearer {token}",
            graphql_body(
                CHANGE_INSTALLMENT,
                i={
                    "contractId": relay.to_base64("Contract", contract_of(contact, shape)),
                    "amount": "85.00",
                    "dryRun": True,
                },
            ),
        )
        for contact, token in tokens.by_contact.items()
    ]


def staff_lines(token: str, query: str, **variants: list[str]) -> list[str]:
    """One line per value of the one variable in `variants`."""
    ((name, values),) = variants.items()
    portal = dataset.PORTAL_GLOBAL_ID
    extra = {"portal": portal} if "$portal" in query else {}
    return [
        _line("POST", "/graphql", f"Bearer {token}", graphql_body(query, **extra, **{name: v}))
        for v in values
    ]


def postgraphile_page_lines(query: str, shape: dataset.Shape) -> list[str]:
    extra = {"portal": str(dataset.PORTAL)} if "$portal" in query else {}
    return [
        _line("POST", "/graphql", "", graphql_body(query, **extra, offset=offset))
        for offset in page_offsets(shape)
    ]


def postgraphile_contract_lines(contacts: Iterable[int], shape: dataset.Shape) -> list[str]:
    return [
        _line(
            "POST",
            "/graphql",
            "",
            graphql_body(POSTGRAPHILE_CONTRACT, id=str(contract_of(contact, shape))),
        )
        for contact in contacts
    ]


def floor_contract_lines(contacts: Iterable[int], shape: dataset.Shape) -> list[str]:
    return [_line("GET", f"/contract/{contract_of(contact, shape)}") for contact in contacts]


def floor_page_lines(path: str, shape: dataset.Shape) -> list[str]:
    return [_line("GET", f"{path}?offset={offset}") for offset in page_offsets(shape)]


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
