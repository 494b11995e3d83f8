"""A mutation's root field called past Strawberry's resolver wrapper (the short way of
the front-end's mutations, gql/http/short_mutations.py).

Strawberry's wrapper of a field with extensions does, per call: an `Info`, the
conversion of the arguments to its input classes by its generic `convert_argument`
(which finds out again, for every value, whether its type is optional, a list, a
scalar, an enum, a GlobalID or an input class, and each input field's GraphQL name),
the extensions' chain as nested partials, then the resolver. Here what depends only on
the field is decided once: per argument and per input field, the conversion its type
needs (none for scalars and enums, which graphql-core has parsed already); the
permission is the field's own `AllowRoles`, checked with its own `check` (the same
`Forbidden`, the same message) at the point of the chain where the extension checks
it, after the conversion. The answer is the same as the wrapper's: the resolver called
with the same input objects, `Info` and keyword arguments.

Whatever this does not reproduce is left to Strawberry's wrapper, decided once per
field (`Unsupported`): other extensions than the one permission (or one reshaping the
arguments), exception handlers that apply to the field, a resolver taking its parent,
input types that build their own value (`from_input`), `Maybe`, or any other type.
`tests/http/test_root_fields.py` compares the conversion with Strawberry's for every
input the short way serves and the refusals role by role.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any, cast

import strawberry
from graphql import GraphQLField, GraphQLResolveInfo, GraphQLSchema
from strawberry.extensions import FieldExtension
from strawberry.relay.types import GlobalID, GlobalIDValueError, InvalidGlobalIDError
from strawberry.types.arguments import _is_leaf_type, _is_optional_leaf_type
from strawberry.types.base import (
    StrawberryList,
    StrawberryMaybe,
    StrawberryOptional,
    has_object_definition,
)
from strawberry.types.enum import has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

from gql.auth.permissions import AllowRoles

# A value's conversion to what the resolver receives; None: the value as it is.
Convert = Callable[[Any], Any] | None


class Unsupported(Exception):
    """The field or one of its input types is left to Strawberry's wrapper."""


