"""Refused literal values name their argument.

graphql-core names the variable of a refused variable value (`Variable '$input' has
invalid value at .email: ...`), but a refused literal in the document reports only the
scalar's message. This rule replaces the standard "values of correct type" rule with one
that says which argument, and where inside it, the value was refused, and marks the
error BAD_USER_INPUT.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from graphql.language import SKIP, ArgumentNode, ValueNode, VisitorAction
from graphql.pyutils import print_path_list
from graphql.type import GraphQLInputType
from graphql.utilities.validate_input_value import validate_input_literal
from graphql.validation import ValidationContext, ValuesOfCorrectTypeRule
from strawberry.extensions import SchemaExtension


class ValuesNamingTheArgument(ValuesOfCorrectTypeRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.argument: str | None = None

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self.argument = node.name.value

    def leave_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self.argument = None

    def is_valid_value_node(
        self, node: ValueNode, input_type: GraphQLInputType | None
    ) -> VisitorAction:
        if input_type:
            validate_input_literal(
                node, input_type, self._report, None, None, self.context.hide_suggestions
            )
        return SKIP

    def _report(self, error: GraphQLError, path: list[str | int]) -> None:
        if self.argument is None:  # a default value in a variable definition
            self.report_error(error)
            return
        where = f"Argument '{self.argument}'"
        if path:
            where += print_path_list(path)  # " at .email"
        self.report_error(
            GraphQLError(
                f"{where}: {error.message}",
                error.nodes,
                extensions={"code": "BAD_USER_INPUT", **(error.extensions or {})},
            )
        )


class NameArgumentsInErrors(SchemaExtension):
    """Puts `ValuesNamingTheArgument` in place of the standard rule."""

    def on_operation(self) -> Iterator[None]:
        self.execution_context.validation_rules = tuple(
            ValuesNamingTheArgument if rule is ValuesOfCorrectTypeRule else rule
            for rule in self.execution_context.validation_rules
        )
        yield
