"""Benchmark: the portal's busiest operations on our server against PostGraphile 4 and a
floor.

One command (`make bench`) on a fresh machine:

1. a throwaway PostgreSQL (embedded, or DATABASE_URL) with pg_stat_statements, the demo
   data and 10,000 customers of Stadtwerke Musterstadt with 2 contracts x 2 meters x 12
   readings each and an ACTIVE portal user (bench/dataset.py, set-based SQL);
2. side by side on that database: our server (`portal serve --server granian --workers
   1`), PostGraphile 4 (npm, skipped without node/npm) and the floor (bench/floor.py: one
   SQL statement with JSON aggregation behind Starlette, no GraphQL);
3. wrk with bench/wrk_bench.lua, a random customer per request: `dashboard` and
   `contract` (the contract page) on all three (ours as that customer, logged in
   through `login`), `staffPortalUsers` and `staffContacts` (50 rows each; ours as the
   demo admin) on all three; then ours alone: `portalHome`, `submitMeterReading`
   (valid readings of the customer's own meters), `changeInstallment` (a dry run) and
   `login`;
4. a table: requests/s, p50, p99, errors, server and PostgreSQL CPU per request, SQL
   statements per request; the ratios ours / PostGraphile and ours / floor; the same as JSON in
   .bench-results/dashboard.json.

    make bench                      # 15 s per load, 8 and 32 connections
    make bench ARGS=--quick         # a ~3 s smoke run
    .venv/bin/python -m bench.dashboard --help
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table

from bench import dataset, workloads
from bench.database import BenchDatabase, StatementCounter, bench_database, statement_counter
from bench.processes import Server, cpu_seconds, exit_on_sigterm, free_port, running
from bench.wrk import WrkResult, ensure_wrk
from bench.wrk import run as run_wrk
from db.session import POOL_SIZE
from gql.auth.passwords import environment_for_hashing, hash_password
from gql.auth.tokens import generate_key_set

ROOT = Path(__file__).resolve().parent.parent
POSTGRAPHILE_DIR = Path(__file__).resolve().with_name("postgraphile")
POSTGRAPHILE_CLI = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "cli.js"
TOKEN_TTL = 900  # the longest access token the server issues (ACCESS_TOKEN_TTL_SECONDS)
LOGIN_CONCURRENCY = 16
# Dashboards compared across the servers before the load (our server answers a query text
# it has answered before through a compiled plan: the first and the later ones differ).
CHECKED_CONTACTS = 5
READINGS_SHOWN = 3
OURS, POSTGRAPHILE, FLOOR = "ours", "PostGraphile", "floor"
LOGIN = "login"  # the workload whose reference is the hash rate, not another server
HASH_RATE = "hash rate"
ARGON2_WHEN = (
    "the argon2id hash alone, measured again right before the login load (the servers"
    " idle), so that the hash rate and the logins share the machine's state"
)
STAFF_LOGIN = ("admin@musterstadt.example", "Demo-Admin-1")  # the demo's admin (db/demo.py)

# Wide enough for the results table when the output goes to a file or a pipe.
console = Console(width=None if sys.stdout.isatty() else 140)


@dataclass(frozen=True)
class Options:
    duration: float
    warmup: float
    connections: tuple[int, ...]
    threads: int
    customers: int
    shape: dataset.Shape
    environment: str
    seed: int
    only: tuple[str, ...] = ()  # workload names to load; empty: all
    profile: Path | None = None  # py-spy samples of ours under the first load of...
    profile_workload: str = "dashboard"  # ...this workload
    workers: int = 1  # of our server (the others run one process)


# --- Results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    workload: str
    server: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int  # bad responses (non-2xx, GraphQL errors, refusals) + socket errors
    server_cpu_ms: float
    db_cpu_ms: float | None
    sql: float  # statements per request, BEGIN/COMMIT/SET included
    sql_work: float  # without transaction control and session settings
    error_sample: str


@dataclass
class Report:
    started_at: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    methods: dict[str, str] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    argon2_hash: dict[str, float] = field(default_factory=dict)
    login_sample: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    servers: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    check_problems: list[str] = field(default_factory=list)  # dashboards wrong or unequal


@dataclass(frozen=True)
class Snapshot:
    server_cpu: float
    db_cpu: float | None
    statements: tuple[int, int]


@dataclass
class Probe:
    """CPU of a server and of PostgreSQL, and statements, before and after a load."""

    database: BenchDatabase
    counter: StatementCounter

    async def snapshot(self, server_pid: int) -> Snapshot:
        postmaster = self.database.postmaster_pid
        return Snapshot(
            cpu_seconds(server_pid),
            cpu_seconds(postmaster) if postmaster else None,
            await self.counter.count(),
        )


def to_row(
    workload: str,
    server: str,
    connections: int,
    result: WrkResult,
    before: Snapshot,
    after: Snapshot,
) -> Row:
    requests = max(result.requests, 1)
    db_cpu = None
    if before.db_cpu is not None and after.db_cpu is not None:
        db_cpu = (after.db_cpu - before.db_cpu) * 1000 / requests
    return Row(
        workload=workload,
        server=server,
        connections=connections,
        requests=result.requests,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        non_2xx=result.non_2xx,
        errors=result.errors,
        server_cpu_ms=(after.server_cpu - before.server_cpu) * 1000 / requests,
        db_cpu_ms=db_cpu,
        sql=(after.statements[0] - before.statements[0]) / requests,
        sql_work=(after.statements[1] - before.statements[1]) / requests,
        error_sample=result.error_sample,
    )


# --- Preparing -------------------------------------------------------------------------


def prepare(url: str, shape: dataset.Shape) -> dict[str, Any]:
    """Migrate, load the demo, insert the customers; what was inserted and how long it took."""
    started = time.perf_counter()
    with console.status("Migrating and loading the demo data..."):
        asyncio.run(dataset.load_demo(url))
    password_hash = hash_password(dataset.PASSWORD, "low")  # once, for every customer
    with console.status(f"Inserting {shape.contacts:,} customers..."):
        inserted = asyncio.run(dataset.insert_volume(url, shape, password_hash))
    seconds = time.perf_counter() - started
    console.print(
        f"Dataset ready in {seconds:.1f} s: "
        + ", ".join(f"{count:,} {table}" for table, count in inserted.items())
    )
    return {**dataclasses.asdict(shape), "inserted": inserted, "seconds": round(seconds, 1)}


def argon2_medians(rounds: int = 20) -> dict[str, float]:
    """Median wall and CPU time (all lanes' threads) of one argon2id hash with the
    server's profile ('low', RFC 9106 low-memory), in a process started with the
    environment `portal serve` gives itself (`passwords.environment_for_hashing`), so
    the hash rate and the logins are measured alike."""
    environment = environment_for_hashing(os.environ) or dict(os.environ)
    finished = subprocess.run(  # nosec B603: this interpreter, our own module
        [sys.executable, "-m", "bench.argon2_hash", str(rounds)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(finished.stdout))


def ensure_postgraphile(report: Report) -> Path | None:
    """PostGraphile 4 installed with npm into bench/postgraphile (gitignored)."""
    if shutil.which("node") is None:
        report.skipped.append("PostGraphile: node is not installed")
        return None
    if not POSTGRAPHILE_CLI.exists():
        if shutil.which("npm") is None:
            report.skipped.append("PostGraphile: npm is not installed")
            return None
        with console.status("npm install (PostGraphile 4)..."):
            done = subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    "--loglevel=error",
                ],
                cwd=POSTGRAPHILE_DIR,
                capture_output=True,
                text=True,
                timeout=600,
            )
        if done.returncode != 0 or not POSTGRAPHILE_CLI.exists():
            report.skipped.append(f"PostGraphile: npm install failed: {done.stderr[-500:]}")
            return None
    return POSTGRAPHILE_CLI


def postgraphile_version() -> str:
    package = POSTGRAPHILE_CLI.with_name("package.json")
    return str(json.loads(package.read_text())["version"])


# --- Servers ---------------------------------------------------------------------------


def describe_servers(servers: dict[str, Server], options: Options) -> dict[str, str]:
    keys = (
        "production settings, JWT and Fernet keys generated for this run"
        if options.environment == "production"
        else "development settings, keys generated into its data directory"
    )
    descriptions = {
        OURS: f"portal serve --server granian --workers {options.workers} ({keys}),"
        f" pool of {POOL_SIZE} connections (no overflow)",
        POSTGRAPHILE: f"PostGraphile {postgraphile_version() if POSTGRAPHILE in servers else ''}"
        " CLI on node, default pool of 10, connecting as the database owner (no RLS, no"
        " authentication: it checks nothing of what ours checks per request)",
        FLOOR: "bench/floor.py: one SQL statement with JSON aggregation, Starlette on granian"
        " (1 worker), asyncpg pool of 10, no GraphQL, no authentication",
    }
    return {key: descriptions[key] for key in servers}


def ours_environment(environment: str) -> dict[str, str]:
    """Production with keys generated for this run (production refuses to generate them
    itself), or development (keys generated into the data directory)."""
    env = {"PORTAL_ENV": environment, "ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL)}
    if environment == "production":
        env["JWT_KEYS"] = json.dumps(generate_key_set())
        env["SECRET_KEYS"] = Fernet.generate_key().decode()
    return env


def ours_server(db: BenchDatabase, run_dir: Path, environment: str, workers: int) -> Server:
    port = free_port()
    portal = Path(sys.executable).with_name("portal")
    return Server(
        name="our server",
        command=[
            str(portal),
            "serve",
            "--server",
            "granian",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(run_dir / "portal"),
            "--no-mail-sink",
            "--no-worker",
            "--no-demo",
        ],
        port=port,
        log=run_dir / "ours.log",
        env={"DATABASE_URL": db.url, **ours_environment(environment)},
    )


def floor_server(db: BenchDatabase, run_dir: Path) -> Server:
    port = free_port()
    granian = Path(sys.executable).with_name("granian")
    return Server(
        name="floor",
        command=[
            str(granian),
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "bench.floor:app_from_environment",
        ],
        port=port,
        log=run_dir / "floor.log",
        env={"DATABASE_URL": db.url},
        cwd=ROOT,
    )


def postgraphile_server(db: BenchDatabase, run_dir: Path, cli: Path) -> Server:
    port = free_port()
    return Server(
        name="PostGraphile",
        command=[
            "node",
            str(cli),
            "--connection",
            db.node_url,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-query-log",
            "--disable-graphiql",
        ],
        port=port,
        log=run_dir / "postgraphile.log",
        env={"NODE_ENV": "production"},
        ready_path="/graphql",
    )


def wait_all_ready(servers: list[Server], timeout: float = 180) -> None:
    with httpx.Client(timeout=5) as client:

        def probe(url: str) -> httpx.Response:
            if url.endswith("/graphql"):
                return client.post(url, json={"query": "{ __typename }"})
            return client.get(url)

        for server in servers:
            with console.status(f"Waiting for {server.name} on {server.url}..."):
                server.wait_ready(timeout, probe)


# --- Loads -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    server_key: str
    server: Server
    rows: Callable[[], Awaitable[Path]]  # the request file, written when the load starts
    marker: str  # what every good response contains
    mode: str = "requests"


async def wait_idle(pid: int, interval: float = 0.5) -> None:
    """Until the server's process tree uses less than 5 % of a core (at most a minute):
    requests an earlier run left queued (wrk does not wait for them) are not billed to
    the next."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(60):
            previous = cpu_seconds(pid)
            while True:
                await asyncio.sleep(interval)
                current = cpu_seconds(pid)
                if current - previous < 0.05 * interval:
                    return
                previous = current


@dataclass
class Loader:
    wrk: str
    options: Options
    probe: Probe
    report: Report

    async def load(self, workload: Workload) -> None:
        """Warm up, then one measured run per connection count. The warm-up runs at the
        most connections the run measures, so each server's pool has opened (and prepared
        its statements on) every connection any measured load uses before it is measured:
        otherwise the first load above the warm-up's count opens them while measured."""
        rows = await workload.rows()
        first = self.options.connections[0]
        most = max(self.options.connections)
        with console.status(f"{workload.server_key}: {workload.name} warm-up"):
            await self.wrk_run(workload, rows, most, self.options.warmup)
        for connections in self.options.connections:
            with console.status(
                f"{workload.server_key}: {workload.name}, {connections} connections"
            ):
                await wait_idle(workload.server.pid)
                spy = self.profiler(workload, connections == first)
                before = await self.probe.snapshot(workload.server.pid)
                result = await self.wrk_run(workload, rows, connections, self.options.duration)
                after = await self.probe.snapshot(workload.server.pid)
                if spy is not None:
                    await asyncio.to_thread(spy.wait)
            row = to_row(workload.name, workload.server_key, connections, result, before, after)
            self.report.rows.append(row)
            console.print(
                f"  {workload.server_key:<13} {workload.name:<19} c={connections:<3}"
                f" {row.rps:8.1f} req/s  p99 {row.p99_ms:7.1f} ms  errors {row.errors}"
            )

    def profiler(self, workload: Workload, first: bool) -> subprocess.Popen[bytes] | None:
        """py-spy sampling our server's processes for the length of the load: collapsed
        stacks to `--profile`, summarized by `python -m bench.profile`."""
        target = self.options.profile
        if (
            target is None
            or not first
            or (workload.server_key, workload.name) != (OURS, self.options.profile_workload)
        ):
            return None
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        seconds = str(round(self.options.duration))
        pid = str(workload.server.pid)
        command = [spy, "record", "--pid", pid, "--subprocesses"]
        command += ["--format", "raw", "--rate", "250", "--nonblocking"]
        command += ["--duration", seconds, "--output", str(target)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL)

    async def wrk_run(
        self, workload: Workload, rows: Path, connections: int, seconds: float
    ) -> WrkResult:
        return await run_wrk(
            self.wrk,
            workload.server.url,
            mode=workload.mode,
            rows=rows,
            marker=workload.marker,
            connections=connections,
            threads=self.options.threads,
            seconds=seconds,
        )


@dataclass
class Customers:
    """The logged-in sample, logged in again when its tokens would expire mid-load."""

    base_url: str
    contacts: list[int]
    report: Report
    tokens: workloads.Tokens | None = None

    async def fresh(self, needed_seconds: float) -> workloads.Tokens:
        if self.tokens is None or self.expire_within(self.tokens, needed_seconds):
            with console.status(f"Logging in {len(self.contacts)} customers..."):
                self.tokens = await workloads.log_in(
                    self.base_url, self.contacts, LOGIN_CONCURRENCY
                )
            if not self.report.login_sample:
                self.report.login_sample = {
                    "logins": len(self.tokens.by_contact),
                    "concurrency": self.tokens.concurrency,
                    "seconds": round(self.tokens.seconds, 2),
                    "per_second": round(self.tokens.rate, 1),
                }
        return self.tokens

    @staticmethod
    def expire_within(tokens: workloads.Tokens, seconds: float) -> bool:
        age = time.monotonic() - tokens.logged_in_at
        return age + seconds > TOKEN_TTL - 30


async def fetch_dashboards(
    client: httpx.AsyncClient, servers: dict[str, Server], token: str, contact_id: str
) -> dict[str, workloads.Dashboard]:
    """One contact's dashboard from every server, normalised."""
    ours = await client.post(
        f"{servers[OURS].url}/graphql",
        json=workloads.graphql_body(workloads.DASHBOARD),
        headers={"Authorization": f"Bearer {token}"},
    )
    answers = {OURS: workloads.ours_dashboard(ours.json())}
    if POSTGRAPHILE in servers:
        theirs = await client.post(
            f"{servers[POSTGRAPHILE].url}/graphql",
            json=workloads.graphql_body(workloads.POSTGRAPHILE_DASHBOARD, id=contact_id),
        )
        answers[POSTGRAPHILE] = workloads.postgraphile_dashboard(theirs.json())
    floor = await client.get(f"{servers[FLOOR].url}/dashboard/{contact_id}")
    answers[FLOOR] = workloads.floor_dashboard(floor.json())
    return answers


async def check_dashboards(
    servers: dict[str, Server], customers: Customers, shape: dataset.Shape
) -> list[str]:
    """The same contacts' dashboards from every server, each complete (every contract,
    meter and the newest readings) and equal to the floor's (plain SQL); the problems."""
    tokens = await customers.fresh(0)
    problems: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for contact in customers.contacts[:CHECKED_CONTACTS]:
            contact_id = str(dataset.bench_id("contact", contact))
            try:
                answers = await fetch_dashboards(
                    client, servers, tokens.by_contact[contact], contact_id
                )
            except (RuntimeError, KeyError, TypeError, ValueError) as error:
                problems.append(f"{dataset.email(contact)}: {error!r}")
                continue
            for name, answer in answers.items():
                if problem := workloads.shape_problem(answer, shape, READINGS_SHOWN):
                    problems.append(f"{name}, {dataset.email(contact)}: {problem}")
                elif answer != answers[FLOOR]:
                    problems.append(
                        f"{name}, {dataset.email(contact)}: differs from the floor's SQL:"
                        f" {answer} != {answers[FLOOR]}"
                    )
    if problems:
        console.print(
            "[bold red]Dashboard check FAILED (figures below measure wrong answers):[/bold red]"
        )
        for problem in problems:
            console.print(f"[red]  {problem}[/red]", soft_wrap=True)
    else:
        console.print(
            f"Dashboards checked for {CHECKED_CONTACTS} customers: {', '.join(servers)} agree"
            f" on {shape.contracts_per_contact} contracts x {shape.meters_per_contract} meters"
            f" x {READINGS_SHOWN} readings."
        )
    return problems


def build_workloads(
    servers: dict[str, Server], customers: Customers, options: Options, run_dir: Path
) -> list[Workload]:
    """Per workload, ours first, then PostGraphile and the floor where they can express
    it: the dashboard, the contract page, the staff lists of portal users and of
    contacts (the demo admin's token); then ours alone: portalHome, submitMeterReading,
    changeInstallment (tokens of the sample) and login (any generated customer)."""
    load_seconds = options.warmup + options.duration * len(options.connections) + 10
    sample, everyone = customers.contacts, range(1, options.shape.contacts + 1)
    shape = options.shape
    staff: dict[str, str] = {}

    def file(name: str, lines: Callable[[], list[str]]) -> Callable[[], Awaitable[Path]]:
        async def write() -> Path:
            return workloads.write_lines(run_dir / f"{name}.tsv", lines())

        return write

    def with_tokens(
        name: str, lines: Callable[[workloads.Tokens], list[str]]
    ) -> Callable[[], Awaitable[Path]]:
        async def write() -> Path:
            tokens = await customers.fresh(load_seconds)
            return workloads.write_lines(run_dir / f"{name}.tsv", lines(tokens))

        return write

    def as_staff(name: str, query: str, **variants: list[str]) -> Callable[[], Awaitable[Path]]:
        async def write() -> Path:
            # Logged in again for every load: the token outlives one load, not the run.
            staff["token"] = await workloads.staff_token(servers[OURS].url, *STAFF_LOGIN)
            lines = workloads.staff_lines(staff["token"], query, **variants)
            return workloads.write_lines(run_dir / f"{name}.tsv", lines)

        return write

    def ours(name: str, rows: Callable[[], Awaitable[Path]], marker: str) -> Workload:
        mode = "submit" if name == "submitMeterReading" else "requests"
        return Workload(name, OURS, servers[OURS], rows, marker, mode)

    def others(
        name: str,
        postgraphile: tuple[Callable[[], list[str]], str] | None,
        floor: tuple[Callable[[], list[str]], str],
    ) -> list[Workload]:
        found = []
        if postgraphile is not None and POSTGRAPHILE in servers:
            lines, marker = postgraphile
            rows = file(f"postgraphile-{name}", lines)
            found.append(Workload(name, POSTGRAPHILE, servers[POSTGRAPHILE], rows, marker))
        lines, marker = floor
        found.append(Workload(name, FLOOR, servers[FLOOR], file(f"floor-{name}", lines), marker))
        return found

    return [
        ours(
            "dashboard",
            with_tokens("ours-dashboard", lambda t: workloads.ours_lines(t, workloads.DASHBOARD)),
            '"contracts"',
        ),
        *others(
            "dashboard",
            (lambda: workloads.postgraphile_lines(sample), '"contractsByContactId"'),
            (lambda: workloads.floor_lines(sample), '"contracts"'),
        ),
        ours(
            "portalHome",
            with_tokens("ours-home", lambda t: workloads.ours_lines(t, workloads.PORTAL_HOME)),
            '"tiles"',
        ),
        ours(
            "contract",
            with_tokens("ours-contract", lambda t: workloads.contract_lines(t, shape)),
            '"installmentRules"',
        ),
        *others(
            "contract",
            (lambda: workloads.postgraphile_contract_lines(sample, shape), '"contractById"'),
            (lambda: workloads.floor_contract_lines(sample, shape), '"meters"'),
        ),
        ours(
            "staffPortalUsers",
            as_staff(
                "ours-portal-users",
                workloads.STAFF_PORTAL_USERS,
                search=workloads.staff_searches(shape),
            ),
            '"registrationStatus"',
        ),
        *others(
            "staffPortalUsers",
            (
                lambda: workloads.postgraphile_page_lines(
                    workloads.POSTGRAPHILE_PORTAL_USERS, shape
                ),
                '"registrationStatus"',
            ),
            (lambda: workloads.floor_page_lines("/portal-users", shape), '"registrationStatus"'),
        ),
        ours(
            "staffContacts",
            as_staff(
                "ours-contacts", workloads.STAFF_CONTACTS, search=workloads.contact_searches(shape)
            ),
            '"readAt"',
        ),
        *others(
            "staffContacts",
            (
                lambda: workloads.postgraphile_page_lines(workloads.POSTGRAPHILE_CONTACTS, shape),
                '"readAt"',
            ),
            (lambda: workloads.floor_page_lines("/contacts", shape), '"readAt"'),
        ),
        ours(
            "submitMeterReading",
            with_tokens("ours-submit", lambda t: workloads.submit_lines(t, shape)),
            "MeterReadingSubmitted",
        ),
        ours(
            "changeInstallment",
            with_tokens("ours-change", lambda t: workloads.change_installment_lines(t, shape)),
            "InstallmentChanged",
        ),
        ours(LOGIN, file("ours-login", lambda: workloads.login_lines(everyone)), "accessToken"),
    ]


async def measure(
    db: BenchDatabase,
    servers: dict[str, Server],
    wrk: str | None,
    options: Options,
    report: Report,
    run_dir: Path,
) -> None:
    sample = random.Random(options.seed).sample(
        range(1, options.shape.contacts + 1), min(options.customers, options.shape.contacts)
    )
    customers = Customers(servers[OURS].url, sample, report)
    report.check_problems = await check_dashboards(servers, customers, options.shape)
    if wrk is None:
        return
    counter = await statement_counter(db.url)
    report.methods["sql_statements"] = counter.method
    try:
        loader = Loader(wrk, options, Probe(db, counter), report)
        for workload in build_workloads(servers, customers, options, run_dir):
            if not options.only or workload.name in options.only:
                if workload.name == LOGIN:
                    # The hash rate of the machine as the logins find it: measured again
                    # right before their load (the servers idle), not minutes earlier.
                    report.argon2_hash = argon2_medians()
                    report.methods["argon2_hash"] = ARGON2_WHEN
                await loader.load(workload)
    finally:
        await counter.close()


# --- Output ----------------------------------------------------------------------------


def hash_rate(argon2_hash: dict[str, float], cpus: int) -> float | None:
    """Logins per second the machine's cores could hash: cpus x 1000 / CPU ms of one
    hash (issue 17's reference for `login`)."""
    cpu_ms = argon2_hash.get("cpu_ms")
    return cpus * 1000 / cpu_ms if cpu_ms else None


def ratios(rows: list[Row], hashes_per_second: float | None = None) -> list[dict[str, Any]]:
    """Per workload and connection count: ours / PostGraphile and ours / floor, where
    they ran it; every workload of ours / our dashboard (requests/s); and our logins /
    the hash rate (`hash_rate`) when it was measured."""
    by_key = {(r.workload, r.server, r.connections): r for r in rows}
    found = []
    for (workload, server, connections), other in sorted(by_key.items()):
        mine = by_key.get((workload, OURS, connections))
        if mine is None or server == OURS or not other.rps or not other.p99_ms:
            continue
        found.append(
            {
                "workload": workload,
                "versus": server,
                "connections": connections,
                "rps_ratio": round(mine.rps / other.rps, 3),
                # No latency without a finished request (a load shorter than one).
                "p99_ratio": round(mine.p99_ms / other.p99_ms, 3) if mine.requests else None,
            }
        )
    for (workload, server, connections), mine in sorted(by_key.items()):
        dashboard = by_key.get(("dashboard", OURS, connections))
        if server != OURS or workload == "dashboard" or dashboard is None or not dashboard.rps:
            continue
        found.append(
            {
                "workload": workload,
                "versus": "our dashboard",
                "connections": connections,
                "rps_ratio": round(mine.rps / dashboard.rps, 3),
                "p99_ratio": None,
            }
        )
    for (workload, server, connections), mine in sorted(by_key.items()):
        if workload == LOGIN and server == OURS and hashes_per_second:
            found.append(
                {
                    "workload": workload,
                    "versus": HASH_RATE,
                    "connections": connections,
                    "rps_ratio": round(mine.rps / hashes_per_second, 3),
                    "p99_ratio": None,
                }
            )
    return found


def _optional(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


COLUMNS = (
    "workload",
    "server",
    "conns",
    "req/s",
    "p50 ms",
    "p99 ms",
    "non-2xx/bad",
    "app CPU ms/req",
    "PG CPU ms/req",
    "SQL/req (work)",
)


def results_table(rows: list[Row]) -> Table:
    table = Table(title="Customer operations under wrk (a random customer per request)")
    for i, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if i < 2 else "right", no_wrap=i < 2)
    for r in rows:
        table.add_row(
            r.workload,
            r.server,
            str(r.connections),
            f"{r.rps:.1f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.non_2xx}/{r.errors}",
            f"{r.server_cpu_ms:.2f}",
            _optional(r.db_cpu_ms),
            f"{r.sql:.1f} ({r.sql_work:.1f})",
        )
    return table


def ratio_table(found: list[dict[str, Any]]) -> Table:
    table = Table(title="Ours / other: req/s (higher is better) and p99 (lower)")
    for column in ("workload", "ours versus", "conns", "req/s ratio", "p99 ratio"):
        table.add_column(column, justify="right")
    for ratio in found:
        p99 = ratio["p99_ratio"]
        table.add_row(
            ratio["workload"],
            ratio["versus"],
            str(ratio["connections"]),
            f"{ratio['rps_ratio']:.2f}",
            "" if p99 is None else f"{p99:.2f}",
        )
    return table


def print_report(report: Report) -> None:
    if report.rows:
        console.print(results_table(report.rows))
    if report.ratios:
        console.print(ratio_table(report.ratios))
    print_notes(report)


def print_notes(report: Report) -> None:
    for key, description in report.servers.items():
        console.print(f"[bold]{key}[/bold]: {description}", soft_wrap=True)
    console.print(
        "non-2xx/bad: HTTP errors / all bad answers (non-2xx, socket errors, GraphQL"
        " errors, refusals). SQL/req: statements per request, in parentheses without"
        " BEGIN/COMMIT/ROLLBACK/SET/RESET.",
        soft_wrap=True,
    )
    if argon2 := report.argon2_hash:
        cpus = int(report.machine.get("cpus") or 1)
        console.print(
            f"argon2id hash alone (gql.auth.passwords, 'low' profile, median of"
            f" {argon2['rounds']:.0f}): {argon2['wall_ms']} ms wall, {argon2['cpu_ms']} ms CPU;"
            f" {HASH_RATE} {cpus} cpus x 1000 / {argon2['cpu_ms']} ="
            f" {hash_rate(argon2, cpus):.1f} logins/s"
        )
    if sample := report.login_sample:
        console.print(
            f"Login of the sample (httpx, {sample['concurrency']} concurrent):"
            f" {sample['logins']} in {sample['seconds']} s = {sample['per_second']} logins/s"
        )
    for key, value in report.methods.items():
        console.print(f"[dim]{key}: {value}[/dim]", soft_wrap=True)
    for row in report.rows:
        if row.errors and row.error_sample:
            console.print(
                f"[yellow]{row.server} {row.workload} c={row.connections}:"
                f" {row.error_sample}[/yellow]",
                soft_wrap=True,
            )
    for problem in report.check_problems:
        console.print(f"[red]Dashboard check: {problem}[/red]", soft_wrap=True)
    for skipped in report.skipped:
        console.print(f"[yellow]Skipped: {skipped}[/yellow]", soft_wrap=True)


def write_json(report: Report, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(dataclasses.asdict(report), indent=2, default=str) + "\n")
    console.print(f"Results written to {output}")


# --- Command ---------------------------------------------------------------------------


def git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return None


def new_report(options: Options) -> Report:
    report = Report(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "commit": git_commit(),
        },
        settings={**dataclasses.asdict(options), "wrk_threads": options.threads},
    )
    report.methods = {
        "server_cpu": "utime+stime (+cutime+cstime) of the server's process tree from"
        " /proc/<pid>/stat, after minus before, / requests",
        "postgres_cpu": "the same for the postmaster's process tree (all backends)",
        "latency": "wrk percentiles (no coordinated-omission correction); wrk runs on"
        " the same machine",
        "submitMeterReading": "wrk + bench/wrk_bench.lua: a random meter of a logged-in"
        " customer, a unique readAt, the value on the meter's consumption line",
        "changeInstallment": "the customer's first contract to 85.00 (the portal allows"
        " +-10 % of 80.00) with dryRun: every check and write, then a rollback (the"
        " cadence allows one real change per contract in three months)",
        "staff lists": "ours: 50 rows found by a search (a tenth of the rows each);"
        " PostGraphile 4 has no text search, it and the floor read 50 rows at an offset",
    }
    return report


