"""Faults, each with its figures on the terminal: PostgreSQL restarted under load, the
connection pool exhausted, SMTP down for minutes, the process killed in the middle of a
CSV import. (A worker killed between sending a mail and marking it:
`tests/domain/test_delivery.py::test_a_crash_after_sending_repeats_that_mail_once_with_the_same_id`.)

Behaviour and counts are asserted, never durations; the durations are only reported.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg.exceptions
import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bench import load
from db import models
from db.embedded import EmbeddedPostgres
from db.session import Database, create_engine
from gql import delivery, unavailable
from gql.app import create_app
from gql.dev_mail import MailSink
from gql.domain import notifications
from gql.settings import Settings
from tests.conftest import ROOT, seeded_database
from tests.factories import enqueue
from tests.figures import report, scalar, scalar_engine
from tests.smtp import SmtpServer


def outcomes(samples: Iterable[load.Sample]) -> collections.Counter[str]:
    return collections.Counter(sample.outcome.value for sample in samples)


def failures(samples: Iterable[load.Sample], *allowed: load.Outcome) -> list[load.Sample]:
    return [s for s in samples if s.outcome is not load.Outcome.OK and s.outcome not in allowed]


@pytest.fixture(scope="module")
async def faults_url(postgres_url: str) -> str:
    """A demo database of this module's own, with real commits."""
    return await seeded_database(postgres_url, f"portal_faults_{os.getpid()}")


async def until_zero(probe: Callable[[], Awaitable[int]], seconds: float, every: float) -> int:
    """Probe until it answers 0 or `seconds` have passed; its last answer."""
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if not value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(every)


# --- PostgreSQL restarted under load ------------------------------------------------------------

RATE = 25.0  # requests per second: 85 % dashboards, 10 % meter readings, 5 % logins
# The restart waits on what the load saw, not on a clock (a loaded machine answers
# late): this many answers before PostgreSQL is stopped, this many 503s before it is
# started again, this many answers to requests sent after it was back.
BEFORE, NOTICED, AFTER = 25, 10, 25
PATIENCE = 120.0  # seconds to wait for each of those before the assertions tell
CLIENT_TIMEOUT = 30.0  # well past the pool timeout (10 s): no answer by then is a hang


@dataclass
class Outage:
    down: float = 0.0  # seconds into the load: PostgreSQL told to stop
    up: float = 0.0  # ... accepting connections again


@dataclass
class Answers:
    """The load's answers as they come, for the restart to wait on."""

    samples: list[load.Sample] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def recording(
        self, request: Callable[[int], Awaitable[load.Sample]]
    ) -> Callable[[int], Awaitable[load.Sample]]:
        async def recorded(n: int) -> load.Sample:
            sample = await request(n)
            self.samples.append(sample)
            self.arrived.set()
            return sample

        return recorded

    async def until(self, count: int, wanted: Callable[[load.Sample], bool]) -> None:
        """Until `count` answers so far are `wanted` (or PATIENCE has passed)."""
        deadline = time.monotonic() + PATIENCE
        while sum(1 for sample in self.samples if wanted(sample)) < count:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), deadline - time.monotonic())
            if time.monotonic() >= deadline:
                return


async def restart_postgres(
    postgres: EmbeddedPostgres, origin: float, outage: Outage, answers: Answers
) -> None:
    """Fast shutdown (open transactions rolled back, connections closed) once the load
    is answered, start once clients got their 503s, done once they get answers again."""
    await answers.until(BEFORE, lambda s: s.outcome is load.Outcome.OK)
    outage.down = time.monotonic() - origin
    await asyncio.to_thread(postgres.stop)
    await answers.until(NOTICED, lambda s: s.outcome is load.Outcome.UNAVAILABLE)
    await asyncio.to_thread(postgres.start)
    outage.up = time.monotonic() - origin
    await answers.until(AFTER, lambda s: s.started >= outage.up and s.outcome is load.Outcome.OK)


def musterstadt_customers() -> list[load.Account]:
    """Anna and Jonas: one portal, so every reading notifies the same staff."""
    wanted = ("anna.becker@example.org", "jonas.wolf@example.org")
    return [account for account in load.demo_customers() if account.email in wanted]


