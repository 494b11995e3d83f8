"""An operation's variables coerced by a coercion compiled once per document (the short
way of the front-end's mutations, gql/http/short_mutations.py).

graphql-core's `get_variable_values` walks each variable's type anew on every request:
the type from its AST, the non-null and list wrappers, an input object's fields, each
check by `is_*_type` calls. Here that walk is made once per variable definition into
nested functions that do only the value's part: each leaf type's own
`coerce_input_value` (the scalar's `parse_value`, an enum's value), an input object's
fields with their defaults (graphql-core's `coerce_default_value`, memoized on the
field as it memoizes it), lists (a single value as a list of one), non-null.

This re-implements a piece of graphql-core, which is its risk: a rule of coercion it
got wrong would change what a mutation receives. It is bounded in two ways. Whatever
it does not handle is decided once, and those documents use `get_variable_values`
itself: a variable whose type the schema does not know as an input type, a recursive
or one-of input type. And whatever it refuses per request (a null for a non-null, an
unknown field, a scalar's error, anything raised) is coerced again by
`get_variable_values`, so that every refused value's errors are graphql-core's own,
word for word (the executor then answers them, naming the argument and localized).
`tests/http/test_variable_values.py` compares both on valid and invalid values of
every input the short way serves (hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    VariableDefinitionNode,
    is_leaf_type,
    is_required_input_field,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValueSource,
    get_variable_values,
    maybe_use_default_value,
)
from graphql.pyutils import Undefined, is_iterable
from graphql.utilities.coerce_input_value import coerce_default_value

Coerce = Callable[[Any], Any]


class Unsupported(Exception):
    """A variable's type that the compiled coercion leaves to graphql-core."""


class _Refused(Exception):
    """A value the compiled coercion does not accept: graphql-core says why."""


class Variables:
    """The coercion of one operation's variables, compiled once."""

    def __init__(
        self, schema: GraphQLSchema, definitions: Collection[VariableDefinitionNode]
    ) -> None:
        self.schema = schema
        self.definitions = definitions
        self.compiled: tuple[tuple[str, Any, VariableDefinitionNode, Coerce], ...] | None
        try:
            self.compiled = tuple(_variable(schema, node) for node in definitions)
        except Unsupported:
            self.compiled = None

    def coerce(self, inputs: dict[str, Any]) -> VariableValues | list[GraphQLError]:
        """`get_variable_values`'s answer for `inputs`: the coerced values with their
        sources, or (from graphql-core itself) the errors of a refused value."""
        if self.compiled is None:
            return get_variable_values(self.schema, self.definitions, inputs)
        try:
            return self._compiled(self.compiled, inputs)
        except Exception:  # refused here, or a value not foreseen: graphql-core decides
            return get_variable_values(self.schema, self.definitions, inputs)

    def _compiled(
        self,
        compiled: tuple[tuple[str, Any, VariableDefinitionNode, Coerce], ...],
        inputs: dict[str, Any],
    ) -> VariableValues:
        sources: dict[str, VariableValueSource] = {}
        coerced: dict[str, Any] = {}
        for name, signature, node, coerce in compiled:
            value = inputs.get(name, Undefined)
            if value is not Undefined:
                sources[name] = VariableValueSource(signature, value)
                coerced[name] = coerce(value)
                continue
            sources[name] = VariableValueSource(signature)
            if node.default_value:
                # graphql-core's own, with a signature of this request's (the coerced
                # default is memoized on it).
                fresh = get_variable_signature(self.schema, node)
                assert not isinstance(fresh, GraphQLError)  # compiled from the same node
                maybe_use_default_value(coerced, name, fresh, _refuse)
            elif isinstance(signature.type, GraphQLNonNull):
                raise _Refused
        return VariableValues(sources, coerced)


def _refuse(*_args: Any) -> None:
    raise _Refused


def _variable(
    schema: GraphQLSchema, node: VariableDefinitionNode
) -> tuple[str, Any, VariableDefinitionNode, Coerce]:
    signature = get_variable_signature(schema, node)
    if isinstance(signature, GraphQLError):
        raise Unsupported
    return signature.name, signature, node, coercion(signature.type)


def coercion(type_: GraphQLInputType, within: frozenset[str] = frozenset()) -> Coerce:
    """The coercion of a value of `type_` (graphql-core's `coerce_input_value`, whose
    Undefined is `_Refused` raised here).

    Raises:
        Unsupported: a one-of or recursive input object type, or an unknown kind.
    """
    if isinstance(type_, GraphQLNonNull):
        inner = _nullable(type_.of_type, within)

        def non_null(value: Any) -> Any:
            if value is None or value is Undefined:
                raise _Refused
            return inner(value)

        return non_null
    nullable = _nullable(type_, within)

    def maybe_null(value: Any) -> Any:
        return None if value is None or value is Undefined else nullable(value)

    return maybe_null


def _nullable(type_: Any, within: frozenset[str]) -> Coerce:
    """The coercion of a value that is not null."""
    if isinstance(type_, GraphQLList):
        return _list(coercion(type_.of_type, within))
    if isinstance(type_, GraphQLInputObjectType):
        return _input_object(type_, within)
    if is_leaf_type(type_):
        return _leaf(type_.coerce_input_value)
    raise Unsupported


def _leaf(parse: Coerce) -> Coerce:
    def coerce_leaf(value: Any) -> Any:
        parsed = parse(value)
        if parsed is Undefined:
            raise _Refused
        return parsed

    return coerce_leaf


def _list(item: Coerce) -> Coerce:
    def coerce_list(value: Any) -> list[Any]:
        if not is_iterable(value):  # a single value is a list of one
            return [item(value)]
        return [item(entry) for entry in value]

    return coerce_list


def _input_object(type_: GraphQLInputObjectType, within: frozenset[str]) -> Coerce:
    if type_.is_one_of or type_.name in within:
        raise Unsupported
    inner = within | {type_.name}
    names = frozenset(type_.fields)
    # Per field: its name, its name in the coerced dict, its coercion, and whether it
    # is required; in the type's order, as graphql-core fills the dict.
    fields = tuple(
        (name, field.out_name or name, coercion(field.type, inner), is_required_input_field(field))
        for name, field in type_.fields.items()
    )
    defaults = {name: field for name, field in type_.fields.items()}
    out_type = type_.out_type

    def coerce_object(value: Any) -> Any:
        if not isinstance(value, dict):
            raise _Refused
        if not value.keys() <= names and any(
            value[key] is not Undefined for key in value.keys() - names
        ):
            raise _Refused  # a field the type does not have
        coerced: dict[str, Any] = {}
        for name, out_name, coerce, required in fields:
            field_value = value.get(name, Undefined)
            if field_value is not Undefined:
                coerced[out_name] = coerce(field_value)
            elif required:
                raise _Refused
            else:
                default = coerce_default_value(defaults[name])
                if default is not Undefined:
                    coerced[out_name] = default
        return out_type(coerced)

    return coerce_object
