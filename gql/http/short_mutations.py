"""The short way of the front-end's mutations: a plain JSON POST of one of them is run
past Strawberry's request handling (its execution context, extensions' hooks, parser
and validation caches, HTTP result processing), as a planned read is (gql/http/plans.py).

What is kept per document text, once the executor has answered it with data (so it
parsed and validated, with the schema's own rules), is the parsed operation and its
fields collected for every type the answer may have. Per request, what the executor
would do for such a document is done directly, with the schema's own parts:

- the variables coerced against the operation's variable definitions by a coercion
  compiled once (gql/http/variable_values.py: the schema's scalars and input types;
  a refused value is coerced again by graphql-core, which says why);
- the root field called past Strawberry's resolver wrapper (gql/http/root_fields.py:
  the field's permission, the conversion of the input decided once per input type,
  the resolver, the domain's functions), or through it when that does not apply;
- the answer completed field by field with each field's own resolver and each leaf
  type's serialization, and written as JSON.

Anything the short way does not handle is answered by the executor instead, decided
before anything ran: a document it has not seen answered, several operations, another
mutation, directives, fields with other extensions than their permission; per
request, variables that are refused (the executor names the argument), a field the
caller may not read (the executor answers FORBIDDEN), impersonation (every request
under it is audited by the executor's extension).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    get_named_type,
    get_operation_ast,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    located_error,
    parse,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import default_type_resolver, invalid_return_type_error
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, is_awaitable
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.types import ExecutionResult
from strawberry.types.field import StrawberryField

from gql.auth.permissions import AllowRoles
from gql.context import Context
from gql.http import mutations
from gql.http.root_fields import RootField, root_field
from gql.http.variable_values import Variables
from gql.lru import LRU

DOCUMENTS = 256  # document texts whose short way (or its absence) is kept

# The mutations the front-end sends that take the short way (gql/schema/self_service.py);
# the others are left to the executor.
SHORT = mutations.LOCKING_FIRST | frozenset(
    {"changePaymentMethod", "changeDueDate", "changeInstallmentInterval"}
)


class _Unsupported(Exception):
    """The document has something the short way does not handle."""


@dataclass
class _Field:
    """A field of an object type as the document selects it: its response key, its
    definition, its nodes and, for composite types, what is selected of it."""

    key: str
    definition: GraphQLField
    details: list[FieldDetails]
    nodes: list[FieldNode]
    selections: dict[str, list[_Field]] = field(default_factory=dict)  # by object type


@dataclass
class Shape:
    """One document's mutation, compiled."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: _Field
    # The permissions of every field the answer may have, checked before anything runs.
    rules: tuple[AllowRoles, ...]
    locks_first: bool
    variables: Variables
    # The root field past Strawberry's resolver wrapper; None: through it.
    call: RootField | None


