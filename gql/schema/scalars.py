"""Input scalars: every value a caller sends is checked while the request is parsed,
before any resolver or statement runs. A refused value is a GraphQL error that names
the argument or variable (graphql-core puts the path in front of our message) with
`extensions.code = BAD_USER_INPUT`, never a database error.

- `Line`: one line of free text (names, addresses, reasons, search terms, passwords,
  tokens): no control characters, at most `LINE_MAX` characters.
- `Text`: free text over several lines (email templates): tab and line breaks allowed,
  no other control characters, at most `TEXT_MAX` characters.
- `EmailAddress`: exactly one mailbox, returned in its canonical form.
The rules themselves are the domain's (`gql.domain.text`, `gql.domain.email_address`),
which the CSV import applies too; here they only run while the request is parsed.
- `Iban`: format and checksum (schwifty), returned compact.
- `Cursor`: an opaque page position; an offset beyond `pagination.MAX_OFFSET` or any
  other text is refused.
- `JSON` (settings documents) and `Decimal` replace Strawberry's with bounded ones:
  strings inside JSON follow `Text`, nesting and size are limited, and a Decimal must
  be finite and of sane size.

Output fields keep `String`: the limits are about what callers may send.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable
from typing import Any, NewType

import strawberry
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from strawberry.types.scalar import ScalarDefinition

from gql.domain import email_address, text
from gql.domain.errors import InvalidInput
from gql.schema import pagination
from gql.schema.input_errors import refuse, refused

LINE_MAX = text.LINE_MAX
TEXT_MAX = text.TEXT_MAX
JSON_MAX_DEPTH = 16
JSON_MAX_CHARS = 200_000  # the whole document, serialized
DECIMAL_MAX_DIGITS = 30


def _at_the_edge(rule: Callable[[str], str], value: object, kind: str) -> str:
    """A domain rule on a string input, its InvalidInput as the scalar's error."""
    if not isinstance(value, str):
        raise refuse("scalar_not_a_string", kind=kind)
    try:
        return rule(value)
    except InvalidInput as error:
        raise refused(error) from None


def parse_line(value: object) -> str:
    return _at_the_edge(lambda v: text.checked(v, kind="Line"), value, "Line")


def parse_text(value: object) -> str:
    return _at_the_edge(lambda v: text.checked(v, kind="Text", multiline=True), value, "Text")


def parse_email(value: object) -> str:
    """One mailbox in its canonical form (gql.domain.email_address)."""
    return _at_the_edge(email_address.canonical, parse_line(value), "EmailAddress")


def parse_iban(value: object) -> str:
    text = parse_line(value)
    try:
        return str(IBAN(text).compact)
    except SchwiftyException:
        raise refuse("iban_invalid") from None


def parse_cursor(value: object) -> str:
    """The cursor as sent, once it is known to decode to an offset in range."""
    text = parse_line(value)
    pagination.decode_cursor(text)
    return text


def _check_json(value: Any, depth: int) -> None:
    if depth > JSON_MAX_DEPTH:
        raise refuse("json_too_deep", limit=JSON_MAX_DEPTH)
    if isinstance(value, str):
        parse_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            parse_line(key)
            _check_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, float) and value != value:  # NaN
        raise refuse("json_not_finite")


def parse_json(value: object) -> object:
    _check_json(value, 0)
    try:
        size = len(json.dumps(value, allow_nan=False))
    except ValueError:
        raise refuse("json_not_finite") from None
    if size > JSON_MAX_CHARS:
        raise refuse("json_too_long", limit=JSON_MAX_CHARS)
    return value


def parse_decimal(value: object) -> decimal.Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise refuse("decimal_as_string")
    text = str(value)
    if len(text) > DECIMAL_MAX_DIGITS + 2:
        raise refuse("decimal_too_many_digits", limit=DECIMAL_MAX_DIGITS)
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise refuse("decimal_invalid", value=text[:40]) from None
    if not number.is_finite():
        raise refuse("decimal_not_finite")
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int) or not -DECIMAL_MAX_DIGITS <= exponent <= DECIMAL_MAX_DIGITS:
        raise refuse("decimal_too_many_digits", limit=DECIMAL_MAX_DIGITS)
    return number


# The types resolvers and inputs are annotated with; `SCALAR_MAP` below tells
# Strawberry how each is parsed (StrawberryConfig.scalar_map, so that mypy sees
# plain NewTypes of str).
Line = NewType("Line", str)
Text = NewType("Text", str)
EmailAddress = NewType("EmailAddress", str)
Iban = NewType("Iban", str)
Cursor = NewType("Cursor", str)
JSON = NewType("JSON", object)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    Line: strawberry.scalar(
        name="Line",
        description=(
            f"One line of text: no control characters or line breaks, at most {LINE_MAX} "
            "characters. Fields may set a lower limit of their own."
        ),
        serialize=str,
        parse_value=parse_line,
    ),
    Text: strawberry.scalar(
        name="Text",
        description=(
            "Text over several lines: tab, line feed and carriage return allowed, no "
            f"other control characters, at most {TEXT_MAX} characters."
        ),
        serialize=str,
        parse_value=parse_text,
    ),
    EmailAddress: strawberry.scalar(
        name="EmailAddress",
        description=(
            "Exactly one email address (no display name, no list): at most 254 "
            "characters, 64 before the @, an internet domain (international domains are "
            "converted to their ASCII form). Compared in lower case."
        ),
        serialize=str,
        parse_value=parse_email,
    ),
    Iban: strawberry.scalar(
        name="Iban",
        description=(
            "An International Bank Account Number with a valid checksum, spaces allowed "
            '("DE89 3704 0044 0532 0130 00").'
        ),
        serialize=str,
        parse_value=parse_iban,
    ),
    Cursor: strawberry.scalar(
        name="Cursor",
        description="An opaque position in a list, as a page's `endCursor` gives it.",
        serialize=str,
        parse_value=parse_cursor,
    ),
    JSON: strawberry.scalar(
        name="JSON",
        description=(
            "A JSON value. Input: strings follow the rules of `Text`, object keys those "
            f"of `Line`, at most {JSON_MAX_DEPTH} levels and {JSON_MAX_CHARS} characters."
        ),
        specified_by_url="https://ecma-international.org/wp-content/uploads/ECMA-404_2nd_edition_december_2017.pdf",
        serialize=lambda value: value,
        parse_value=parse_json,
    ),
    # Strawberry's own Decimal, replaced for every `decimal.Decimal` annotation.
    decimal.Decimal: strawberry.scalar(
        name="Decimal",
        description=(
            'A decimal number, sent and returned as a string ("81.50"): finite, at most '
            f"{DECIMAL_MAX_DIGITS} digits."
        ),
        serialize=str,
        parse_value=parse_decimal,
    ),
}
