"""The planned step of a GraphQL request: a document the executor has answered once is
answered from then on by one SQL statement (gql/query_plans.py), and the session check
the authentication middleware left to the view (gql.auth.backend.KnownSessions) runs in
that same statement.

The order is what keeps it safe: nothing of the request is read before the session is
checked. With `Context.unconfirmed` the check runs first - in the plan's statement, or
alone when there is no plan - and the plan's answer counts only if the check says the
same grants the plan was compiled for; otherwise the actor is completed from the check
and the request goes on (a plan for the new grants, or the executor).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import structlog
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

import gql.home_plans  # noqa: F401  (registers the plan of portalHome in ROOT_PLANS)
from gql import metrics
from gql.auth.actor import Actor
from gql.auth.backend import KnownSessions, SessionEnded
from gql.context import Context
from gql.domain import sessions
from gql.query_plans import Plan, Planner
from gql.resolvers.computed import Given, moment

log = structlog.get_logger(__name__)


class Plans:
    """The plans of one app (per process) and the session check that rides with them."""

    def __init__(self, schema: Any, known: KnownSessions, max_page_size: int) -> None:
        self.planner = Planner(schema, max_page_size=max_page_size)
        self.known = known

    async def answer(
        self, request: GraphQLRequestData, context: Context, *, plannable: bool
    ) -> ExecutionResult | None:
        """The session check if the middleware left it to the view (in the plan's
        statement when there is a plan), then the plan; None when the executor is to
        answer, the session checked by then.

        Raises:
            SessionEnded: the session behind the token has ended (nothing was answered).
        """
        if context.unconfirmed:
            if plannable:
                answer = await self._planned_with_session(request, context)
                if answer is not None:
                    return answer
            await self.confirm(context)
        if plannable:
            return await self._planned(request, context)
        return None

    def answered(self, request: GraphQLRequestData, result: ExecutionResult) -> None:
        """The executor answered `request`: without errors, its document may be planned
        from now on."""
        if request.query is not None and result.data is not None and not result.errors:
            self.planner.answered(request.query, request.operation_name)

    async def compare(
        self, request: GraphQLRequestData, context: Context, result: ExecutionResult
    ) -> None:
        """QUERY_PLANS=compare: the executor has answered `request` (its answer is the
        one sent); the plan answers it too, if it has one, as it would the next time,
        and a different answer is logged with the paths that differ (no values: they
        are the caller's data) and counted. A plan that fails is a difference too."""
        if request.query is None or result.data is None or result.errors:
            return  # only an answer with data is planned (`answered`, called before)
        try:
            planned = await self._planned(request, context)
            if planned is None:
                return
            paths = differing_paths(_json(result.data), _json(planned.data))
        except Exception:
            log.exception("query_plan.compare_failed", operation=request.operation_name)
            paths = ["(the plan failed)"]
        if paths:
            operation = metrics.observe_plan_difference(request.operation_name, request.query)
            log.error("query_plan.differs", operation=operation, paths=paths[:MAX_PATHS])
            for listener in DIFFERENCE_LISTENERS:
                listener(operation, paths[:MAX_PATHS])

    async def confirm(self, context: Context) -> None:
        """The session check on its own, if the middleware left it to the view.

        Raises:
            SessionEnded: the session behind the token has ended.
        """
        if not context.unconfirmed:
            return
        actor = await sessions.authorize(context.session, context.actor, datetime.now(UTC))
        if actor is None:
            self.known.forget(context.actor)
            raise SessionEnded
        self.known.remember(actor)
        context.confirm(actor)

    def confirm_row(self, context: Context, assumed: Actor, row: Sequence[Any]) -> bool:
        """`context` confirmed with the actor a portal user's session check `row`
        completes (`KnownSessions.completed`: `assumed` itself when unchanged); whether
        it has the grants `assumed` had."""
        actor = self.known.completed(assumed, row)
        context.confirm(actor)
        return KnownSessions.same(actor, assumed)

    def _plan(
        self, request: GraphQLRequestData, actor: Actor, *, checking_session: bool = False
    ) -> tuple[Plan, dict[str, Any]] | None:
        """The plan of `request` for `actor` (the variant behind the session check if
        asked) and its values, if it has one and the arguments are for a plan: the
        statement compiled without the conditions this request's arguments leave out,
        and with the ways of its search texts that are known (Planner.ways)."""
        assert request.query is not None
        plan = self.planner.plan(request.query, request.operation_name, actor)
        if plan is None:
            return None
        extra = sessions.session_parameters(actor, datetime.now(UTC)) if checking_session else None
        values = plan.values(actor, request.variables or {}, extra)
        if values is None:
            return None
        absent = plan.left_out(values)
        decided = self.planner.ways(plan, values)
        if absent or decided:
            plan = self.planner.plan(request.query, request.operation_name, actor, absent, decided)
        if checking_session:
            plan = plan.with_session if plan is not None else None
        return None if plan is None else (plan, values)

    async def _planned(
        self, request: GraphQLRequestData, context: Context
    ) -> ExecutionResult | None:
        found = self._plan(request, context.actor)
        if found is None:
            return None
        plan, values = found
        row = await context.fetch_row(plan.sql, plan.arguments(values))
        assert row is not None  # an aggregate without GROUP BY: always one row
        self.planner.learn(plan, values, row)
        return _finished(plan, row[-1], request, context)

    async def _planned_with_session(
        self, request: GraphQLRequestData, context: Context
    ) -> ExecutionResult | None:
        """One statement: the session check of the token and the plan compiled for the
        grants the session had last time. Its answer counts only if the check says the
        same now; otherwise the actor is completed from the check and the request goes
        on (None). SessionEnded when the session has ended."""
        assumed = context.actor
        found = self._plan(request, assumed, checking_session=True)
        if found is None:
            return None
        plan, values = found
        row = await context.fetch_row(plan.sql, plan.arguments(values))
        if row is None:
            self.known.forget(assumed)
            raise SessionEnded
        self.planner.learn(plan, values, row)
        if not assumed.is_portal_user:  # staff: the token said all, the row is the session
            context.confirm(assumed)
            return _finished(plan, row[-1], request, context)
        if not self.confirm_row(context, assumed, row):
            return None  # the group changed: the plan assumed other grants
        return _finished(plan, row[-1], request, context)


MAX_PATHS = 10  # differing paths logged per answer

# Told of every difference QUERY_PLANS=compare finds, with the operation and its paths
# (tests/fast_path.py fails the test that caused it).
DIFFERENCE_LISTENERS: list[Callable[[str, list[str]], object]] = []


def _json(data: Any) -> Any:
    """An answer's data as the client gets it (a plan's is a JSON fragment already)."""
    return orjson.loads(orjson.dumps(data))


def differing_paths(expected: Any, found: Any, path: str = "data") -> list[str]:
    """The JSON paths at which `found` differs from `expected` (members missing or
    extra, lists of other lengths, other values); empty when they are equal, key order
    included."""
    if isinstance(expected, dict) and isinstance(found, dict):
        if list(expected) != list(found):
            return [f"{path} (members {list(expected)} != {list(found)})"]
        return [
            p
            for key in expected
            for p in differing_paths(expected[key], found[key], f"{path}.{key}")
        ]
    if isinstance(expected, list) and isinstance(found, list):
        if len(expected) != len(found):
            return [f"{path} (length {len(expected)} != {len(found)})"]
        return [
            p
            for index, (one, other) in enumerate(zip(expected, found, strict=True))
            for p in differing_paths(one, other, f"{path}[{index}]")
        ]
    return [] if type(expected) is type(found) and expected == found else [path]


def _answer(data: str | bytes) -> ExecutionResult:
    # Already JSON: orjson writes the fragment into the answer as it is.
    return ExecutionResult(data=cast(Any, orjson.Fragment(data)), errors=None)


def _given(request: GraphQLRequestData, context: Context) -> Given:
    """What the plan's computations know of the request, as the executor's resolvers
    know it from the context (gql/resolvers/computed.py)."""
    return Given(
        context.actor,
        moment(),
        settings=context.settings,
        accept_language=context.accept_language,
        variables=request.variables or {},
    )


def _finished(
    plan: Plan, data: str, request: GraphQLRequestData, context: Context
) -> ExecutionResult | None:
    """The plan's answer with its computed values; None (the executor answers) when a
    computation fails: a bug there must cost speed, never the answer."""
    try:
        return _answer(plan.finished(data, functools.partial(_given, request, context)))
    except Exception:
        log.exception("query_plan.finish_failed")
        return None
