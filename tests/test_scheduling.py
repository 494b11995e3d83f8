"""tests/scheduling.py's order, on two fake xdist workers: the costliest units first,
the browser package as one unit, every test sent once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from xdist.remote import Producer

from tests import scheduling

SOAK = "tests/bench/test_soak.py"
FAULTS = "tests/http/test_faults.py"


class FakeNode:
    """What the scheduler asks of a worker: the tests it sends, its shutdown."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True


def scheduled(collection: list[str]) -> tuple[scheduling.LongestFirstScheduling, list[FakeNode]]:
    config: Any = SimpleNamespace(
        getvalue=lambda name: ["2*popen"] if name == "tx" else None,
        option=SimpleNamespace(loadscopereorder=True),
    )
    scheduler = scheduling.LongestFirstScheduling(config, Producer("test", enabled=False))
    nodes = [FakeNode("gw0"), FakeNode("gw1")]
    for node in nodes:
        scheduler.add_node(node)
    for node in nodes:
        scheduler.add_node_collection(node, collection)
    scheduler.schedule()
    return scheduler, nodes


def units_sent(node: FakeNode, collection: list[str]) -> list[str]:
    units: list[str] = []
    for index in node.sent:
        unit = scheduling.unit_of(collection[index])
        if not units or units[-1] != unit:
            units.append(unit)
    return units


def run_to_the_end(scheduler: scheduling.LongestFirstScheduling, nodes: list[FakeNode]) -> None:
    """Completes the nodes' tests one at a time, in turn (each completion may send more),
    until none is left."""
    done = dict.fromkeys(nodes, 0)
    while any(done[node] < len(node.sent) for node in nodes):
        for node in nodes:
            if done[node] < len(node.sent):
                scheduler.mark_test_complete(node, node.sent[done[node]])
                done[node] += 1


def test_unit_of_a_browser_test_is_its_package_and_of_others_their_file() -> None:
    assert scheduling.unit_of("tests/browser/test_portal.py::test_login[x]") == "tests/browser/"
    assert scheduling.unit_of(f"{FAULTS}::test_a::b") == FAULTS


def test_cost_of_a_listed_unit_is_its_measure_else_per_test() -> None:
    assert scheduling.cost(FAULTS, 1) == scheduling.COSTS[FAULTS]
    assert scheduling.cost("tests/test_new.py", 30) == 30 * scheduling.PER_TEST


def test_schedule_with_a_long_module_of_few_tests_starts_it_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduling, "COSTS", {FAULTS: 90, SOAK: 40, "tests/browser/": 30})
    many_cheap = [f"tests/domain/test_rules.py::test_{n}" for n in range(200)]
    collection = [
        *many_cheap,
        "tests/browser/test_portal.py::test_a",
        "tests/browser/test_account_pages.py::test_b",
        f"{SOAK}::test_soak",
        *(f"{FAULTS}::test_{n}" for n in range(6)),
    ]
    scheduler, nodes = scheduled(collection)
    first = [units_sent(node, collection)[0] for node in nodes]
    assert first == [FAULTS, SOAK]  # the two costliest, one each, ahead of 200 cheap tests
    run_to_the_end(scheduler, nodes)
    assert not scheduler.workqueue
    sent = sorted(index for node in nodes for index in node.sent)
    assert sent == list(range(len(collection)))  # every test once
    browser = [node for node in nodes if "tests/browser/" in units_sent(node, collection)]
    assert len(browser) == 1  # the package on one worker: one `portal serve`
    order = [unit for node in nodes for unit in units_sent(node, collection)]
    assert order.index("tests/browser/") < order.index("tests/domain/test_rules.py")
