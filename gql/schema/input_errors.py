"""Refusals of values while the request is parsed (the input scalars, cursors), and
their message in the caller's language.

A scalar can not know who calls, so it refuses with a message key of the catalogues
(gql/messages/) and the English sentence; graphql-core puts the variable or argument in
front (`Variable '$input' has invalid value at .email: ...`). Once the request's
language is known, `localized` writes the whole message in it, and adds for a page what
a result union's error has: `extensions.field`, the path inside the variable as a
mutation error names it (`email`, `identifiers[0].value`; absent for a whole variable
or an argument), and `extensions.reason`, the sentence alone without graphql-core's part."""

from __future__ import annotations

import re
from collections.abc import Sequence

from graphql import GraphQLError

from gql import messages
from gql.domain.errors import InvalidInput
from gql.messages import Parameter

KEY = "messageKey"
# What graphql-core (and gql.schema.argument_errors) put before a scalar's message.
_ENGLISH_PREFIXES = (
    r"^Variable '\$(\w+)' has invalid value at (\S+): ",
    r"^Variable '\$(\w+)' has invalid value: ",
    r"^Argument '(\w+)' at (\S+): ",
    r"^Argument '(\w+)': ",
)
_PREFIXES: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "de": list(
        zip(
            map(re.compile, _ENGLISH_PREFIXES),
            (
                "Die Variable '${0}' hat bei {1} einen ungültigen Wert: ",
                "Die Variable '${0}' hat einen ungültigen Wert: ",
                "Das Argument '{0}' bei {1}: ",
                "Das Argument '{0}': ",
            ),
            strict=True,
        )
    ),
}
CODE = "errorCode"
_PATTERNS = [re.compile(prefix) for prefix in _ENGLISH_PREFIXES]


def refuse(key: str, **parameters: Parameter) -> GraphQLError:
    """The error a scalar raises: BAD_USER_INPUT with the message key and parameters,
    the English sentence as message."""
    english = messages.specific(key, "en", parameters) or key
    return GraphQLError(
        english,
        extensions={
            "code": "BAD_USER_INPUT",
            KEY: key,
            "parameters": {name: messages.show(value, "en") for name, value in parameters.items()},
        },
    )


def refused(error: InvalidInput) -> GraphQLError:
    """A domain rule's refusal as the scalar's error: by its message key, or, for a
    refusal with a specific code and an English sentence (INVALID_EMAIL), by its code."""
    if messages.specific(error.key, "en", error.parameters) is not None:
        return refuse(error.key, **error.parameters)
    return GraphQLError(error.message, extensions={"code": "BAD_USER_INPUT", CODE: error.code})


def refused_values(errors: Sequence[GraphQLError]) -> bool:
    """Whether any of `errors` refused a value (and so has a message to localize)."""
    return any(KEY in (e.extensions or {}) or CODE in (e.extensions or {}) for e in errors)


def localized(errors: Sequence[GraphQLError], language: str) -> list[GraphQLError]:
    """`errors` with the messages of refused values in `language`: new error objects,
    since Strawberry's validation cache hands the same ones to every request."""
    return [_localized(error, language) for error in errors]


def _localized(error: GraphQLError, language: str) -> GraphQLError:
    extensions = error.extensions or {}
    key, code = extensions.get(KEY), extensions.get(CODE)
    if not (isinstance(key, str) or isinstance(code, str)):
        return error
    if isinstance(key, str):
        sentence = messages.specific(key, language, extensions.get("parameters") or {})
    else:
        sentence = messages.message(str(code), language, {}, detail="")
    matches = ((index, pattern.match(error.message)) for index, pattern in enumerate(_PATTERNS))
    index, found = next(((i, m) for i, m in matches if m), (None, None))
    message = error.message
    if language != "en":
        if not sentence:
            return error
        templates = _PREFIXES.get(language)
        prefix = ""
        if templates and found and index is not None:
            prefix = templates[index][1].format(*found.groups())
        message = prefix + sentence
    # Only "Variable '$input' has invalid value at .email" names a field inside an input.
    field = found.group(2).removeprefix(".") if found and index == 0 else None
    reason = sentence or (message[found.end() :] if found else message)
    return GraphQLError(
        message,
        nodes=error.nodes,
        path=error.path,
        original_error=error.original_error,
        # A new dict: Strawberry's validation cache hands the same error to every request.
        extensions={**extensions, "reason": reason, **({"field": field} if field else {})},
    )
