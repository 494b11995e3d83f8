"""schema.graphql is what the code exports, and it describes itself: every type, field,
argument, enum value and input field has a description (the front end reads them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    is_introspection_type,
    is_specified_directive,
    is_specified_scalar_type,
)

from gql.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_matches_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == str(schema) + "\n", (
        "schema.graphql is out of date: run `make schema` (portal schema > schema.graphql)"
    )


def undescribed(graphql_schema: GraphQLSchema) -> Iterator[str]:
    """Coordinates (`Type`, `Type.field`, `Type.field(arg)`, `Enum.VALUE`, `Input.field`,
    `@directive(arg)`) of everything the schema defines without a description; the
    built-in scalars and introspection types are the GraphQL spec's."""
    for name, graphql_type in graphql_schema.type_map.items():
        if is_introspection_type(graphql_type) or is_specified_scalar_type(graphql_type):
            continue
        if not graphql_type.description:
            yield name
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                if not field.description:
                    yield f"{name}.{field_name}"
                for arg_name, arg in field.args.items():
                    if not arg.description:
                        yield f"{name}.{field_name}({arg_name})"
        elif isinstance(graphql_type, GraphQLInputObjectType):
            for field_name, input_field in graphql_type.fields.items():
                if not input_field.description:
                    yield f"{name}.{field_name}"
        elif isinstance(graphql_type, GraphQLEnumType):
            for value_name, value in graphql_type.values.items():
                if not value.description:
                    yield f"{name}.{value_name}"
    for directive in graphql_schema.directives:
        if is_specified_directive(directive):
            continue
        if not directive.description:
            yield f"@{directive.name}"
        for arg_name, arg in directive.args.items():
            if not arg.description:
                yield f"@{directive.name}({arg_name})"


def test_schema_every_definition_has_a_description() -> None:
    missing = list(undescribed(schema._schema))
    assert not missing, "Without a description (add description=...): " + ", ".join(missing)


def test_undescribed_names_every_kind_of_definition() -> None:
    """The walk itself: one undescribed thing of each kind, each named; described, none."""
    bare = build_schema(
        """
        directive @tagged(label: String) on FIELD_DEFINITION
        scalar Money
        enum Colour { RED }
        input Paint { colour: Colour }
        interface Tool { size: Int }
        type Brush implements Tool { size: Int }
        union Kit = Brush
        type Query { kit(paint: Paint, price: Money): Kit @tagged(label: "x") tool: Tool }
        """
    )
    assert sorted(undescribed(bare)) == sorted(
        [
            "@tagged",
            "@tagged(label)",
            "Money",
            "Colour",
            "Colour.RED",
            "Paint",
            "Paint.colour",
            "Tool",
            "Tool.size",
            "Brush",
            "Brush.size",
            "Kit",
            "Query",
            "Query.kit",
            "Query.kit(paint)",
            "Query.kit(price)",
            "Query.tool",
        ]
    )
    described = build_schema(
        """
        "d" directive @tagged("d" label: String) on FIELD_DEFINITION
        "d" scalar Money
        "d" enum Colour { "d" RED }
        "d" input Paint { "d" colour: Colour }
        "d" interface Tool { "d" size: Int }
        "d" type Brush implements Tool { "d" size: Int }
        "d" union Kit = Brush
        "d" type Query {
          "d" kit("d" paint: Paint, "d" price: Money): Kit @tagged(label: "x")
          "d" tool: Tool
        }
        """
    )
    assert list(undescribed(described)) == []
