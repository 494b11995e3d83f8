"""QUERY_PLANS=compare (gql/http/plans.py `Plans.compare`): the executor answers every
request, each read a plan can answer is answered by its plan too, and a difference is
logged with the paths that differ, counted and told to the listeners; the answer sent is
always the executor's. `make test`'s second pass runs this way (tests/fast_path.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from strawberry.types import ExecutionResult

from db.session import Database
from gql import metrics
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.http import plans
from gql.http.plans import differing_paths
from gql.settings import Settings
from tests.http_helpers import CUSTOMERS, login, portal_gid, post
from tests.statement_helpers import counting_statements, is_plan

CONTRACTS = "query Compared { viewer { contracts { edges { node { number status } } } } }"
MUTATION = 'mutation { requestPasswordReset(input: {email: "x@example.org"}) { __typename } }'


@pytest.fixture
async def compared(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    settings = replace(test_settings, query_plans=False, compare_plans=True)
    app = create_app(settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


@pytest.fixture
def differences() -> Any:
    """What the listeners are told from now on (this test's only)."""
    found: list[tuple[str, list[str]]] = []

    def heard(operation: str, paths: list[str]) -> None:
        found.append((operation, paths))

    plans.DIFFERENCE_LISTENERS.append(heard)
    yield found
    plans.DIFFERENCE_LISTENERS.remove(heard)


def counted(operation: str) -> float:
    return float(metrics.PLAN_DIFFERENCES.labels(operation)._value.get())


async def anna(client: httpx.AsyncClient) -> str:
    result = await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS))
    return str(result["accessToken"])


async def test_every_read_a_plan_can_answer_is_answered_by_both_and_alike(
    compared: httpx.AsyncClient,
    connection: AsyncConnection,
    differences: list[tuple[str, list[str]]],
) -> None:
    token = await anna(compared)
    before = counted("Compared")
    for _ in range(2):  # the first request too: the executor answers, then the plan
        with counting_statements(connection) as statements:
            response = await post(compared, CONTRACTS, token)
        assert response.json()["data"]["viewer"]["contracts"]["edges"], response.text
        assert is_plan(statements[-1]), statements  # the plan ran after the executor
        assert not any(is_plan(s) for s in statements[:-1]), statements
    assert differences == []
    assert counted("Compared") == before


@pytest.mark.answers_may_differ  # made to differ: tests/fast_path.py would fail it
async def test_a_difference_is_counted_and_told_and_the_executors_answer_sent(
    compared: httpx.AsyncClient,
    differences: list[tuple[str, list[str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = await anna(compared)
    planned = plans.Plans._planned

    async def wrong(self: plans.Plans, request: Any, context: Any) -> ExecutionResult | None:
        answer = await planned(self, request, context)
        assert answer is not None
        data = orjson.loads(orjson.dumps(answer.data))
        data["viewer"]["contracts"]["edges"].pop()
        return ExecutionResult(data=data, errors=None)

    monkeypatch.setattr(plans.Plans, "_planned", wrong)
    before = counted("Compared")
    body = (await post(compared, CONTRACTS, token)).json()
    edges = len(body["data"]["viewer"]["contracts"]["edges"])  # all of Anna's contracts
    assert edges > 1
    assert counted("Compared") == before + 1
    paths = [f"data.viewer.contracts.edges (length {edges} != {edges - 1})"]
    assert differences == [("Compared", paths)]


@pytest.mark.answers_may_differ
async def test_a_failing_plan_is_a_difference_and_costs_no_answer(
    compared: httpx.AsyncClient,
    differences: list[tuple[str, list[str]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = await anna(compared)

    async def failing(self: plans.Plans, request: Any, context: Any) -> None:
        raise RuntimeError("a bug in a plan")

    monkeypatch.setattr(plans.Plans, "_planned", failing)
    body = (await post(compared, CONTRACTS, token)).json()
    assert body["data"]["viewer"]["contracts"]["edges"]
    assert differences == [("Compared", ["(the plan failed)"])]


async def test_mutations_and_refused_reads_are_not_compared(
    compared: httpx.AsyncClient,
    connection: AsyncConnection,
    differences: list[tuple[str, list[str]]],
) -> None:
    token = await anna(compared)
    for document in (MUTATION, "{ auditEvents(first: 1) { totalCount } }"):
        with counting_statements(connection) as statements:
            await post(compared, document, token)
        assert not any(is_plan(s) for s in statements), (document, statements)
    assert differences == []


@pytest.mark.parametrize(
    ("expected", "found", "paths"),
    [
        ({"a": [1, {"b": "x"}]}, {"a": [1, {"b": "x"}]}, []),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, ["data (members ['a', 'b'] != ['b', 'a'])"]),
        ({"a": [1, 2]}, {"a": [1]}, ["data.a (length 2 != 1)"]),
        ({"a": [{"b": "1"}, {"b": 2}]}, {"a": [{"b": 1}, {"b": 2}]}, ["data.a[0].b"]),
        ({"a": None}, {"a": {}}, ["data.a"]),
        ({"a": True}, {"a": 1}, ["data.a"]),
    ],
)
def test_the_paths_that_differ(expected: Any, found: Any, paths: list[str]) -> None:
    assert differing_paths(expected, found) == paths