async def notification_rows(engine: AsyncEngine) -> int:
    outbox = models.OutboundEmail
    return await scalar(
        engine,
        sa.select(sa.func.count()).where(outbox.kind == notifications.KIND),
    )


async def mails_per_reading(
    client: load.LoadClient, engine: AsyncEngine, customers: Sequence[load.Customer]
) -> int:
    """How many staff notifications one reading writes (one per staff member notified)."""
    before = await notification_rows(engine)
    for customer in customers:
        sample = await client.submit_reading(customer.token, customer.plan.reading(0, "warm"))
        assert sample.outcome is load.Outcome.OK, sample.detail
    written = await notification_rows(engine) - before
    assert written % len(customers) == 0
    return written // len(customers)


async def retry_failed_readings(
    client: load.LoadClient, mix: load.Mix, samples: Sequence[load.Sample]
) -> list[load.Sample]:
    """What a client does after a 503: send the same reading again (same clientKey)."""
    retried = []
    for sample in samples:
        if sample.kind == "reading" and sample.outcome is not load.Outcome.OK:
            customer, reading = mix.readings[sample.key]
            retried.append(await client.submit_reading(customer.token, reading))
    return retried


@dataclass(frozen=True)
class Written:
    readings: int
    audited: int  # audit events of those readings
    orphans: int  # reading audit events without their reading
    notifications: int


async def written_by_readings(engine: AsyncEngine, prefix: str) -> Written:
    reading, event = models.MeterReading, models.AuditEvent
    ours = sa.select(reading.id).where(reading.client_key.like(f"{prefix}-%"))
    submitted = event.action == "meter_reading.submitted"
    return Written(
        readings=await scalar(engine, sa.select(sa.func.count()).select_from(ours.subquery())),
        audited=await scalar(
            engine, sa.select(sa.func.count()).where(submitted, event.entity_id.in_(ours))
        ),
        orphans=await scalar(
            engine,
            sa.select(sa.func.count()).where(
                submitted, event.entity_id.not_in(sa.select(reading.id))
            ),
        ),
        notifications=await notification_rows(engine),
    )


async def pending_mails(engine: AsyncEngine, seconds: float) -> int:
    """Pending outbox rows once the server's mail worker had `seconds` to send them."""
    outbox = models.OutboundEmail
    statement = sa.select(sa.func.count()).where(outbox.status == models.EmailStatus.PENDING)
    return await until_zero(lambda: scalar(engine, statement), seconds, every=0.5)


async def test_postgres_restarted_under_load(request: pytest.FixtureRequest) -> None:
    with load.dedicated_postgres() as postgres, load.serve(postgres.url) as server:
        pid = server.process.pid
        async with (
            scalar_engine(postgres.url) as engine,
            httpx.AsyncClient(base_url=server.url, timeout=CLIENT_TIMEOUT) as http,
        ):
            client = load.LoadClient(http)
            customers = await load.prepare_customers(client, musterstadt_customers())
            per_reading = await mails_per_reading(client, engine, customers)
            mails_before = await notification_rows(engine)
            mix = load.Mix(client, customers, key_prefix="restart")
            outage, answers = Outage(), Answers()
            client.origin = time.monotonic()
            restart = asyncio.create_task(
                restart_postgres(postgres, client.origin, outage, answers)
            )
            samples = await load.run_at_rate(answers.recording(mix.request), RATE, restart.done)
            await restart
            retried = await retry_failed_readings(client, mix, samples)
            written = await written_by_readings(engine, "restart")
            still_pending = await pending_mails(engine, 60)

        counts = outcomes(samples)
        back = [s for s in samples if s.started >= outage.up and s.outcome is load.Outcome.OK]
        recovered = min(s.ended for s in back) - outage.up if back else float("nan")
        failed = [s for s in samples if s.outcome is not load.Outcome.OK]
        report(
            request,
            f"restart: {len(samples)} requests at {RATE:.0f}/s, {dict(counts)};"
            f" PostgreSQL down {outage.up - outage.down:.1f} s (stop to accepting again);"
            f" {len(failed)} answered 503 SERVICE_UNAVAILABLE, between"
            f" {min((s.started for s in failed), default=0):.1f} s and"
            f" {max((s.ended for s in failed), default=0):.1f} s (down at {outage.down:.1f} s,"
            f" up at {outage.up:.1f} s); first success {recovered:.2f} s after PostgreSQL was"
            f" back; {len(retried)} failed readings sent again,"
            f" {sum(1 for s in retried if s.data and not s.data['submitMeterReading']['created'])}"
            " of them had been stored before the 503",
        )
        # While it was down: clear answers (503, SERVICE_UNAVAILABLE, no internals), no hang.
        assert failures(samples, load.Outcome.UNAVAILABLE) == []
        assert counts[load.Outcome.UNAVAILABLE] > 0, "the outage was not noticed"
        # The same server process answers again, everything from its first success on.
        assert server.alive()
        assert server.process.pid == pid
        assert back, "no success after PostgreSQL came back"
        first_back = min(s.started for s in back)
        assert failures([s for s in samples if s.started >= first_back]) == []
        # A reading is all or nothing: its row, its audit event and its mails; retried
        # with its clientKey, every reading sent is stored exactly once.
        assert failures(retried) == []
        sent_keys = {key for key in mix.readings}
        assert written.readings == len(sent_keys)
        assert written.audited == written.readings
        assert written.orphans == 0
        assert written.notifications - mails_before == per_reading * written.readings
        # The in-process mail worker survived the restart and sent what was queued.
        assert still_pending == 0


