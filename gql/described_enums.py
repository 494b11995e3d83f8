"""GraphQL enums over Python enums owned elsewhere (the database's, the domain's), with a
description for every value.

Those enums stay plain `StrEnum`s, so `strawberry.enum_value` cannot go into their class
bodies; the descriptions are given next to the GraphQL declaration instead, as a mapping
that must name every member (a missing one is an import-time error, not an undescribed
value in the schema).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import TypeVar

import strawberry
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
