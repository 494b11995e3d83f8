"""Clean user-entered text: one line, inner whitespace collapsed, within a length."""

from __future__ import annotations

from gql.domain.errors import InvalidInput


def one_line(value: str | None, *, field: str, limit: int) -> str:
    """The text on one line with single spaces; empty or too long is refused."""
    cleaned = " ".join((value or "").split())
    if not cleaned:
        raise InvalidInput("Please fill this in.", field=field)
    if len(cleaned) > limit:
        raise InvalidInput(f"At most {limit} characters.", field=field)
    return cleaned


def optional_line(value: str | None, *, field: str, limit: int) -> str | None:
    """Like `one_line`, but empty is None."""
    return one_line(value, field=field, limit=limit) if (value or "").strip() else None


def clean_name(value: str | None, *, limit: int = 120) -> str:
    """A name as staff give it to a portal, a group or a person: one line, `limit` long."""
    return one_line(value, field="name", limit=limit)
