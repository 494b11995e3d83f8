"""A token for every kind of caller, and the queries the reference portal sends: what
the tests comparing the engines share (the `engines` fixture is in
tests/http/conftest.py)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from graphql import FragmentDefinitionNode, OperationDefinitionNode, OperationType, parse
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import demo, models
from tests.account_helpers import PORTAL
from tests.conftest import ACTORS, CUSTOMER_PORTAL, INSTALLER_PORTAL, NACHBAR_PORTAL, global_id
from tests.factories import customers_first_contract
from tests.http_helpers import login
from tests.meter_helpers import anna_meter, plausible_value
from tests.statement_helpers import answered_by_plan

__all__ = [
    "ACCOUNTS",
    "CHANGE",
    "READ_ONLY_GROUP",
    "SUBMIT",
    "WEB_SOURCES",
    "answered_alike",
    "mutation_cases",
    "tokens_of_every_caller",
    "web_queries",
]

ACCOUNTS = {
    "customer": ("anna.becker@example.org", "Demo-Kunde-1", PORTAL),
    "read_only_customer": ("jonas.wolf@example.org", "Demo-Kunde-2", PORTAL),
    "other_org_customer": (
        "lena.fischer@example.org",
        "Demo-Kunde-3",
        global_id("Portal", NACHBAR_PORTAL),
    ),
    "installer": (
        "montage@elektro-schmidt.example",
        "Demo-Installer-1",
        global_id("Portal", INSTALLER_PORTAL),
    ),
    "admin": ("admin@musterstadt.example", "Demo-Admin-1", None),
    "agent": ("agent@musterstadt.example", "Demo-Agent-1", None),
    "anonymous": None,
}
READ_ONLY_GROUP = demo.demo_id("group:musterstadt-kunden:read-only")

# The mutations the engines are compared on, with every refusal's fields.
SUBMIT = """mutation($input: SubmitMeterReadingInput!) { submitMeterReading(input: $input) {
  __typename
  ... on MeterReadingSubmitted { created reading { value status source } }
  ... on MeterReadingRefused { reason code message field allowedMin allowedMax unit
    parameters { name value } }
  ... on MutationError { code message field parameters { name value } } } }"""
CHANGE = """mutation Change($input: ChangeInstallmentInput!) {
  changeInstallment(input: $input) {
    __typename
    ... on InstallmentChanged { contract { number installmentAmount } }
    ... on InstallmentRefused { reason code message field allowedMin allowedMax
      parameters { name value } }
    ... on MutationError { code message field parameters { name value } } } }"""


async def tokens_of_every_caller(
    client: httpx.AsyncClient, session: AsyncSession
) -> dict[str, str | None]:
    """A token per kind of caller; Jonas in the read-only group (running contracts)."""
    jonas = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:jonas.wolf@example.org")
    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == jonas)
        .values(permission_group_id=READ_ONLY_GROUP)
    )
    found: dict[str, str | None] = {}
    for name, credentials in ACCOUNTS.items():
        if credentials is None:
            found[name] = None
            continue
        result = await login(client, *credentials)
        assert result["__typename"] == "LoggedIn", (name, result)
        found[name] = str(result["accessToken"])
    return found


WEB_SOURCES = Path(__file__).parents[1] / "web" / "src"
# The reference portal's queries the executor answers, and why they are not compiled
# (every other one is planned; tests/http/test_front_end_reads.py holds their figures).
WEB_EXECUTOR_READS = {
    "LoginOptions": "anonymous: what the login page offers follows the portal's settings,"
    " decided by gql/domain/authentication.py, not declared columns",
    "PublicPortal": "anonymous: the portal's published settings as the login page shows"
    " them (texts in the language asked for, design, identity providers), built in Python",
}


def web_queries(kind: OperationType = OperationType.QUERY) -> dict[str, str]:
    """Every query document (or, by `kind`, mutation document) the reference portal sends
    (web/src), by operation name, with the fragments it spreads appended (as
    graphql-codegen's client sends it)."""
    queries: dict[str, str] = {}
    fragments: dict[str, str] = {}
    for path in sorted(WEB_SOURCES.rglob("*.ts*")):
        if WEB_SOURCES / "gql" in path.parents:
            continue  # graphql-codegen's output, whose comments hold an example
        for document in re.findall(r"graphql\(`(.*?)`\)", path.read_text(), re.S):
            definition = parse(document).definitions[0]
            if isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = document
                continue
            assert isinstance(definition, OperationDefinitionNode)
            if definition.operation is kind:
                assert definition.name is not None, path
                queries[definition.name.value] = document

    def with_fragments(document: str) -> str:
        used: set[str] = set()
        while True:
            whole = "\n".join([document, *(fragments[name] for name in sorted(used))])
            spread = set(re.findall(r"\.\.\.\s*([A-Za-z_]\w*)", whole)) & fragments.keys()
            if spread <= used:
                return whole
            used |= spread

    return {name: with_fragments(document) for name, document in queries.items()}


async def mutation_cases(session: AsyncSession) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, document, input) of valid and refused submissions and changes; the valid
    ones as dry runs, so both apps see the same facts."""
    meter, last = await anna_meter(session)
    value = await plausible_value(session, meter, last)
    contract = await customers_first_contract(session)
    other = await session.scalar(
        sa.select(models.Contract).where(
            models.Contract.organization_id != ACTORS["customer"].organization_id
        )
    )
    assert other is not None
    other_meter = await session.scalar(
        sa.select(models.Meter.id).where(models.Meter.contract_id == other.id).limit(1)
    )
    assert other_meter is not None
    meter_id, contract_id = global_id("Meter", meter), global_id("Contract", contract.id)
    reading = {"meterId": meter_id, "value": value, "clientKey": "diff-1", "dryRun": True}
    amount = contract.installment_amount
    change = {"contractId": contract_id, "amount": str(amount + Decimal(1)), "dryRun": True}
    return [
        ("reading", SUBMIT, reading),
        ("implausible", SUBMIT, {**reading, "value": "99999999"}),
        ("decimals", SUBMIT, {**reading, "value": "1,23456"}),
        ("not_a_number", SUBMIT, {**reading, "value": "zwölf"}),
        ("client_key", SUBMIT, {**reading, "clientKey": " "}),
        ("future", SUBMIT, {**reading, "readAt": "2999-01-01T00:00:00Z"}),
        ("register", SUBMIT, {**reading, "register": "9.9.9"}),
        ("wrong_type", SUBMIT, {**reading, "meterId": contract_id}),
        ("not_an_id", SUBMIT, {**reading, "meterId": "kein-id"}),
        ("other_org_meter", SUBMIT, {**reading, "meterId": global_id("Meter", other_meter)}),
        ("missing", SUBMIT, {"meterId": meter_id}),
        ("change", CHANGE, change),
        ("out_of_range", CHANGE, {**change, "amount": str(amount * 3)}),
        ("negative", CHANGE, {**change, "amount": "-5"}),
        ("three_decimals", CHANGE, {**change, "amount": "80.123"}),
        ("not_a_decimal", CHANGE, {**change, "amount": "achtzig"}),
        ("wrong_type", CHANGE, {**change, "contractId": meter_id}),
        ("other_org", CHANGE, {**change, "contractId": global_id("Contract", other.id)}),
        ("refused_for_real", CHANGE, {**change, "amount": str(amount * 3), "dryRun": False}),
    ]


async def answered_alike(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    connection: AsyncConnection,
    body: dict[str, Any],
    headers: dict[str, str],
    label: Any,
) -> bool:
    """`body` sent to the executor alone, then twice to the app with plans (its executor,
    then the plan where there is one): the three answers alike, key order included;
    whether a plan gave the last."""
    executor, planned = engines
    expected = _body(await executor.post("/graphql", json=body, headers=headers))
    first = _body(await planned.post("/graphql", json=body, headers=headers))
    response, was_planned = await answered_by_plan(
        connection, planned.post("/graphql", json=body, headers=headers)
    )
    assert first == expected, label
    assert _body(response) == expected, (label, was_planned)
    return was_planned


def _body(response: httpx.Response) -> str:
    return json.dumps(response.json(), ensure_ascii=False)
