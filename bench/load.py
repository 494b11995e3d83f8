"""Load against a real `portal serve`: the server as a subprocess on a dedicated embedded
PostgreSQL, the README's demo customers logging in, reading their dashboard and
submitting meter readings, every answer classified. Used by `bench/soak.py`
(`make soak`), `tests/bench/test_soak.py` and the fault tests (`tests/http/test_faults.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from strawberry import relay

from db import demo
from db.embedded import EmbeddedPostgres
from gql import unavailable

ROOT = Path(__file__).resolve().parent.parent

LOGIN = """mutation Login($input: LoginInput!) { login(input: $input) {
  __typename ... on LoggedIn { accessToken } ... on LoginError { code } } }"""
DASHBOARD = """query Dashboard { viewer { contact { displayName }
  contracts { edges { node { number status
    meters { edges { node { id number readings(first: 3) { edges { node { value readAt } } } } } }
  } } } }
  portalHome { language tiles { kind title } } }"""
METERS = """query Meters { viewer { contracts { edges { node { meters { edges { node {
  id status registers { obisCode } readings(first: 1) { edges { node { value readAt } } }
} } } } } } }
}"""
SUBMIT_READING = """mutation Submit($input: SubmitMeterReadingInput!) {
  submitMeterReading(input: $input) { __typename
    ... on MeterReadingSubmitted { created }
    ... on MeterReadingRefused { reason message }
    ... on MutationError { code message } } }"""


# --- A dedicated PostgreSQL and `portal serve` ------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def dedicated_postgres() -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL of its own (temporary directory), stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="portal-load-") as directory:
        server = EmbeddedPostgres(Path(directory), fast=True)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass
class ServeProcess:
    """A running `portal serve`."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss_kib(self) -> int:
        """Resident memory of the server and its worker processes, from /proc."""
        return sum(_rss_kib(pid) for pid in _process_tree(self.process.pid))


def _process_tree(root: int) -> list[int]:
    pids, index = [root], 0
    while index < len(pids):
        for children in Path(f"/proc/{pids[index]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(pid) for pid in children.read_text().split()]
        index += 1
    return pids


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((line for line in status.splitlines() if line.startswith("VmRSS:")), "")
    return int(line.split()[1]) if line else 0


@contextlib.contextmanager
def serve(
    database_url: str,
    *,
    password_profile: str = "test",  # noqa: S107 - an argon2 profile name
    worker: bool = True,
    startup_timeout: float = 180,
) -> Iterator[ServeProcess]:
    """`portal serve` (granian, one worker process) on a free port, in development mode
    with its mail sink, on `database_url`; it migrates and loads the demo data itself.
    Stopped with SIGTERM afterwards."""
    with tempfile.TemporaryDirectory(prefix="portal-serve-") as directory:
        data_dir = Path(directory) / "data"
        log = Path(directory) / "serve.log"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORTAL_ENV")}
        env.update(COLUMNS="200", PASSWORD_PROFILE=password_profile, SMTP_PORT=str(free_port()))
        command = [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)]
        command += ["--data-dir", str(data_dir), "--database-url", database_url]
        command += ["--worker" if worker else "--no-worker"]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
            )
        running = ServeProcess(process, f"http://127.0.0.1:{port}", data_dir, log)
        try:
            _wait_healthy(running, startup_timeout)
            yield running
        finally:
            _stop(process)


