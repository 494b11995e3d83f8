"""What a request ran on the test's connection: every statement, SQLAlchemy's and those
run on the driver directly (query plans and session checks, db/raw.py); and whether a
query plan gave the answer (gql/http/plans.py), told from those statements."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import counting_statements as orm_statements


@contextmanager
def counting_statements(connection: AsyncConnection) -> Iterator[list[str]]:
    """Every statement on the test's connection: SQLAlchemy's (test_query_counts), and
    plans' and session checks', which bypass SQLAlchemy, through the driver's query
    logger, which also reports the driver's own one-off type introspection (left out).
    A statement SQLAlchemy runs is listed twice (before and after it ran)."""
    sync = connection.sync_connection
    assert sync is not None
    driver: Any = sync.connection.dbapi_connection.driver_connection  # type: ignore[union-attr]
    with orm_statements(connection) as statements:

        def raw(record: Any) -> None:
            if "typeinfo_tree" not in record.query and "'jit'" not in record.query:
                statements.append(record.query)

        driver.add_query_logger(raw)
        try:
            yield statements
        finally:
            driver.remove_query_logger(raw)


# The live settings (published, else the draft) are one read.
_SETTINGS_READ = re.compile(
    r"coalesce\(\w+\.published_settings, \w+\.draft_settings\)"
    r"|\b(?:published|draft)_settings\b(?! IS (?:NOT )?NULL)"
)


def settings_reads(statement: str) -> int:
    """How many expressions of `statement` read a portal's settings column other than
    for IS [NOT] NULL: each detoasts the whole document (a draft's: compressed, out of line)
    whenever it runs (db.portal_settings.settings_parts)."""
    return len(_SETTINGS_READ.findall(statement))


def is_plan(statement: str) -> bool:
    """A query plan's statement: PostgreSQL builds the answer's JSON, whose objects'
    text begins in the statement (gql/json_text.py); the executor's statements never
    build JSON."""
    return "'{\"" in statement


async def answered_by_plan(
    connection: AsyncConnection, request: Awaitable[httpx.Response]
) -> tuple[httpx.Response, bool]:
    """The response to `request`, and whether a plan gave it: a 200 whose last statement
    (the test's savepoints aside) is a plan's. The answer is sent as that statement
    returned it; a plan whose answer the view dropped (the session check in its
    statement found other grants) is followed by the statements of the answer given."""
    with counting_statements(connection) as statements:
        response = await request
    ran = [s for s in statements if "SAVEPOINT" not in s]
    return response, response.status_code == 200 and bool(ran) and is_plan(ran[-1])
