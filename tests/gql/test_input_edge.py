"""Input typed at the edge: every value a caller sends is checked while the request is
parsed. No input field or argument is a bare `String`; each bounded scalar refuses
NUL, control characters and over-long values in every place it is used, as a literal
and as a variable, with BAD_USER_INPUT naming the argument or variable, before
anything runs."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)

from gql.schema import scalars, schema
from gql.schema.pagination import MAX_OFFSET, encode_cursor
from tests.conftest import GraphQLClient, global_id

GRAPHQL = schema._schema
OURS = {"Line", "Text", "EmailAddress", "Iban", "Cursor"}
# Scalars whose values are not free text: parsed into numbers, dates, ids or a file.
NOT_TEXT = {"ID", "Int", "Float", "Boolean", "Date", "DateTime", "Decimal", "Upload", "JSON"}


def _inputs(
    input_type: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]
) -> Iterator[tuple[tuple[str, ...], str]]:
    """(path inside the argument, scalar name) of every scalar an argument takes."""
    named = get_named_type(input_type)
    if isinstance(named, GraphQLInputObjectType):
        if named.name in seen:
            return
        for name, field in named.fields.items():
            yield from _inputs(field.type, (*path, name), seen | {named.name})
    elif isinstance(named, GraphQLScalarType):
        yield path, named.name


def arguments() -> Iterator[tuple[str, str, tuple[str, ...], str]]:
    """(type, field, path from the argument down, scalar) of every input in the schema."""
    for type_name, graphql_type in sorted(GRAPHQL.type_map.items()):
        if not isinstance(graphql_type, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, field in sorted(graphql_type.fields.items()):
            for argument, definition in field.args.items():
                for path, scalar in _inputs(definition.type, (argument,), frozenset()):
                    yield type_name, field_name, path, scalar


ROOT_TEXT_INPUTS = [
    (type_name, field, path, scalar)
    for type_name, field, path, scalar in arguments()
    if type_name in ("Query", "Mutation") and scalar in OURS
]


def test_no_argument_or_input_field_is_unbounded_text() -> None:
    """Free text only through the bounded scalars: a new `str` input fails here."""
    unbounded = [
        f"{t}.{f}({'.'.join(p)}): {s}" for t, f, p, s in arguments() if s not in OURS | NOT_TEXT
    ]
    assert unbounded == []
    assert {s for *_, s in arguments()} >= OURS


def _filler(input_type: GraphQLInputType) -> Any:
    """A value that passes coercion, for the required parts around the tested one."""
    if isinstance(input_type, GraphQLNonNull):
        return _filler(input_type.of_type)
    if isinstance(input_type, GraphQLList):
        return [_filler(input_type.of_type)]
    if isinstance(input_type, GraphQLEnumType):
        return next(iter(input_type.values))
    if isinstance(input_type, GraphQLInputObjectType):
        return {
            name: _filler(field.type)
            for name, field in input_type.fields.items()
            if isinstance(field.type, GraphQLNonNull)
        }
    assert isinstance(input_type, GraphQLScalarType)
    return {
        "ID": global_id("Portal", uuid.uuid4()),
        "Int": 1,
        "Float": 1.0,
        "Boolean": True,
        "Date": "2026-01-01",
        "DateTime": "2026-01-01T00:00:00+00:00",
        "Decimal": "1",
        "JSON": {},
        "Upload": None,
        "Line": "x",
        "Text": "x",
        "EmailAddress": "x@example.org",
        "Iban": "DE89370400440532013000",
        "Cursor": encode_cursor(0),
    }[input_type.name]


def _set(value: Any, path: tuple[str, ...], leaf: Any, input_type: GraphQLInputType) -> Any:
    """`value` with `leaf` at `path` (lists get the leaf as their one item)."""
    named = input_type.of_type if isinstance(input_type, GraphQLNonNull) else input_type
    if isinstance(named, GraphQLList):
        return [_set(value[0] if value else None, path, leaf, named.of_type)]
    if not path:
        return leaf
    assert isinstance(named, GraphQLInputObjectType)
    head, *rest = path
    inner = dict(value or {})
    inner[head] = _set(inner.get(head), tuple(rest), leaf, named.fields[head].type)
    return inner


BAD_VALUES = {
    "nul": "a\x00b",
    "control": "a\x07b",
    "line separator": "a\u2028b",
    "lone surrogate": "a\ud800b",
    "too long": "a" * (scalars.TEXT_MAX + 1),
}
# What else each scalar refuses, in every place it is used.
BAD_BY_SCALAR = {
    "EmailAddress": {"two addresses": "a@x.de,b@y.de", "no local part": "@sum@x.de"},
    "Iban": {"checksum": "DE89 3704 0044 0532 0130 01"},
    "Cursor": {"past 2^31": encode_cursor(2**31)},
}


def _operation(type_name: str, field: str, argument: str) -> tuple[str, GraphQLInputType]:
    definition = GRAPHQL.type_map[type_name]
    assert isinstance(definition, GraphQLObjectType)
    graphql_field = definition.fields[field]
    declared = graphql_field.args[argument].type
    others = ", ".join(
        f"{name}: {_literal(_filler(arg.type))}"
        for name, arg in graphql_field.args.items()
        if name != argument and isinstance(arg.type, GraphQLNonNull)
    )
    keyword = "mutation" if type_name == "Mutation" else "query"
    arguments = f"{argument}: $value" + (f", {others}" if others else "")
    selection = "__typename" if not _is_leaf(graphql_field.type) else ""
    body = f"{field}({arguments})" + (f" {{ {selection} }}" if selection else "")
    return f"{keyword} Edge($value: {declared}) {{ {body} }}", declared


def _is_leaf(output: Any) -> bool:
    return isinstance(get_named_type(output), GraphQLScalarType | GraphQLEnumType)


def _literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.isidentifier() and value.isupper():
        return value  # an enum value
    if value is None:
        return "null"
    return json.dumps(value)


@pytest.mark.parametrize(
    ("type_name", "field", "path", "scalar"),
    ROOT_TEXT_INPUTS,
    ids=[f"{t}.{f}.{'.'.join(p)}" for t, f, p, _ in ROOT_TEXT_INPUTS],
)
async def test_every_text_input_refuses_bad_values_naming_where(
    gql: GraphQLClient, type_name: str, field: str, path: tuple[str, ...], scalar: str
) -> None:
    query, declared = _operation(type_name, field, path[0])
    for case, bad in (BAD_VALUES | BAD_BY_SCALAR.get(scalar, {})).items():
        value = _set(_filler(declared), path[1:], bad, declared)
        data, errors = await gql(query, "admin", value=value)
        assert data is None, (case, data)
        mine = [e for e in errors if e.extensions and e.extensions.get("code") == "BAD_USER_INPUT"]
        assert mine, (case, [e.message for e in errors])
        inside = f" at .{'.'.join(path[1:])}" if path[1:] else ":"
        named = [m.message for m in mine if inside in m.message.replace("[0]", "")]
        named = [m for m in named if "'$value'" in m]
        assert named, (case, [e.message for e in mine])


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        ('{ publicPortal(domain: "a\\u0000b") { name } }', "domain"),
        ('{ contacts(search: "a\\u0007b") { totalCount } }', "search"),
        (
            'mutation { login(input: {email: "a@b.de,c@d.de", password: "x"}) { __typename } }',
            "input' at .email",
        ),
        ('{ contacts(after: "' + encode_cursor(2**31) + '") { totalCount } }', "after"),
    ],
)
async def test_a_refused_literal_names_its_argument(
    gql: GraphQLClient, query: str, argument: str
) -> None:
    data, errors = await gql(query, "admin")
    assert data is None
    assert [e.extensions["code"] for e in errors] == ["BAD_USER_INPUT"]
    assert f"Argument '{argument}" in errors[0].message


@pytest.mark.parametrize(
    "address",
    [
        "@sum@x.de",
        "a@x.de,b@y.de",
        "a@x.de;b@y.de",
        "Anna <anna@example.org>",
        "a b@example.org",
        "anna@localhost",
        "anna@[127.0.0.1]",
        "anna@example.org\r\nBcc: eve@example.org",
        "a" * 65 + "@example.org",
        "anna@" + "a" * 250 + ".de",
        "",
    ],
)
def test_an_email_address_is_exactly_one_mailbox(address: str) -> None:
    with pytest.raises(GraphQLError) as refused:
        scalars.parse_email(address)
    assert (refused.value.extensions or {})["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("Anna.Becker@Example.ORG", "anna.becker@example.org"),
        ("  anna@example.org ", "anna@example.org"),
        ("kunde@münchen.de", "kunde@xn--mnchen-3ya.de"),
    ],
)
def test_an_email_address_has_one_canonical_form(address: str, canonical: str) -> None:
    assert scalars.parse_email(address) == canonical


@pytest.mark.parametrize(
    "cursor",
    [
        encode_cursor(MAX_OFFSET + 1),
        encode_cursor(2**31),
        encode_cursor(10**400),
        encode_cursor(-1),
        base64.urlsafe_b64encode(b"offset:+1").decode(),
        base64.urlsafe_b64encode(b"offset:1_0").decode(),
        base64.urlsafe_b64encode("offset:\u0661".encode()).decode(),  # an Arabic-Indic 1
        "not base64!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_a_cursor_out_of_range_is_refused_before_any_statement(
    gql: GraphQLClient, cursor: str
) -> None:
    for actor, query in (
        ("admin", "query($c: Cursor) { contacts(after: $c) { totalCount } }"),
        ("customer", "query($c: Cursor) { viewer { contracts(after: $c) { totalCount } } }"),
    ):
        data, errors = await gql(query, actor, c=cursor)
        assert data is None
        assert [e.extensions["code"] for e in errors] == ["BAD_USER_INPUT"]
        assert "'$c'" in errors[0].message


async def test_the_last_offset_a_cursor_may_name_is_answered(gql: GraphQLClient) -> None:
    query = "query($c: Cursor) { contacts(after: $c, first: 100) { edges { cursor } } }"
    data, errors = await gql(query, "admin", c=encode_cursor(MAX_OFFSET))
    assert errors == []
    assert data == {"contacts": {"edges": []}}


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({"a": "x\ny\tz"}, True),
        ({"a": "x\x00"}, False),
        ({"a\x00": "x"}, False),
        ({"a": ["x" * (scalars.JSON_MAX_CHARS + 1)]}, False),
        ([[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]], False),
        ({"n": float("nan")}, False),
    ],
)
def test_json_input_follows_the_text_rules(value: Any, ok: bool) -> None:
    if ok:
        assert scalars.parse_json(value) == value
    else:
        with pytest.raises(GraphQLError) as refused:
            scalars.parse_json(value)
        assert (refused.value.extensions or {})["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", "1e999999999", "1" * 40, "x", True])
def test_a_decimal_is_finite_and_of_sane_size(value: Any) -> None:
    with pytest.raises(GraphQLError) as refused:
        scalars.parse_decimal(value)
    assert (refused.value.extensions or {})["code"] == "BAD_USER_INPUT"


def test_an_iban_is_checked_and_compacted() -> None:
    assert scalars.parse_iban("DE89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    with pytest.raises(GraphQLError, match="IBAN"):
        scalars.parse_iban("DE89 3704 0044 0532 0130 01")