def test_only_an_unreachable_or_busy_database_counts_as_unavailable() -> None:
    assert unavailable.is_database_unavailable(sa.exc.TimeoutError("pool"))
    assert unavailable.is_database_unavailable(asyncpg.exceptions.CannotConnectNowError("up"))
    assert unavailable.is_database_unavailable(asyncpg.exceptions.AdminShutdownError("down"))
    # A statement that failed or was cancelled, or a file that is missing, is not an outage.
    assert not unavailable.is_database_unavailable(asyncpg.exceptions.QueryCanceledError("x"))
    assert not unavailable.is_database_unavailable(sa.exc.IntegrityError("x", None, ValueError()))
    assert not unavailable.is_database_unavailable(FileNotFoundError("documents/x"))
    assert not unavailable.is_database_unavailable(None)


# --- The connection pool exhausted ------------------------------------------------------------


def tiny_database(url: str, size: int, timeout: float) -> Database:
    """The app's database with `size` connections, no overflow, `timeout` to wait for one."""
    engine = create_async_engine(
        url, pool_size=size, max_overflow=0, pool_timeout=timeout, pool_pre_ping=True
    )
    return Database(async_sessionmaker(engine, expire_on_commit=False), engine)


@contextlib.asynccontextmanager
async def production_client(
    database: Database, settings: Settings
) -> AsyncIterator[load.LoadClient]:
    """The app in production settings (internal errors masked) over in-process HTTP."""
    app = create_app(replace(settings, environment="production"), database)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as http:
            yield load.LoadClient(http)
    finally:
        await database.dispose()


def anna() -> list[load.Account]:
    return [a for a in load.demo_customers() if a.email == "anna.becker@example.org"]


def burst(
    client: load.LoadClient, customer: load.Customer, size: int, prefix: str
) -> list[Awaitable[load.Sample]]:
    """Dashboards with a token, anonymous logins (no session check before GraphQL runs),
    meter readings: a third each."""
    calls: list[Awaitable[load.Sample]] = []
    for n in range(size):
        if n % 3 == 0:
            calls.append(client.dashboard(customer.token))
        elif n % 3 == 1:
            calls.append(_login(client, customer.account))
        else:
            calls.append(client.submit_reading(customer.token, customer.plan.reading(n, prefix)))
    return calls


async def _login(client: load.LoadClient, account: load.Account) -> load.Sample:
    sample, _ = await client.login(account)
    return sample


