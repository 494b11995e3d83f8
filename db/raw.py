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

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.util.concurrency import await_, greenlet_spawn

__all__ = [
    "DIALECT",
    "Compiled",
    "Prepared",
    "Writes",
    "column_attributes",
    "connection_broken",
    "insert",
    "on_driver",
    "on_pool",
    "rolled_back",
    "update",
    "version",
]

T = TypeVar("T")

DIALECT: Any = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]


# Told of each statement run here (SQLAlchemy's events do not see them): the metrics
# register their counter (gql/metrics.py), so every statement is counted once.
STATEMENT_OBSERVERS: list[Callable[[], None]] = []


async def on_driver(
    session: AsyncSession, call: Callable[[Any], Awaitable[T]], *, begin: bool = False
) -> T:
    """`call(asyncpg connection)`: on the connection of `session`'s transaction when it
    has begun one (the statement sees its writes), or when `begin` asks for it (begun
    here if no statement of the session has begun it yet: a mutation's locks and
    writes); else - a session of the pool's engine with nothing begun, as a read-only
    request's - on a connection taken from the pool for this one call and put back at
    once, without the session's own bookkeeping (its transaction object, connection
    wrapper, close). A session bound to one connection (the tests' rolled-back
    transaction) always uses that connection.

    SQLAlchemy does not see these statements, so it can not discard the connection when
    one fails: that is done here. A statement that failed as a statement (a PostgreSQL
    error other than the server going away) leaves the connection usable; anything else
    - the server gone, a cancelled request (asyncpg is then still waiting for the
    server), any other exception - closes it at once, and the pool replaces a closed
    connection at its next checkout (db/session.py)."""
    lean: LeanTransaction | None = session.info.get(LEAN)
    if lean is not None and (lean.begun or (begin and not session.in_transaction())):
        _observed()
        return await _guarded(await lean.driver(), call)
    bind = session.bind
    if not begin and isinstance(bind, AsyncEngine) and not session.in_transaction():
        return await on_pool(bind, call)
    _observed()
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    if begin:
        adapter: Any = raw.dbapi_connection
        if adapter._transaction is None:  # as SQLAlchemy's first statement would
            await adapter._start_transaction()
    return await _guarded(raw.driver_connection, call)


async def on_pool(engine: AsyncEngine, call: Callable[[Any], Awaitable[T]]) -> T:
    """`call(asyncpg connection)` on a connection taken from `engine`'s pool for this
    one call and put back at once (`on_driver` for a session with nothing begun; a
    request that opened no session, gql.context.Context.fetch_row).

    The pool is SQLAlchemy's, with all its rules (size, timeout, the checkout's
    `is_closed()` test, invalidation, its events and the metrics' gauges); only the
    greenlet it is usually driven from is left out when the checkout has nothing to
    wait for, as a request under load finds it: a connection idle in the pool is taken
    and put back without I/O (nothing was begun on it, so the return's rollback has
    nothing to do). A greenlet for the checkout, the statement and the checkin cost
    about 40 % of the call's CPU (`select 1` in process: 129 -> 72 us, 94 -> 87
    calls). A pool of db/session.py says when that is so (`lends_without_io`); a
    checkout that must wait or connect - no connection idle, or the idle one is closed
    or invalidated and is to be replaced - runs in the greenlet as before (the connect
    refused outside it with MissingGreenlet, before anything is handed out; the
    connection to replace is left in the pool, as after a failed connect)."""
    _observed()
    sync_engine = engine.sync_engine
    pooled = _lent(sync_engine)
    if pooled is not None:
        try:
            return await _guarded(pooled.driver_connection, call)
        finally:
            pooled.close()
    return await greenlet_spawn(_pooled, sync_engine, call)


def _lent(sync_engine: Any) -> Any:
    """A connection of `sync_engine`'s pool taken without SQLAlchemy's greenlet, when
    the pool says the checkout needs no I/O of its own (`on_pool`); None: take it in
    the greenlet. Its return (`close`) needs none either once nothing is begun on it."""
    lends_without_io = getattr(sync_engine.pool, "lends_without_io", None)
    if lends_without_io is None or not lends_without_io():
        return None
    try:
        return sync_engine.raw_connection()
    except sa.exc.MissingGreenlet:
        return None


def _observed() -> None:
    for observe in STATEMENT_OBSERVERS:
        observe()


# The key of a unit of work's `LeanTransaction` in its session's `info`.
LEAN = "lean_transaction"


