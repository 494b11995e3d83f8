"""A read replica and whether it may answer now.

A streaming replica replays the primary's write-ahead log (WAL) some time after the
primary wrote it. Each process polls both servers (`watch`): the primary's WAL
position first, then how far the replica has replayed. When the replica has replayed
at least what the primary had written at the start of a poll (this poll's or an
earlier one's), it holds everything committed before that moment: `caught_up_at`, the
newest such moment. (Only this poll's would never do while the primary writes
steadily: the replica replays what the primary wrote a moment ago, never what it wrote
at the start of the same poll.) The replica answers only while that
moment is at most `max_lag` old (so a replica that is down, stuck or far behind is
skipped within one poll), and a caller's reads go to it only once it has replayed
the caller's own last write (`wrote_lsn`, gql/http/reads.py).

Positions are pg_lsn values as numbers (`pg_lsn - '0/0'`: bytes of WAL), which is
what PostgreSQL's own replication views compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.2  # how often each process asks; two tiny statements each time

# The insert position, not pg_current_wal_lsn() (the write position): with
# `synchronous_commit = off` a commit returns before its record is written, so only the
# insert position is sure to lie beyond every commit made so far. (Found by the
# read-your-writes test across processes, on the test harness's PostgreSQL, which runs
# with synchronous_commit off: a read on the replica missed the write just answered.)
WAL_POSITION_SQL = "(pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"
PRIMARY_POSITION = sa.text(f"SELECT {WAL_POSITION_SQL}")
# NULL outside recovery: a server that is not a replica (any more) is never used as one.
REPLAYED = sa.text(
    "SELECT CASE WHEN pg_is_in_recovery()"
    " THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END"
)


@dataclass
class ReplicaState:
    """What the last polls said; monotonic seconds."""

    max_lag: float
    replayed: int = -1
    caught_up_at: float = float("-inf")
    # Set when a request met the replica down; cleared by the next successful poll.
    failed: bool = False
    # The primary's positions at the polls' starts that the replica has not replayed
    # yet, oldest first (within `max_lag`: an older one could not make it usable).
    _pending: deque[tuple[float, int]] = field(default_factory=deque, repr=False)

    def lag(self, now: float | None = None) -> float:
        """Seconds of writes the replica may be missing (at most; inf when unknown)."""
        return (time.monotonic() if now is None else now) - self.caught_up_at

    def usable(self, wrote_lsn: int | None = None) -> bool:
        """Whether the replica may answer a caller whose last write ended at
        `wrote_lsn` (None: no write known)."""
        if self.failed or self.lag() > self.max_lag:
            return False
        return wrote_lsn is None or self.replayed >= wrote_lsn

    def observed(self, primary_at: float, primary: int, replayed: int | None) -> None:
        if replayed is None:
            self.failed = True
            return
        self.failed = False
        self.replayed = replayed
        pending = self._pending
        pending.append((primary_at, primary))
        while pending and pending[0][1] <= replayed:  # oldest first: the last is newest
            self.caught_up_at = pending.popleft()[0]
        while pending and pending[0][0] < primary_at - self.max_lag:
            pending.popleft()


@dataclass
class Replica:
    """The replica's engine and the state its watcher keeps."""

    engine: AsyncEngine
    state: ReplicaState
    _task: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    async def poll(self, primary: AsyncEngine) -> None:
        """One comparison of the two servers (errors mark the replica failed)."""
        started = time.monotonic()
        try:
            async with primary.connect() as connection:
                position = int((await connection.execute(PRIMARY_POSITION)).scalar_one())
            async with self.engine.connect() as connection:
                replayed = (await connection.execute(REPLAYED)).scalar_one()
        except Exception as error:
            if not self.state.failed:
                log.warning("replica.unavailable", error=str(error) or type(error).__name__)
            self.state.failed = True
            return
        self.state.observed(started, position, None if replayed is None else int(replayed))

    async def watch(self, primary: AsyncEngine, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll(primary)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
