"""Garbage collection on the event loop's thread only, in a served worker.

CPython starts a collection in whichever thread allocates past the generation-0
threshold, and finalizes what it frees in that thread. In a served worker that is also
granian's threads (they build each request's scope and body with the GIL held) and the
password executor's (gql/auth/passwords.py): under load, collections of request garbage
(full ones too) ran in granian's thread and in `argon2_0`. Whatever such a collection
frees is finalized there: a coroutine dropped while suspended runs its `finally` and
`async with` exits in that thread (cancelling its timeouts), asyncpg's
`Connection.__del__` terminates its connection there - uvloop and libuv calls from a
thread that is not the loop's while the loop's thread runs libuv without the GIL. A
process doing that with coroutines holding uvloop timeouts dies within seconds (libuv's
timer heap corrupted); `tests/test_collector.py` shows the finalization in the other
thread. It is the likeliest cause found for the general protection fault in the
interpreter's `visit_decref` that killed the served worker twice under `make bench`,
which was not reproduced: no such finalization was caught in the served worker.

So a served worker turns automatic collection off and collects on the loop's thread:
every `INTERVAL` seconds the loop looks at the counts and collects the generation
CPython would collect now (its thresholds and its rule for full collections).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence

# Short enough that garbage never piles up beyond a few requests' worth; a look at the
# counts costs a microsecond or two.
INTERVAL = 0.01


def due_generation(
    counts: Sequence[int],
    thresholds: Sequence[int],
    full_worth_it: Callable[[], bool] = lambda: True,
) -> int | None:
    """The generation CPython's automatic collection would collect at these counts: none
    until generation 0 is over its threshold, then the oldest generation over its own -
    the oldest (a full collection) only if `full_worth_it()`, else the next one."""
    if counts[0] <= thresholds[0]:
        return None
    oldest = len(counts) - 1
    return next(
        generation
        for generation in reversed(range(len(counts)))
        if counts[generation] > thresholds[generation] and (generation < oldest or full_worth_it())
    )


class LoopCollector:
    """While started: automatic collection off, the due collections run by `loop`'s
    thread every `interval` seconds. Stopping turns automatic collection back on (if it
    was on)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float = INTERVAL) -> None:
        self.loop = loop
        self.interval = interval
        self._handle: asyncio.TimerHandle | None = None
        self._was_enabled = False
        self._long_lived = 0  # objects kept by the last full collection
        self._pending = 0  # objects that reached the oldest generation since

    def start(self) -> LoopCollector:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._long_lived, self._pending = len(gc.get_objects(2)), 0
        self._handle = self.loop.call_later(self.interval, self._tick)
        return self

    def collect_if_due(self) -> int | None:
        """Collect the generation that is due, here; the generation collected, or None."""
        generation = due_generation(
            gc.get_count(), gc.get_threshold(), self.full_collection_worth_it
        )
        if generation is not None:
            self.collect(generation)
        return generation

    def collect(self, generation: int) -> None:
        """`gc.collect(generation)`, counting what reaches and stays in the oldest
        generation as CPython does (the young generations are small to count)."""
        young = len(gc.get_objects(0)) + len(gc.get_objects(1)) if generation else 0
        collected = gc.collect(generation)
        if generation == 1:
            self._pending += max(0, young - collected)
        elif generation == 2:
            self._long_lived = max(0, self._long_lived + self._pending + young - collected)
            self._pending = 0

    def full_collection_worth_it(self) -> bool:
        """CPython's rule against quadratic full collections: one only once the objects
        that reached the oldest generation since the last are a quarter of those it
        kept (frozen objects count in neither)."""
        return self._pending > self._long_lived / 4

    def _tick(self) -> None:
        self.collect_if_due()
        self._handle = self.loop.call_later(self.interval, self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._was_enabled:
            gc.enable()


@contextlib.contextmanager
def on_loop() -> Iterator[LoopCollector]:
    """A `LoopCollector` of the running loop for the block (a process's main coroutine)."""
    collecting = LoopCollector(asyncio.get_running_loop()).start()
    try:
        yield collecting
    finally:
        collecting.stop()
