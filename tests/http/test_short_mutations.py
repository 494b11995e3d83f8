"""The short way of the front-end's mutations (gql/http/short_mutations.py) answers byte
for byte as Strawberry's way: status, headers and body, for every kind of caller, valid
and refused inputs, refused variables and wrong types, both languages, an ended session
and changed grants. The `engines` fixture's first app has query plans off, which turns
the short way off too (Strawberry answers every request there); the second has them on,
and takes the short way once it has answered a document.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import strawberry
from graphql import OperationType
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from gql.http import short_mutations
from gql.schema import schema
from tests.conftest import CUSTOMER_PORTAL, global_id
from tests.engine_helpers import (
    CHANGE,
    READ_ONLY_GROUP,
    SUBMIT,
    mutation_cases,
    tokens_of_every_caller,
    web_queries,
)
from tests.factories import customers_first_contract

Exchange = tuple[int, list[tuple[str, str]], bytes]
WEB = web_queries(OperationType.MUTATION)


@pytest.fixture
def executed(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The documents Strawberry executes from now on (the short way executes none)."""
    seen: list[str | None] = []
    execute = strawberry.Schema.execute

    async def counted(self: strawberry.Schema, query: str | None, *args: Any, **kw: Any) -> Any:
        seen.append(query)
        return await execute(self, query, *args, **kw)

    monkeypatch.setattr(strawberry.Schema, "execute", counted)
    return seen


async def _exchange(
    client: httpx.AsyncClient,
    document: str,
    token: str | None,
    variables: dict[str, Any],
    language: str,
    accept: str = "application/json",
) -> Exchange:
    headers = {"Accept-Language": language, "Accept": accept}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body = {"query": document, "variables": variables}
    response = await client.post("/graphql", json=body, headers=headers)
    return response.status_code, response.headers.multi_items(), response.content


async def _both(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    document: str,
    token: str | None,
    variables: dict[str, Any],
    language: str = "de",
    accept: str = "application/json",
) -> tuple[Exchange, Exchange]:
    """Strawberry's answer, then the short way's app's."""
    strawberry_way = await _exchange(engines[0], document, token, variables, language, accept)
    short_way = await _exchange(engines[1], document, token, variables, language, accept)
    return strawberry_way, short_way


def _fresh(exchange: Exchange) -> Exchange:
    """The answer with the new reading's ID and time (the request's moment) left out."""
    status, headers, body = exchange
    return status, headers, re.sub(rb'"(id|readAt)":"[^"]*"', rb'"\1":"..."', body)


async def _known(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    token: str | None,
    documents: list[tuple[str, dict[str, Any]]],
) -> None:
    """The session known to both apps (a first request checked it), and each document
    answered once by the executor of each (the second app keeps it from then on)."""
    for client in engines:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await client.post(
            "/graphql", json={"query": "{ viewer { role } }"}, headers=headers
        )
        assert response.status_code == 200, response.text
    for document, variables in documents:
        await _both(engines, document, token, variables)


async def test_short_way_answers_byte_for_byte_as_strawberry_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    session: AsyncSession,
    executed: list[str | None],
) -> None:
    tokens = await tokens_of_every_caller(engines[0], session)
    cases = await mutation_cases(session)
    valid = {name: given for name, _, given in cases if name in ("reading", "change")}
    web = [
        (WEB["SubmitMeterReading"], {"input": valid["reading"]}),
        (WEB["ChangeInstallment"], {"input": valid["change"]}),
    ]
    documents = [(SUBMIT, {"input": valid["reading"]}), (CHANGE, {"input": valid["change"]}), *web]
    short: dict[tuple[str, str, str], bool] = {}
    for caller, token in tokens.items():
        await _known(engines, token, documents)
        runs = [(name, document, {"input": given}) for name, document, given in cases]
        runs += [(f"web_{i}", document, variables) for i, (document, variables) in enumerate(web)]
        for name, document, variables in runs:
            for language in ("de", "en"):
                executed.clear()
                answers = await _both(engines, document, token, variables, language)
                if document is WEB["SubmitMeterReading"]:  # a new reading each time, read now
                    answers = (_fresh(answers[0]), _fresh(answers[1]))
                assert answers[1] == answers[0], (caller, name, language)
                short[caller, name, language] = executed == [document]  # the first app's only
    # Not vacuous: the customer's valid and refused inputs took the short way; refused
    # variables and callers the mutation does not allow were left to Strawberry.
    for name in (
        "reading",
        "implausible",
        "wrong_type",
        "change",
        "out_of_range",
        "web_0",
        "web_1",
    ):
        assert short["customer", name, "de"], name
        assert short["customer", name, "en"], name
    # A global ID that is none is refused when the input is converted (a field error,
    # the short way's too); a value a scalar refuses is a refused variable.
    assert short["customer", "not_an_id", "de"]
    assert not short["customer", "missing", "de"]
    assert not short["customer", "not_a_decimal", "de"]
    assert not short["anonymous", "reading", "de"]
    assert not short["admin", "change", "de"]


_RESULT = """__typename ... on ContractChanged { contract { number dueDay paymentMethod } }
    ... on ChangeRequested { changeRequest { attribute status } }
    ... on MutationError { code message field parameters { name value } }"""