# Readings are stored between a dashboard's answer by the executor and by its plan.
@pytest.mark.answers_may_differ
async def test_a_tiny_pool_queues_concurrent_requests(
    faults_url: str, test_settings: Settings, request: pytest.FixtureRequest
) -> None:
    database = tiny_database(faults_url, size=2, timeout=30)
    async with production_client(database, test_settings) as client:
        [customer] = await load.prepare_customers(client, anna())
        began = time.monotonic()
        samples = await asyncio.gather(*burst(client, customer, 60, "queued"))
        elapsed = time.monotonic() - began
        assert database.engine is not None
        checked_out = database.engine.pool.checkedout()  # type: ignore[attr-defined]
    report(
        request,
        f"pool 2, no overflow: {len(samples)} concurrent requests {dict(outcomes(samples))}"
        f" in {elapsed:.2f} s, slowest {max(s.seconds for s in samples):.2f} s",
    )
    assert failures(samples) == []  # they waited their turn
    assert checked_out == 0


async def hold_in_slow_statement(engine: AsyncEngine, backend: asyncio.Future[int]) -> None:
    """Check out a connection of `engine` and sleep in PostgreSQL until cancelled."""
    async with engine.connect() as connection:
        backend.set_result(int(await connection.scalar(sa.text("SELECT pg_backend_pid()"))))
        await connection.execute(sa.text("SELECT pg_sleep(600)"))


async def test_an_exhausted_pool_fails_fast_with_503_then_recovers(
    faults_url: str, test_settings: Settings, request: pytest.FixtureRequest
) -> None:
    """Both connections of the app's pool are taken: one held idle, one in a slow
    statement. Requests wait the pool timeout, then answer 503 SERVICE_UNAVAILABLE (no
    500, no internals, in production settings); once the connections are back, the
    same app answers."""
    database = tiny_database(faults_url, size=2, timeout=0.5)
    assert database.engine is not None
    engine = database.engine
    async with production_client(database, test_settings) as client:
        [customer] = await load.prepare_customers(client, anna())
        backend: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        async with engine.connect() as idle:
            await idle.execute(sa.text("SELECT 1"))
            sleeper = asyncio.create_task(hold_in_slow_statement(engine, backend))
            sleeping_pid = await backend
            refused = await asyncio.gather(*burst(client, customer, 12, "exhausted"))
            async with scalar_engine(faults_url) as other:
                await scalar(other, sa.select(sa.func.pg_cancel_backend(sleeping_pid)))
            with pytest.raises(DBAPIError, match="cancel"):
                await sleeper
        # One after another: at once, 12 requests on 2 connections with a 0.5 s pool
        # timeout measure the machine's speed, not the recovery.
        answered = [await call for call in burst(client, customer, 12, "recovered")]
        checked_out = engine.pool.checkedout()  # type: ignore[attr-defined]
    report(
        request,
        f"pool exhausted (2 of 2 held, timeout 0.5 s): {dict(outcomes(refused))},"
        f" slowest answer {max(s.seconds for s in refused):.2f} s; released:"
        f" {dict(outcomes(answered))}",
    )
    assert failures(refused, load.Outcome.UNAVAILABLE) == []
    assert outcomes(refused)[load.Outcome.UNAVAILABLE] == len(refused)
    assert failures(answered) == []
    assert checked_out == 0


# --- SMTP down for minutes ---------------------------------------------------------------------

MAILS_PER_WAVE = 40
WAVES = 5  # one a minute while the server is down
SMTP_DOWN = timedelta(minutes=5)
TICK = timedelta(seconds=5)  # how often the workers look, on the simulated clock
WORKERS = 3


