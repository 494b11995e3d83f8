"""Free-text search as staff type it into a list: case-insensitive parts of names,
emails and numbers; `%` and `_` match themselves, not any text.

The columns to match are the caller's to choose: they are only those the caller may
read (gql/schema/criteria.py), since matching a column reads it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import util as sql_util

from db import models

ESCAPE = "/"  # the escape character of a search pattern


def search_pattern(text: str) -> str:
    """The LIKE pattern of a search text: the trimmed text anywhere in a value, with
    `%`, `_` and the escape character `/` matching themselves."""
    part = text.strip()
    escaped = part.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def pattern_matches(pattern: Any, columns: Sequence[Any], *, prepared: bool = False) -> Any:
    """Rows one of whose `columns` matches `pattern` in any case: a `search_pattern`,
    or a statement parameter holding one (query plans); no columns: no rows.
    `prepared`: `pattern` is a `prepared_pattern` of one.

    `ILIKE` folds case as `lower()` does (the database's ctype) and, unlike
    `lower(column) LIKE ...`, is served by the columns' trigram indexes
    (db/base.py trigram_index). A column stored lower-cased (a check constraint
    `x = lower(x)`: logins) is matched by a plain `LIKE` of the lower-cased pattern,
    which its index serves too, without lower-casing its value at every row compared.
    All of a contact's searched columns are matched as their stored joined value
    (`_joined_contact_matches`)."""
    if not columns:
        return sa.false()
    if _all_contact_columns(columns):
        return _joined_contact_matches(pattern, prepared)
    return sa.or_(
        *(
            _lower_cased_matches(column, pattern, prepared)
            if _stored_lower_cased(column)
            else column.ilike(pattern, escape=None if prepared else ESCAPE)
            for column in columns
        )
    )


def prepared_pattern(pattern: Any) -> Any:
    """A `search_pattern` (or a parameter holding one) lower-cased and written with
    LIKE's own escape character instead of ESCAPE, as a one-row subquery, for
    `pattern_matches(..., prepared=True)`: PostgreSQL computes it once per statement,
    where `lower()`, `like_escape()` and `ILIKE`'s own lower-casing of a parameter are
    computed again for every row compared (a generic plan folds no parameter). It
    matches what the pattern matches: `ILIKE` folds the case of both sides, and the
    contacts' joined value is stored lower-cased."""
    escaped = sa.func.like_escape(sa.func.lower(pattern), sa.literal_column(f"'{ESCAPE}'"))
    return sa.select(escaped).scalar_subquery()


def _all_contact_columns(columns: Sequence[Any]) -> bool:
    """Whether `columns` are the contact's searched columns (models.CONTACT_SEARCHED)."""
    named = {(getattr(column, "class_", None), getattr(column, "key", None)) for column in columns}
    return named == {(models.Contact, name) for name in models.CONTACT_SEARCHED}


def _joined_contact_matches(pattern: Any, prepared: bool = False) -> Any:
    """Contacts one of whose searched columns matches `pattern` in any case, by one
    plain LIKE of the lower-cased pattern against `Contact.search_text` (the columns
    lower-cased and joined by line breaks, stored): a search text is one line (the
    Line scalar), so it matches the joined value exactly where it matches a column,
    without lower-casing five values per row compared; its trigram index serves it."""
    return _lower_cased_matches(models.Contact.search_text, pattern, prepared)


def _lower_cased_matches(column: Any, pattern: Any, prepared: bool) -> Any:
    """`column`, whose values are stored lower-cased, matching `pattern` in any case:
    a plain LIKE of the lower-cased pattern (a `prepared_pattern` is lower-cased)."""
    if prepared:
        return column.like(pattern)
    return column.like(sa.func.lower(pattern), escape=ESCAPE)


def _stored_lower_cased(column: Any) -> bool:
    """Whether a check constraint of `column`'s table keeps it lower-cased
    (`x = lower(x)`, as the logins' `email_lower`)."""
    stored = getattr(column, "expression", column)
    if not isinstance(stored, sa.Column):
        return False  # an expression (a joined value)
    kept = f"{stored.name} = lower({stored.name})"
    return any(
        isinstance(constraint, sa.CheckConstraint) and str(constraint.sqltext) == kept
        for constraint in stored.table.constraints
    )


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


# A portal-user search asks once per statement whether its text is frequent among the
# contacts: in a sample of SAMPLE_PERCENT of the contact table's rows (the same rows
# each time), at most SAMPLE_ROWS of them, at least FREQUENT match (2 %).
SAMPLE_PERCENT = 5
SAMPLE_ROWS = 500
FREQUENT = 10


def portal_user_pattern_matches(
    pattern: Any,
    user_columns: Sequence[Any],
    contact_columns: Sequence[Any],
    frequent: bool | None = None,
) -> Any:
    """`portal_user_matches` of a `search_pattern` (or a parameter holding one).

    How the users are matched depends on the text: a rare text finds its few logins
    and contacts once through their trigram indexes; a frequent one, which those
    indexes cannot narrow, checks each listed user's login and own contact (by its
    key), so that the users are read in their list's index order and a page stops
    after its rows instead of matching every contact first. Both answer the same rows.
    `frequent` says which way when the caller knows it (a query plan that has seen the
    text, `portal_user_text_is_frequent`); None decides it in the statement, by a
    bounded sample (`portal_user_search_deciding` when the statement reports it)."""
    user, contact = models.PortalUser, models.Contact
    if frequent and contact_columns:
        # Each walked user is compared: the pattern prepared once for all of them.
        once = prepared_pattern(pattern)
        own = pattern_matches(once, user_columns, prepared=True)
        if _all_contact_columns(contact_columns):
            # The contact's joined value as the user's row carries it (the database
            # keeps the copy: db/models/portal_user.py), compared as the contact's own.
            # As a subquery, as the contact's lookup was: the planner cannot estimate
            # how many rows a parameter's pattern matches, takes an opaque condition
            # for half of them and walks the list's index; a plain LIKE it takes for
            # a few, and reads every user of the organization to sort them (3.9 ms
            # against 1.3 on the bench's data).
            copied = _lower_cased_matches(user.contact_search_text, once, prepared=True)
            return sa.or_(own, sa.select(copied).correlate(user).scalar_subquery())
        each = contact.__table__.alias("user_contact")
        own_contact = (
            sa.select(_on(each, pattern_matches(once, contact_columns, prepared=True)))
            .where(each.c.id == user.contact_id)
            .correlate_except(each)
        )
        return sa.or_(own, own_contact.scalar_subquery())
    own = pattern_matches(pattern, user_columns)
    if not contact_columns:
        return own
    if frequent is None:
        way = portal_user_text_is_frequent(pattern, contact_columns)
        return _decided_in_statement(pattern, user_columns, contact_columns, way)
    found_contacts = _found_contacts(pattern, contact_columns)
    # The few users found first, then listed in order: the logins and the users of
    # the contacts the text matches, through their indexes, and the listed users
    # looked up by key (`= ANY` of their array), rather than every user of the
    # list walked and looked up in both sets.
    users_of = user.__table__.alias("found_contact_user")
    found = [
        sa.select(users_of.c.id).where(users_of.c.contact_id.in_(found_contacts)).correlate(None)
    ]
    if user_columns:
        found_user = user.__table__.alias("found_user")
        found.insert(0, sa.select(found_user.c.id).where(_on(found_user, own)).correlate(None))
    ids = (sa.union(*found) if len(found) > 1 else found[0]).subquery("found_users")
    found_ids = sa.select(sa.func.array_agg(ids.c.id)).correlate(None).scalar_subquery()
    # An array (`= ANY (subquery)` would be a semi-join, which the planner may
    # take as a hash join over every user of the list).
    return user.id == sa.any_(sa.cast(found_ids, postgresql.ARRAY(sa.Uuid)))


def portal_user_search_deciding(
    pattern: Any, user_columns: Sequence[Any], contact_columns: Sequence[Any]
) -> tuple[Any, Any]:
    """`portal_user_pattern_matches` deciding its way in the statement, for a statement
    that also reports the way it took (a query plan's first request with a text), and
    that way (`portal_user_text_is_frequent`, a scalar subquery) to report.

    The sample is taken once per statement: both read it from one MATERIALIZED common
    table expression, rather than each running its own copy of the sample."""
    sample = _text_is_frequent(pattern, contact_columns).cte().prefix_with("MATERIALIZED")
    way = sa.select(sample.c.frequent).scalar_subquery()
    return _decided_in_statement(pattern, user_columns, contact_columns, way), way


def _decided_in_statement(
    pattern: Any, user_columns: Sequence[Any], contact_columns: Sequence[Any], way: Any
) -> Any:
    """The users a search matches by the way `way` (SQL: whether the text is frequent)
    decides in the statement: the frequent way, or a rare text's users looked up in the
    sets of logins and contacts it matches."""
    return sa.case(
        (way, portal_user_pattern_matches(pattern, user_columns, contact_columns, frequent=True)),
        else_=_found_in_sets(pattern, user_columns, contact_columns),
    )


def _on(alias: Any, condition: Any) -> Any:
    """`condition` on another copy (`alias`) of its table."""
    return sql_util.ClauseAdapter(alias).traverse(condition)


def _found_contacts(pattern: Any, contact_columns: Sequence[Any]) -> Any:
    """The ids of the contacts `pattern` matches, found through their indexes."""
    found_contact = models.Contact.__table__.alias("found_contact")
    matching = _on(found_contact, pattern_matches(pattern, contact_columns))
    return sa.select(found_contact.c.id).where(matching).correlate(None)


def _found_in_sets(
    pattern: Any, user_columns: Sequence[Any], contact_columns: Sequence[Any]
) -> Any:
    """A rare text's users in a statement that decides the way itself: each listed user
    looked up in the logins and contacts the text matches, found once (hashed sets)."""
    user = models.PortalUser
    own = pattern_matches(pattern, user_columns)
    rare = [user.contact_id.in_(_found_contacts(pattern, contact_columns))]
    if user_columns:
        # The logins a rare text matches found once too: the users a page walks past
        # are then only looked up in the two sets, not matched one by one.
        found_user = user.__table__.alias("found_user")
        found_logins = sa.select(found_user.c.id).where(_on(found_user, own)).correlate(None)
        rare.insert(0, user.id.in_(found_logins))
    return sa.or_(*rare)


def portal_user_text_is_frequent(pattern: Any, contact_columns: Sequence[Any]) -> Any:
    """Whether `pattern` is frequent among the contacts, for the way a portal-user
    search takes (a scalar subquery): in a sample of SAMPLE_PERCENT of the contact
    table's rows (the same rows each time), at most SAMPLE_ROWS of them, at least
    FREQUENT match. It only chooses how the rows are found, never which."""
    return _text_is_frequent(pattern, contact_columns).scalar_subquery()


def _text_is_frequent(pattern: Any, contact_columns: Sequence[Any]) -> sa.Select[Any]:
    """`portal_user_text_is_frequent` as a one-row select of `frequent`."""
    table = models.Contact.__table__
    sampled = sa.tablesample(
        table, sa.func.bernoulli(SAMPLE_PERCENT), name="sampled_contact", seed=sa.literal(0)
    )
    # The estimate matches one value per sampled row, the columns joined by line
    # breaks: a search text is one line (the Line scalar), so it matches the joined
    # value where it matches one of the columns, at one `ILIKE` instead of one per
    # column (the sample was a third of the statement's execution on the bench's
    # 10,000 contacts), or the stored joined value for all of them.
    if _all_contact_columns(contact_columns):
        estimate = _on(sampled, pattern_matches(pattern, contact_columns))
    else:
        joined = sa.func.concat_ws(sa.literal_column("E'\\n'"), *contact_columns)
        estimate = _on(sampled, pattern_matches(pattern, [joined]))
    sample = sa.select(estimate.label("matches")).select_from(sampled).limit(SAMPLE_ROWS)
    rows = sample.subquery("contact_sample")
    return sa.select((sa.func.count() >= FREQUENT).label("frequent")).where(rows.c.matches)
