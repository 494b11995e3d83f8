"""The session check riding the row a mutation locks (gql/domain/session_check.py,
gql/http/mutations.py) answers as the executor with the check on its own does: for
every kind of caller, valid and refused inputs, both languages, an ended session and a
changed permission group. The `engines` fixture's first app has query plans off, which
turns the riding check off too (the check runs alone there); the second has them on.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import demo, models
from tests.conftest import CUSTOMER_PORTAL
from tests.engine_helpers import (
    CHANGE,
    READ_ONLY_GROUP,
    SUBMIT,
    mutation_cases,
    tokens_of_every_caller,
)
from tests.statement_helpers import counting_statements

VIEWER = "{ viewer { role } }"


async def _answers(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    document: str,
    token: str | None,
    variables: dict[str, Any],
    language: str,
) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """Each app's status and JSON answer: the executor's first, then the riding check's."""
    headers = {"Accept-Language": language}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    found = []
    for client in engines:
        body = {"query": document, "variables": variables}
        response = await client.post("/graphql", json=body, headers=headers)
        found.append((response.status_code, response.json()))
    return found[0], found[1]


async def _known(engines: tuple[httpx.AsyncClient, httpx.AsyncClient], token: str | None) -> None:
    """A first request on each app: the session is known from then on (the check left
    to the view, which lets it ride the mutation's lock)."""
    for client in engines:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await client.post("/graphql", json={"query": VIEWER}, headers=headers)
        assert response.status_code == 200, response.text


async def test_riding_check_answers_as_the_executor_for_every_caller(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient], session: AsyncSession
) -> None:
    tokens = await tokens_of_every_caller(engines[0], session)
    cases = await mutation_cases(session)
    for caller, token in tokens.items():
        await _known(engines, token)
        for name, document, given in cases:
            for language in ("de", "en"):
                executor, riding = await _answers(
                    engines, document, token, {"input": given}, language
                )
                assert riding == executor, (caller, name, language)
    # Not vacuous: the customer's valid cases were applied, the refusals refused.
    executor, _ = await _answers(engines, SUBMIT, tokens["customer"], {"input": cases[0][2]}, "de")
    assert executor[1]["data"]["submitMeterReading"]["__typename"] == "MeterReadingSubmitted"
    executor, _ = await _answers(engines, CHANGE, tokens["customer"], {"input": cases[12][2]}, "en")
    assert executor[1]["data"]["changeInstallment"]["reason"] == "OUT_OF_RANGE"


@pytest.mark.parametrize("document", [SUBMIT, CHANGE], ids=["submit", "change"])
async def test_riding_check_of_an_ended_session_is_401_and_locks_nothing(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient],
    session: AsyncSession,
    connection: AsyncConnection,
    document: str,
) -> None:
    """Logged out after the session became known: 401 from both apps, and the riding
    app ran one statement (the check with the mutation's first, which found no
    session)."""
    tokens = await tokens_of_every_caller(engines[0], session)
    token = tokens["customer"]
    await _known(engines, token)
    given = {name: given for name, doc, given in await mutation_cases(session) if doc == document}
    valid = given["reading"] if document == SUBMIT else given["change"]
    logout = await engines[0].post(
        "/graphql",
        json={"query": "mutation { logout { revokedSessions } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert logout.json() == {"data": {"logout": {"revokedSessions": 1}}}
    with counting_statements(connection) as statements:
        executor, riding = await _answers(engines, document, token, {"input": valid}, "de")
    assert executor[0] == riding[0] == 401, (executor, riding)
    assert riding == executor
    # The executor's app: the session check alone; the riding app: the check with the
    # mutation's first statement (a change locks its contract; a reading reads its meter
    # and facts without a lock, gql/domain/readings.py).
    control = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
    work = [s for s in statements if not s.lstrip().upper().startswith(control)]
    assert len(work) == 2, work
    assert "FOR UPDATE" not in work[0], work
    assert "AS locked ON true" in work[1], work
    assert ("FOR UPDATE" in work[1]) == (document != SUBMIT), work


async def test_riding_check_of_a_changed_group_answers_for_the_new_group(
    engines: tuple[httpx.AsyncClient, httpx.AsyncClient], session: AsyncSession
) -> None:
    """Anna's grants are known as her group's; moved to the read-only group, the riding
    check finds other grants, the mutation is rolled back and answered again for the
    read-only group: refused, as the executor refuses it, and nothing stored."""
    tokens = await tokens_of_every_caller(engines[0], session)
    token = tokens["customer"]
    await _known(engines, token)
    cases = {name: (doc, given) for name, doc, given in await mutation_cases(session)}
    anna = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
    await session.execute(
        sa.update(models.PortalUser)
        .where(models.PortalUser.id == anna)
        .values(permission_group_id=READ_ONLY_GROUP)
    )
    document, given = cases["reading"]
    real = {**given, "dryRun": False, "clientKey": "changed-group"}
    executor, riding = await _answers(engines, document, token, {"input": real}, "de")
    assert riding == executor
    assert riding[1]["data"]["submitMeterReading"] is None, riding
    assert riding[1]["errors"][0]["extensions"]["code"] == "FORBIDDEN", riding
    stored = await session.scalar(
        sa.select(sa.func.count()).where(models.MeterReading.client_key == "changed-group")
    )
    assert stored == 0
