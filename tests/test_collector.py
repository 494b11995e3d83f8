"""Garbage of the event loop is finalized on the loop's thread (gql/collector.py).

The class of problem: a collection started by another thread's allocations (granian's
threads, the password executor's) finalizes the loop's garbage in that thread - a
suspended coroutine's `finally` runs there, cancelling its uvloop timers while the loop
runs libuv, which corrupts the loop and later crashes the process.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import subprocess
import sys
import threading
import types
from collections.abc import Callable, Generator

import pytest

from gql import collector


@types.coroutine
def _suspended() -> Generator[None]:
    yield


def _garbage_coroutine(finalized_in: list[str]) -> None:
    """A coroutine suspended mid-way, reachable only from a reference cycle: only a
    collection frees it, and its `finally` runs in the thread of that collection."""

    async def holds_loop_state() -> None:
        try:
            await _suspended()
        finally:
            finalized_in.append(threading.current_thread().name)

    coroutine = holds_loop_state()
    coroutine.send(None)
    cycle: list[object] = [coroutine]
    cycle.append(cycle)


def _allocating(count: int) -> Callable[[], int]:
    """What a request does in granian's threads or the password executor's: containers
    kept for a while (well past the generation-0 threshold here), then dropped."""

    def allocate() -> int:
        kept: list[list[object]] = [[] for _ in range(count)]
        return len(kept)

    return allocate


@pytest.fixture
def automatic_collection() -> Generator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


async def test_a_collection_another_thread_starts_finalizes_the_loops_garbage_there(
    automatic_collection: None,
) -> None:
    """The problem, as CPython behaves: without the collector, the other thread's
    allocations start the collection, and the coroutine is finalized in that thread."""
    finalized_in: list[str] = []
    _garbage_coroutine(finalized_in)
    await asyncio.to_thread(_allocating(20 * gc.get_threshold()[0]))
    assert finalized_in
    assert finalized_in != [threading.current_thread().name]


async def test_with_the_loop_collector_the_loops_garbage_is_finalized_on_the_loop() -> None:
    loop_thread = threading.current_thread().name
    finalized_in: list[str] = []
    collecting = collector.LoopCollector(asyncio.get_running_loop()).start()
    try:
        _garbage_coroutine(finalized_in)
        # The other thread collects nothing; the loop's looks at the counts meanwhile
        # may already collect (its allocations are counted too).
        await asyncio.to_thread(_allocating(20 * gc.get_threshold()[0]))
        # More of the loop's garbage: generation 0 goes over its threshold, and the
        # loop's next look at the counts collects it.
        for _ in range(gc.get_threshold()[0] + 1):
            cycle: list[object] = []
            cycle.append(cycle)
        for _ in range(100):
            if finalized_in:
                break
            await asyncio.sleep(collector.INTERVAL)
        assert finalized_in == [loop_thread]
    finally:
        collecting.stop()


@pytest.mark.parametrize(
    ("counts", "full_worth_it", "generation"),
    [
        ((700, 11, 11), True, None),  # generation 0 not over its threshold: nothing yet
        ((701, 0, 0), True, 0),
        ((701, 11, 0), True, 1),
        ((701, 11, 11), True, 2),
        ((701, 0, 11), True, 2),  # the oldest over its threshold, as CPython picks
        ((701, 11, 11), False, 1),  # few new long-lived objects: no full collection yet
        ((701, 0, 11), False, 0),
    ],
)
def test_due_generation_follows_cpythons_rules(
    counts: tuple[int, int, int], full_worth_it: bool, generation: int | None
) -> None:
    assert collector.due_generation(counts, (700, 10, 10), lambda: full_worth_it) == generation


def test_a_full_collection_waits_for_a_quarter_more_long_lived_objects() -> None:
    loop = asyncio.new_event_loop()
    collecting = collector.LoopCollector(loop).start()
    try:
        assert not collecting.full_collection_worth_it()
        kept = len(gc.get_objects(2))
        grown: list[list[object]] = [[] for _ in range(kept // 4 + 100)]
        collecting.collect(1)  # they reach the oldest generation
        assert collecting.full_collection_worth_it()
        collecting.collect(2)  # and stay: the next full collection waits again
        assert not collecting.full_collection_worth_it()
        assert len(grown) == kept // 4 + 100
    finally:
        collecting.stop()
        loop.close()


def test_stopping_turns_automatic_collection_back_on() -> None:
    loop = asyncio.new_event_loop()
    try:
        was_enabled = gc.isenabled()
        collecting = collector.LoopCollector(loop).start()
        assert not gc.isenabled()
        collecting.stop()
        assert gc.isenabled() == was_enabled
    finally:
        loop.close()


# The crash itself: coroutines suspended in `asyncio.timeout` (a uvloop timer each)
# become garbage on the loop while another thread allocates. Without the collector that
# thread's collections cancel the timers from outside the loop: the process dies of a
# corrupted libuv timer heap, most runs within seconds. With it the loop finalizes them.
_UVLOOP_TIMERS = """
import asyncio, sys, threading, time
import uvloop
from gql import collector

STOP = time.monotonic() + float(sys.argv[1])
finalized_in = {}

async def waiter(fut):
    try:
        async with asyncio.timeout(30):
            await fut
    finally:
        name = threading.current_thread().name
        finalized_in[name] = finalized_in.get(name, 0) + 1

def other_thread():
    kept = []
    while time.monotonic() < STOP:
        kept.append([{} for _ in range(50)])
        if len(kept) > 200:
            kept.clear()
        time.sleep(0)

async def main():
    loop = asyncio.get_running_loop()
    collecting = collector.LoopCollector(loop).start()
    thread = threading.Thread(target=other_thread, name="other")
    thread.start()
    while time.monotonic() < STOP:
        for _ in range(200):
            fut = loop.create_future()
            coroutine = waiter(fut)
            coroutine.send(None)
            cycle = [coroutine, fut]
            cycle.append(cycle)
            loop.call_later(0.001, lambda: None)
        await asyncio.sleep(0)
    thread.join()
    collecting.stop()
    import gc; gc.collect()
    print(finalized_in)

uvloop.run(main())
"""


def test_uvloop_timers_of_abandoned_coroutines_are_cancelled_on_the_loop() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _UVLOOP_TIMERS, "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    finalized_in = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert set(finalized_in) == {"MainThread"}
    assert finalized_in["MainThread"] > 0


async def test_on_loop_collects_on_the_running_loop_for_the_block() -> None:
    was_enabled = gc.isenabled()
    with collector.on_loop() as collecting:
        assert collecting.loop is asyncio.get_running_loop()
        assert not gc.isenabled()
    assert gc.isenabled() == was_enabled
