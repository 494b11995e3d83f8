"""The order in which `make test`'s xdist workers take the test modules: costliest first.

`--dist loadfile` keeps a module's tests on one worker (its module-scoped servers start
once), and xdist hands the modules out in the order of their test counts. A module of a
few long tests (the soak, the faults, the scale-out processes) can then start last, and
the run lasts as long as it takes after the other worker has finished. Handing out the
costliest unit left first (longest processing time first) ends both workers close
together. Serial runs never use this (the hook in tests/conftest.py is xdist's).
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling

# Seconds each unit takes on one worker: first estimates (what each module starts and
# runs), until a run of `pytest -n 2 --dist loadfile --junitxml` has measured them.
COSTS: dict[str, float] = {
    "tests/bench/test_soak.py": 40,
    "tests/http/test_faults.py": 90,
    "tests/scale/test_processes.py": 40,
    "tests/scale/test_replica.py": 15,
    "tests/http/test_serve.py": 30,
    "tests/http/test_metrics_workers.py": 20,
    "tests/browser/": 60,
    "tests/gql/test_authorization_sweep.py": 30,
    "tests/http/test_fuzz.py": 30,
    "tests/http/test_engines.py": 30,
    "tests/http/test_constant_time.py": 20,
}
# A unit not listed: this many seconds per test (most tests take a few milliseconds to a
# few tenths of a second; this only orders the cheap units among themselves).
PER_TEST = 0.1

# Packages run as one unit: their modules share a package-scoped `portal serve`
# (tests/browser/conftest.py), which then starts once in the whole run.
PACKAGE_UNITS = ("tests/browser/",)


def unit_of(nodeid: str) -> str:
    """The work unit of a test: its package if listed in PACKAGE_UNITS, else its file."""
    path = nodeid.split("::", 1)[0]
    for package in PACKAGE_UNITS:
        if path.startswith(package):
            return package
    return path


def cost(unit: str, tests: int) -> float:
    """The expected seconds of `unit` with `tests` tests still to run."""
    return COSTS.get(unit, PER_TEST * tests)


class LongestFirstScheduling(LoadFileScheduling):  # type: ignore[misc]  # xdist is untyped
    """`--dist loadfile` with PACKAGE_UNITS, handing out the costliest unit left first."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node: Any) -> None:
        costliest = max(self.workqueue, key=lambda unit: cost(unit, len(self.workqueue[unit])))
        self.workqueue.move_to_end(costliest, last=False)
        super()._assign_work_unit(node)
