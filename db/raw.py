"""Statements of every request run on the driver directly.

A Core statement run through a session costs, each time, building the statement,
its cache key, the result processing, and - on the first statement of a session - a
`BEGIN` round trip, with the `ROLLBACK` at the end. For the statements every request
runs (the session check behind an access token) and for query plans that is most of
the request. `Prepared` compiles a statement once for asyncpg and runs it on the
session's connection as an asyncpg prepared statement (asyncpg's statement cache): no
ORM, and no transaction of its own when the session has not begun one, so a read-only
request makes no `BEGIN`/`ROLLBACK` round trips. Once the session has begun a
transaction (a mutation wrote something), these statements run inside it and see its
writes, as any other statement of the session would.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.util.concurrency import greenlet_spawn

__all__ = ["DIALECT", "Compiled", "Prepared", "connection_broken", "on_driver"]

T = TypeVar("T")

DIALECT: Any = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


# Told of each statement run here (SQLAlchemy's events do not see them): the metrics
# register their counter (gql/metrics.py), so every statement is counted once.
STATEMENT_OBSERVERS: list[Callable[[], None]] = []


async def on_driver(session: AsyncSession, call: Callable[[Any], Awaitable[T]]) -> T:
    """`call(asyncpg connection)`: on the connection of `session`'s transaction when it
    has begun one (the statement sees its writes), else - a session of the pool's engine
    with nothing begun, as a read-only request's - on a connection taken from the pool
    for this one call and put back at once, without the session's own bookkeeping
    (its transaction object, connection wrapper, close). A session bound to one
    connection (the tests' rolled-back transaction) always uses that connection.

    SQLAlchemy does not see these statements, so it can not discard the connection when
    one fails: that is done here. A statement that failed as a statement (a PostgreSQL
    error other than the server going away) leaves the connection usable; anything else
    - the server gone, a cancelled request (asyncpg is then still waiting for the
    server), any other exception - closes it at once, and the pool replaces a closed
    connection at its next checkout (db/session.py)."""
    for observe in STATEMENT_OBSERVERS:
        observe()
    bind = session.bind
    if isinstance(bind, AsyncEngine) and not session.in_transaction():
        pooled = await bind.raw_connection()
        try:
            return await _guarded(pooled.driver_connection, call)
        finally:
            await greenlet_spawn(pooled.close)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return await _guarded(raw.driver_connection, call)


async def _guarded(driver: Any, call: Callable[[Any], Awaitable[T]]) -> T:
    try:
        return await call(driver)
    except asyncpg.PostgresError as error:
        if connection_broken(error):
            driver.terminate()
        raise
    except BaseException:
        driver.terminate()
        raise


# PostgreSQL errors that end the connection rather than the statement.
_SERVER_GONE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
)


def connection_broken(error: BaseException | None) -> bool:
    """Whether the driver's `error` means its connection is unusable, not that a
    statement failed: the server ended it (shutdown, crash, start-up), the socket is
    closed, or the protocol is stuck mid-operation - which is what a statement meets
    when the server's termination message has arrived but the socket's close has not
    been seen yet. db/session.py makes SQLAlchemy discard such connections too."""
    if isinstance(error, _SERVER_GONE):
        return True
    if isinstance(error, asyncpg.exceptions.InterfaceError):
        return "connection is closed" in str(error)
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        return "another operation" in str(error)
    return False


@dataclass(frozen=True)
class Compiled:
    """A statement compiled for asyncpg: its SQL, its parameters in order, the values
    of those the statement carries itself (as the driver takes them) and how to convert
    the caller's values."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    processors: Mapping[str, Any]

    @classmethod
    def of(cls, statement: sa.Select[Any]) -> Compiled:
        """IN lists of constant values become one parameter per value; parameters
        without a value (or declared `required=False` with none) are the caller's."""
        compiled = statement.compile(dialect=DIALECT)
        given = {name: None for name, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(given)
        processors: Mapping[str, Any] = expanded.processors
        constants = {
            name: processors[name](value) if processors.get(name) else value
            for name, value in expanded.parameters.items()
            if value is not None
        }
        return cls(expanded.statement, tuple(expanded.positiontup or ()), constants, processors)


class Prepared:
    """A SELECT compiled once; `fetchrow(session, name=value, ...)` runs it with its
    parameters by name and returns the row with each column as the session would
    (the column types' result processing applied), or None."""

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.compiled = Compiled.of(statement)
        self.results = tuple(
            column.type.result_processor(DIALECT, None) for column in statement.selected_columns
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name in self.compiled.names:
            if name in values:
                process = self.compiled.processors.get(name)
                arguments.append(values[name] if process is None else process(values[name]))
            else:
                arguments.append(self.compiled.constants[name])
        return arguments

    async def fetchrow(self, session: AsyncSession, **values: Any) -> tuple[Any, ...] | None:
        arguments = self.arguments(values)
        sql = self.compiled.sql
        row = await on_driver(session, lambda driver: driver.fetchrow(sql, *arguments))
        if row is None:
            return None
        return tuple(
            value if process is None else process(value)
            for value, process in zip(row, self.results, strict=True)
        )
