"""Free-text search as staff type it into a list: case-insensitive parts of names,
emails and numbers; `%` and `_` match themselves, not any text.

The columns to match are the caller's to choose: they are only those the caller may
read (gql/schema/criteria.py), since matching a column reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from db import models


def search_pattern(text: str) -> str:
    """The LIKE pattern of a search text: the trimmed text anywhere in a value, with
    `%`, `_` and the escape character `/` matching themselves."""
    part = text.strip()
    escaped = part.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def pattern_matches(pattern: Any, columns: Sequence[Any]) -> Any:
    """Rows one of whose `columns` matches `pattern` in any case: a `search_pattern`,
    or a statement parameter holding one (query plans); no columns: no rows.

    `ILIKE` folds case as `lower()` does (the database's ctype) and, unlike
    `lower(column) LIKE ...`, is served by the columns' trigram indexes
    (db/base.py trigram_index)."""
    if not columns:
        return sa.false()
    return sa.or_(*(column.ilike(pattern, escape="/") for column in columns))


def text_matches(text: str, columns: Sequence[Any]) -> Any:
    """Rows one of whose `columns` contains `text`; no columns: no rows."""
    return pattern_matches(search_pattern(text), columns)


def contact_matches(text: str, columns: Sequence[Any]) -> Any:
    """Contacts one of whose `columns` (names, email, customer number) contains `text`."""
    return text_matches(text, columns)


def portal_user_matches(
    text: str, user_columns: Sequence[Any], contact_columns: Sequence[Any]
) -> Any:
    """Portal users one of whose `user_columns` (login email) contains `text`, or whose
    contact matches it in one of `contact_columns`."""
    return portal_user_pattern_matches(search_pattern(text), user_columns, contact_columns)


def portal_user_pattern_matches(
    pattern: Any, user_columns: Sequence[Any], contact_columns: Sequence[Any]
) -> Any:
    """`portal_user_matches` of a `search_pattern` (or a parameter holding one)."""
    user, contact = models.PortalUser, models.Contact
    own = pattern_matches(pattern, user_columns)
    if not contact_columns:
        return own
    # `IN (subquery)`, found once (a hashed subplan, reading the contacts' trigram
    # indexes when the text is selective): the users stay in their list's index order,
    # so a page of a frequent text stops after its rows.
    of_contact = sa.select(contact.id).where(pattern_matches(pattern, contact_columns))
    return sa.or_(own, user.contact_id.in_(of_contact))
