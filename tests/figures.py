"""Figures on the terminal, and the counts they are made of: shared by the fault, soak
and sweep tests, which report what they measured past pytest's output capture.

In a serial run the figures are written as the test makes them. Under pytest-xdist a
worker's terminal output goes nowhere, so a worker keeps them with the test's report
(`user_properties`, which xdist sends to the controller) and the controller writes them
in its terminal summary (`summary`, from tests/conftest.py's `pytest_terminal_summary`)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.session import create_engine

FIGURES = "figures"  # the user property a worker's figures travel in


def report(request: pytest.FixtureRequest, *lines: str) -> None:
    """Figures on the terminal, also under `pytest -q` (past the output capture), and
    under xdist in the controller's terminal summary."""
    config = request.config
    if hasattr(config, "workerinput"):  # an xdist worker
        request.node.user_properties.append((FIGURES, "\n".join(lines)))
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line)


def summary(reporter: pytest.TerminalReporter) -> None:
    """The figures the xdist workers sent with their tests' teardown reports (which carry
    all of a test's user properties), per test."""
    teardowns = [
        test_report
        for reports in reporter.stats.values()
        for test_report in reports
        if isinstance(test_report, pytest.TestReport) and test_report.when == "teardown"
    ]
    relayed = [
        (
            test_report.nodeid,
            [str(value) for name, value in test_report.user_properties if name == FIGURES],
        )
        for test_report in teardowns
    ]
    relayed = [(nodeid, blocks) for nodeid, blocks in relayed if blocks]
    if not relayed:
        return
    reporter.write_sep("=", "figures (measured on the xdist workers)")
    for nodeid, blocks in relayed:
        reporter.write_line(nodeid)
        for block in blocks:
            for line in block.splitlines():
                reporter.write_line(f"  {line}")


@contextlib.asynccontextmanager
async def scalar_engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def scalar(engine: AsyncEngine, statement: Any) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(statement) or 0)
