"""Every relation read newest first per parent (`ranked`: a page of each parent's rows,
the dashboard's last readings) is served by an index in the relation's declared order:
the parent's column, then the order's columns with their directions (or all of them
reversed, which an index reads backwards), up to a unique prefix. Without it each
parent's rows are sorted on every request. Derived from the relations' declarations, so
a new ranked relation or a changed order needs its index too. A meter's readings, as
the front-end's plans list them, are read from that index alone (its included columns
hold what the plans read)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from bench import workloads
from gql.query_plans import compile_plan
from gql.resolvers import relations
from gql.schema import schema
from tests.conftest import ACTORS

RANKED = [
    relation
    for relation in vars(relations).values()
    if isinstance(relation, relations.Relation) and relation.ranked
]

Key = tuple[str, bool]


def _key(expression: Any) -> Key:
    if isinstance(expression, sa.Column):
        return expression.name, False
    name, *direction = str(expression).split()
    return name, [word.upper() for word in direction] == ["DESC"]


def _orders(table: sa.Table) -> list[tuple[list[Key], bool]]:
    """Each index's and unique constraint's keys, and whether they are unique."""
    found = [([_key(e) for e in index.expressions], bool(index.unique)) for index in table.indexes]
    found += [
        ([(column.name, False) for column in constraint.columns], True)
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint)
    ]
    return found


def _serves(keys: list[Key], unique: bool, wanted: list[Key]) -> bool:
    (parent, _), *order = wanted
    (first, _), *rest = keys
    if first != parent:
        return False
    length = len(order) if not unique else min(len(order), len(rest))
    if len(rest) < length or (len(rest) > length and length < len(order)):
        return False
    pairs = list(zip(rest[:length], order[:length], strict=True))
    if any(have != want for (have, _), (want, _) in pairs):
        return False
    same = all(down == wanted_down for (_, down), (_, wanted_down) in pairs)
    flipped = all(down != wanted_down for (_, down), (_, wanted_down) in pairs)
    return same or flipped


def _wanted(relation: relations.Relation) -> list[Key]:
    """The keys an index needs to read `relation` in its order: the parent's column,
    then the order's columns."""
    return [(relation.join[0], False), *relation.ordering()]


def test_there_are_ranked_relations() -> None:
    assert {relation.model.__tablename__ for relation in RANKED} >= {"meter_reading"}


@pytest.mark.parametrize("relation", RANKED, ids=lambda r: f"{r.model.__name__}.{r.join[0]}")
def test_a_ranked_relation_is_read_in_its_order_from_an_index(
    relation: relations.Relation,
) -> None:
    table = relation.model.__table__
    wanted = _wanted(relation)
    orders = _orders(table)
    assert any(_serves(keys, unique, wanted) for keys, unique in orders), (
        f"no index of {table.name} serves {wanted}: {orders}"
    )


# The lists of readings the front-end reads per meter, compiled for their callers.
READING_LISTS = {
    "dashboard": (workloads.DASHBOARD, "customer"),
    "staffContacts": (workloads.STAFF_CONTACTS, "admin"),
}
# A derived table of a meter's readings in a plan: its select list, FROM, WHERE and order.
_READINGS_OF_A_METER = re.compile(
    r"SELECT (?:(?!SELECT).)*?\s+FROM meter_reading\s+WHERE meter_reading\.meter_id = "
    r"(?:(?!\) AS ).)*",
    re.S,
)


@pytest.mark.parametrize("name", READING_LISTS)
def test_a_meters_readings_are_listed_from_its_index_alone(name: str) -> None:
    """Every column a plan reads of a meter's readings (select list, row scope, order)
    is a key or an included column of the index that serves METER_READINGS: the list is
    an index-only scan, no heap page per reading (migration 0026)."""
    query, caller = READING_LISTS[name]
    sql = compile_plan(schema._schema, query, None, ACTORS[caller]).sql
    lists = _READINGS_OF_A_METER.findall(sql)
    assert lists, sql
    table = relations.METER_READINGS.model.__table__
    wanted = _wanted(relations.METER_READINGS)
    (index,) = [
        index
        for index in table.indexes
        if _serves([_key(e) for e in index.expressions], bool(index.unique), wanted)
    ]
    covered = {column for column, _ in map(_key, index.expressions)}
    covered |= set(index.dialect_options["postgresql"]["include"])
    for listed in lists:
        assert set(re.findall(r"meter_reading\.(\w+)", listed)) <= covered, listed
