"""Descriptions Strawberry does not place by itself.

- Enums owned elsewhere (the database's, the domain's) stay plain `StrEnum`s, so
  `strawberry.enum_value` cannot go into their class bodies: `described_enum` takes the
  descriptions as a mapping next to the GraphQL declaration, which must name every
  member (a missing one is an import-time error, not an undescribed value).
- Strawberry drops the descriptions of a schema directive's arguments (its fields'
  `description=`): `describe_directive_arguments` copies them onto the built schema.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import TypeVar

import strawberry
from strawberry.schema_directive import StrawberrySchemaDirective
from strawberry.types.enum import StrawberryEnumDefinition

E = TypeVar("E", bound=enum.Enum)


def described_enum(
    cls: type[E], description: str, values: Mapping[E, str], *, name: str | None = None
) -> type[E]:
    """`strawberry.enum(cls)` with `values[member]` as each value's description.

    Raises:
        TypeError: a member of `cls` has no description, or `values` names another enum's.
    """
    missing = [member.name for member in cls if member not in values]
    foreign = [str(key) for key in values if not isinstance(key, cls)]
    if missing or foreign:
        raise TypeError(
            f"Descriptions of {cls.__name__}: missing {missing or 'none'},"
            f" foreign {foreign or 'none'}"
        )
    wrapped = strawberry.enum(cls, name=name, description=description)
    definition: StrawberryEnumDefinition = wrapped.__strawberry_definition__  # type: ignore[attr-defined]
    definition.values = [
        dataclasses.replace(value, description=values[cls[value.name]])
        for value in definition.values
    ]
    return wrapped


def describe_directive_arguments(schema: strawberry.Schema) -> None:
    """Give each argument of the schema's own directives its field's `description=`."""
    for directive in schema._schema.directives:
        definition = (directive.extensions or {}).get("strawberry-definition")
        if not isinstance(definition, StrawberrySchemaDirective):
            continue
        for field in definition.fields:
            name = schema.config.name_converter.get_graphql_name(field)
            directive.args[name].description = field.description
