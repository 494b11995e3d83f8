"""The short way's call of a mutation's root field (gql/http/root_fields.py) against
Strawberry's resolver wrapper: the same input objects for every root field argument of
the schema (nested inputs, lists, nulls and absent fields, enums, custom scalars,
GlobalIDs that are none), and for every mutation the short way serves, the same
refusal (`Forbidden`, its message and extensions) or the same call of the resolver, for
every kind of caller and under impersonation.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import GraphQLField, GraphQLResolveInfo
from graphql.pyutils import Undefined
from graphql.utilities.coerce_input_value import coerce_input_value
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.types.arguments import convert_argument
from strawberry.types.field import StrawberryField

from gql.auth.actor import Actor
from gql.http import short_mutations
from gql.http.root_fields import InputConversions, RootField, Unsupported, root_field
from gql.schema import schema
from tests.conftest import ACTORS
from tests.input_values import json_values

GRAPHQL = schema._schema
REGISTRY = schema.schema_converter.scalar_registry
CONFIG = schema.config


def _root_arguments() -> dict[str, tuple[Any, Any]]:
    """Every root field argument: its GraphQL type and its Strawberry argument."""
    found = {}
    for root in (GRAPHQL.query_type, GRAPHQL.mutation_type):
        assert root is not None
        for name, definition in root.fields.items():
            field = (definition.extensions or {}).get("strawberry-definition")
            if not isinstance(field, StrawberryField):
                continue
            for argument in field.arguments:
                graphql_name = CONFIG.name_converter.from_argument(argument)
                key = f"{root.name}.{name}({graphql_name})"
                found[key] = (definition.args[graphql_name].type, argument)
    return found


ARGUMENTS = _root_arguments()


def _outcome(convert: Any, value: Any) -> Any:
    try:
        return ("value", convert(value))
    except Exception as error:  # both ways' refusals compared by type and words
        return ("error", type(error), str(error))


@pytest.mark.parametrize("key", sorted(ARGUMENTS))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_conversion_of_every_root_argument_is_strawberrys(key: str, data: st.DataObject) -> None:
    graphql_type, argument = ARGUMENTS[key]
    try:
        compiled = InputConversions(REGISTRY, CONFIG.name_converter).convert(argument.type)
    except Unsupported:
        return  # Strawberry's wrapper converts it (`root_field` answers None)
    raw = data.draw(json_values(graphql_type), label="json")
    value = coerce_input_value(raw, graphql_type)
    if value is Undefined:
        return  # refused as a variable: never converted
    strawberry_way = _outcome(
        lambda v: convert_argument(v, argument.type, REGISTRY, CONFIG, None), value
    )
    short_way = _outcome(lambda v: v if compiled is None else compiled(v), value)
    assert short_way == strawberry_way


def test_the_short_ways_fields_and_most_arguments_are_compiled() -> None:
    """Not vacuous: every mutation the short way serves is called past the wrapper, and
    so could most root arguments be."""
    mutation_type = GRAPHQL.mutation_type
    assert mutation_type is not None
    for name in short_mutations.SHORT:
        assert root_field(GRAPHQL, mutation_type.fields[name]) is not None, name
    compiled = 0
    for _, argument in ARGUMENTS.values():
        try:
            InputConversions(REGISTRY, CONFIG.name_converter).convert(argument.type)
        except Unsupported:
            continue
        compiled += 1
    assert compiled >= 0.9 * len(ARGUMENTS)


def _impersonated(actor: Actor, writes: bool) -> Actor:
    return dataclasses.replace(
        actor, impersonator_id=ACTORS["admin"].subject_id, impersonation_writes=writes
    )


CALLERS = {
    **ACTORS,
    "impersonated_customer": _impersonated(ACTORS["customer"], writes=False),
    "impersonated_customer_writing": _impersonated(ACTORS["customer"], writes=True),
}
INPUTS: dict[str, dict[str, Any]] = {
    "changeInstallment": {"contractId": "Q29udHJhY3Q6MQ==", "amount": "85.00", "dryRun": True},
    "changeDueDate": {"contractId": "Q29udHJhY3Q6MQ==", "dueDay": 15},
    "changeInstallmentInterval": {"contractId": "Q29udHJhY3Q6MQ==", "interval": "QUARTERLY"},
    "changePaymentMethod": {"contractId": "Q29udHJhY3Q6MQ==", "method": "TRANSFER"},
    "submitMeterReading": {
        "meterId": "TWV0ZXI6MQ==",
        "value": "123,4",
        "clientKey": "k",
        "readAt": "2026-01-01T10:00:00Z",
    },
}


def _raw(name: str, actor: Actor) -> GraphQLResolveInfo[Any]:
    """What the permission and the resolver read of graphql-core's info."""
    return SimpleNamespace(  # type: ignore[return-value]
        context=SimpleNamespace(actor=actor),
        parent_type=GRAPHQL.mutation_type,
        field_name=name,
        schema=GRAPHQL,
    )


async def _call(call: Any) -> Any:
    try:
        result = call()
        return ("called", await result if hasattr(result, "__await__") else result)
    except Exception as error:
        extensions = getattr(error, "extensions", None)
        return ("refused", type(error), str(error), extensions)


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize("name", sorted(short_mutations.SHORT))
async def test_short_ways_call_refuses_and_calls_as_strawberrys(
    name: str, caller: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mutation_type = GRAPHQL.mutation_type
    assert mutation_type is not None
    definition: GraphQLField = mutation_type.fields[name]
    field = definition.extensions["strawberry-definition"]
    assert field.base_resolver is not None
    received: list[dict[str, Any]] = []

    async def resolver(**kwargs: Any) -> str:
        info = kwargs.pop("info")
        received.append({**kwargs, "info": (type(info), info._raw_info, info._field)})
        return "resolved"

    monkeypatch.setattr(field.base_resolver, "wrapped_func", resolver)
    compiled = RootField(schema, definition)
    [(argument_name, argument)] = definition.args.items()
    arguments = {argument_name: coerce_input_value(INPUTS[name], argument.type)}
    raw = _raw(name, CALLERS[caller])
    resolve = definition.resolve
    assert resolve is not None
    strawberry_way = await _call(lambda: resolve(None, raw, **arguments))
    short_way = await _call(lambda: compiled(None, raw, arguments))
    assert short_way == strawberry_way
    if strawberry_way[0] == "called":
        assert len(received) == 2
        assert received[0] == received[1]
    else:
        assert received == []
        assert strawberry_way[3]["code"] == "FORBIDDEN"
