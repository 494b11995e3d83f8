"""Engine and session factory; the one place a transaction is committed."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.util import queue as sqla_queue
from sqlalchemy.util.concurrency import await_, in_greenlet

from db.raw import LEAN, connection_broken
from db.replica import Replica, ReplicaState

POOL_SIZE = 20  # connections per process, opened when first needed and then kept

# Told +1 when a checkout starts and -1 when it has its connection (gql/metrics.py: the
# requests waiting for one). SQLAlchemy's pool events fire only once a connection is had.
POOL_WAIT_LISTENERS: list[Callable[[int], None]] = []


class FairQueue(sqla_queue.AsyncAdaptedQueue[Any]):
    """The pool's queue of idle connections, handing them out first come, first served.

    SQLAlchemy's async queue takes an idle connection whenever there is one, and
    asyncio's `Queue.get` lets a newcomer take the connection a `put` woke the first
    waiter for (that waiter then queues again at the back): under contention a request
    could wait while later ones were served (staffContacts, 32 at a time on 20
    connections: p99 about 365 ms in process, 190-240 with arrivals served in order,
    p50 unchanged). Here a connection put back while checkouts wait goes to the one
    that waited longest, and nobody takes an idle connection past a waiting one."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        # The checkouts waiting, first come first: each leaves it as it is handed a
        # connection (`put_nowait`) or gives up (`get`), so none in it is done.
        self.waiting: deque[asyncio.Future[Any]] = deque()

    def get_nowait(self) -> Any:
        if self.waiting:
            raise sqla_queue.Empty()  # not past those waiting
        return super().get_nowait()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        try:
            return self.get_nowait()
        except sqla_queue.Empty:
            if not block:
                raise
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        try:
            return await_(asyncio.wait_for(asyncio.shield(waiter), timeout))
        except BaseException as error:
            waiter.cancel()  # nothing, if a connection was handed over meanwhile
            if not waiter.cancelled():
                self.put_nowait(waiter.result())  # to the next in line
            if waiter in self.waiting:
                self.waiting.remove(waiter)
            if isinstance(error, TimeoutError):
                raise sqla_queue.Empty() from error
            raise

    def put_nowait(self, item: Any) -> None:
        if self.waiting:
            self.waiting.popleft().set_result(item)
        else:
            super().put_nowait(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # the pool never fills its queue: it holds every connection


class WaitCountingPool(sa.pool.AsyncAdaptedQueuePool):
    """The async queue pool, telling `POOL_WAIT_LISTENERS` about each checkout that
    waits: every connection the pool may open is open and none is idle. Any other
    checkout takes an idle connection or opens one at once, and is not told (two gauge
    updates per request otherwise, for a wait of no time). Its queue serves checkouts
    in the order they came (`FairQueue`)."""

    _queue_class = FairQueue

    def lends_without_io(self) -> bool:
        """Whether a checkout would take an idle connection without I/O of the pool's
        own, so that it may be driven outside SQLAlchemy's greenlet (db.raw.on_pool): a
        connection is idle and is not pinged first (`pool_pre_ping`; these engines test
        `is_closed()` instead). Should that connection turn out closed or invalidated,
        replacing it needs the server: `_connect` refuses outside the greenlet, and the
        caller goes the greenlet's way."""
        waiting = cast(FairQueue, self._pool).waiting
        return bool(self.checkedin()) and not waiting and not self._pre_ping

    def _do_get(self) -> Any:
        if not (self._pool.empty() and -1 < self._max_overflow <= self._overflow):
            return super()._do_get()
        for listener in POOL_WAIT_LISTENERS:
            listener(1)
        try:
            return super()._do_get()
        finally:
            for listener in POOL_WAIT_LISTENERS:
                listener(-1)


def create_engine(url: str, *, pool_size: int = POOL_SIZE, echo: bool = False) -> AsyncEngine:
    """No overflow: connections beyond the pool would be opened and closed per request
    under load (a PostgreSQL backend started each time, every prepared statement
    prepared again), which tripled PostgreSQL's CPU per request at 32 concurrent
    requests with 10 + 10 in the benchmark. A request that finds every connection busy
    waits for one, up to the pool timeout."""
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=10,
        poolclass=WaitCountingPool,
        echo=echo,
        connect_args={"async_creator_fn": _connect},
    )
    sa.event.listen(engine.sync_engine.pool, "checkout", _still_open)
    sa.event.listen(engine.sync_engine, "handle_error", _discard_broken)
    return engine


