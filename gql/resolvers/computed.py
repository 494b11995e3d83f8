"""Values a plain Python function computes from what SQL reads, each declared once and
used by both engines.

Some fields are not a column but a rule applied to columns: the masked IBAN, the
range `changeInstallment` accepts now (gql/domain/rules.py), a change request's
attribute as an enum member. Such a field declares a `Computed`: the SQL that reads
the rule's inputs for the row the field is on, and the function that turns them into
the value. The executor's resolver calls the function on what it has loaded; a query
plan (gql/query_plans.py) reads the inputs in its one statement, and the function runs
on them after the statement, where the plan marks the value (`finish`). The rule itself
is never written in SQL.

The mark is an object with one key: `#` followed by a token drawn at import. No
GraphQL name can be it, and no stored value can (a JSON value a planned read returns,
written by staff or a caller, would have to guess the token), so a mark can only be
the compiler's. `finish` replaces the marks in the statement's text without
parsing the rest: it finds each mark by its opening, which can only be structure
(inside a JSON string a quote is always escaped), decodes the mark's inputs and writes
the value in its place.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from gql.auth.actor import Actor
from gql.json_text import ARRAY_OPENING, object_opening
from gql.settings import Settings

__all__ = [
    "COMPUTED",
    "MARK",
    "PROCESS_PARAMETERS",
    "Computed",
    "Given",
    "declared_value",
    "finish",
    "moment",
]

MARK = "#" + secrets.token_hex(16)
# A mark as gql/json_text.py writes it: `{"<MARK>":[<finisher>,<inputs>...]}`.
_OPENING = object_opening(MARK) + ARRAY_OPENING
_INPUTS = json.JSONDecoder()
# The key of a field's metadata under which its computation is declared.
COMPUTED = "computed"


def _utc_now() -> datetime:
    return datetime.now(UTC)


# The clock of computations; a test comparing both engines' answers may hold it still
# (values such as a plausible reading or a link's expiry move with it).
clock: Callable[[], datetime] = _utc_now


# The moment of the request being answered (`one_moment`), in its task's context.
_HELD: ContextVar[datetime | None] = ContextVar("computations_moment", default=None)


def moment() -> datetime:
    """The moment a request's computations are for, on both engines: the one
    `one_moment` holds for the request, else the clock's."""
    held = _HELD.get()
    return clock() if held is None else held


@contextmanager
def one_moment() -> Iterator[None]:
    """A request's computations all for the moment it began, on whichever engines
    answer it (both with QUERY_PLANS=compare, which compares the two answers): one
    expiry for every link of an answer, one day for every rule."""
    token = _HELD.set(clock())
    try:
        yield
    finally:
        _HELD.reset(token)


@dataclass(frozen=True)
class Given:
    """What a computation may know besides its inputs: the caller, the moment, the
    request (its Accept-Language, which a message's language may follow, and its
    variables, for a computation's arguments) and the app's settings."""

    actor: Actor
    now: datetime
    settings: Settings | None = None
    accept_language: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Computed:
    """A field's value computed by `compute(given, *inputs)`.

    `columns` are the columns of the field's row the inputs read. `inputs(row, actor)`
    gives their SQL for a plan (`row`: the plan's derived table of the row, `actor`:
    the caller with its ids as parameters), each a value PostgreSQL turns into JSON;
    without it the inputs are the columns themselves (text columns: the executor's
    values and the JSON's are the same strings). `compute` receives the JSON's values
    from a plan; a field whose inputs are only columns gets its executor resolver from
    here (`resolve`); a field with other inputs has its own resolver that loads the
    same inputs and calls the same domain function. `arguments` are the field's
    arguments the function takes (a plan passes them from the request)."""

    columns: tuple[str, ...]
    compute: Callable[..., Any]
    inputs: Callable[[Any, Actor], Sequence[Any]] | None = None
    # The field's arguments (Python names) `compute` takes as keywords, as the executor
    # parses them; an argument not given is not passed (the function's default).
    arguments: tuple[str, ...] = ()

    def sql(self, row: Any, actor: Actor) -> Sequence[Any]:
        """The inputs as SQL, for the row `row` of a plan."""
        if self.inputs is not None:
            return self.inputs(row, actor)
        return [row.c[column] for column in self.columns]

    def resolve(self, row: Any, given: Given) -> Any:
        """The value for a row the executor loaded (inputs that are only columns)."""
        if self.inputs is not None:
            raise TypeError("a computation with inputs of its own has its own resolver")
        return self.compute(given, *(getattr(row, column) for column in self.columns))


# One computation of a plan: its inputs as the statement gave them -> the JSON value.
Finisher = Callable[[Given, list[Any]], Any]

# Parameters of a computation's inputs whose value is what this process knows rather
# than anything of the request, by name: the function that gives the value when a plan
# runs (gql/schema/rules.py: the versions of portals whose published rules this process
# has read, so that the statement reads them only for a version it has not).
PROCESS_PARAMETERS: dict[str, Callable[[], Any]] = {}


def finish(data: str, finishers: Sequence[Finisher], given: Given) -> str:
    """`data` (a plan's JSON text) with every mark replaced by its value.

    Raises:
        ValueError: a mark that is not the compiler's (its inputs not an array
            followed by the mark's end).
    """
    pieces: list[str] = []
    start = 0
    while (at := data.find(_OPENING, start)) >= 0:
        # The inputs array: the mark's opening ends with its `[`.
        inputs, end = _INPUTS.raw_decode(data, at + len(_OPENING) - 1)
        if data[end : end + 1] != "}":
            raise ValueError(f"a mark not closed after its inputs at {end}")
        value = finishers[inputs[0]](given, inputs[1:])
        pieces += [data[start:at], orjson.dumps(value).decode()]
        start = end + 1
    if not pieces:
        return data
    pieces.append(data[start:])
    return "".join(pieces)


def declared_value(computed: Computed) -> dict[str, Computed]:
    """The metadata of a field whose value is `computed`."""
    return {COMPUTED: computed}
