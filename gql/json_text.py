"""JSON text built in SQL by concatenation: the one rule by which a query plan's
statement writes its answer (gql/query_plans.py, gql/home_plans.py) and its computed
values' marks (gql/resolvers/computed.py finds them by `object_opening`).

PostgreSQL 15's `json_build_object` and `json_agg` look up every argument's type again
on every call (`json_categorize_type`: several syscache lookups per key and per value)
and call its output function through `OidOutputFunctionCall`. `concat` looks its
arguments' output functions up once per execution (its `fn_extra`), so an object is
written here as one `concat` of literal text (the braces, commas and keys, adjacent
pieces merged) and its values, each as JSON text, an object or list inside another as
pieces of the outer one's `concat`:

- `Json`: SQL that gives JSON text already (an object or list of this module, a mark),
  written as it is;
- `Quoted`: text that needs no escaping inside a JSON string (base64 IDs and cursors,
  ISO timestamps, enum members' names, numerals), written between quotes;
- a Python `str`, `int`, `bool` or None: a constant of the plan (`__typename`),
  written as JSON into the literal text;
- any other SQL value by its type: integers as they are, booleans by a CASE, anything
  else `to_json(value)`, the very text `json_build_object` gives for it
  (`datum_to_json`).

SQL NULL is written `null` (`concat` skips NULL arguments) by a `coalesce`, which a
NOT NULL column of a plan's level needs not. A list is
`'[' || array_to_string(ARRAY(SELECT item FROM rows), ',') || ']'` as pieces of the
concat around it (`json_rows`): `[]` without rows, as `json_agg`'s coalesced to `[]`
was, its items in the order the rows come (as `json_agg`'s were). An aggregate sets up
and finishes its state at every execution, once per parent row of a nested list; an
`ARRAY` sublink does not, so a plan's lists cost less (docs/performance.md). Where
other aggregates read the same rows beside the list (a page's `pageInfo`), it is
`concat('[', string_agg(item, ','), ']')` (`json_list`), one pass over them. Keys are
GraphQL names or the mark, never escaped: anything else is refused. Only the spacing
differs from `json_build_object`'s (`{"a":1,"b":2}` for `{"a" : 1, "b" : 2}`): the
same JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import elements, schema

__all__ = [
    "ARRAY_OPENING",
    "Json",
    "Quoted",
    "json_array",
    "json_list",
    "json_object",
    "json_rows",
    "may_be_null",
    "object_opening",
    "quoted",
]

# GraphQL names (keys and aliases), and a computed value's mark (`#` and hex digits).
_KEY = re.compile(r"[_A-Za-z][_0-9A-Za-z]*|#[0-9a-f]+")
# Constant strings written into the statement's text as they are: printable ASCII
# without quotes, backslashes or `%` (nothing for SQL, JSON or a driver to escape).
_PLAIN = re.compile(r"[ !#$&(-\[\]-~]*")
# The text an array begins with.
ARRAY_OPENING = "["
# PostgreSQL's FUNC_MAX_ARGS: a longer concatenation is nested.
_MAX_ARGUMENTS = 100


@dataclass(frozen=True)
class Json:
    """SQL whose value is JSON text already: written as it is (SQL NULL as `null`
    unless it can not be NULL). An object or array of this module keeps its `pieces`:
    written into another, they become pieces of its `concat` (one call, not one per
    level)."""

    sql: Any
    nullable: bool = True
    pieces: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Quoted:
    """SQL text that needs no escaping in a JSON string: written between quotes, no
    `to_json` needed (SQL NULL as `null` unless it can not be NULL)."""

    sql: Any
    nullable: bool = True


def quoted(*parts: Any) -> Json:
    """The string of `parts` (literal text, or SQL never NULL whose output needs no
    escaping in JSON) as pieces another object or array writes into its `concat`."""
    return _concatenated(['"', *parts], '"')


def object_opening(key: str) -> str:
    """The text an object whose first key is `key` begins with."""
    return "{" + _key(key) + ":"


def json_object(pairs: Iterable[tuple[str, Any]]) -> Json:
    """The object of `pairs` (key, value) in their order, as SQL giving its text."""
    pieces: list[Any] = []
    for number, (key, value) in enumerate(pairs):
        pieces.append(object_opening(key) if number == 0 else "," + _key(key) + ":")
        pieces += _written(value)
    return _concatenated(pieces or ["{"], "}")


def json_array(values: Sequence[Any]) -> Json:
    """The array of `values` in their order, as SQL giving its text."""
    pieces: list[Any] = [ARRAY_OPENING]
    for number, value in enumerate(values):
        pieces += ([] if number == 0 else [","]) + _written(value)
    return _concatenated(pieces, "]")


def json_list(item: Json, *, where: Any = None, order_by: Sequence[Any] = ()) -> Json:
    """An aggregate: the list of `item` over the rows it reads (those `where` holds
    for), in the order it reads them or by `order_by`; `[]` without rows."""
    listed: Any = sa.func.string_agg(_item(item), _literal(","))
    if order_by:
        listed = sa.aggregate_order_by(listed, *order_by)
    if where is not None:
        listed = listed.filter(where)
    # Without rows the aggregate is NULL, which concat skips: `[]`, also where its
    # pieces are written into another object's concat.
    return _concatenated([ARRAY_OPENING, listed], "]")


def json_rows(item: Json, rows: Any, *, where: Any = None, order_by: Sequence[Any] = ()) -> Json:
    """The list of `item` over the rows of `rows` (a derived table; those `where` holds
    for), in the order it gives them or by `order_by`; `[]` without rows. Not an
    aggregate: an `ARRAY` of the items joined by commas, written into the concat around
    it (`json_list` is for a list read beside other aggregates of the same rows)."""
    listed = sa.select(_item(item)).select_from(rows)
    if where is not None:
        listed = listed.where(where)
    if order_by:
        listed = listed.order_by(*order_by)
    # No item is NULL (array_to_string would skip it); without rows the text is empty.
    items = sa.func.array_to_string(sa.func.array(listed.scalar_subquery()), _literal(","))
    return _concatenated([ARRAY_OPENING, items], "]")


def _item(item: Json) -> Any:
    """A list's item as one SQL text, NULL written `null`."""
    return item.sql if not item.nullable else sa.func.coalesce(item.sql, _literal("null"))


