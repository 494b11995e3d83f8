"""tests/fast_path.py, run as `make test` runs it on a small suite of its own in a pytest
subprocess: the first pass records the tests that sent the view operations (on xdist
workers too), the second runs exactly those, and a recording of none stops the second
pass instead of letting it pass on nothing."""

from __future__ import annotations

import os
import subprocess  # nosec B404: pytest itself, with arguments of this test
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fast_path import recorded

SUITE = '''
import pytest

from gql import metrics


@pytest.fixture
def engines() -> None:
    """As tests/http/conftest.py's: the tests that compare both engines themselves."""


def _answer(engine: str) -> None:
    metrics.observe_operation("Home", None, engine, "ok", 0.001)


@pytest.fixture(scope="module")
def planned_in_setup() -> None:
    _answer("plan")


def test_planned() -> None:
    _answer("executor")
    _answer("plan")


def test_short_mutation() -> None:
    _answer("short")


def test_executor_only() -> None:
    _answer("executor")


def test_in_a_module_fixture(planned_in_setup: None) -> None:
    pass


def test_without_the_view() -> None:
    assert metrics.operation_label(None, "{ viewer { role } }") == "anonymous"


def test_comparing_engines(engines: None) -> None:
    _answer("plan")
'''


PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "tests.fast_path", "-p", "no:cacheprovider")


def _pytest(directory: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(  # nosec B603
        [*PYTEST, "--rootdir", str(directory), *arguments, str(directory / "test_suite.py")],
        cwd=directory,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_the_second_pass_runs_the_tests_that_sent_the_view_operations(
    tmp_path: Path, workers: list[str]
) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    listing = tmp_path / "recorded" / "fast-path.tsv"
    first = _pytest(tmp_path, *workers, f"--record-fast-path={listing}")
    assert first.returncode == 0, first.stdout + first.stderr
    prefix = "test_suite.py::"
    assert sorted(recorded(listing)) == [
        (prefix + "test_executor_only", 0),
        (prefix + "test_in_a_module_fixture", 1),
        (prefix + "test_planned", 1),
        (prefix + "test_short_mutation", 1),
    ]
    assert "fast path: 4 tests sent the GraphQL view operations, 3 of them" in first.stdout

    second = _pytest(tmp_path, *workers, f"--rerun-fast-path={listing}", "-rA")
    assert second.returncode == 0, second.stdout + second.stderr
    ran = {line.split()[1] for line in second.stdout.splitlines() if line.startswith("PASSED")}
    assert ran == {nodeid for nodeid, _ in recorded(listing)}


def test_a_recording_of_no_test_stops_the_second_pass(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    listing = tmp_path / "fast-path.tsv"
    listing.write_text("")
    second = _pytest(tmp_path, f"--rerun-fast-path={listing}")
    assert second.returncode == pytest.ExitCode.USAGE_ERROR
    assert "names no test" in second.stderr


DIFFERING = """
import pytest

from gql.http import plans


def _differ() -> None:
    for listener in plans.DIFFERENCE_LISTENERS:
        listener("Home", ["data.viewer.contracts.edges (length 2 != 1)"])


def test_differing() -> None:
    _differ()


@pytest.mark.answers_may_differ
def test_differing_on_purpose() -> None:
    _differ()


def test_alike() -> None:
    pass
"""


def test_a_plan_answering_otherwise_than_the_executor_fails_the_test(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(DIFFERING)
    run = _pytest(tmp_path, "-rA")
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout + run.stderr
    outcomes = {
        line.split()[1].split("::")[-1]: line.split()[0]
        for line in run.stdout.splitlines()
        if line.startswith(("PASSED", "FAILED"))
    }
    assert outcomes == {
        "test_differing": "FAILED",
        "test_differing_on_purpose": "PASSED",
        "test_alike": "PASSED",
    }
    assert "data.viewer.contracts.edges (length 2 != 1)" in run.stdout