class LeanTransaction:
    """A unit of work's transaction on the driver: when its first statement is one of
    these (a mutation that locks its row first), the transaction is begun on a
    connection taken from the pool for it, without the session's own transaction (its
    connection wrapper, transaction objects and a greenlet for each of them: about
    0.3 ms of CPU per transaction, measured in process), and ended by `end` on the
    driver. Statements of the ORM in the same unit of work run on that connection
    too, in the same transaction: the session's `get_bind` answers `connection()`
    once it has begun (db/session.py `PortalSession`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.pooled: Any = None
        self.bound: Any = None

    @property
    def begun(self) -> bool:
        return self.pooled is not None

    async def driver(self) -> Any:
        """The transaction's asyncpg connection, begun on first use."""
        if self.pooled is None:
            sync_engine = self.engine.sync_engine
            pooled = _lent(sync_engine)
            if pooled is None:
                pooled = await greenlet_spawn(sync_engine.raw_connection)
            try:
                # As SQLAlchemy's first statement would: the adapter knows the
                # transaction, so the ORM's statements run inside it.
                await _guarded(pooled.driver_connection, lambda _driver: _begin(pooled))
            except BaseException:
                await greenlet_spawn(pooled.close)
                raise
            self.pooled = pooled
        return self.pooled.driver_connection

    def connection(self) -> Any:
        """The transaction's connection for the ORM (a SQLAlchemy Connection around it)."""
        if self.bound is None:
            self.bound = sa.engine.Connection(self.engine.sync_engine, connection=self.pooled)
        return self.bound

    async def end(self, *, commit: bool) -> None:
        """Commit or roll back (unless the ORM's commit or rollback did), and put the
        connection back into the pool."""
        pooled, self.pooled, self.bound = self.pooled, None, None
        if pooled is None:
            return
        try:
            adapter = pooled.dbapi_connection
            transaction = adapter._transaction
            adapter._transaction = None
            if transaction is not None and not pooled.driver_connection.is_closed():
                ending = transaction.commit if commit else transaction.rollback
                await _guarded(pooled.driver_connection, lambda _driver: ending())
        finally:
            # The transaction ended on the driver (or the connection was closed), so
            # the pool's return has nothing to roll back: no I/O, no greenlet needed.
            pooled.close()


async def _begin(pooled: Any) -> None:
    await pooled.dbapi_connection._start_transaction()