# Documents of other shapes: the other contract changes, an input written as a literal
# around variables, a variable's default, an enum, a null and an absent field.
SHAPES: dict[str, tuple[str, dict[str, Any]]] = {
    "due_date": (
        f"mutation($input: ChangeDueDateInput!) {{ changeDueDate(input: $input) {{ {_RESULT} }} }}",
        {"dueDay": 15, "dryRun": True},
    ),
    "interval": (
        "mutation($input: ChangeInstallmentIntervalInput!) {"
        f" changeInstallmentInterval(input: $input) {{ {_RESULT} }} }}",
        {"interval": "QUARTERLY", "dryRun": True},
    ),
    "payment_method": (
        "mutation($input: ChangePaymentMethodInput!) {"
        f" changePaymentMethod(input: $input) {{ {_RESULT} }} }}",
        {"method": "TRANSFER", "iban": None, "dryRun": True},
    ),
    "literal": (
        "mutation($c: ID!, $a: Decimal!, $dry: Boolean = true) {"
        " changeInstallment(input: {contractId: $c, amount: $a, dryRun: $dry}) {"
        " __typename ... on InstallmentChanged { contract { installmentAmount } }"
        " ... on InstallmentRefused { code message } ... on MutationError { code } } }",
        {},
    ),
}


async def test_short_way_of_other_shapes_answers_as_strawberry(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    session: AsyncSession,
    executed: list[str | None],
) -> None:
    """The other contract changes, a literal input around variables with a default, for
    every kind of caller: byte for byte, and the customer's by the short way."""
    tokens = await tokens_of_every_caller(engines[0], session)
    contract = await customers_first_contract(session)
    contract_id = global_id("Contract", contract.id)
    amount = str(contract.installment_amount)
    runs: dict[str, tuple[str, dict[str, Any]]] = {
        name: (document, {"input": {"contractId": contract_id, **given}})
        for name, (document, given) in SHAPES.items()
        if name != "literal"
    }
    literal = SHAPES["literal"][0]
    runs["literal"] = (literal, {"c": contract_id, "a": amount})
    runs["literal_not_dry"] = (literal, {"c": contract_id, "a": "-1", "dry": False})
    runs["literal_refused"] = (literal, {"c": contract_id, "a": "achtzig"})
    for caller, token in tokens.items():
        await _known(
            engines, token, [runs["literal"], *[runs[n] for n in SHAPES if n != "literal"]]
        )
        for name, (document, variables) in runs.items():
            executed.clear()
            strawberry_way, short_way = await _both(engines, document, token, variables, "en")
            assert short_way == strawberry_way, (caller, name)
            if caller == "customer" and name != "literal_refused":
                assert executed == [document], name  # the second app took the short way


async def test_short_way_answers_graphql_response_json_as_strawberry(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient], session: AsyncSession
) -> None:
    """The media type asked for, and a request error (refused variables) as a 400."""
    tokens = await tokens_of_every_caller(engines[0], session)
    cases = {name: given for name, _, given in await mutation_cases(session)}
    await _known(engines, tokens["customer"], [(CHANGE, {"input": cases["change"]})])
    for name in ("change", "out_of_range", "not_a_decimal"):
        strawberry_way, short_way = await _both(
            engines,
            CHANGE,
            tokens["customer"],
            {"input": cases[name]},
            accept="application/graphql-response+json",
        )
        assert short_way == strawberry_way, name
    assert short_way[0] == 400, short_way


async def test_short_way_of_an_ended_session_is_401_as_strawberry(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient], session: AsyncSession
) -> None:
    tokens = await tokens_of_every_caller(engines[0], session)
    token = tokens["customer"]
    cases = {name: given for name, _, given in await mutation_cases(session)}
    documents = [(SUBMIT, {"input": cases["reading"]}), (CHANGE, {"input": cases["change"]})]
    await _known(engines, token, documents)
    logout = await engines[0].post(
        "/graphql",
        json={"query": "mutation { logout { revokedSessions } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert logout.json() == {"data": {"logout": {"revokedSessions": 1}}}
    for document, variables in documents:
        strawberry_way, short_way = await _both(engines, document, token, variables)
        assert short_way == strawberry_way
        assert short_way[0] == 401, short_way


async def test_short_way_after_changed_grants_answers_as_strawberry(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient], session: AsyncSession
) -> None:
    """Anna's grants are known as her group's; moved to the read-only group, the riding
    check finds other grants and the mutation is answered for them: refused, as
    Strawberry refuses it, and nothing stored."""
    tokens = await tokens_of_every_caller(engines[0], session)
    token = tokens["customer"]
    cases = {name: given for name, _, given in await mutation_cases(session)}
    documents = [(SUBMIT, {"input": cases["reading"]}), (CHANGE, {"input": cases["change"]})]
    await _known(engines, token, documents)
    anna = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == anna)
        .values(permission_group_id=READ_ONLY_GROUP)
    )
    real = {**cases["reading"], "dryRun": False, "clientKey": "short-changed"}
    strawberry_way, short_way = await _both(engines, SUBMIT, token, {"input": real}, "en")
    assert short_way == strawberry_way
    assert b'"FORBIDDEN"' in short_way[2], short_way
    for document, variables in documents:
        strawberry_way, short_way = await _both(engines, document, token, variables)
        assert short_way == strawberry_way
    stored = await session.scalar(
        sa.select(sa.func.count()).where(models.MeterReading.client_key == "short-changed")
    )
    assert stored == 0


def test_many_distinct_queries_never_push_a_mutation_off_the_short_way() -> None:
    """Documents that do not take the short way are remembered apart from those that do:
    more distinct queries than the cache holds leave the front-end's mutations on it."""
    short = short_mutations.ShortMutations(schema._schema, lambda errors: errors)
    answered = SimpleNamespace(data={})
    short.answered(SUBMIT, None, answered)
    assert short.shape(SUBMIT, None) is not None
    for number in range(2 * short_mutations.DOCUMENTS):
        query = f"query Q{number} {{ viewer {{ __typename }} }}"
        short.answered(query, None, answered)
        assert short.shape(query, None) is None
    assert short.shape(SUBMIT, None) is not None
