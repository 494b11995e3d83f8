"""Statements run on the driver directly (db/raw.py): a session that has begun nothing
lends them no transaction - a connection comes from the pool for the one statement and
goes back at once - while a session in a transaction runs them inside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine
from sqlalchemy.util import concurrency
from sqlalchemy.util import queue as sqla_queue

from db import models, raw
from db.raw import Prepared, Writes
from db.session import Database, FairQueue, WaitCountingPool
from tests.conftest import ACTORS
from tests.statement_helpers import counting_statements

COUNT = Prepared(sa.select(sa.func.count()).select_from(sa.table("raw_statement_probe")))


async def test_a_statement_outside_a_transaction_borrows_a_connection_for_itself(
    database_url: str,
) -> None:
    database = Database.from_url(database_url, pool_size=1)
    assert database.engine is not None
    pool = database.engine.sync_engine.pool
    try:
        async with database.sessions() as session:
            row = await Prepared(sa.select(sa.literal(1, sa.Integer))).fetchrow(session)
            assert row == (1,)
            # Nothing begun, no connection held once the statement is done.
            assert not session.in_transaction()
            assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def _backend(driver: Any) -> int:
    return int(await driver.fetchval("SELECT pg_backend_pid()"))


@pytest.fixture
def greenlets(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The calls db.raw runs in a greenlet of SQLAlchemy's (greenlet_spawn)."""
    spawned: list[object] = []
    spawn = concurrency.greenlet_spawn

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        spawned.append(fn)
        return await spawn(fn, *args, **kwargs)

    monkeypatch.setattr(raw, "greenlet_spawn", counted)
    return spawned


async def test_an_idle_connection_is_lent_without_a_greenlet(
    database_url: str, greenlets: list[object]
) -> None:
    """The first call opens the pool's connection (in a greenlet: it connects); the next
    ones find it idle and take it, run the statement and put it back without one, the
    pool's events and gauges told as ever."""
    database = Database.from_url(database_url, pool_size=1)
    assert database.engine is not None
    engine, pool = database.engine, database.engine.sync_engine.pool
    checkouts: list[int] = []
    sa.event.listen(pool, "checkout", lambda *_: checkouts.append(1))
    try:
        first = await raw.on_pool(engine, _backend)
        assert len(greenlets) == 1
        assert [await raw.on_pool(engine, _backend) for _ in range(3)] == [first] * 3
        assert len(greenlets) == 1
        assert len(checkouts) == 4
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def test_a_closed_idle_connection_is_replaced_in_a_greenlet(
    database_url: str, greenlets: list[object]
) -> None:
    """The idle connection was closed (PostgreSQL ended it): the checkout's test
    (db/session.py `_still_open`) finds it closed, and replacing it needs the server,
    which the greenlet's way does: one answer, from a new backend, nothing left out."""
    database = Database.from_url(database_url, pool_size=1)
    assert database.engine is not None
    engine, pool = database.engine, database.engine.sync_engine.pool
    try:
        first = await raw.on_pool(engine, _backend)
        async with engine.connect() as connection:
            raw_connection = await connection.get_raw_connection()
            raw_connection.driver_connection.terminate()  # type: ignore[union-attr]
        assert pool.checkedin() == 1  # type: ignore[attr-defined]
        greenlets.clear()
        second = await raw.on_pool(engine, _backend)
        assert second != first
        assert len(greenlets) == 1
        assert await raw.on_pool(engine, _backend) == second
        assert len(greenlets) == 1
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def test_a_pool_that_pings_its_connections_is_driven_in_a_greenlet(
    database_url: str, greenlets: list[object]
) -> None:
    """`pool_pre_ping` is I/O at every checkout: such a pool is never driven outside a
    greenlet (where SQLAlchemy would refuse the ping and discard a sound connection)."""
    engine = create_async_engine(
        database_url,
        pool_size=1,
        max_overflow=0,
        poolclass=WaitCountingPool,
        pool_pre_ping=True,
    )
    try:
        pids = [await raw.on_pool(engine, _backend) for _ in range(3)]
        assert len(set(pids)) == 1
        assert len(greenlets) == 3
    finally:
        await engine.dispose()


async def test_a_statement_in_a_transaction_sees_its_writes(database_url: str) -> None:
    database = Database.from_url(database_url, pool_size=1)
    try:
        async with database.sessions() as session:
            await session.execute(sa.text("CREATE TEMPORARY TABLE raw_statement_probe (x int)"))
            await session.execute(sa.text("INSERT INTO raw_statement_probe VALUES (1), (2)"))
            # The pool's one connection is the transaction's: the statement runs there.
            assert await COUNT.fetchrow(session) == (2,)
            await session.rollback()
    finally:
        await database.dispose()