def run(options: Options, output: Path) -> Report:
    report = new_report(options)
    wrk = ensure_wrk(console)
    if wrk is None:
        report.skipped.append("all loads: wrk is not available")
    cli = ensure_postgraphile(report)
    run_dir = output.parent / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(bench_database(console))
        report.methods["database"] = db.description
        report.dataset = prepare(db.url, options.shape)
        report.argon2_hash = argon2_medians()
        servers = {OURS: ours_server(db, run_dir, options.environment, options.workers)}
        if cli is not None:
            servers[POSTGRAPHILE] = postgraphile_server(db, run_dir, cli)
        servers[FLOOR] = floor_server(db, run_dir)
        report.servers = describe_servers(servers, options)
        for server in servers.values():
            stack.enter_context(running(server))
        wait_all_ready(list(servers.values()))
        asyncio.run(measure(db, servers, wrk, options, report, run_dir))
    rate = hash_rate(report.argon2_hash, int(report.machine.get("cpus") or 1))
    report.ratios = ratios(report.rows, rate)
    return report


def main(
    duration: Annotated[float, typer.Option(help="Seconds per measured load.")] = 15,
    warmup: Annotated[float, typer.Option(help="Seconds of warm-up per workload.")] = 3,
    connections: Annotated[
        list[int] | None, typer.Option("--connections", "-c", help="Repeatable; 8 and 32.")
    ] = None,
    threads: Annotated[int, typer.Option(help="wrk threads.")] = 2,
    contacts: Annotated[int, typer.Option(help="Generated customers.")] = 10_000,
    customers: Annotated[
        int, typer.Option(help="Customers logged in and picked at random per request.")
    ] = 300,
    environment: Annotated[
        str, typer.Option("--env", help="PORTAL_ENV of our server: production or development.")
    ] = "production",
    quick: Annotated[
        bool, typer.Option(help="Smoke run: 3 s loads, 1 s warm-up, 100 customers.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the customer sample.")] = 20261123,
    workers: Annotated[
        int, typer.Option(help="Worker processes of our server (the others run one).")
    ] = 1,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Repeatable: only these workloads (dashboard, portalHome, ...)."),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(help="py-spy samples of ours during the first load of a workload, to a file."),
    ] = None,
    profile_workload: Annotated[
        str, typer.Option(help="The workload --profile samples (dashboard, ...).")
    ] = "dashboard",
    output: Annotated[Path, typer.Option(help="JSON results.")] = ROOT
    / ".bench-results"
    / "dashboard.json",
) -> None:
    """Our customer dashboard against PostGraphile 4 and a one-statement floor, plus
    portalHome, submitMeterReading and login: throughput, latency, CPU and SQL."""
    if environment not in ("production", "development"):
        raise typer.BadParameter("production or development", param_hint="--env")
    if quick:
        duration, warmup, customers = 3, 1, min(customers, 100)
    options = Options(
        duration=duration,
        warmup=warmup,
        connections=tuple(connections or (8, 32)),
        threads=threads,
        customers=customers,
        shape=dataset.Shape(contacts=contacts),
        environment=environment,
        seed=seed,
        only=tuple(only or ()),
        workers=workers,
        profile=profile,
        profile_workload=profile_workload,
    )
    exit_on_sigterm()
    started = time.monotonic()
    try:
        report = run(options, output)
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted: servers and PostgreSQL stopped.[/yellow]")
        raise typer.Exit(130) from None
    print_report(report)
    report.settings["wall_seconds"] = round(time.monotonic() - started)
    console.print(f"Whole run: {report.settings['wall_seconds']} s")
    write_json(report, output)
    if report.check_problems:
        console.print("[bold red]Dashboard check failed: see above.[/bold red]")
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