def _connect(*args: Any, **kwargs: Any) -> Any:
    """asyncpg's connect, as SQLAlchemy's asyncpg dialect calls it, refused outside
    SQLAlchemy's greenlet before asyncpg's coroutine exists: a checkout driven without
    the greenlet (WaitCountingPool.lends_without_io) that must connect after all gets
    MissingGreenlet and the connection to replace is left in the pool, as after a
    failed connect. (SQLAlchemy's own refusal would come later, closing the coroutine
    it was handed but not asyncpg's inside it, which then warns that it was never
    awaited.)"""
    if not in_greenlet():
        raise sa.exc.MissingGreenlet("connecting needs SQLAlchemy's greenlet")
    return asyncpg.connect(*args, **kwargs)


def _discard_broken(context: sa.engine.ExceptionContext) -> None:
    """Errors SQLAlchemy does not know as disconnects but that leave the connection
    unusable (db/raw.connection_broken) invalidate it too."""
    if connection_broken(context.original_exception):
        context.is_disconnect = True


def _still_open(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A closed connection is replaced before use, without a round trip.

    SQLAlchemy's `pool_pre_ping` would cost three (BEGIN, an empty query, ROLLBACK) per
    checkout, that is per request. When PostgreSQL restarts or ends a backend it closes
    the socket, and asyncpg notices at once (it always reads): `is_closed()` is then
    true and the pool connects anew. A connection lost silently (a network that drops
    packets) fails its first statement instead, which answers 503 and invalidates the
    pool (gql/unavailable.py)."""
    if dbapi_connection.driver_connection.is_closed():
        raise sa.exc.DisconnectionError("the server closed the connection")


def has_rows_to_write(session: AsyncSession) -> bool:
    """Whether the ORM holds rows to write: a flush with none would be a no-op, yet
    costs a greenlet (about as much as a mutation's rule checks)."""
    return bool(session.new or session.dirty or session.deleted)


class PortalSession(Session):
    """The ORM's statements of a unit of work whose transaction began on the driver
    (db.raw.LeanTransaction) run on that transaction's connection."""

    def get_bind(self, *args: Any, **kw: Any) -> Any:
        lean = self.info.get(LEAN)
        if lean is not None and lean.begun:
            return lean.connection()
        return super().get_bind(*args, **kw)


class RequestSession:
    """A request's database session, opened on first use (`__call__`): a read answered
    by one statement on a connection of the pool (db.raw.on_pool, `engine`) opens
    none, and there is then nothing to close."""

    def __init__(
        self,
        sessions: Callable[[], AsyncSession] | None,
        engine: AsyncEngine | None = None,
        *,
        opened: AsyncSession | None = None,
    ) -> None:
        self._sessions = sessions
        # The engine the sessions are bound to, when they are bound to the pool of one
        # (not to one connection, as the tests' rolled-back transaction).
        self.engine = engine
        self.opened = opened

    @classmethod
    def given(cls, session: AsyncSession) -> RequestSession:
        """`session`, already open (the tests', a replica's)."""
        return cls(None, opened=session)

    def __call__(self) -> AsyncSession:
        if self.opened is None:
            assert self._sessions is not None
            self.opened = self._sessions()
        return self.opened


@dataclass
class Database:
    """The session factory the app uses; tests swap it for one bound to their transaction."""

    sessions: async_sessionmaker[AsyncSession]
    engine: AsyncEngine | None = None
    # A streaming replica for queries (gql/http/reads.py decides which go there).
    replica: Replica | None = None
    replica_sessions: async_sessionmaker[AsyncSession] | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = POOL_SIZE,
        replica_url: str | None = None,
        replica_max_lag: float = 5.0,
    ) -> Database:
        engine = create_engine(url, pool_size=pool_size)
        sessions = async_sessionmaker(
            engine, expire_on_commit=False, sync_session_class=PortalSession
        )
        database = cls(sessions, engine)
        if replica_url:
            replica_engine = create_engine(replica_url, pool_size=pool_size)
            database.replica = Replica(replica_engine, ReplicaState(replica_max_lag))
            database.replica_sessions = async_sessionmaker(replica_engine, expire_on_commit=False)
        return database

    @property
    def pooled_engine(self) -> AsyncEngine | None:
        """The engine the sessions are bound to, if they are bound to its pool."""
        bind = self.sessions.kw.get("bind")
        return bind if isinstance(bind, AsyncEngine) else None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block succeeds, rolled back when it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        if self.replica is not None:
            await self.replica.engine.dispose()
