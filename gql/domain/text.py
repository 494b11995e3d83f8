"""User-entered text: what characters and lengths free text may have (the input
scalars at the API's edge and the CSV import apply these), and cleaning it to one
line, inner whitespace collapsed, within a length."""

from __future__ import annotations

import unicodedata

from gql.domain.errors import InvalidInput

LINE_MAX = 500  # one line: names, addresses, reasons, search terms, passwords, tokens
TEXT_MAX = 100_000  # several lines: email templates
# Tab, line feed and carriage return: the only control characters in multi-line text.
LINE_BREAKS = frozenset("\t\n\r")


def unwanted_character(value: str, *, multiline: bool) -> str | None:
    """The first character no form should send: control characters (C0, DEL, C1; in
    multi-line text all but tab and line breaks), lone surrogates (UTF-8 can not carry
    them), Unicode's line and paragraph separators. PostgreSQL refuses NUL outright."""
    allowed = LINE_BREAKS if multiline else frozenset()
    for character in value:
        if character in allowed:
            continue
        if unicodedata.category(character) in ("Cc", "Cs", "Zl", "Zp"):
            return character
    return None


def checked(value: str, *, kind: str, multiline: bool = False, limit: int | None = None) -> str:
    """`value` unchanged if it is free text of its kind; InvalidInput otherwise."""
    limit = limit if limit is not None else (TEXT_MAX if multiline else LINE_MAX)
    if len(value) > limit:
        raise InvalidInput("text_too_long", field=kind, parameters={"limit": limit})
    bad = unwanted_character(value, multiline=multiline)
    if bad is not None:
        raise InvalidInput(
            "control_character", field=kind, parameters={"character": f"U+{ord(bad):04X}"}
        )
    return value


def one_line(value: str | None, *, field: str, limit: int) -> str:
    """The text on one line with single spaces; empty or too long is refused."""
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise InvalidInput("required", field=field)
    if len(cleaned) > limit:
        raise InvalidInput("text_too_long", field=field, parameters={"limit": limit})
    return cleaned


def optional_line(value: str | None, *, field: str, limit: int) -> str | None:
    """Like `one_line`, but empty is None."""
    return one_line(value, field=field, limit=limit) if (value or "").strip() else None


def clean_name(value: str | None, *, limit: int = 120) -> str:
    """A name as staff give it to a portal, a group or a person: one line, `limit` long."""
    return one_line(value, field="name", limit=limit)
