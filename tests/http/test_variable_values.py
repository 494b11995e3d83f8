"""The short way's compiled coercion of variables (gql/http/variable_values.py) against
graphql-core's `get_variable_values`, on valid and refused values of every root field
argument's type (hypothesis): the same coerced values and sources, the compiled way
accepting exactly what graphql-core accepts, and graphql-core's own errors for the rest.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse
from graphql.execution.values import VariableValues, get_variable_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gql.http import short_mutations
from gql.http.variable_values import Variables
from gql.schema import schema
from tests.input_values import argument_types, json_values

GRAPHQL = schema._schema
TYPES = {str(type_): type_ for _, type_ in argument_types(GRAPHQL)}


def _definitions(text: str) -> Any:
    operation = parse(text).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation.variable_definitions


def _same(
    got: VariableValues | list[GraphQLError], expected: VariableValues | list[GraphQLError]
) -> None:
    if isinstance(expected, list):
        assert isinstance(got, list)
        assert [e.formatted for e in got] == [e.formatted for e in expected]
        return
    assert isinstance(got, VariableValues)
    assert got.coerced == expected.coerced
    assert {
        n: (s.signature.name, str(s.signature.type), s.value) for n, s in got.sources.items()
    } == {
        n: (s.signature.name, str(s.signature.type), s.value) for n, s in expected.sources.items()
    }


def _compiled_accepts(variables: Variables, inputs: dict[str, Any]) -> bool:
    assert variables.compiled is not None
    try:
        variables._compiled(variables.compiled, inputs)
    except Exception:
        return False
    return True


@pytest.mark.parametrize("type_name", sorted(TYPES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compiled_coercion_of_every_argument_type_is_graphql_cores(
    type_name: str, data: st.DataObject
) -> None:
    definitions = _definitions(f"query($v: {type_name}, $w: Int) {{ __typename }}")
    variables = Variables(GRAPHQL, definitions)
    value = data.draw(json_values(TYPES[type_name]), label="v")
    inputs = data.draw(st.sampled_from([{"v": value}, {"v": value, "w": 3}, {}]), label="inputs")
    expected = get_variable_values(GRAPHQL, definitions, inputs)
    _same(variables.coerce(inputs), expected)
    if variables.compiled is not None:
        assert _compiled_accepts(variables, inputs) == (not isinstance(expected, list))


@pytest.mark.parametrize(
    ("definition", "inputs"),
    [
        ("$v: Int = 3", {}),
        ("$v: Int = 3", {"v": None}),
        ("$v: Int! = 3", {}),
        ("$v: Int!", {}),
        ("$v: Int!", {"v": None}),
        ("$v: [Int!] = [1, 2]", {}),
        ("$v: [Int!]", {"v": 4}),
        ("$v: [Int!]", {"v": [1, None]}),
        ("$v: InstallmentInterval", {"v": "QUARTERLY"}),
        ("$v: InstallmentInterval", {"v": "quarterly"}),
        ('$v: ChangeInstallmentInput! = {contractId: "x", amount: "1.00"}', {}),
    ],
)
def test_compiled_coercion_of_defaults_nulls_and_lists_is_graphql_cores(
    definition: str, inputs: dict[str, Any]
) -> None:
    definitions = _definitions(f"query({definition}) {{ __typename }}")
    variables = Variables(GRAPHQL, definitions)
    expected = get_variable_values(GRAPHQL, definitions, inputs)
    _same(variables.coerce(inputs), expected)
    assert _compiled_accepts(variables, inputs) == (not isinstance(expected, list))


def test_an_unknown_type_is_left_to_graphql_core() -> None:
    definitions = _definitions("query($v: Nothing) { __typename }")
    variables = Variables(GRAPHQL, definitions)
    assert variables.compiled is None
    expected = get_variable_values(GRAPHQL, definitions, {"v": 1})
    _same(variables.coerce({"v": 1}), expected)
    assert isinstance(expected, list)


def test_the_short_ways_mutations_are_coerced_compiled() -> None:
    """Not vacuous: every input of a mutation the short way serves is compiled."""
    mutation_type = GRAPHQL.mutation_type
    assert mutation_type is not None
    for name in short_mutations.SHORT:
        for argument in mutation_type.fields[name].args.values():
            variables = Variables(GRAPHQL, _definitions(f"query($v: {argument.type}) {{ a }}"))
            assert variables.compiled is not None, name
