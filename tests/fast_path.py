"""The tests the fast path's switch can change: `make test`'s second pass runs exactly
those again with it off (QUERY_PLANS=off), so that every test that passes with query
plans (gql/http/plans.py) and short mutations (gql/http/short_mutations.py) also passes
on the executor alone.

The switch is read in one place, the GraphQL view (gql/http/view.py: it decides the
short way of a read or a mutation, where the session check runs, and whether a plan
answers), so the tests it can change are those that sent the view an operation; the
view reports every operation it answered, with the engine that answered it, to
gql/metrics.py's `observe_operation`. `--record-fast-path=FILE` makes a run write the
node id of every test during which that was called (a module-scoped fixture's requests
count for the test that set it up), and in a second column how many of its operations
the fast way answered (engine `plan` or `short`). The list is derived, not kept by hand.
Left out: the tests that compare both engines themselves (the `engines` fixture: they
build an app with each setting whatever the environment says), and servers in other
processes (`portal serve`, the browser tests' server), whose operations this process
does not see. Under pytest-xdist every worker appends its lines to the same file (one
write each, O_APPEND); the controller empties it before the workers start.
`--rerun-fast-path=FILE` runs the tests the file names (the second pass).

The second pass runs with QUERY_PLANS=compare: the executor answers every request, as
with plans off, and every read a plan can answer is answered by the plan too and the
two compared (gql/http/plans.py `Plans.compare`). A difference fails the test that
caused it (`compared`), unless the test is marked `answers_may_differ` (other requests
write between the two answers).
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from gql import metrics
from gql.http import plans

FAST_ENGINES = frozenset({"plan", "short"})
RECORD = "--record-fast-path"
RERUN = "--rerun-fast-path"
SELF_COMPARING = "engines"  # the fixture of the tests that run both engines themselves


class _Recorder:
    """The operations the view answered since the last `taken()`, and the file to tell."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.answered = self.fast = 0
        self._observe = metrics.observe_operation

    def observe(self, name: str | None, query: str | None, engine: str, *rest: Any) -> str:
        self.answered += 1
        self.fast += engine in FAST_ENGINES
        return self._observe(name, query, engine, *rest)

    def taken(self) -> tuple[int, int]:
        """How many operations the view answered, and how many of them the fast way."""
        counts = (self.answered, self.fast)
        self.answered = self.fast = 0
        return counts

    def write(self, nodeid: str, fast: int) -> None:
        line = f"{nodeid}\t{fast}\n".encode()
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)
        finally:
            os.close(descriptor)


_KEY = pytest.StashKey[_Recorder]()


class _Differences:
    """The differences QUERY_PLANS=compare found since the last `taken()`."""

    def __init__(self) -> None:
        self.found: list[tuple[str, list[str]]] = []

    def __call__(self, operation: str, paths: list[str]) -> None:
        self.found.append((operation, paths))

    def taken(self) -> list[tuple[str, list[str]]]:
        found, self.found = self.found, []
        return found


_DIFFERENCES = _Differences()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test whose reads a plan answered otherwise than the executor fails, naming the
    operations and paths (QUERY_PLANS=compare; see the module's docstring)."""
    _DIFFERENCES.taken()
    result = yield
    found = _DIFFERENCES.taken()
    if found and item.get_closest_marker("answers_may_differ") is None:
        raise AssertionError(f"a plan answered otherwise than the executor: {found}")
    return result


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        RECORD,
        metavar="FILE",
        default=None,
        help="write the node ids of the tests that sent the GraphQL view an operation to "
        "FILE, for a second pass with QUERY_PLANS=off",
    )
    parser.addoption(
        RERUN,
        metavar="FILE",
        default=None,
        help=f"run the tests FILE names (written by {RECORD}); none if it names none",
    )


def recorded(path: Path) -> list[tuple[str, int]]:
    """The tests a recording names, each once, with the operations the fast way answered."""
    tests: dict[str, int] = {}
    for line in path.read_text().splitlines():
        nodeid, _, fast = line.rpartition("\t")
        tests[nodeid] = tests.get(nodeid, 0) + int(fast)
    return list(tests.items())


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "answers_may_differ: other requests write between the executor's and the plan's"
        " answer (QUERY_PLANS=compare reports, does not fail)",
    )
    if _DIFFERENCES not in plans.DIFFERENCE_LISTENERS:
        plans.DIFFERENCE_LISTENERS.append(_DIFFERENCES)
    target = config.getoption(RECORD)
    if not target:
        return
    path = Path(target)
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    recorder = _Recorder(path)
    config.stash[_KEY] = recorder
    metrics.observe_operation = recorder.observe  # type: ignore[assignment]


def pytest_unconfigure(config: pytest.Config) -> None:
    recorder = config.stash.get(_KEY, None)
    if recorder is not None:
        metrics.observe_operation = recorder._observe


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--rerun-fast-path=FILE`: only the tests FILE names; a usage error if it names
    none (a first pass that recorded nothing would otherwise make a second pass of
    nothing that passes)."""
    target = config.getoption(RERUN)
    if not target:
        return
    named = {nodeid for nodeid, _ in recorded(Path(target))}
    if not named:
        raise pytest.UsageError(f"{target} names no test: record them first ({RECORD})")
    kept = [item for item in items if item.nodeid in named]
    config.hook.pytest_deselected(items=[item for item in items if item.nodeid not in named])
    items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    recorder = item.config.stash.get(_KEY, None)
    if recorder is not None:
        recorder.taken()
    try:
        return (yield)
    finally:
        if recorder is not None:
            answered, fast = recorder.taken()
            if answered and SELF_COMPARING not in getattr(item, "fixturenames", ()):
                recorder.write(item.nodeid, fast)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the recording found (in the controller, once the workers are done)."""
    config = terminalreporter.config
    target = config.getoption(RECORD)
    if not target or hasattr(config, "workerinput") or not Path(target).exists():
        return
    tests = recorded(Path(target))
    fast = sum(1 for _, count in tests if count)
    terminalreporter.write_line(
        f"fast path: {len(tests)} tests sent the GraphQL view operations, {fast} of them "
        f"had some answered by a plan or the short way; listed in {target} for the "
        f"second pass ({RERUN})"
    )