class ShortMutations:
    """The short way of one app (per process)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        process_errors: Callable[[list[GraphQLError]], list[GraphQLError]],
    ) -> None:
        self.schema = schema
        # The schema's error handling (masking, the database's unavailability: what the
        # executor's extension does with the errors of an answer).
        self.process_errors = process_errors
        self._shapes: LRU[tuple[str, str | None], Shape] = LRU(DOCUMENTS)
        # Documents that do not take it (queries above all), kept apart so that many
        # distinct ones never push a mutation's shape out.
        self._others: LRUCache[tuple[str, str | None], None] = LRUCache(DOCUMENTS)

    def shape(self, query: str, operation_name: str | None) -> Shape | None:
        """The compiled document, if it takes the short way (it was answered once)."""
        return self._shapes.get((query, operation_name))

    def answered(self, query: str | None, operation_name: str | None, result: Any) -> None:
        """The executor answered `query`: with data, it parsed and validated, and may
        take the short way from now on."""
        if query is None or result.data is None:
            return
        key = (query, operation_name)
        if key not in self._shapes and key not in self._others:
            try:
                self._shapes[key] = self._compile(query, operation_name)
            except _Unsupported:
                self._others[key] = None

    def _compile(self, query: str, operation_name: str | None) -> Shape:
        document = parse(query)
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.MUTATION:
            raise _Unsupported
        if len([d for d in document.definitions if isinstance(d, OperationDefinitionNode)]) > 1:
            raise _Unsupported
        if _has_directives(document):
            raise _Unsupported
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        details = {name: FragmentDetails(d) for name, d in fragments.items()}
        mutation_type = self.schema.mutation_type
        assert mutation_type is not None
        # No directives: which fields are selected does not depend on the variables.
        no_values = VariableValues({}, {})
        grouped = collect_fields(self.schema, details, no_values, mutation_type, operation)
        if len(grouped.grouped_field_set) != 1:
            raise _Unsupported
        [(key, root_details)] = grouped.grouped_field_set.items()
        name = root_details[0].node.name.value
        definition = mutation_type.fields.get(name)
        if name not in SHORT or definition is None or is_non_null_type(definition.type):
            raise _Unsupported
        rules: list[AllowRoles] = []
        root = self._field(key, definition, root_details, details, operation, no_values, rules)
        return Shape(
            operation,
            fragments,
            root,
            tuple(rules),
            name in mutations.LOCKING_FIRST,
            Variables(self.schema, operation.variable_definitions or ()),
            root_field(self.schema, definition),
        )

    def _field(
        self,
        key: str,
        definition: GraphQLField,
        details: list[FieldDetails],
        fragments: dict[str, FragmentDetails],
        operation: OperationDefinitionNode,
        no_values: VariableValues,
        rules: list[AllowRoles],
    ) -> _Field:
        rules.extend(_rules(definition))
        compiled = _Field(key, definition, details, [d.node for d in details])
        named: Any = get_named_type(definition.type)
        if is_leaf_type(named):
            return compiled
        possible: Sequence[GraphQLObjectType] = (
            self.schema.get_possible_types(named) if is_abstract_type(named) else [named]
        )
        for object_type in possible:
            collected = collect_subfields(
                self.schema, fragments, no_values, operation, object_type, details
            )
            compiled.selections[object_type.name] = [
                self._field(
                    sub_key,
                    self._definition(object_type, sub_details[0].node.name.value),
                    sub_details,
                    fragments,
                    operation,
                    no_values,
                    rules,
                )
                for sub_key, sub_details in collected.grouped_field_set.items()
            ]
        return compiled

    def _definition(self, parent: GraphQLObjectType, name: str) -> GraphQLField:
        definition = self.schema.get_field(parent, name)
        if definition is None:
            raise _Unsupported
        return definition

    async def run(
        self, shape: Shape, variables: dict[str, Any] | None, context: Context
    ) -> ExecutionResult | None:
        """The answer to `shape` with `variables` for `context`'s caller, as the executor
        gives it; None when the executor is to answer (decided before anything ran)."""
        actor = context.actor
        if actor.is_impersonated or not all(rule.permits(actor) for rule in shape.rules):
            return None
        values = shape.variables.coerce(variables or {})
        if isinstance(values, list):  # refused: the executor says why, naming the argument
            return None
        run = _Run(self.schema, shape, values, context)
        mutation_type = self.schema.mutation_type
        assert mutation_type is not None
        data = {shape.root.key: await run.field(mutation_type, None, shape.root, None, shape.call)}
        if not run.errors:
            return ExecutionResult(data=data, errors=None)
        errors = self.process_errors(run.errors)
        return ExecutionResult(data=data, errors=errors)


def _has_directives(document: Any) -> bool:
    found = False

    class Finder(Visitor):
        def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
            nonlocal found
            found = True

    visit(document, Finder())
    return found


def _rules(definition: GraphQLField) -> list[AllowRoles]:
    """The field's permission; a field with any other extension is not handled."""
    strawberry_field = (definition.extensions or {}).get("strawberry-definition")
    if strawberry_field is None:
        return []  # __typename
    assert isinstance(strawberry_field, StrawberryField)
    rules = [e for e in strawberry_field.extensions if isinstance(e, AllowRoles)]
    if len(rules) != len(strawberry_field.extensions):
        raise _Unsupported
    return rules


async def _gather(values: Sequence[Awaitable[Any]]) -> list[Any]:
    return list(await asyncio.gather(*values))


_HELPERS = GraphQLResolveInfoHelpers(gather=_gather, track=lambda _values: None)