def _key(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a GraphQL name or a mark: {key!r}")
    return '"' + key + '"'


def _written(value: Any) -> list[Any]:
    """The pieces that write `value` as JSON: literal text (str) and SQL text."""
    if isinstance(value, Json):
        if value.pieces:
            return list(value.pieces)
        if not value.nullable:
            return [value.sql]
        return [sa.func.coalesce(value.sql, _literal("null"))]
    if isinstance(value, Quoted):
        if not value.nullable:
            return ['"', value.sql, '"']
        # `||` is NULL with a NULL operand, where concat would write `""`.
        quoted = _literal('"').op("||")(value.sql).op("||")(_literal('"'))
        return [sa.func.coalesce(quoted, _literal("null"))]
    if value is None or isinstance(value, bool | int | str):
        return [_constant(value)]
    if isinstance(value, elements.Null):
        return ["null"]
    if isinstance(value, elements.True_ | elements.False_):
        return ["true" if isinstance(value, elements.True_) else "false"]
    if not isinstance(value, elements.ColumnElement):
        raise TypeError(f"not a JSON value's SQL: {value!r}")
    nullable = may_be_null(value)
    if isinstance(value.type, sa.Boolean):
        # A simple CASE: the value evaluated once.
        whens = ((sa.true(), _literal("true")), (sa.false(), _literal("false")))
        return [sa.case(*whens, value=value, else_=_literal("null"))]
    if isinstance(value.type, sa.Integer):
        if not nullable:
            return [value]  # concat writes it by its output function
        return [sa.func.coalesce(sa.cast(value, sa.Text), _literal("null"))]
    json = sa.func.to_json(value)
    return [sa.func.coalesce(json, sa.literal_column("'null'::json"))] if nullable else [json]


def may_be_null(sql: Any) -> bool:
    """Whether SQL may be NULL: anything but a derived table's column of a NOT NULL
    table column (a plan's level: it never outer-joins them), which needs no
    `coalesce`. A table's own column is not trusted: it may be outer-joined."""
    return not (
        isinstance(sql, schema.Column)
        and sql.nullable is False
        and isinstance(sql.table, sa.Subquery)
    )


def _constant(value: str | int | bool | None) -> str:
    """A constant as JSON text (only text nothing needs to escape)."""
    if isinstance(value, str) and not _PLAIN.fullmatch(value):
        raise ValueError(f"a constant to escape: {value!r}")
    return json.dumps(value)


def _literal(text: str) -> Any:
    if "'" in text or "\\" in text or "%" in text:
        raise ValueError(f"literal text to escape: {text!r}")
    return sa.literal_column(f"'{text}'", sa.Text)


def _concatenated(pieces: list[Any], closing: str) -> Json:
    """`pieces` and `closing` as one concat, adjacent literal texts merged."""
    merged: list[Any] = []
    for piece in [*pieces, closing]:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    if len(merged) == 1:
        return Json(_literal(merged[0]), nullable=False, pieces=tuple(merged))
    arguments = [_literal(p) if isinstance(p, str) else p for p in merged]
    while len(arguments) > _MAX_ARGUMENTS:
        arguments = [
            sa.func.concat(*arguments[start : start + _MAX_ARGUMENTS])
            for start in range(0, len(arguments), _MAX_ARGUMENTS)
        ]
    return Json(sa.func.concat(*arguments), nullable=False, pieces=tuple(merged))