class RootField:
    """One mutation field's resolver with its arguments converted and its permission
    checked as Strawberry's wrapper does them, compiled once."""

    def __init__(self, schema: strawberry.Schema, definition: GraphQLField) -> None:
        field = (definition.extensions or {}).get("strawberry-definition")
        if not isinstance(field, StrawberryField) or field.base_resolver is None:
            raise Unsupported
        self.rule = _rule(field)
        converter = schema.schema_converter
        if converter._get_field_exception_handlers(field):
            raise Unsupported  # Strawberry turns exceptions into the union's members
        resolver = field.base_resolver
        if resolver.self_parameter or resolver.parent_parameter or resolver.root_parameter:
            raise Unsupported
        info = resolver.info_parameter
        self.info_name = info.name if info is not None else None
        self.info_class: Any = cast(Any, schema.config).info_class
        self.field = field
        self.resolver: Callable[..., Any] = cast(Any, resolver.wrapped_func)
        inputs = InputConversions(converter.scalar_registry, schema.config.name_converter)
        self.arguments = tuple(
            (
                schema.config.name_converter.from_argument(argument),
                argument.python_name,
                inputs.convert(argument.type),
            )
            for argument in field.arguments
        )

    def __call__(self, source: Any, raw: GraphQLResolveInfo[Any], arguments: dict[str, Any]) -> Any:
        """The resolver's result (an awaitable for an async one) for the GraphQL
        `arguments` (graphql-core's coerced values).

        Raises:
            Forbidden: the caller may not run the field (its `AllowRoles`).
        """
        kwargs = self.converted(arguments)
        self.rule.check(raw.context.actor, raw)
        if self.info_name is not None:
            kwargs[self.info_name] = self.info_class(_raw_info=raw, _field=self.field)
        return self.resolver(**kwargs)

    def converted(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The resolver's keyword arguments (by Python name) for the GraphQL `arguments`,
        as Strawberry's `convert_arguments` gives them."""
        return {
            python: value if convert is None else convert(value)
            for name, python, convert in self.arguments
            if (value := arguments.get(name, _ABSENT)) is not _ABSENT
        }


_ABSENT = object()


def root_field(schema: GraphQLSchema, definition: GraphQLField) -> RootField | None:
    """The compiled root field of `definition`, None when Strawberry's wrapper is to
    call it (`Unsupported`)."""
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if strawberry_schema is None:
        return None
    try:
        return RootField(strawberry_schema, definition)
    except Unsupported:
        return None


def _rule(field: StrawberryField) -> AllowRoles:
    """The field's one permission; any other extension is left to Strawberry."""
    if len(field.extensions) != 1 or not isinstance(field.extensions[0], AllowRoles):
        raise Unsupported
    rule = field.extensions[0]
    if type(rule).map_arguments is not FieldExtension.map_arguments:
        raise Unsupported
    return rule


class InputConversions:
    """The conversions of argument types (Strawberry's `convert_argument`, decided per
    type instead of per value)."""

    def __init__(self, scalar_registry: Mapping[object, Any], name_converter: Any) -> None:
        self.scalar_registry = scalar_registry
        self.name_converter = name_converter
        self._within: set[int] = set()

    def convert(self, type_: Any) -> Convert:
        """The conversion of a value of `type_` (None and UNSET kept as they are).

        Raises:
            Unsupported: a type Strawberry converts in a way not reproduced here.
        """
        if isinstance(type_, StrawberryMaybe):
            raise Unsupported
        if isinstance(type_, StrawberryOptional):
            return self.convert(type_.of_type)
        if isinstance(type_, StrawberryList):
            return self._list(type_)
        if _is_leaf_type(type_, self.scalar_registry):
            return _global_id if type_ is GlobalID else None
        if isinstance(type_, LazyType):
            return self.convert(type_.resolve_type())
        if has_enum_definition(type_):
            return None  # graphql-core's value is the enum's member
        if has_object_definition(type_):
            return self._input(type_)
        raise Unsupported

    def _list(self, type_: StrawberryList) -> Convert:
        item = type_.of_type
        registry = self.scalar_registry
        if _is_leaf_type(item, registry, skip_classes=(GlobalID,)) or _is_optional_leaf_type(
            item, registry, skip_classes=(GlobalID,)
        ):
            # Copied, as Strawberry does: graphql-core gives every request that omits
            # the value the same default.
            return _present(list)
        convert = self.convert(item)
        if convert is None:
            return _present(list)
        return _present(lambda values: [convert(value) for value in values])

    def _input(self, type_: Any) -> Convert:
        definition = type_.__strawberry_definition__
        if definition.from_input is not None or id(type_) in self._within:
            raise Unsupported
        self._within.add(id(type_))
        try:
            fields = tuple(
                (
                    self.name_converter.from_field(field),
                    field.python_name,
                    self.convert(field.resolve_type(type_definition=definition)),
                )
                for field in definition.fields
            )
        finally:
            self._within.discard(id(type_))
        # Strawberry's implicit None for an input field without a default.
        unset = (
            {
                field.python_name: None
                for field in definition.fields
                if field.default_value is MISSING and field.default_factory is MISSING
            }
            if definition.is_input
            else {}
        )

        def build(value: Mapping[str, Any]) -> Any:
            kwargs = dict(unset)
            for name, python, convert in fields:
                if name in value:
                    given = value[name]
                    kwargs[python] = given if convert is None else convert(given)
            return type_(**kwargs)

        return _present(build)


def _present(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert` for values other than None and UNSET, which stay as they are."""

    def present(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        return convert(value)

    return present


def _global_id(value: Any) -> Any:
    if value is None or value is UNSET:
        return value
    try:
        return GlobalID.from_id(value)
    except GlobalIDValueError as error:
        # As Strawberry's conversion says it, like the built-in scalars.
        raise InvalidGlobalIDError(f'Value cannot represent a GlobalID: "{value}".') from error