class _Run:
    """One request's completion: graphql-core's rules for a field's value (non-null,
    lists, leaves, abstract and object types; an error nulls the nearest nullable
    field), field after field."""

    def __init__(
        self, schema: GraphQLSchema, shape: Shape, values: VariableValues, context: Context
    ) -> None:
        self.schema = schema
        self.shape = shape
        self.values = values
        self.context = context
        self.errors: list[GraphQLError] = []

    def _info(
        self, compiled: _Field, parent: GraphQLObjectType, path: Path
    ) -> GraphQLResolveInfo[Context]:
        return GraphQLResolveInfo(
            compiled.nodes[0].name.value,
            compiled.nodes,
            compiled.definition.type,
            parent,
            path,
            self.schema,
            self.shape.fragments,
            None,
            self.shape.operation,
            self.values,
            self.context,
            is_awaitable,
            None,
            _HELPERS,
        )

    async def field(
        self,
        parent: GraphQLObjectType,
        source: Any,
        compiled: _Field,
        prefix: Path | None,
        call: RootField | None = None,
    ) -> Any:
        path = Path(prefix, compiled.key, parent.name)
        info = self._info(compiled, parent, path)
        definition = compiled.definition
        try:
            node = compiled.nodes[0]
            arguments = (
                get_argument_values(definition, node, self.values)
                if definition.args or node.arguments
                else {}
            )
            if call is not None:
                result = call(source, info, arguments)
            else:
                assert definition.resolve is not None  # Strawberry resolves every field
                result = definition.resolve(source, info, **arguments)
            if is_awaitable(result):
                result = await result
            return await self._complete(definition.type, compiled, info, path, result)
        except Exception as error:
            located = located_error(error, compiled.nodes, path.as_list())
            if is_non_null_type(definition.type):
                raise located from None
            self.errors.append(located)
            return None

    async def _complete(
        self,
        output: GraphQLOutputType,
        compiled: _Field,
        info: GraphQLResolveInfo[Context],
        path: Path,
        result: Any,
    ) -> Any:
        if isinstance(result, Exception):
            raise result
        if isinstance(output, GraphQLNonNull):
            completed = await self._complete(output.of_type, compiled, info, path, result)
            if completed is None:
                message = (
                    "Cannot return null for non-nullable field"
                    f" {info.parent_type}.{info.field_name}."
                )
                raise TypeError(message)
            return completed
        if result is None:
            return None
        if is_list_type(output):
            item_type = output.of_type
            return [
                await self._item(item_type, compiled, info, path.add_key(index), item)
                for index, item in enumerate(result)
            ]
        if is_leaf_type(output):
            coerced = output.coerce_output_value(result)
            if coerced is None:
                raise TypeError(f"{output}.coerce_output_value returned null")
            return coerced
        runtime: Any = output
        if is_abstract_type(output):
            resolve_type = output.resolve_type or default_type_resolver
            name = resolve_type(result, info, output)
            if is_awaitable(name):
                name = await name
            runtime = self.schema.get_type(name) if isinstance(name, str) else None
            if runtime is None or runtime.name not in compiled.selections:
                raise GraphQLError(
                    f"Abstract type '{output}' must resolve to an Object type at runtime"
                    f" for field '{info.parent_type}.{info.field_name}'.",
                    compiled.nodes,
                )
        assert is_object_type(runtime)
        if runtime.is_type_of is not None:
            matches = runtime.is_type_of(result, info)
            if is_awaitable(matches):
                matches = await matches
            if not matches:
                raise invalid_return_type_error(runtime, result, compiled.details)
        return {
            sub.key: await self.field(runtime, result, sub, path)
            for sub in compiled.selections[runtime.name]
        }

    async def _item(
        self,
        item_type: GraphQLOutputType,
        compiled: _Field,
        info: GraphQLResolveInfo[Context],
        path: Path,
        item: Any,
    ) -> Any:
        try:
            if is_awaitable(item):
                item = await item
            return await self._complete(item_type, compiled, info, path, item)
        except Exception as error:
            located = located_error(error, compiled.nodes, path.as_list())
            if is_non_null_type(item_type):
                raise located from None
            self.errors.append(located)
            return None
