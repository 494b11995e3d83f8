"""Every relation read newest first per parent (`ranked`: a page of each parent's rows,
the dashboard's last readings) is served by an index in the relation's declared order:
the parent's column, then the order's columns with their directions (or all of them
reversed, which an index reads backwards), up to a unique prefix. Without it each
parent's rows are sorted on every request. Derived from the relations' declarations, so
a new ranked relation or a changed order needs its index too."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from gql.resolvers import relations

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


def test_there_are_ranked_relations() -> None:
    assert {relation.model.__tablename__ for relation in RANKED} >= {"meter_reading"}


@pytest.mark.parametrize("relation", RANKED, ids=lambda r: f"{r.model.__name__}.{r.join[0]}")
def test_a_ranked_relation_is_read_in_its_order_from_an_index(
    relation: relations.Relation,
) -> None:
    table = relation.model.__table__
    wanted = [(relation.join[0], False), *relation.ordering()]
    orders = _orders(table)
    assert any(_serves(keys, unique, wanted) for keys, unique in orders), (
        f"no index of {table.name} serves {wanted}: {orders}"
    )
