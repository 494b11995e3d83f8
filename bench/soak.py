"""Soak: `portal serve` (a subprocess, granian) on a dedicated embedded PostgreSQL under a
steady mixed load of the README's demo customers for minutes: 85 % dashboard queries,
10 % meter readings, 5 % logins, at a fixed rate (open loop). Prints per interval the
requests, the error rate, p50 and p99 latency and the server's RSS (server and worker
processes, from /proc), then the totals. Exits 1 if any request failed.

    make soak                                    # 10 minutes at 50 requests per second
    .venv/bin/python -m bench.soak --minutes 2 --rate 20 --interval 10
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from bench import load

console = Console()


def main(
    minutes: Annotated[float, typer.Option(help="How long the load runs.")] = 10,
    rate: Annotated[float, typer.Option(help="Requests per second.")] = 50,
    interval: Annotated[float, typer.Option(help="Seconds per line of figures.")] = 60,
    password_profile: Annotated[
        str,
        typer.Option(help="argon2 profile: test (cheap) or low (production, ~150 ms a login)."),
    ] = "test",  # noqa: S107 - a profile name, not a password
) -> None:
    """Run the soak and print its figures."""
    with load.dedicated_postgres() as postgres:
        console.print("Starting portal serve ...")
        with load.serve(postgres.url, password_profile=password_profile) as server:
            console.print(
                f"{server.url}: {rate:g} requests/s for {minutes:g} min, figures every"
                f" {interval:g} s"
            )
            result = asyncio.run(
                load.soak(
                    server, rate=rate, seconds=minutes * 60, interval=interval, key_prefix="soak"
                )
            )
    for line in load.describe(result, interval):
        console.print(line, soft_wrap=True, highlight=False)
    for sample in result.failed[:10]:
        console.print(
            f"{sample.kind} at {sample.started:.1f} s: {sample.outcome.value} {sample.detail}",
            style="red",
            markup=False,
            highlight=False,
        )
    if result.failed or not result.server_alive:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