async def test_writes_update_a_loaded_row_and_delete_in_one_statement(
    session: AsyncSession, connection: AsyncConnection
) -> None:
    """A row the session loaded gets the written values as committed (the unit of work
    does not write it again); rows are deleted by a column's values; one statement."""
    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    throttle = models.LoginThrottle
    session.add_all(throttle(key=key, failures=1, last_failure_at=now) for key in "abc")
    await session.flush()
    user = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    with counting_statements(connection) as statements:
        await Writes().update(user, last_login_at=now).delete(throttle.key, ["a", "b"]).run(session)
        await session.flush()
        await asyncio.sleep(0)  # the driver tells its query loggers on the next turn
    assert len(statements) == 1, statements
    assert user.last_login_at == now
    assert not session.dirty
    left = await session.scalars(sa.select(throttle.key).where(throttle.key.in_(list("abc"))))
    assert list(left) == ["c"]
    stored = await session.scalar(
        sa.select(models.PortalUser.last_login_at).where(models.PortalUser.id == user.id)
    )
    assert stored == now


async def test_writes_unless_changed_write_all_rows_at_the_version_read_and_none_after(
    session: AsyncSession, connection: AsyncConnection
) -> None:
    """Guarded by a row's version: two rows of a table (typed columns: an address, JSON)
    inserted and the row touched, in one statement; written again with the version read
    before, nothing (the row is another version now) and `run` says so."""
    meter = await session.scalar(sa.select(models.Meter).limit(1))
    assert meter is not None
    read = await session.scalar(
        sa.select(raw.version(models.Meter.__table__)).where(models.Meter.id == meter.id)
    )
    assert read is not None

    def events(*addresses: str) -> list[models.AuditEvent]:
        return [
            models.AuditEvent(
                organization_id=meter.organization_id,
                actor_type=models.ActorType.SYSTEM,
                action="test.guarded",
                data={"address": address},
                ip_address=address,
            )
            for address in addresses
        ]

    with counting_statements(connection) as statements:
        assert (
            await Writes()
            .insert(events("10.0.0.1", "10.0.0.2"))
            .unless_changed(meter, read)
            .run(session, alone=True)
        )
        await asyncio.sleep(0)
    assert len(statements) == 1, statements
    assert not await Writes().insert(events("10.0.0.3")).unless_changed(meter, read).run(session)
    now = await session.scalar(
        sa.select(raw.version(models.Meter.__table__)).where(models.Meter.id == meter.id)
    )
    assert now != read
    stored = await session.scalars(
        sa.select(models.AuditEvent.ip_address)
        .where(models.AuditEvent.action == "test.guarded")
        .order_by(models.AuditEvent.ip_address)
    )
    assert [str(address) for address in stored] == ["10.0.0.1", "10.0.0.2"]


async def test_checkouts_are_served_in_the_order_they_came(database_url: str) -> None:
    """With every connection busy, a connection put back goes to the checkout that has
    waited longest, one that gave up waiting (a cancelled request) is passed over, and a
    checkout arriving just then queues behind the others instead of taking it (the idle
    connection's way of `on_pool` included)."""
    database = Database.from_url(database_url, pool_size=1)
    assert database.engine is not None
    engine = database.engine
    served: list[str] = []

    async def checkout(name: str) -> None:
        async def call(_driver: Any) -> None:
            served.append(name)
            await asyncio.sleep(0.01)

        await raw.on_pool(engine, call)

    try:
        async with engine.connect() as held:
            await held.exec_driver_sql("SELECT 1")
            waiting = {}
            for name in ["first", "gone", "second", "third"]:
                waiting[name] = asyncio.create_task(checkout(name))
                await asyncio.sleep(0.01)  # each in line before the next
            waiting.pop("gone").cancel()
        late = asyncio.create_task(checkout("late"))  # as the connection is put back
        await asyncio.gather(*waiting.values(), late)
        assert served == ["first", "second", "third", "late"]
        assert await raw.on_pool(engine, _backend)  # the connection still lent
    finally:
        await database.dispose()


async def test_a_connection_put_back_is_not_taken_past_a_waiting_checkout() -> None:
    """The pool's queue (`FairQueue`): a connection put back while a checkout waits is
    that checkout's, even before it has run again; a newcomer finds the queue empty
    (asyncio's own queue would give it the connection and send the waiter to the back),
    and a waiter that gave up is passed over."""
    queue = FairQueue(2)

    def waiting() -> asyncio.Task[Any]:
        return asyncio.create_task(concurrency.greenlet_spawn(queue.get, True, None))

    first, gone, second = waiting(), waiting(), waiting()
    await asyncio.sleep(0.01)
    assert len(queue.waiting) == 3
    gone.cancel()
    await asyncio.sleep(0.01)
    queue.put_nowait("one")
    with pytest.raises(sqla_queue.Empty):
        queue.get_nowait()  # a newcomer, before `first` has run again
    queue.put_nowait("two")
    assert (await first, await second) == ("one", "two")
    queue.put_nowait("three")
    assert queue.get_nowait() == "three"  # nobody waiting: taken at once
