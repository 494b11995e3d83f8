"""The Strawberry schema: types per feature module, assembled here."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.relay.types import GlobalIDValueError
from strawberry.schema.config import StrawberryConfig

from gql import descriptions, unavailable
from gql.auth.permissions import fast_leaf_fields
from gql.schema.argument_errors import NameArgumentsInErrors
from gql.schema.audit_extension import ImpersonationAudit
from gql.schema.node_types import NODE_TYPES
from gql.schema.root import Mutation, Query
from gql.schema.scalars import SCALAR_MAP
from gql.settings import Settings

EXPOSED_CODES = frozenset({"FORBIDDEN", "UNAUTHENTICATED", "BAD_USER_INPUT", unavailable.CODE})


class PortalErrors(MaskErrors):
    """Arguments that can not be coerced (e.g. an ID that is not a global ID, at the top
    level or inside an input object) are the
    caller's mistake: BAD_USER_INPUT with Strawberry's message, never masked. Other
    errors are masked per `should_mask_error` (production: `should_mask`). With
    `hide_suggestions` (production), no message proposes names ("Did you mean ..."):
    with introspection off they would spell out the schema field by field."""

    def __init__(self, should_mask_error: Any, hide_suggestions: bool) -> None:
        super().__init__(should_mask_error=should_mask_error)
        self.hide_suggestions = hide_suggestions

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = [_as_unavailable(_as_input_error(error)) for error in errors]
        if self.hide_suggestions:
            processed = [_without_suggestion(error) for error in processed]
        return super()._process_errors(processed)


def _without_suggestion(error: GraphQLError) -> GraphQLError:
    """graphql-core appends its suggestions as " Did you mean ...?" to the message."""
    message, found, _ = error.message.partition(" Did you mean ")
    if not found:
        return error
    return GraphQLError(
        message.rstrip(),
        nodes=error.nodes,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


def _as_input_error(error: GraphQLError) -> GraphQLError:
    if not isinstance(error.original_error, StrawberryInputCoercionError | GlobalIDValueError):
        return error
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        path=error.path,
        original_error=None,
        extensions={**(error.extensions or {}), "code": "BAD_USER_INPUT"},
    )


def _as_unavailable(error: GraphQLError) -> GraphQLError:
    """The database down or its pool exhausted, or no admission to the password hash:
    SERVICE_UNAVAILABLE (the view answers 503), without the driver's message."""
    if not unavailable.is_unavailable(error.original_error):
        return error
    return GraphQLError(
        unavailable.MESSAGE,
        nodes=error.nodes,
        path=error.path,
        original_error=None,
        extensions={"code": unavailable.CODE},
    )


def should_mask(error: GraphQLError) -> bool:
    """Mask everything but errors we raise on purpose (authorization, bad arguments)."""
    code = (error.extensions or {}).get("code")
    if code in EXPOSED_CODES:
        return False
    original = error.original_error
    # Errors without an original exception are GraphQL validation/parse errors.
    return original is not None and not isinstance(original, GraphQLError)


CACHE_SIZE = 1024  # distinct query texts kept parsed and validated


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    # The depth and alias rules are built once: the validation cache is keyed by the
    # rule classes too, and a limiter made per request makes new classes every time,
    # so nothing would ever be found in the cache.
    rules = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    extensions: list[Any] = [
        lambda: AddValidationRules(rules),
        NameArgumentsInErrors,
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        ImpersonationAudit,
    ]
    if not settings.development:
        extensions.append(DisableIntrospection)
    mask = should_mask if not settings.development else (lambda _error: False)
    hide = not settings.development
    extensions.append(lambda: PortalErrors(should_mask_error=mask, hide_suggestions=hide))
    built = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        # Types reached only through `node` must still be in the schema.
        types=NODE_TYPES,
        extensions=extensions,
        config=StrawberryConfig(
            disable_field_suggestions=not settings.development, scalar_map=SCALAR_MAP
        ),
    )
    fast_leaf_fields(built)
    descriptions.describe_directive_arguments(built)
    return built


schema = build_schema()

__all__ = ["build_schema", "schema"]
