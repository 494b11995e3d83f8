"""Values a client may send for a GraphQL input type, valid or not (hypothesis): what
the differential tests of the short way's coercion and conversion feed both ways."""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    is_input_type,
)
from hypothesis import strategies as st
from strawberry import relay

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
GLOBAL_IDS = st.builds(
    relay.to_base64, st.sampled_from(["Contract", "Meter", "Nothing"]), st.uuids().map(str)
)
SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "ID": st.one_of(GLOBAL_IDS, st.text(max_size=8), st.integers()),
    "String": st.text(max_size=12),
    "Line": st.text(max_size=12),
    "Text": st.text(max_size=20),
    "Boolean": st.booleans(),
    "Int": st.integers(min_value=-(2**33), max_value=2**33),
    "Float": st.floats(allow_nan=False),
    "Decimal": st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
        st.integers(min_value=-(10**6), max_value=10**6),
        st.sampled_from(["85,00", "1e3", "", " 1.5 "]),
    ),
    "DateTime": st.one_of(
        st.datetimes().map(lambda at: at.isoformat() + "Z"),
        st.datetimes().map(lambda at: at.isoformat()),
        st.sampled_from(["2026-13-01T00:00:00Z", "yesterday"]),
    ),
    "Date": st.one_of(st.dates().map(str), st.sampled_from(["2026-02-30", "soon"])),
    "Iban": st.sampled_from(["DE89370400440532013000", "DE00 0000", "", "GB82WEST12345698765432"]),
    "EmailAddress": st.sampled_from(["a@example.org", "not an address", ""]),
}


VALID: dict[str, st.SearchStrategy[Any]] = {
    "ID": GLOBAL_IDS,
    "String": st.text(max_size=12),
    "Line": st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=12),
    "Text": st.text(st.characters(codec="utf-8", categories=["L", "N", "Zs"]), max_size=20),
    "Boolean": st.booleans(),
    "Int": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    "Float": st.floats(allow_nan=False, allow_infinity=False),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    "DateTime": st.datetimes().map(lambda at: at.isoformat() + "Z"),
    "Date": st.dates().map(str),
    "Iban": st.sampled_from(["DE89370400440532013000", "GB82WEST12345698765432"]),
    "EmailAddress": st.sampled_from(["a@example.org", "b.c@example.com"]),
}


def json_values(type_: GraphQLInputType) -> st.SearchStrategy[Any]:
    """JSON values for `type_`: of its shape with values its scalars take, or anything
    (a null, a value of another kind, an unknown field), so that both valid and
    refused values come up."""
    # Half and half (a plain one_of would flatten the other's branches and weigh the
    # valid values as one branch of six).
    return st.booleans().flatmap(lambda valid: (valid_values if valid else _any_values)(type_))


def valid_values(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of `type_`'s shape: nulls only where it allows them."""
    if depth > 3:
        return st.none()
    if isinstance(type_, GraphQLNonNull):
        return _valid_shaped(type_.of_type, depth)
    return st.one_of(st.none(), _valid_shaped(type_, depth))


def _split(
    type_: GraphQLInputObjectType, fields: dict[str, st.SearchStrategy[Any]]
) -> tuple[dict[str, st.SearchStrategy[Any]], dict[str, st.SearchStrategy[Any]]]:
    """The fields' strategies a value of `type_` must give (non-null without a default
    value), and the others (a value may leave them out)."""
    required = {
        name: strategy
        for name, strategy in fields.items()
        if isinstance(type_.fields[name].type, GraphQLNonNull)
        and type_.fields[name].default_value is Undefined
    }
    return required, {name: s for name, s in fields.items() if name not in required}


def _valid_shaped(type_: Any, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLList):
        return st.lists(valid_values(type_.of_type, depth + 1), max_size=3)
    if isinstance(type_, GraphQLInputObjectType):
        fields = {name: valid_values(f.type, depth + 1) for name, f in type_.fields.items()}
        required, optional = _split(type_, fields)
        return st.fixed_dictionaries(required, optional=optional)
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(list(type_.values))
    assert isinstance(type_, GraphQLScalarType)
    return VALID.get(type_.name, JUNK)


def _any_values(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    if depth > 3:
        return st.none()
    if isinstance(type_, GraphQLNonNull):
        return st.one_of(_any_values(type_.of_type, depth), st.none())
    shaped = _shaped(type_, depth)
    return st.one_of(shaped, shaped, shaped, st.none(), JUNK)


def _shaped(type_: Any, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLList):
        item = _any_values(type_.of_type, depth + 1)
        return st.one_of(st.lists(item, max_size=3), item)
    if isinstance(type_, GraphQLInputObjectType):
        fields = {name: _any_values(field.type, depth + 1) for name, field in type_.fields.items()}
        required, optional = _split(type_, fields)
        complete = st.fixed_dictionaries(required, optional=optional)
        some = st.fixed_dictionaries({}, optional=fields)
        unknown = st.fixed_dictionaries(required, optional={"unknownField": JUNK})
        return st.one_of(complete, complete, complete, some, unknown)
    if isinstance(type_, GraphQLEnumType):
        return st.one_of(st.sampled_from(list(type_.values)), st.text(max_size=6))
    assert isinstance(type_, GraphQLScalarType)
    return SCALARS.get(type_.name, JUNK)


def input_types(schema: GraphQLSchema) -> list[GraphQLInputObjectType]:
    """Every input object type of `schema`, by name."""
    return sorted(
        (t for t in schema.type_map.values() if isinstance(t, GraphQLInputObjectType)),
        key=lambda t: t.name,
    )


def argument_types(schema: GraphQLSchema) -> list[tuple[str, GraphQLInputType]]:
    """Every root field argument's type, as `Type.field(argument)`."""
    found = []
    for root in (schema.query_type, schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            for argument_name, argument in field.args.items():
                assert is_input_type(argument.type)
                found.append((f"{root.name}.{name}({argument_name})", argument.type))
    return found