@pytest.fixture
async def outbox_sessions(faults_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(faults_url, pool_size=WORKERS + 1)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def queue_wave(
    sessions: async_sessionmaker[AsyncSession], wave: str, at: datetime
) -> dict[str, datetime]:
    """MAILS_PER_WAVE mails queued at `at` (the simulated clock)."""
    async with sessions() as db, db.begin():
        ids = [
            enqueue(db, to=f"kunde{n}.{wave}@example.org", kind="outage")
            for n in range(MAILS_PER_WAVE)
        ]
        await db.flush()
        outbox = models.OutboundEmail
        await db.execute(
            sa.update(outbox).where(outbox.message_id.in_(ids)).values(next_attempt_at=at)
        )
    return dict.fromkeys(ids, at)


async def tick(
    sessions: async_sessionmaker[AsyncSession],
    smtp: SmtpServer,
    policy: delivery.RetryPolicy,
    now: datetime,
    totals: delivery.DeliveryReport,
) -> delivery.DeliveryReport:
    """WORKERS workers deliver what is due at `now`, side by side."""
    reports = await asyncio.gather(
        *(delivery.deliver_due(sessions, smtp.transport, policy, now=now) for _ in range(WORKERS))
    )
    done = delivery.DeliveryReport(
        sent=sum(r.sent for r in reports),
        retried=sum(r.retried for r in reports),
        failed=sum(r.failed for r in reports),
    )
    totals.sent += done.sent
    totals.retried += done.retried
    totals.failed += done.failed
    return done


async def rows_of(
    sessions: async_sessionmaker[AsyncSession], ids: Iterable[str]
) -> list[models.OutboundEmail]:
    async with sessions() as db:
        outbox = models.OutboundEmail
        return list((await db.scalars(sa.select(outbox).where(outbox.message_id.in_(ids)))).all())


async def test_smtp_down_for_minutes_delays_mails_but_loses_and_doubles_none(
    outbox_sessions: async_sessionmaker[AsyncSession],
    test_settings: Settings,
    request: pytest.FixtureRequest,
) -> None:
    """A real SMTP server (aiosmtpd) is stopped for five minutes of a simulated clock
    while mails are queued every minute; three workers retry with MAIL_RETRY_SECONDS=5
    (5, 10, 20, 40 ... s) and MAIL_MAX_ATTEMPTS=8. Every mail arrives once, after the
    server is back, none is marked FAILED."""
    settings = replace(test_settings, mail_retry_seconds=5, mail_max_attempts=8)
    policy = delivery.RetryPolicy.from_settings(settings)
    smtp = SmtpServer()
    smtp.sink = MailSink(keep=10_000)
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    totals = delivery.DeliveryReport()
    try:
        smtp.start()
        before = await queue_wave(outbox_sessions, "before", start)
        await tick(outbox_sessions, smtp, policy, start, totals)
        sent_before = await rows_of(outbox_sessions, before)
        assert {row.status for row in sent_before} == {models.EmailStatus.SENT}
        smtp.stop()
        queued: dict[str, datetime] = {}
        now = start
        while now < start + SMTP_DOWN:
            wave, offset = divmod(int((now - start).total_seconds()), 60)
            if offset == 0 and wave < WAVES:
                queued |= await queue_wave(outbox_sessions, f"wave{wave}", now)
            assert (await tick(outbox_sessions, smtp, policy, now, totals)).sent == 0
            now += TICK
        smtp.start()
        back = now
        while now < back + timedelta(hours=2):
            await tick(outbox_sessions, smtp, policy, now, totals)
            rows = await rows_of(outbox_sessions, queued)
            if all(row.status is not models.EmailStatus.PENDING for row in rows):
                break
            now += TICK
        received = collections.Counter(m.message_id for m in smtp.sink.mails)
    finally:
        smtp.stop()
    delays = sorted((row.sent_at - queued[row.message_id]) for row in rows if row.sent_at)
    attempts = collections.Counter(row.attempts for row in rows)
    report(
        request,
        f"SMTP down {SMTP_DOWN.total_seconds() / 60:.0f} min (simulated clock, {WORKERS}"
        f" workers): {len(queued)} mails queued in {WAVES} waves while down,"
        f" {sum(row.attempts - 1 for row in rows)} failed attempts, all sent once it was back"
        f" ({(now - back).total_seconds():.0f} s later), {totals.failed} given up; attempts per"
        f" mail {dict(sorted(attempts.items()))}; delay {delays[0].total_seconds():.0f} to"
        f" {delays[-1].total_seconds():.0f} s; of these and {len(before)} sent before the"
        f" outage {sum(n for mid, n in received.items() if mid in before.keys() | queued.keys())}"
        f" received, {len(received.keys() & (before.keys() | queued.keys()))} distinct Message-IDs",
    )
    assert totals.failed == 0
    assert len(rows) == len(queued)
    assert all(row.status is models.EmailStatus.SENT for row in rows)
    assert all(row.sent_at is not None and row.sent_at >= back for row in rows)
    ours = before.keys() | queued.keys()
    assert {mid: n for mid, n in received.items() if mid in ours} == dict.fromkeys(ours, 1)
    assert max(attempts) > 1, "no mail was retried"


# --- The process killed in the middle of a CSV import -----------------------------------------

IMPORT_ROWS = 40_000
IMPORT_DOMAIN = "import-kill.example"
CUSTOMER_PORTAL_DOMAIN = "musterstadt.portale.example"


def write_users_csv(path: Path, rows: int) -> None:
    lines = ["email,language,customer_number,permission_group"]
    lines += [f"kunde{n:06d}@{IMPORT_DOMAIN},{'en' if n % 3 else 'de'},," for n in range(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def import_command(csv: Path, url: str) -> list[str]:
    options = ["--portal", CUSTOMER_PORTAL_DOMAIN, "--database-url", url]
    return [sys.executable, "-m", "gql.cli", "users", "import", str(csv), *options]


async def writing_backend(engine: AsyncEngine, process: subprocess.Popen[bytes]) -> int:
    """The PostgreSQL backend of another client of this database that has begun to write
    (its transaction has an id), while `process` still runs."""
    statement = sa.text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the import finished before it could be killed")
        async with engine.connect() as connection:
            pid = await connection.scalar(statement)
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.005)
    pytest.fail("the import never started writing")


async def backend_gone(engine: AsyncEngine, pid: int) -> None:
    """Wait until PostgreSQL noticed the dead client and rolled its transaction back."""
    statement = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    await until_zero(lambda: scalar(engine, statement.bindparams(pid=pid)), 60, every=0.05)


async def imported_users(engine: AsyncEngine) -> tuple[int, int]:
    """(rows, distinct emails) of the import's users."""
    user = models.PortalUser
    ours = user.email.like(f"%@{IMPORT_DOMAIN}")
    rows = await scalar(engine, sa.select(sa.func.count()).where(ours))
    distinct = await scalar(engine, sa.select(sa.func.count(sa.distinct(user.email))).where(ours))
    return rows, distinct


async def run_to_the_end(command: list[str]) -> str:
    finished = await asyncio.to_thread(
        subprocess.run,
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout


async def test_an_import_killed_midway_writes_nothing_and_a_rerun_completes(
    faults_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """`portal users import` writes the whole file in one transaction: SIGKILL while it
    inserts leaves no row; running it again imports every row once, a third run changes
    nothing."""
    csv = tmp_path / "users.csv"
    write_users_csv(csv, IMPORT_ROWS)
    command = import_command(csv, faults_url)
    async with scalar_engine(faults_url) as engine:
        process = subprocess.Popen(  # noqa: ASYNC220 - polled below, never waited on blocking
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            backend = await writing_backend(engine, process)
            process.send_signal(signal.SIGKILL)
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await asyncio.to_thread(process.wait)
        await backend_gone(engine, backend)
        after_kill = await imported_users(engine)
        first = await run_to_the_end(command)
        after_rerun = await imported_users(engine)
        second = await run_to_the_end(command)
        after_third = await imported_users(engine)
    report(
        request,
        f"import of {IMPORT_ROWS} users killed (SIGKILL) while inserting: {after_kill[0]} rows"
        f" left; run again: {' '.join(first.split()[-6:])} -> {after_rerun[0]} rows;"
        f" third run: {' '.join(second.split()[-6:])}",
    )
    assert process.returncode == -signal.SIGKILL
    # The unit is the file: all of it or nothing (nothing, unless the commit slipped in
    # between noticing the writes and the kill).
    assert after_kill in ((0, 0), (IMPORT_ROWS, IMPORT_ROWS))
    assert f"{IMPORT_ROWS - after_kill[0]} created" in first
    assert after_rerun == (IMPORT_ROWS, IMPORT_ROWS)
    assert f"0 created, 0 updated, {IMPORT_ROWS} unchanged" in " ".join(second.split())
    assert after_third == (IMPORT_ROWS, IMPORT_ROWS)
