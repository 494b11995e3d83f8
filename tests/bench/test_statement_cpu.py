"""The statement CPU harness (bench/statement_cpu.py): a text edited by hand still
prepares, and every variant gets a figure per round."""

from __future__ import annotations

from bench import statement_cpu
from bench.dataset import asyncpg_dsn


def test_without_unused_renumbers_the_parameters_left_and_their_arguments() -> None:
    variant = statement_cpu.without_unused(
        "SELECT $3::int + $1::int WHERE $3::int > 0", [(1, 2, 3), (4, 5, 6)]
    )
    assert variant.sql == "SELECT $1::int + $2::int WHERE $1::int > 0"
    assert variant.arguments == [(3, 1), (6, 4)]


async def test_measure_gives_each_variant_a_figure_per_round(database_url: str) -> None:
    variants = {
        "one": statement_cpu.Variant("SELECT $1::int", [(1,), (2,)]),
        "two": statement_cpu.without_unused("SELECT $2::int", [(1, 2)]),
    }
    measured = await statement_cpu.measure(
        asyncpg_dsn(database_url), variants, connections=2, executions=10, rounds=3
    )
    assert [m.name for m in measured] == ["one", "two"]
    assert all(len(m.per_execution_ms) == 3 for m in measured)
    assert all(m.minimum >= 0 for m in measured)
    assert "one" in statement_cpu.report(measured)
