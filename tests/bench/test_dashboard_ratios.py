"""bench/dashboard.py's ratios, as issue 17 states its targets: ours / PostGraphile and
ours / floor where they ran the workload, every workload / our dashboard, and login /
the hash rate (cpus x 1000 / the CPU ms of one argon2 hash)."""

from __future__ import annotations

import pytest

from bench.dashboard import FLOOR, HASH_RATE, LOGIN, OURS, POSTGRAPHILE, Row, hash_rate, ratios


def row(workload: str, server: str, connections: int, rps: float, p99_ms: float = 10.0) -> Row:
    return Row(
        workload=workload,
        server=server,
        connections=connections,
        requests=int(rps * 15),
        rps=rps,
        p50_ms=p99_ms / 2,
        p99_ms=p99_ms,
        non_2xx=0,
        errors=0,
        server_cpu_ms=0.3,
        db_cpu_ms=0.2,
        sql=1.0,
        sql_work=1.0,
        error_sample="",
    )


ROWS = [
    row("dashboard", OURS, 8, 2000.0, 6.0),
    row("dashboard", POSTGRAPHILE, 8, 1600.0, 8.0),
    row("dashboard", FLOOR, 8, 5000.0, 3.0),
    row("contract", OURS, 8, 1500.0),
    row(LOGIN, OURS, 8, 17.0),
]


def found(rows: list[Row], rate: float | None) -> dict[tuple[str, str], float]:
    return {(r["workload"], r["versus"]): r["rps_ratio"] for r in ratios(rows, rate)}


def test_every_target_of_issue_17_is_a_ratio_of_the_same_run() -> None:
    rate = hash_rate({"cpu_ms": 100.0, "wall_ms": 55.0, "rounds": 20}, cpus=2)
    assert rate == pytest.approx(20.0)
    assert found(ROWS, rate) == {
        ("dashboard", POSTGRAPHILE): 1.25,
        ("dashboard", FLOOR): 0.4,
        ("contract", "our dashboard"): 0.75,
        (LOGIN, "our dashboard"): 0.009,  # rounded to 3 places
        (LOGIN, HASH_RATE): 0.85,
    }


def test_no_hash_rate_without_a_measured_hash() -> None:
    assert hash_rate({}, cpus=2) is None
    assert (LOGIN, HASH_RATE) not in found(ROWS, None)