def _pooled(engine: Any, call: Callable[[Any], Awaitable[T]]) -> T:
    """`call` on a connection checked out of `engine`'s pool for it and put back after,
    in one greenlet (SQLAlchemy's pool runs in one): a checkout and a checkin each in
    their own cost a greenlet apiece, about a third of a planned read's statement."""
    pooled = engine.raw_connection()
    try:
        return await_(_guarded(pooled.driver_connection, call))
    finally:
        pooled.close()


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
    def of(cls, statement: Any) -> Compiled:
        """IN lists of constant values become one parameter per value; parameters
        without a value (or declared `required=False` with none) are the caller's."""
        compiled = statement.compile(dialect=DIALECT)
        given = {name: None for name, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(given)
        # The types' bind processing (JSON's serialization, enums' names), and that of
        # the expanded IN lists.
        processors: Mapping[str, Any] = {**compiled._bind_processors, **expanded.processors}
        constants = {
            name: processors[name](value) if processors.get(name) else value
            for name, value in expanded.parameters.items()
            if value is not None
        }
        return cls(expanded.statement, tuple(expanded.positiontup or ()), constants, processors)


class Prepared:
    """A statement (a SELECT, or a write with RETURNING) compiled once;
    `fetchrow(session, name=value, ...)` runs it with its parameters by name and returns
    the row with each column as the session would (the column types' result
    processing applied), or None. `write`: it locks or writes, so it runs inside the
    session's transaction (`on_driver`'s `begin`)."""

    def __init__(self, statement: Any, *, write: bool = False) -> None:
        self.compiled = Compiled.of(statement)
        columns = list(
            statement.selected_columns
            if isinstance(statement, sa.Select)
            else statement.exported_columns
        )
        self.results = tuple(column.type.result_processor(DIALECT, None) for column in columns)
        # The columns whose values the driver's differ from the session's, by position.
        self.processed = tuple(
            (index, process) for index, process in enumerate(self.results) if process is not None
        )
        self.keys = tuple(column.key for column in columns)
        self.write = write
        # Per parameter in order, once: its name and its bind processing.
        self.parameters = tuple(
            (name, self.compiled.processors.get(name)) for name in self.compiled.names
        )

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's arguments in order: the caller's (bind processed) or the
        statement's own constants."""
        constants = self.compiled.constants
        return [
            constants[name]
            if name not in values
            else values[name]
            if process is None
            else process(values[name])
            for name, process in self.parameters
        ]

    async def fetchrow(self, session: AsyncSession, **values: Any) -> tuple[Any, ...] | None:
        rows = await self.fetch(session, **values)
        return rows[0] if rows else None

    async def fetch(
        self, session: AsyncSession, *, alone: bool = False, **values: Any
    ) -> list[tuple[Any, ...]]:
        """Every row (`fetchrow`'s processing). `alone`: a write that is a transaction of
        its own when the session has begun none (`on_driver` without `begin`)."""
        arguments = self.arguments(values)
        sql = self.compiled.sql
        rows = await on_driver(
            session, lambda driver: driver.fetch(sql, *arguments), begin=self.write and not alone
        )
        return [self._processed(row) for row in rows]

    def _processed(self, row: Any) -> tuple[Any, ...]:
        if not self.processed:
            return tuple(row)
        values = list(row)
        for index, process in self.processed:
            values[index] = process(values[index])
        return tuple(values)

    async def fetchone(self, session: AsyncSession, **values: Any) -> dict[str, Any] | None:
        """`fetchrow` as a dict by the columns' keys."""
        row = await self.fetchrow(session, **values)
        return None if row is None else dict(zip(self.keys, row, strict=True))


# --- Rows written without the ORM's unit of work -----------------------------------------

# Compiled writes, by table, columns and number of rows: a handful per process.
_WRITES: dict[tuple[Any, ...], Prepared] = {}
_MAX_WRITES = 256


def built(model: type[T], values: Mapping[str, Any]) -> T:
    """A row of `model` with `values` (by column attribute) as its own, set as a loaded
    row's are: without the constructor's attribute events, which record each value as
    a change (about 5 us a column). For rows only read (`gql.domain.scope.transient`)
    and new rows (`Writes` takes their values from the row as it is; a session given
    one inserts them too). Column attributes only: a relationship set this way would
    not set its foreign key.

    Raises:
        TypeError: a key is not a column attribute of `model` (as the constructor would).
    """
    attributes = column_attributes(model)
    unknown = values.keys() - attributes.names
    if unknown:
        raise TypeError(f"{sorted(unknown)} are not column attributes of {model.__name__}")
    instance: Any = attributes.new_instance()
    instance.__dict__.update(values)
    return cast(T, instance)


class ColumnAttributes(NamedTuple):
    """A mapped class's column attributes: by the key of their column in its table
    (`by_column`), and their names (`names`); and its instances' factory without the
    constructor (`new_instance`, the ORM's as it loads a row)."""

    by_column: dict[str, str]
    names: frozenset[str]
    new_instance: Callable[[], Any]


_COLUMN_ATTRIBUTES: dict[type, ColumnAttributes] = {}


def column_attributes(model: type) -> ColumnAttributes:
    """`model`'s `ColumnAttributes`, looked up once per model."""
    found = _COLUMN_ATTRIBUTES.get(model)
    if found is None:
        mapper: Any = sa.inspect(model)
        by_column = {
            column.key: mapper.get_property_by_column(column).key
            for column in mapper.local_table.columns
        }
        names = frozenset(p.key for p in mapper.column_attrs)
        found = _COLUMN_ATTRIBUTES[model] = ColumnAttributes(
            by_column, names, mapper.class_manager.new_instance
        )
    return found


# Where an inserted column's value comes from when the row was not given one.
_NO_DEFAULT, _SCALAR, _CALLABLE, _SERVER = range(4)


_INSERT_COLUMNS: dict[type, tuple[tuple[str, Any, int, Any], ...]] = {}


def _insert_columns(model: type) -> tuple[tuple[str, Any, int, Any], ...]:
    """Per mapped class, once: each inserted column's attribute, the column, and where
    its value comes from when not given (with the scalar or the callable), in the
    mapper's order; columns the database computes from the others are left out
    (Contact.search_text)."""
    found = _INSERT_COLUMNS.get(model)
    if found is None:
        found = _INSERT_COLUMNS[model] = _find_insert_columns(model)
    return found


def _find_insert_columns(model: type) -> tuple[tuple[str, Any, int, Any], ...]:
    mapper: Any = sa.inspect(model)
    found = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if column.computed is not None:
            continue
        default = column.default
        if default is not None and default.is_scalar:
            found.append((prop.key, column, _SCALAR, default.arg))
        elif default is not None and default.is_callable:
            found.append((prop.key, column, _CALLABLE, default.arg))
        elif default is not None or column.server_default is not None:
            found.append((prop.key, column, _SERVER, None))
        else:
            found.append((prop.key, column, _NO_DEFAULT, None))
    return tuple(found)


def _column_values(row: Any) -> tuple[dict[Any, Any], list[Any]]:
    """The values `row` (a transient ORM instance) is inserted with, its Python-side
    column defaults applied (and set on it: in its `__dict__`, as `built` sets values,
    without the attribute event that would record a change of a row no session has),
    and the columns the database fills in (server defaults, SQL defaults), to be read
    back."""
    given = row.__dict__
    values: dict[Any, Any] = {}
    returned: list[Any] = []
    for key, column, source, default in _insert_columns(type(row)):
        if key in given:
            values[column] = given[key]
            continue
        if source == _SERVER:
            returned.append(column)
            continue
        value = default if source == _SCALAR else default(None) if source == _CALLABLE else None
        given[key] = value
        values[column] = value
    return values, returned


# `Session.info` key: the session's transaction is rolled back at the end (`rolled_back`).
_ROLLED_BACK = "db.raw.rolled_back"


def rolled_back(session: AsyncSession) -> None:
    """Say that `session`'s work is rolled back at its end (a dry run): its writes then
    always run inside its transaction, never as one of their own (`Writes.run`)."""
    session.info[_ROLLED_BACK] = True


def version(table: Any) -> sa.ColumnElement[str]:
    """The version of a row of `table` as a statement reads it (PostgreSQL's `xmin`, as
    text): any update of the row gives it a new one. `Writes.unless_changed` compares it."""
    return sa.cast(sa.literal_column(f"{table.name}.xmin"), sa.Text)


@dataclass
class _Part:
    """One write of a `Writes`: its shape (what its statement is compiled from), the
    statement built with parameters named after the part, its values, and the rows
    and columns the database's values are read back into."""

    key: tuple[Any, ...]
    # The statement, its parameters prefixed with the name; made only if the guard (a
    # CTE) has a row, when there is one (`Writes.unless_changed`).
    build: Callable[[str, Any], Any]
    values: dict[str, Any]  # by parameter name without the prefix
    rows: list[Any]
    returned: tuple[Any, ...]


class Writes:
    """Rows to insert, update and delete, written by `run` in ONE statement on the
    session's connection inside its transaction (the first write the statement itself,
    the others data-modifying WITH clauses before it): no unit of work, no flush, one
    round trip. Compiled once per shape (tables, columns, numbers of rows). Inserted
    rows are ORM instances, transient, built as usual: Python-side defaults are applied
    when a row is added (so its `id` is known at once), server defaults of the first
    write are read back into its rows; the rows stay out of the session, complete. An
    updated row may be transient or one the session loaded: either gets the written
    values as its own (a loaded one as committed: the session does not write it again).
    Foreign keys are checked at the end of the statement, so a row and the rows that
    refer to it can be inserted together."""

    def __init__(self) -> None:
        self.parts: list[_Part] = []
        self.changed: list[tuple[Any, Mapping[str, Any]]] = []
        self.guard: tuple[Any, str] | None = None

    def unless_changed(self, row: Any, version_read: str) -> Writes:
        """Write nothing if the table row of `row` (an ORM instance, by its primary key
        `id`) is no longer the version read (`version_read`, its `version`): the row is
        updated first (its `onupdate` columns: the next reader sees a new version), and
        every write is made only if that update matched. An update that waits for a
        concurrent transaction holding the row compares the version that transaction
        left (PostgreSQL rechecks the row once it is free), so of two writers that read
        the same version one writes and the other learns it came second. `run` answers
        whether the writes were made."""
        self.guard = (row, version_read)
        return self

    def insert(self, rows: Sequence[Any]) -> Writes:
        """Insert `rows` (one statement part per set of columns given)."""
        groups: dict[tuple[Any, ...], list[tuple[Any, dict[Any, Any]]]] = {}
        for row in rows:
            values, returned = _column_values(row)
            groups.setdefault((tuple(values), tuple(returned)), []).append((row, values))
        for (columns, returned), group in groups.items():
            self.parts.append(_insert_part(columns, returned, group))
        return self

    def update(self, row: Any, **changes: Any) -> Writes:
        """Write `changes` (attribute: value) to the table row of `row` (an ORM
        instance, by its primary key `id`), with the columns' `onupdate` values (the
        update time); `row` gets the values when they are written (`run`)."""
        self.parts.append(_update_part(row, changes))
        self.changed.append((row, changes))
        return self

    def delete(self, column: Any, values: Sequence[Any]) -> Writes:
        """Delete the rows of `column`'s table (`column` an ORM attribute) whose
        `column` is one of `values`."""
        self.parts.append(_delete_part(column, values))
        return self

    async def run(self, session: AsyncSession, *, alone: bool = False) -> bool:
        """Make the writes; whether they were made (False only when the guarded row
        changed: `unless_changed`). `alone`: these are the session's only writes and its
        last statement, so when it has begun no transaction (nothing it read needed one)
        they are a transaction of their own - no `BEGIN` and `COMMIT` round trips - unless
        the session's work is rolled back at its end (`rolled_back`)."""
        if not self.parts:
            return True
        guarded = None
        if self.guard is not None:
            guarded = _update_columns(type(self.guard[0]), ())[0]
        guard_key = ("guard", guarded.name if guarded is not None else None)
        key = (guard_key, *[part.key for part in self.parts])
        prepared = _WRITES.get(key)
        if prepared is None:
            prepared = _remember(key, Prepared(self._statement(guarded), write=True))
        values = {
            f"w{index}_{name}": value
            for index, part in enumerate(self.parts)
            for name, value in part.values.items()
        }
        if self.guard is not None:
            values["guard_row_id"] = self.guard[0].id
            values["guard_version"] = self.guard[1]
        alone = alone and not session.info.get(_ROLLED_BACK, False)
        read = await prepared.fetch(session, alone=alone, **values)
        if self.guard is not None and not read:
            return False
        for row, changes in self.changed:
            for name, value in changes.items():
                _written(row, name, value)
        first = self.parts[0]
        if first.returned:
            for row, columns_read in zip(first.rows, read, strict=True):
                for column, value in zip(first.returned, columns_read, strict=True):
                    _written(row, _attribute(row, column), value)
        return True

    def _statement(self, guarded: Any) -> Any:
        """The one statement of the parts: the first the statement itself, the others
        WITH clauses; with a guard, the guarded row's update first of all."""
        guard = None
        if guarded is not None:
            automatic = {c: c.onupdate.arg for c in guarded.columns if c.onupdate is not None}
            assert automatic, f"{guarded.name} has no column an update sets by itself"
            guard = (
                sa.update(guarded)
                .where(
                    guarded.c.id == sa.bindparam("guard_row_id", type_=guarded.c.id.type),
                    version(guarded) == sa.bindparam("guard_version", type_=sa.Text),
                )
                .values(automatic)
                .returning(guarded.c.id)
                .cte("guard")
            )
        names = [f"w{index}" for index in range(len(self.parts))]
        first = self.parts[0]
        main = first.build(names[0], guard)
        if first.returned:
            main = main.returning(*first.returned)
        elif guard is not None:  # a row read back says the guard matched
            main = main.returning(sa.literal(1))
        others = [
            part.build(name, guard).cte(name)
            for part, name in zip(self.parts[1:], names[1:], strict=True)
        ]
        if guard is not None:
            others.insert(0, guard)
        if others:
            main = main.add_cte(*others)
        return main


def pending(row: Any) -> dict[str, Any]:
    """The column attributes assigned on `row` (one a session loaded) and not yet
    flushed, to pass to `Writes.update`: written in its statement, not by the session's
    flush in one of their own."""
    state = sa.inspect(row)
    if not state.modified:
        return {}
    columns = state.mapper.column_attrs
    return {name: state.dict[name] for name in state.committed_state if name in columns}


def _written(row: Any, name: str, value: Any) -> None:
    """`row`'s attribute as written: on a row a session loaded, as committed (a plain
    assignment would have the unit of work write it again); on a row no session has
    (`built`, `scope.transient`), as its own value, as `built` sets them (the attribute
    event would record a change nobody flushes)."""
    state = instance_state(row)
    if state.persistent:
        set_committed_value(row, name, value)
    elif state.transient:
        state.dict[name] = value
    else:
        setattr(row, name, value)


def _insert_part(
    columns: tuple[Any, ...], returned: tuple[Any, ...], group: list[tuple[Any, dict[Any, Any]]]
) -> _Part:
    table = columns[0].table
    count = len(group)

    def build(name: str, guard: Any) -> Any:
        rows = [
            [
                sa.bindparam(f"{name}_v{index}_{number}", type_=column.type)
                for number, column in enumerate(columns)
            ]
            for index in range(count)
        ]
        if guard is None:
            return sa.insert(table).values([dict(zip(columns, row, strict=True)) for row in rows])
        # Cast: the parameters of a UNION's rows would be resolved as text.
        selects = [
            sa.select(
                *(sa.cast(value, column.type) for value, column in zip(row, columns, strict=True))
            ).select_from(guard)
            for row in rows
        ]
        source = selects[0] if count == 1 else sa.union_all(*selects)
        return sa.insert(table).from_select(list(columns), source)

    values = {
        f"v{index}_{number}": value
        for index, (_, row_values) in enumerate(group)
        for number, value in enumerate(row_values.values())
    }
    key = ("insert", table.name, tuple([c.key for c in columns]), count, returned)
    return _Part(key, build, values, [row for row, _ in group], returned)


# Per (mapped class, attributes updated): the table, the attributes' columns and the
# columns an update sets by itself (`onupdate`); a handful per process.
_UPDATES: dict[tuple[type, tuple[str, ...]], tuple[Any, list[Any], tuple[Any, ...]]] = {}


def _update_columns(model: type, names: tuple[str, ...]) -> tuple[Any, list[Any], tuple[Any, ...]]:
    found = _UPDATES.get((model, names))
    if found is None:
        mapper: Any = sa.inspect(model)
        table: Any = mapper.local_table
        assigned = [mapper.column_attrs[name].columns[0] for name in names]
        # By identity: `in` would compare columns with `==`, which builds a SQL
        # expression for each pair.
        taken = {id(column) for column in assigned}
        automatic = tuple(
            column
            for column in table.columns
            if column.onupdate is not None and id(column) not in taken
        )
        found = _UPDATES[(model, names)] = (table, assigned, automatic)
    return found


def _update_part(row: Any, changes: Mapping[str, Any]) -> _Part:
    names = tuple(sorted(changes))
    table, assigned, automatic = _update_columns(type(row), names)

    def build(name: str, guard: Any) -> Any:
        values: dict[Any, Any] = {
            column: sa.bindparam(f"{name}_set_{attribute}", type_=column.type)
            for attribute, column in zip(names, assigned, strict=True)
        }
        for column in automatic:
            values[column] = column.onupdate.arg
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam(f"{name}_row_id", type_=table.c.id.type))
            .values(values)
        )
        return statement if guard is None else statement.where(sa.select(guard).exists())

    values = {f"set_{attribute}": changes[attribute] for attribute in names}
    values["row_id"] = row.id
    return _Part(("update", table.name, names), build, values, [row], automatic)


def _delete_part(attribute: Any, keys: Sequence[Any]) -> _Part:
    column = attribute.property.columns[0]
    table = column.table
    count = len(keys)

    def build(name: str, guard: Any) -> Any:
        keys = [sa.bindparam(f"{name}_k{index}", type_=column.type) for index in range(count)]
        statement = sa.delete(table).where(column.in_(keys))
        return statement if guard is None else statement.where(sa.select(guard).exists())

    values = {f"k{index}": key for index, key in enumerate(keys)}
    return _Part(("delete", table.name, column.key, count), build, values, [], ())


async def insert(session: AsyncSession, rows: Sequence[Any]) -> None:
    """`rows` inserted in one statement (`Writes`)."""
    await Writes().insert(rows).run(session)


async def update(session: AsyncSession, row: Any, **changes: Any) -> None:
    """`row` updated in one statement (`Writes`)."""
    await Writes().update(row, **changes).run(session)


def _remember(key: tuple[Any, ...], prepared: Prepared) -> Prepared:
    if len(_WRITES) >= _MAX_WRITES:
        _WRITES.clear()
    _WRITES[key] = prepared
    return prepared


def _attribute(row: Any, column: Any) -> str:
    return column_attributes(type(row)).by_column[column.key]
