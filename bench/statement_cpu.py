"""PostgreSQL's CPU per execution of prepared statements, as the server's pool runs them:
each statement prepared on several connections (a generic plan, as PostgreSQL keeps
after its five custom plans), executed round-robin over them, the backends' CPU read
from `/proc/<pid>/schedstat` around each round, the variants alternated round by round
(the machine's load drifts). One connection in a tight loop would keep the plan in the
CPU's caches and show about half of it.

A variant is a statement text and the argument tuples it is run with in turn (captured
from the server with asyncpg's query logger, for instance). `without_unused` renumbers
the parameters of a text edited by hand (a part left out), so that it prepares.

    measure(dsn, {"full": (sql, [args, ...]), "no check": (edited, [...])})
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

_PARAMETER = re.compile(r"\$(\d+)\b")


@dataclass(frozen=True)
class Variant:
    sql: str
    arguments: Sequence[tuple[Any, ...]]


def without_unused(sql: str, arguments: Sequence[tuple[Any, ...]]) -> Variant:
    """`sql` with its parameters renumbered in order of first use, and the arguments
    that no longer have a parameter left out (PostgreSQL can not type an unused one)."""
    order: dict[int, int] = {}
    for match in _PARAMETER.finditer(sql):
        order.setdefault(int(match.group(1)), len(order) + 1)
    renumbered = _PARAMETER.sub(lambda m: f"${order[int(m.group(1))]}", sql)
    kept = sorted(order, key=order.__getitem__)
    return Variant(renumbered, [tuple(a[n - 1] for n in kept) for a in arguments])


def _cpu_ns(pid: int) -> int:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


@dataclass(frozen=True)
class Measured:
    name: str
    per_execution_ms: list[float]  # one per round

    @property
    def minimum(self) -> float:
        return min(self.per_execution_ms)

    @property
    def median(self) -> float:
        return statistics.median(self.per_execution_ms)


async def measure(
    dsn: str,
    variants: dict[str, Variant],
    *,
    connections: int = 20,
    executions: int = 1500,
    rounds: int = 7,
    plan_cache_mode: str = "force_generic_plan",
) -> list[Measured]:
    """Backend CPU ms per execution of each variant, per round (`executions` each)."""
    opened = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        pids = [c.get_server_pid() for c in opened]
        prepared: dict[str, list[Any]] = {}
        for connection in opened:
            await connection.execute(f"SET plan_cache_mode = {plan_cache_mode}")
        for name, variant in variants.items():
            prepared[name] = [await c.prepare(variant.sql) for c in opened]

        async def run(name: str, count: int) -> None:
            statements, arguments = prepared[name], variants[name].arguments
            for i in range(count):
                row = await statements[i % connections].fetchrow(*arguments[i % len(arguments)])
                assert row is not None, name

        for name in variants:  # the warm-up: every plan made, every cache filled
            await run(name, connections * 6)
        results: dict[str, list[float]] = {name: [] for name in variants}
        names = list(variants)
        for round_ in range(rounds):
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                before = sum(_cpu_ns(pid) for pid in pids)
                await run(name, executions)
                spent = sum(_cpu_ns(pid) for pid in pids) - before
                results[name].append(spent / executions / 1e6)
        return [Measured(name, values) for name, values in results.items()]
    finally:
        for connection in opened:
            await connection.close()


def report(measured: Sequence[Measured]) -> str:
    width = max(len(m.name) for m in measured)
    return "\n".join(
        f"{m.name:<{width}}  min {m.minimum:.3f}  median {m.median:.3f} ms" for m in measured
    )
