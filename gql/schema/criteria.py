"""What lists may be searched, filtered and sorted by, and by whom.

Matching rows by a value reads the value: a search that matches a hidden column tells
the caller, one character at a time, what the column holds, and a sort by it tells its
order. So every column an argument matches or sorts by is declared as a `Criterion`:
a reference to the GraphQL field that shows the column (through the fields that lead
to it), whose `allow(...)` then decides per caller, with its roles and, for portal
users, the grant of their group. There is no second list of roles.

A search matches only the columns the caller may read (none: it finds nothing). A
filter or sort key the caller may not read is refused with a FORBIDDEN error naming
the argument. `ARGUMENTS` records what every filter and sort argument stands for;
tests/gql/test_search_fields.py fails on an argument of the schema missing from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.types.base import has_object_definition
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from gql.auth.actor import Actor
from gql.auth.permissions import may_read

__all__ = [
    "ARGUMENTS",
    "Criterion",
    "Search",
    "criterion",
    "declare",
    "readable_columns",
    "require",
    "require_given",
    "search",
]


@dataclass(frozen=True)
class Criterion:
    """A column and the GraphQL fields a caller reads it through, from the listed rows'
    type to the value (e.g. PortalUser.contact, then Contact.email)."""

    fields: tuple[tuple[str, StrawberryField], ...]
    column: Any

    @property
    def name(self) -> str:
        """The fields as the schema names them, e.g. `PortalUser.contact > Contact.email`."""
        return " > ".join(f"{owner}.{to_camel_case(f.python_name)}" for owner, f in self.fields)

    def readable_by(self, actor: Actor) -> bool:
        """Whether `actor` may read every field on the way to the column."""
        return all(may_read(field, actor) for _, field in self.fields)

    def through(self, owner: type[Any], field_name: str) -> Criterion:
        """This criterion reached from `owner` rows through their field `field_name`."""
        return Criterion(((owner.__name__, _field(owner, field_name)), *self.fields), self.column)


# The columns a free-text search may match, each behind its field.
Search = tuple[Criterion, ...]

# Per input type, `Query.<field>` or enum of sort keys: what each argument, input field
# or enum member stands for (None: no column, e.g. a sort direction).
ARGUMENTS: dict[str, dict[str, Criterion | Search | None]] = {}


def _field(owner: type[Any], field_name: str) -> StrawberryField:
    if not has_object_definition(owner):
        raise TypeError(f"{owner!r} is not a GraphQL type")
    for field in owner.__strawberry_definition__.fields:
        if field.python_name == field_name:
            return field
    raise LookupError(f"{owner.__name__} has no field {field_name}")


def criterion(owner: type[Any], field_name: str, column: Any = None) -> Criterion:
    """The column behind `owner.field_name` (by default the row attribute of the same
    name of the type's model)."""
    field = _field(owner, field_name)
    if column is None:
        column = getattr(owner.__model__, field_name)
    return Criterion(((owner.__name__, field),), column)


def search(owner: type[Any], *field_names: str) -> Search:
    """The columns behind these fields of `owner`, for a free-text search."""
    return tuple(criterion(owner, name) for name in field_names)


def declare(
    where: str, **arguments: Criterion | Search | None
) -> dict[str, Criterion | Search | None]:
    """Record what the arguments of `where` stand for (by Python name); returns them."""
    if where in ARGUMENTS:
        raise ValueError(f"{where} is declared twice")
    ARGUMENTS[where] = dict(arguments)
    return ARGUMENTS[where]


def readable_columns(columns: Iterable[Criterion], actor: Actor) -> list[Any]:
    """The columns among `columns` that `actor` may read, for a search to match."""
    return [c.column for c in columns if c.readable_by(actor)]


def require(declared: Criterion, actor: Actor, argument: str) -> Any:
    """The column of `declared` if `actor` may read it.

    Raises:
        GraphQLError: FORBIDDEN, naming `argument` and the field it would read.
    """
    if not declared.readable_by(actor):
        raise GraphQLError(
            f"Not allowed to filter or sort by '{argument}' (it reads '{declared.name}').",
            extensions={"code": "FORBIDDEN", "argument": argument},
        )
    return declared.column


def require_given(where: str, values: Mapping[str, Any], actor: Actor) -> None:
    """Refuse every given argument of `where` whose column `actor` may not read
    (searches are narrowed instead, by `readable_columns`).

    Raises:
        GraphQLError: FORBIDDEN for the first such argument.
        LookupError: a given argument is not declared.
    """
    declared = ARGUMENTS[where]
    for name, value in values.items():
        if value is None:
            continue
        if name not in declared:
            raise LookupError(f"{where}.{name} is not declared in gql.schema.criteria")
        rule = declared[name]
        if isinstance(rule, Criterion):
            require(rule, actor, f"{where}.{to_camel_case(name)}")