def _wait_healthy(server: ServeProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not server.alive():
            raise RuntimeError(f"portal serve exited:\n{server.output()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"portal serve did not come up:\n{server.output()}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- The demo customers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    portal_id: str


def demo_customers() -> list[Account]:
    """The customer logins of the README (`db.demo.LOGINS`, which the README lists)."""
    return [
        Account(
            login.email,
            login.password,
            relay.to_base64("Portal", demo.demo_id(f"portal:{login.portal}")),
        )
        for login in demo.LOGINS
        if login.role == "CUSTOMER" and login.portal
    ]


@dataclass(frozen=True)
class ReadingPlan:
    """Readings of one meter with increasing values at increasing times (one a second
    from `start`), so they are accepted in any order of arrival and a retry of the
    same `key` is the same reading."""

    meter_id: str
    start: datetime
    first_value: Decimal

    def reading(self, n: int, prefix: str) -> dict[str, Any]:
        return {
            "meterId": self.meter_id,
            "value": str(self.first_value + Decimal(n) / 100),
            "readAt": (self.start + timedelta(seconds=n)).isoformat(),
            "clientKey": f"{prefix}-{n}",
            "overridePlausibility": True,
        }


# --- Requests and their outcomes ---------------------------------------------------------------


class Outcome(enum.StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"  # 503 SERVICE_UNAVAILABLE: the documented answer to an outage
    ERROR = "error"  # anything else: a wrong answer, another error, a 5xx
    TRANSPORT = "transport"  # no answer: refused connection, timeout


@dataclass(frozen=True)
class Sample:
    kind: str
    started: float  # seconds since the load started
    seconds: float
    outcome: Outcome
    detail: str = ""
    data: dict[str, Any] | None = None
    key: str = ""  # a reading's clientKey

    @property
    def ended(self) -> float:
        return self.started + self.seconds


class LoadClient:
    """GraphQL over HTTP against a running server; every call returns a Sample."""

    def __init__(self, http: httpx.AsyncClient, origin: float | None = None) -> None:
        self.http = http
        self.origin = time.monotonic() if origin is None else origin

    async def call(
        self,
        kind: str,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        expect: Callable[[dict[str, Any]], bool] = lambda data: True,
    ) -> Sample:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        began = time.monotonic()
        try:
            response = await self.http.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        except httpx.TransportError as error:
            outcome, detail, data = Outcome.TRANSPORT, type(error).__name__, None
        else:
            outcome, detail, data = classify(response, expect)
        return Sample(kind, began - self.origin, time.monotonic() - began, outcome, detail, data)

    async def login(self, account: Account) -> tuple[Sample, str | None]:
        variables = {
            "input": {
                "email": account.email,
                "password": account.password,
                "portalId": account.portal_id,
            }
        }
        sample = await self.call(
            "login", LOGIN, variables, expect=lambda d: "accessToken" in (d.get("login") or {})
        )
        token = (sample.data or {}).get("login", {}).get("accessToken")
        return sample, token if isinstance(token, str) else None

    async def dashboard(self, token: str) -> Sample:
        return await self.call(
            "dashboard",
            DASHBOARD,
            token=token,
            expect=lambda d: bool(d.get("viewer", {}).get("contracts", {}).get("edges")),
        )

    async def submit_reading(self, token: str, reading: dict[str, Any]) -> Sample:
        sample = await self.call(
            "reading",
            SUBMIT_READING,
            {"input": reading},
            token,
            expect=lambda d: (
                d.get("submitMeterReading", {}).get("__typename") == "MeterReadingSubmitted"
            ),
        )
        return replace(sample, key=reading["clientKey"])


INTERNALS = ("Traceback", "sqlalchemy", "asyncpg", "Errno", "Unexpected error", "QueuePool")


def classify(
    response: httpx.Response, expect: Callable[[dict[str, Any]], bool]
) -> tuple[Outcome, str, dict[str, Any] | None]:
    """OK: 200, no errors, the expected data. UNAVAILABLE: 503 whose every error is
    SERVICE_UNAVAILABLE and that shows no internals. ERROR: anything else."""
    text = response.text
    try:
        body = response.json()
    except ValueError:
        return Outcome.ERROR, f"{response.status_code} {text[:200]}", None
    if not isinstance(body, dict):
        return Outcome.ERROR, f"{response.status_code} {text[:200]}", None
    errors = body.get("errors") or []
    data = body.get("data") if isinstance(body.get("data"), dict) else None
    if response.status_code == 200 and not errors and data is not None and expect(data):
        return Outcome.OK, "", data
    codes = {(error.get("extensions") or {}).get("code") for error in errors}
    if (
        response.status_code == 503
        and codes == {unavailable.CODE}
        and response.headers.get("retry-after")
        and not any(word in text for word in INTERNALS)
    ):
        return Outcome.UNAVAILABLE, "", data
    return Outcome.ERROR, f"{response.status_code} {text[:300]}", data


# --- A steady mix at a fixed rate ---------------------------------------------------------------


@dataclass
class Customer:
    account: Account
    token: str
    plan: ReadingPlan
    readings_sent: int = 0


async def prepare_customers(
    client: LoadClient, accounts: Sequence[Account], *, hours_back: int = 3
) -> list[Customer]:
    """Log each account in and choose the meter it submits readings for (one with a single
    register); its readings start `hours_back` hours ago, or after the meter's newest
    reading if that is later, above the newest value."""
    earliest = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=hours_back)
    customers = []
    for account in accounts:
        sample, token = await client.login(account)
        if token is None:
            raise RuntimeError(f"{account.email} can not log in: {sample.detail}")
        meters = await client.call("meters", METERS, token=token)
        if meters.data is None:
            raise RuntimeError(f"{account.email}: {meters.detail}")
        meter = next(
            m["node"]
            for c in meters.data["viewer"]["contracts"]["edges"]
            for m in c["node"]["meters"]["edges"]
            if m["node"]["status"] == "ACTIVE" and len(m["node"]["registers"]) == 1
        )
        start, value = earliest, Decimal(0)
        if newest := meter["readings"]["edges"]:
            value = Decimal(newest[0]["node"]["value"])
            last = datetime.fromisoformat(newest[0]["node"]["readAt"])
            start = max(start, last.replace(microsecond=0) + timedelta(minutes=1))
        customers.append(Customer(account, token, ReadingPlan(meter["id"], start, value + 50)))
    return customers


# Twenty requests in a fixed order: 17 dashboards, 2 meter readings, 1 login.
MIX = ("dashboard",) * 9 + ("reading",) + ("dashboard",) * 8 + ("reading", "login")


@dataclass
class Mix:
    """Turns the n-th request of the load into a call, round robin over the customers."""

    client: LoadClient
    customers: list[Customer]
    key_prefix: str = "load"
    sent: dict[str, int] = field(default_factory=dict)
    # Every reading sent, by clientKey, to send it again.
    readings: dict[str, tuple[Customer, dict[str, Any]]] = field(default_factory=dict)

    def request(self, n: int) -> Awaitable[Sample]:
        kind = MIX[n % len(MIX)]
        customer = self.customers[n % len(self.customers)]
        self.sent[kind] = self.sent.get(kind, 0) + 1
        if kind == "login":
            return self._login(customer)
        if kind == "reading":
            customer.readings_sent += 1
            prefix = f"{self.key_prefix}-{n % len(self.customers)}"  # clientKeys are per meter
            reading = customer.plan.reading(customer.readings_sent, prefix)
            self.readings[reading["clientKey"]] = (customer, reading)
            return self.client.submit_reading(customer.token, reading)
        return self.client.dashboard(customer.token)

    async def _login(self, customer: Customer) -> Sample:
        sample, token = await self.client.login(customer.account)
        if token is not None:
            customer.token = token  # later requests use the newest session
        return sample


async def run_at_rate(
    request: Callable[[int], Awaitable[Sample]],
    rate: float,
    until: Callable[[], bool],
    *,
    max_in_flight: int = 100,
) -> list[Sample]:
    """Start request n at n / rate seconds (open loop: a slow answer does not slow the
    arrivals, up to `max_in_flight` at once) until `until()` says stop; then wait for
    the answers."""
    samples: list[Sample] = []
    in_flight = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    began = time.monotonic()

    async def one(n: int) -> None:
        try:
            samples.append(await request(n))
        finally:
            in_flight.release()

    n = 0
    while True:
        delay = began + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await in_flight.acquire()
        if until():
            in_flight.release()
            break
        task = asyncio.create_task(one(n))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    if tasks:
        await asyncio.wait(set(tasks))
    return sorted(samples, key=lambda sample: sample.started)


# --- Figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    start: float
    requests: int
    failed: int
    p50_ms: float
    p99_ms: float
    by_kind: dict[str, int]

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def intervals(samples: Sequence[Sample], seconds: float) -> list[Interval]:
    """Figures per `seconds` of load, by the time a request started."""
    if not samples:
        return []
    count = int(max(s.started for s in samples) // seconds) + 1
    result = []
    for index in range(count):
        chunk = [s for s in samples if index * seconds <= s.started < (index + 1) * seconds]
        latencies = [s.seconds * 1000 for s in chunk]
        kinds: dict[str, int] = {}
        for sample in chunk:
            kinds[sample.kind] = kinds.get(sample.kind, 0) + 1
        result.append(
            Interval(
                start=index * seconds,
                requests=len(chunk),
                failed=sum(1 for s in chunk if s.outcome is not Outcome.OK),
                p50_ms=percentile(latencies, 0.5),
                p99_ms=percentile(latencies, 0.99),
                by_kind=kinds,
            )
        )
    return result


# --- A soak: the mix at a steady rate for a while ------------------------------------------------


@dataclass
class SoakResult:
    samples: list[Sample]
    intervals: list[Interval]
    rss_kib: list[int]  # the server's, before the load and at the end of every interval
    sent: dict[str, int]
    server_alive: bool

    @property
    def failed(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.outcome is not Outcome.OK]


async def soak(
    server: ServeProcess, *, rate: float, seconds: float, interval: float, key_prefix: str
) -> SoakResult:
    """The demo customers' mix against `server` at `rate` requests per second for
    `seconds`; figures per `interval`."""
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
        client = LoadClient(http)
        customers = await prepare_customers(client, demo_customers())
        for customer in customers:  # every query parsed and planned once before measuring
            await client.dashboard(customer.token)
        rss = [server.rss_kib()]
        mix = Mix(client, customers, key_prefix)
        client.origin = time.monotonic()
        end = client.origin + seconds
        watcher = asyncio.create_task(_watch_rss(server, interval, end, rss))
        samples = await run_at_rate(mix.request, rate, lambda: time.monotonic() >= end)
        await watcher
    return SoakResult(samples, intervals(samples, interval), rss, mix.sent, server.alive())


async def _watch_rss(server: ServeProcess, interval: float, end: float, rss: list[int]) -> None:
    moment = time.monotonic()
    while moment < end:
        moment = min(moment + interval, end)
        await asyncio.sleep(max(0.0, moment - time.monotonic()))
        rss.append(server.rss_kib())


def describe(result: SoakResult, interval: float) -> list[str]:
    """One line per interval and a total: requests, errors, p50 and p99, RSS."""
    lines = []
    for index, part in enumerate(result.intervals):
        rss = result.rss_kib[min(index + 1, len(result.rss_kib) - 1)]
        lines.append(
            f"{part.start:6.0f} s  {part.requests:6d} requests ({part.requests / interval:5.1f}/s)"
            f"  errors {part.failed:4d} ({part.error_rate:6.2%})  p50 {part.p50_ms:7.1f} ms"
            f"  p99 {part.p99_ms:7.1f} ms  server RSS {rss / 1024:6.1f} MiB"
        )
    latencies = [sample.seconds * 1000 for sample in result.samples]
    before, after = result.rss_kib[0], result.rss_kib[-1]
    lines.append(
        f"total  {len(result.samples)} requests {dict(sorted(result.sent.items()))},"
        f" {len(result.failed)} errors, p50 {percentile(latencies, 0.5):.1f} ms,"
        f" p99 {percentile(latencies, 0.99):.1f} ms; server RSS {before / 1024:.1f} ->"
        f" {after / 1024:.1f} MiB ({(after - before) / 1024:+.1f} MiB)"
    )
    return lines
