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

# Seconds each unit's tests took (setup, call and teardown, summed per file from
# `--junitxml`: `pytest -n 2 --dist loadfile --junitxml=run.xml`, each <testcase time=>
# added to its classname's module) in one run of 3,624 tests on the 2-core build
# machine while other work ran on it (load average ~5: the seconds are about twice a
# quiet run's; their ratios are what matters). The units of 8 s and more: 1,044 of the
# run's 1,171 s. Measure again when a module's cost changes a lot.
COSTS: dict[str, float] = {
    "tests/browser/": 157,
    "tests/http/test_faults.py": 129,
    "tests/http/test_fuzz.py": 80,
    "tests/scale/test_processes.py": 71,
    "tests/gql/test_authorization_sweep.py": 55,
    "tests/http/test_serve.py": 50,
    "tests/bench/test_soak.py": 50,
    "tests/http/test_engines.py": 46,
    "tests/http/test_metrics_workers.py": 46,
    "tests/test_permission_matrix.py": 44,
    "tests/http/test_document_reconcile.py": 40,
    "tests/http/test_query_plans.py": 35,
    "tests/http/test_sso.py": 34,
    "tests/domain/test_search_index.py": 30,
    "tests/test_fast_path.py": 26,  # 13 s quiet (session 18), doubled as the others
    "tests/http/test_documents.py": 26,
    "tests/http/test_front_end_reads.py": 24,
    "tests/http/test_constant_time.py": 21,
    "tests/gql/test_isolation.py": 15,
    "tests/test_collector.py": 13,
    "tests/scale/test_replica.py": 12,
    "tests/http/test_auth.py": 11,
    "tests/http/test_short_mutations.py": 10,
    "tests/http/test_registration.py": 10,
    "tests/http/test_lockout.py": 10,
    "tests/domain/test_passwords.py": 9,
    "tests/http/test_session_ending.py": 9,
    "tests/http/test_impersonation.py": 8,
}
# A unit not listed: this many seconds per test (the other 82 units in the same run:
# 127 s for 1,877 tests); this only orders the cheap units among themselves.
PER_TEST = 0.07

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
