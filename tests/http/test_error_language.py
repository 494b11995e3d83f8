"""Refusals in the caller's language, through the real app: a portal user's own language
first, then the request's Accept-Language, then German."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql import messages
from tests.conftest import ACTORS, global_id
from tests.factories import customers_first_contract
from tests.http_helpers import CUSTOMERS, LOGIN, login, portal_gid

CHANGE = """mutation($input: ChangeInstallmentInput!) { changeInstallment(input: $input) {
  __typename ... on Error { code message field parameters { name value } } } }"""
LANGUAGE = """mutation($language: Line!) { updateLanguage(input: {language: $language}) {
  __typename } }"""


async def _post(
    client: httpx.AsyncClient,
    query: str,
    token: str | None = None,
    accept_language: str | None = None,
    **variables: Any,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body = response.json()
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def test_a_customer_reads_refusals_in_her_own_language_whatever_the_browser_says(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    contract = await customers_first_contract(session)
    too_high = {"contractId": global_id("Contract", contract.id), "amount": "99999.00"}
    logged_in = await login(
        client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS)
    )
    token = logged_in["accessToken"]
    assert await _post(client, LANGUAGE, token, language="de") == {"__typename": "LanguageUpdated"}

    german = await _post(client, CHANGE, token, "en-GB,en;q=0.9", input=too_high)
    assert german["__typename"] == "InstallmentRefused"
    assert german["code"] == "OUT_OF_RANGE"
    assert german["field"] == "amount"
    bounds = {p["name"]: p["value"] for p in german["parameters"]}
    assert set(bounds) == {"allowedMin", "allowedMax"}
    low, high = (bounds[name].replace(".", ",") for name in ("allowedMin", "allowedMax"))
    assert german["message"] == f"Bitte wählen Sie einen Betrag zwischen {low} und {high} EUR."

    assert await _post(client, LANGUAGE, token, language="en") == {"__typename": "LanguageUpdated"}
    english = await _post(client, CHANGE, token, "de-DE,de;q=0.9", input=too_high)
    assert {**english, "message": None} == {**german, "message": None}
    assert english["message"] == (
        f"Please choose an amount between {bounds['allowedMin']} and {bounds['allowedMax']} EUR."
    )


async def test_without_an_own_language_the_request_decides_else_german(
    client: httpx.AsyncClient,
) -> None:
    wrong = {"email": "anna.becker@example.org", "password": "wrong-password"}
    answers = {
        header: await _post(client, LOGIN, None, header, input=wrong)
        for header in ("en-US,en;q=0.9", "de-AT", "fr-FR,fr;q=0.9", None)
    }
    assert {answer["code"] for answer in answers.values()} == {"INVALID_CREDENTIALS"}
    german = messages.CATALOGUES["de"]["INVALID_CREDENTIALS"]
    assert {header: answer["message"] for header, answer in answers.items()} == {
        "en-US,en;q=0.9": messages.CATALOGUES["en"]["INVALID_CREDENTIALS"],
        "de-AT": german,
        "fr-FR,fr;q=0.9": german,
        None: german,
    }


PAYMENT = """mutation($input: ChangePaymentMethodInput!) { changePaymentMethod(input: $input) {
  __typename ... on Error { code message field detail } } }"""
CONTACT = """mutation($input: UpdateMyContactInput!) { updateMyContact(input: $input) {
  __typename ... on Error { code message field detail parameters { name value } } } }"""


async def test_a_german_customer_reads_the_services_specific_sentence_in_german(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The broad codes (INVALID_INPUT, ...) carry the service's specific sentence in the
    caller's language, not only a general one; `detail` stays the English sentence."""
    contract = await customers_first_contract(session)
    no_holder = {
        "contractId": global_id("Contract", contract.id),
        "method": "SEPA_DEBIT",
        "iban": "DE89 3704 0044 0532 0130 00",
        "accountHolder": " ",
        "mandateAccepted": True,
        "dryRun": True,
    }
    too_long = {"firstName": "A" * 101}
    logged_in = await login(
        client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS)
    )
    token = logged_in["accessToken"]
    answers: dict[str, list[Any]] = {}
    for language in ("de", "en"):
        assert await _post(client, LANGUAGE, token, language=language) == {
            "__typename": "LanguageUpdated"
        }
        answers[language] = [
            await _post(client, PAYMENT, token, "fr", input=no_holder),
            await _post(client, CONTACT, token, "fr", input=too_long),
        ]
    german, english = answers["de"], answers["en"]
    assert [(a["code"], a["field"]) for a in german] == [
        ("INVALID_INPUT", "accountHolder"),
        ("INVALID_INPUT", "firstName"),
    ]
    assert [a["message"] for a in german] == [
        "Bitte geben Sie den Kontoinhaber ein.",
        "Höchstens 100 Zeichen.",
    ]
    assert german[1]["parameters"] == [{"name": "limit", "value": "100"}]
    assert [a["message"] for a in english] == [
        "Enter the account holder.",
        "At most 100 characters.",
    ]
    # The same refusal apart from the language; detail is English for both.
    assert [{**a, "message": None} for a in german] == [{**a, "message": None} for a in english]
    assert [a["detail"] for a in german] == [a["message"] for a in english]


