"""Benchmark: one vs two server processes on this machine's cores, and with a read
replica (`make bench-scale`).

1. a throwaway PostgreSQL (bench/database.py) with the demo data and generated
   customers (bench/dataset.py), and a streaming replica of it started with
   `pg_basebackup -R` (db/embedded.py);
2. for each configuration in turn, `portal serve` (granian, production settings, keys
   generated for the run) on that database: one worker process; two worker processes
   sharing the port; two with `DATABASE_REPLICA_URL` (queries on the replica); one with
   the replica;
3. under wrk, a random logged-in customer per request: the customer dashboard (a
   query: contracts, meters, three readings each), then `submitMeterReading` (writes:
   always the primary, plus the session's write mark when a replica is configured);
4. requests/s, p50, p99, errors, CPU per request of the server's processes, of the
   primary and of the replica; the ratios against one process; JSON in
   .bench-results/scale.json.

    make bench-scale                 # 15 s per load, 32 connections
    make bench-scale ARGS=--quick    # a ~3 s smoke run
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import unquote

import httpx
import typer
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench import dataset, workloads
from bench.dashboard import wait_idle
from bench.database import bench_database
from bench.processes import Server, cpu_seconds, exit_on_sigterm, free_port, running
from bench.wrk import WrkResult, ensure_wrk
from bench.wrk import run as run_wrk
from db.embedded import EmbeddedPostgres
from gql.auth.passwords import hash_password
from gql.auth.tokens import generate_key_set

ROOT = Path(__file__).resolve().parent.parent
console = Console(width=None if sys.stdout.isatty() else 140)


@dataclass(frozen=True)
class Configuration:
    name: str
    workers: int
    replica: bool


CONFIGURATIONS = (
    Configuration("1 process", 1, replica=False),
    Configuration("2 processes", 2, replica=False),
    Configuration("2 processes + replica", 2, replica=True),
    Configuration("1 process + replica", 1, replica=True),
)


@dataclass
class Row:
    configuration: str
    workload: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float
    primary_cpu_ms: float | None
    replica_cpu_ms: float | None
    error_sample: str = ""


@dataclass
class Report:
    settings: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _postmaster(cluster: Path) -> int | None:
    try:
        return int((cluster / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _cpu(pid: int | None) -> float | None:
    return None if pid is None else cpu_seconds(pid)


def _per_request(before: float | None, after: float | None, requests: int) -> float | None:
    if before is None or after is None:
        return None
    return round((after - before) * 1000 / max(requests, 1), 3)


def server_for(
    url: str, replica_url: str | None, configuration: Configuration, run_dir: Path
) -> Server:
    port = free_port()
    portal = Path(sys.executable).with_name("portal")
    env = {
        "DATABASE_URL": url,
        "PORTAL_ENV": "production",
        "ACCESS_TOKEN_TTL_SECONDS": "900",
        "JWT_KEYS": json.dumps(generate_key_set()),
        "SECRET_KEYS": Fernet.generate_key().decode(),
    }
    if replica_url is not None:
        env["DATABASE_REPLICA_URL"] = replica_url
    slug = configuration.name.replace(" ", "-").replace("+", "and")
    return Server(
        name=f"portal serve ({configuration.name})",
        command=[
            str(portal),
            "serve",
            "--workers",
            str(configuration.workers),
            "--port",
            str(port),
            "--data-dir",
            str(run_dir / slug),
            "--no-mail-sink",
            "--no-worker",
            "--no-demo",
        ],
        port=port,
        log=run_dir / f"{slug}.log",
        env=env,
    )


async def load(
    wrk: str,
    server: Server,
    rows: Path,
    marker: str,
    *,
    mode: str,
    connections: int,
    seconds: float,
) -> WrkResult:
    return await run_wrk(
        wrk,
        server.url,
        mode=mode,
        rows=rows,
        marker=marker,
        connections=connections,
        threads=2,
        seconds=seconds,
    )


async def measure_configuration(
    wrk: str,
    server: Server,
    configuration: Configuration,
    options: dict[str, Any],
    postmasters: tuple[int | None, int | None],
    run_dir: Path,
    report: Report,
) -> None:
    contacts = list(range(1, options["customers"] + 1))
    tokens = await workloads.log_in(server.url, contacts, 16)
    dashboard = workloads.write_lines(
        run_dir / "dashboard.tsv", workloads.ours_lines(tokens, workloads.DASHBOARD)
    )
    submit = workloads.write_lines(
        run_dir / "submit.tsv", workloads.submit_lines(tokens, options["shape"])
    )
    connections, seconds = options["connections"], options["duration"]
    warmup = options["warmup"]
    await load(
        wrk,
        server,
        dashboard,
        '"contracts"',
        mode="requests",
        connections=connections,
        seconds=warmup,
    )
    primary = postmasters[0]
    replica = postmasters[1] if configuration.replica else None
    for name, rows, marker, mode in (
        ("dashboard", dashboard, '"contracts"', "requests"),
        ("submitMeterReading", submit, "MeterReadingSubmitted", "submit"),
    ):
        await wait_idle(server.pid)  # requests the last load left queued are not billed here
        before = (cpu_seconds(server.pid), _cpu(primary), _cpu(replica))
        result = await load(
            wrk, server, rows, marker, mode=mode, connections=connections, seconds=seconds
        )
        after = (cpu_seconds(server.pid), _cpu(primary), _cpu(replica))
        row = Row(
            configuration=configuration.name,
            workload=name,
            connections=connections,
            requests=result.requests,
            rps=round(result.rps, 1),
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            errors=result.errors,
            server_cpu_ms=_per_request(before[0], after[0], result.requests) or 0.0,
            primary_cpu_ms=_per_request(before[1], after[1], result.requests),
            replica_cpu_ms=_per_request(before[2], after[2], result.requests),
            error_sample=result.error_sample,
        )
        report.rows.append(row)
        console.print(
            f"  {configuration.name:<24} {name:<19} {row.rps:8.1f} req/s"
            f"  p50 {row.p50_ms:6.1f} ms  p99 {row.p99_ms:7.1f} ms  errors {row.errors}"
        )


def ratios(rows: list[Row]) -> list[dict[str, Any]]:
    """Each configuration's requests/s over one process's, per workload."""
    base = {row.workload: row.rps for row in rows if row.configuration == CONFIGURATIONS[0].name}
    return [
        {
            "configuration": row.configuration,
            "workload": row.workload,
            "rps_vs_1_process": round(row.rps / base[row.workload], 2),
        }
        for row in rows
        if base.get(row.workload)
    ]


def table(report: Report) -> Table:
    shown = Table(title="One vs two server processes, with and without the replica (wrk)")
    for column in ("configuration", "workload", "req/s", "x 1 process", "p50 ms", "p99 ms"):
        shown.add_column(
            column, justify="left" if column in ("configuration", "workload") else "right"
        )
    for column in ("errors", "server CPU ms/req", "primary ms/req", "replica ms/req"):
        shown.add_column(column, justify="right")
    ratio = {(r["configuration"], r["workload"]): r["rps_vs_1_process"] for r in report.ratios}

    def optional(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    for row in report.rows:
        shown.add_row(
            row.configuration,
            row.workload,
            f"{row.rps:.1f}",
            optional(ratio.get((row.configuration, row.workload))),
            f"{row.p50_ms:.1f}",
            f"{row.p99_ms:.1f}",
            str(row.errors),
            f"{row.server_cpu_ms:.2f}",
            optional(row.primary_cpu_ms),
            optional(row.replica_cpu_ms),
        )
    return shown


async def measure(
    wrk: str,
    url: str,
    replica: EmbeddedPostgres | None,
    primary_cluster: Path | None,
    options: dict[str, Any],
    run_dir: Path,
    report: Report,
) -> None:
    replica_pid = _postmaster(replica.cluster_dir) if replica is not None else None
    primary_pid = _postmaster(primary_cluster) if primary_cluster is not None else None
    for configuration in CONFIGURATIONS:
        if configuration.replica and replica is None:
            report.skipped.append(f"{configuration.name}: no replica (DATABASE_URL given)")
            continue
        replica_url = replica.replica_url(url) if configuration.replica and replica else None
        server = server_for(url, replica_url, configuration, run_dir)
        with running(server):
            server.wait_ready(180, lambda address: httpx.get(address, timeout=2))
            await measure_configuration(
                wrk, server, configuration, options, (primary_pid, replica_pid), run_dir, report
            )


def run(options: dict[str, Any], output: Path) -> Report:
    report = Report(
        settings={
            **{k: v for k, v in options.items() if k != "shape"},
            "contacts": options["shape"].contacts,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "python": platform.python_version(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    wrk = ensure_wrk(console)
    if wrk is None:
        report.skipped.append("all loads: wrk is not available")
        return report
    with bench_database(console) as db, tempfile.TemporaryDirectory(prefix="portal-scale-") as tmp:
        run_dir = Path(tmp)
        with console.status("Migrating, loading the demo data and the customers..."):
            asyncio.run(dataset.load_demo(db.url))
            password_hash = hash_password(dataset.PASSWORD, "low")
            asyncio.run(dataset.insert_volume(db.url, options["shape"], password_hash))
        replica = None
        primary_cluster = None
        if db.postmaster_pid is not None:
            primary_cluster = Path(unquote(str(make_url(db.url).query["host"])))
            with console.status("Starting the replica (pg_basebackup -R)..."):
                replica = EmbeddedPostgres.replica_of(primary_cluster, run_dir / "replica")
                replica.start()
        try:
            asyncio.run(measure(wrk, db.url, replica, primary_cluster, options, run_dir, report))
        finally:
            if replica is not None:
                replica.stop()
    report.ratios = ratios(report.rows)
    return report


def main(
    duration: Annotated[float, typer.Option(help="Seconds per measured load.")] = 15,
    warmup: Annotated[float, typer.Option(help="Seconds of warm-up per configuration.")] = 3,
    connections: Annotated[int, typer.Option(help="wrk connections.")] = 32,
    contacts: Annotated[int, typer.Option(help="Generated customers.")] = 10_000,
    customers: Annotated[int, typer.Option(help="Customers logged in, picked at random.")] = 300,
    quick: Annotated[bool, typer.Option(help="Smoke run: 3 s loads, 100 customers.")] = False,
    output: Annotated[Path, typer.Option(help="JSON results.")] = ROOT
    / ".bench-results"
    / "scale.json",
) -> None:
    """1 vs 2 server processes, with and without the read replica: req/s, latency, CPU."""
    if quick:
        duration, warmup, customers, contacts = 3, 1, min(customers, 100), min(contacts, 2000)
    options = {
        "duration": duration,
        "warmup": warmup,
        "connections": connections,
        "customers": min(customers, contacts),
        "shape": dataset.Shape(contacts=contacts),
    }
    exit_on_sigterm()
    started = time.monotonic()
    try:
        report = run(options, output)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted: servers and PostgreSQL stopped.[/yellow]")
        raise typer.Exit(130) from None
    console.print(table(report))
    for skipped in report.skipped:
        console.print(f"[yellow]Skipped: {skipped}[/yellow]")
    report.settings["wall_seconds"] = round(time.monotonic() - started)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(dataclasses.asdict(report), indent=2) + "\n")
    console.print(f"Results in {output}")
    if any(row.errors for row in report.rows):
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
