"""Walks the schema's object types and their fields (used by the permission tests)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    EnumValueNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    get_named_type,
    is_object_type,
    parse,
)
from strawberry.types.field import StrawberryField

from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import declared_grant, declared_roles


@dataclass(frozen=True)
class SchemaField:
    type_name: str
    name: str
    graphql_field: GraphQLField
    roles: frozenset[Role] | None  # None: public
    grant: Grant | None  # what portal users need besides their role

    @property
    def key(self) -> str:
        return f"{self.type_name}.{self.name}"

    @property
    def is_composite(self) -> bool:
        return not hasattr(get_named_type(self.graphql_field.type), "serialize")


def object_types(graphql_schema: GraphQLSchema) -> Iterator[GraphQLObjectType]:
    for name, graphql_type in sorted(graphql_schema.type_map.items()):
        if is_object_type(graphql_type) and not name.startswith("__"):
            yield graphql_type


def schema_fields(graphql_schema: GraphQLSchema) -> Iterator[SchemaField]:
    for graphql_type in object_types(graphql_schema):
        for name, field in sorted(graphql_type.fields.items()):
            definition = field.extensions.get("strawberry-definition")
            grant = None
            if name == "id" and "Node" in {i.name for i in graphql_type.interfaces}:
                roles = None  # relay.Node's id: opaque and readable by whoever reaches the row
            else:
                assert isinstance(definition, StrawberryField), f"{graphql_type.name}.{name}"
                roles = declared_roles(definition)
                grant = declared_grant(definition)
            yield SchemaField(graphql_type.name, name, field, roles, grant)


def sdl_matrix(sdl: str) -> tuple[dict[str, frozenset[Role] | None], dict[str, Grant]]:
    """The table as the checked-in SDL states it: `@public` (None) or
    `@requires(roles: [...], grant: ...)` on every field of every object type."""
    roles: dict[str, frozenset[Role] | None] = {}
    grants: dict[str, Grant] = {}
    for definition in parse(sdl).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
            continue
        for field in definition.fields or ():
            key = f"{definition.name.value}.{field.name.value}"
            directives = {d.name.value: d for d in field.directives or ()}
            if "requires" in directives:
                arguments = {a.name.value: a.value for a in directives["requires"].arguments or ()}
                listed = arguments["roles"]
                assert isinstance(listed, ListValueNode), key
                roles[key] = frozenset(
                    Role(value.value) for value in listed.values if isinstance(value, EnumValueNode)
                )
                if isinstance(grant := arguments.get("grant"), EnumValueNode):
                    grants[key] = Grant[grant.value]
            else:
                # `@public`, or the id of a Relay node: opaque, readable by whoever
                # reaches the row.
                assert "public" in directives or field.name.value == "id", key
                roles[key] = None
    return roles, grants