async def _refused_value(
    client: httpx.AsyncClient, query: str, token: str | None, accept_language: str, **variables: Any
) -> str:
    """The message of a value refused while the request is parsed (no `data`)."""
    headers = {"Accept-Language": accept_language}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = (
        await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    ).json()
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    return str(error["message"])


async def test_values_refused_while_parsing_are_in_the_callers_language(
    client: httpx.AsyncClient,
) -> None:
    """The input scalars' refusals (gql/schema/input_errors.py): graphql-core's part and
    the scalar's sentence both in German or English; a portal user's own language first."""
    bad_email = "mutation($input: LoginInput!) { login(input: $input) { __typename } }"
    email = {"input": {"email": "a@x.de,b@y.de", "password": "x"}}
    german = await _refused_value(client, bad_email, None, "de", **email)
    assert german == (
        "Die Variable '$input' hat bei .email einen ungültigen Wert: "
        + messages.message("INVALID_EMAIL", "de", {}, detail="")
    )
    english = await _refused_value(client, bad_email, None, "en", **email)
    assert english.startswith("Variable '$input' has invalid value at .email: Not one valid")

    cursor = '{ viewer { contracts(after: "kaputt") { totalCount } } }'
    assert await _refused_value(client, cursor, None, "de") == (
        "Das Argument 'after': Ungültiger Cursor."
    )
    assert await _refused_value(client, cursor, None, "en") == "Argument 'after': Invalid cursor."

    # Anna's portal user speaks German: her language wins over the browser's English.
    anna = await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS))
    long_name = "query($s: Line) { viewer { contracts(search: $s) { totalCount } } }"
    said = await _refused_value(client, long_name, anna["accessToken"], "en", s="x" * 501)
    assert said == "Die Variable '$s' hat einen ungültigen Wert: Höchstens 500 Zeichen."


async def test_an_anonymous_caller_reads_the_addressed_portals_default_language(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Login and registration name their portal: without Accept-Language its default
    language decides, not German for everyone."""
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"default_language": "en"}
    )
    await session.commit()
    wrong = {"email": "anna.becker@example.org", "password": "falsch-falsch", "portalId": None}
    wrong["portalId"] = portal_gid(CUSTOMERS)
    for accept, language in ((None, "en"), ("de", "de")):
        headers = {"Accept-Language": accept} if accept else {}
        body = (
            await client.post(
                "/graphql",
                json={
                    "query": "mutation($input: LoginInput!) { login(input: $input) {"
                    " ... on Error { code message } } }",
                    "variables": {"input": wrong},
                },
                headers=headers,
            )
        ).json()
        refused = body["data"]["login"]
        assert refused["code"] == "INVALID_CREDENTIALS"
        assert refused["message"] == messages.message("INVALID_CREDENTIALS", language, {}, "")


async def test_a_refused_value_names_its_field_and_reason_like_a_mutation_error(
    client: httpx.AsyncClient,
) -> None:
    """A page shows a value refused while parsing at its field, as it does a result
    union's error: `extensions.field` is the path inside the input, `reason` the
    sentence alone in the caller's language."""
    query = "mutation($input: RegisterInput!) { register(input: $input) { __typename } }"
    variables = {"input": {"portalId": portal_gid(CUSTOMERS), "email": "kein", "password": "x"}}
    for language in ("de", "en"):
        body = (
            await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Accept-Language": language},
            )
        ).json()
        [error] = body["errors"]
        reason = messages.message("INVALID_EMAIL", language, {}, detail="")
        assert error["extensions"]["field"] == "email"
        assert error["extensions"]["reason"] == reason
        if language == "de":  # graphql-core's part translated, then the same sentence
            assert error["message"].endswith(": " + reason)
    argument = '{ viewer { contracts(after: "kaputt") { totalCount } } }'
    body = (await client.post("/graphql", json={"query": argument})).json()
    [error] = body["errors"]
    assert "field" not in error["extensions"]
    assert error["extensions"]["reason"] == "Ungültiger Cursor."
