"""The outbox and its delivery: a real SMTP server on loopback (aiosmtpd), a real
PostgreSQL; outages, give-up, a crash between sending and marking, parallel workers,
rows that can not be sent (never holding up the rows behind them)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.session import create_engine
from gql import delivery
from gql.delivery import RetryPolicy
from gql.domain import mail
from gql.domain.errors import InvalidInput
from tests.conftest import MUSTERSTADT
from tests.factories import GREETING, enqueue
from tests.smtp import SmtpServer

POLICY = RetryPolicy(max_attempts=3, first_wait=timedelta(seconds=30))


@pytest.fixture
def now() -> datetime:
    """The worker's clock: rows are due from the database's now(), so a little later.
    Taken per test: a moment taken once at import falls behind the database's clock
    when the suite runs longer than the margin, and then nothing is due."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=5)


def head_of_queue(now: datetime) -> datetime:
    """Due before everything else: at the head of the queue."""
    return now - timedelta(hours=1)


async def row_of(session: AsyncSession, message_id: str) -> models.OutboundEmail:
    return await session.get_one(
        models.OutboundEmail,
        await session.scalar(
            sa.select(models.OutboundEmail.id).where(models.OutboundEmail.message_id == message_id)
        ),
        populate_existing=True,
    )


class WorkerKilled(BaseException):
    """Stands in for a worker process killed mid-mail (not an Exception: nothing in
    the worker handles it)."""


def queue_row(session: AsyncSession, *, at: datetime | None = None, **columns: str) -> str:
    """An outbox row written as is, bypassing every check of the code that enqueues,
    due at `at` (earlier = at the head of the queue)."""
    message_id = f"<{uuid.uuid4()}@musterstadt.example>"
    values = {
        "sender": "Stadtwerke <no-reply@musterstadt.example>",
        "recipient": "anna@example.org",
        "subject": "Hallo",
        "body_text": "Hallo",
        "body_html": "<p>Hallo</p>",
        **columns,
    }
    row = models.OutboundEmail(
        organization_id=MUSTERSTADT, kind="test", message_id=message_id, **values
    )
    if at is not None:
        row.next_attempt_at = at
    session.add(row)
    return message_id


# --- Rendering ----------------------------------------------------------------------------------


def test_html_escapes_values_and_text_keeps_them() -> None:
    rendered = mail.render(GREETING, {"name": "Anna <3", "link": "https://x.example/?a=1&b=2"})
    assert rendered.subject == "Hallo Anna <3"
    assert "Hallo Anna <3," in rendered.text
    assert "Anna &lt;3" in rendered.html
    assert 'href="https://x.example/?a=1&amp;b=2"' in rendered.html


def test_an_unknown_variable_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        mail.render(GREETING, {"name": "Anna"})
    assert refused.value.field == "text"
    assert "link" in refused.value.message


def test_the_sandbox_refuses_internals() -> None:
    template = mail.Template(subject="{{ ''.__class__.__mro__ }}", text="", html="")
    with pytest.raises(InvalidInput) as refused:
        mail.render(template, {})
    assert refused.value.field == "subject"


def test_backoff_doubles_up_to_an_hour() -> None:
    waits = [RetryPolicy().wait_after(n) for n in (1, 2, 3, 8, 20)]
    assert waits == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


# --- Delivery ---------------------------------------------------------------------------------


async def test_a_mail_leaves_as_text_and_html_with_its_message_id(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    message_id = enqueue(session)
    await session.commit()

    report = await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [received] = smtp.sink.mails
    assert received.message_id == message_id
    assert received.recipients == ["anna@example.org"]
    assert received.subject == "Hallo Anna <3"
    assert "https://p.example/a?b=1&c=2" in received.text
    assert "Anna &lt;3" in received.html
    row = await row_of(session, message_id)
    assert (row.status, row.attempts, row.sent_at) == (models.EmailStatus.SENT, 1, now)
    # Sent rows are not sent again.
    assert (await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)).sent == 0


async def test_a_rolled_back_change_sends_nothing(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    enqueue(session)
    await session.rollback()
    assert (await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)).sent == 0
    assert list(smtp.sink.mails) == []


async def test_an_smtp_outage_delays_but_loses_and_doubles_nothing(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    message_id = enqueue(session)
    await session.commit()
    smtp.stop()

    report = await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)
    assert (report.sent, report.retried) == (0, 1)
    row = await row_of(session, message_id)
    assert row.status is models.EmailStatus.PENDING
    assert row.next_attempt_at == now + timedelta(seconds=30)
    assert row.last_error
    # Not due yet: nothing is tried.
    early = await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)
    assert (early.sent, early.retried) == (0, 0)

    smtp.start()
    later = now + timedelta(seconds=31)
    assert (await delivery.deliver_due(sessions, smtp.transport, POLICY, now=later)).sent == 1
    assert [m.message_id for m in smtp.sink.mails] == [message_id]
    assert (await row_of(session, message_id)).attempts == 2


async def test_it_gives_up_after_the_last_attempt(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    message_id = enqueue(session)
    await session.commit()
    smtp.stop()
    moment = now
    for _ in range(POLICY.max_attempts):
        await delivery.deliver_due(sessions, smtp.transport, POLICY, now=moment)
        moment += timedelta(hours=2)
    row = await row_of(session, message_id)
    assert (row.status, row.attempts) == (models.EmailStatus.FAILED, POLICY.max_attempts)
    assert (await delivery.deliver_due(sessions, smtp.transport, POLICY, now=moment)).failed == 0


async def test_a_crash_after_sending_repeats_that_mail_once_with_the_same_id(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    """The documented guarantee: at least once. The worker dies after the SMTP server
    took the mail and before its transaction commits; the row is still pending."""
    message_id = enqueue(session)
    await session.commit()

    async def send_then_die(message: EmailMessage) -> object:
        await smtp.transport(message)
        raise WorkerKilled  # a killed worker runs none of its except clauses

    with pytest.raises(WorkerKilled):
        await delivery.deliver_due(sessions, send_then_die, POLICY, now=now)
    assert (await row_of(session, message_id)).status is models.EmailStatus.PENDING

    assert (await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)).sent == 1
    assert [m.message_id for m in smtp.sink.mails] == [message_id, message_id]
    assert (await row_of(session, message_id)).status is models.EmailStatus.SENT


@pytest.fixture
async def committed_sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on their own connections with real commits (rows of kind 'parallel' are
    removed afterwards), for workers that must not see each other's locked rows."""
    engine = create_engine(database_url, pool_size=4)
    makers = async_sessionmaker(engine, expire_on_commit=False)
    try:
        yield makers
    finally:
        async with makers() as db, db.begin():
            await db.execute(
                sa.delete(models.OutboundEmail).where(models.OutboundEmail.kind == "parallel")
            )
        await engine.dispose()


async def test_parallel_workers_never_send_a_row_twice(
    smtp: SmtpServer, committed_sessions: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    async with committed_sessions() as db, db.begin():
        ids = {enqueue(db, to=f"kunde{n}@example.org", kind="parallel") for n in range(30)}

    async def slow(message: EmailMessage) -> object:
        await asyncio.sleep(0.01)  # keep the row locked while the other workers claim
        return await smtp.transport(message)

    reports = await asyncio.gather(
        *(
            delivery.deliver_due(committed_sessions, slow, POLICY, now=now + timedelta(days=1))
            for _ in range(3)
        )
    )

    received = [m.message_id for m in smtp.sink.mails if m.message_id in ids]
    assert sorted(received) == sorted(ids)
    assert sum(r.sent for r in reports) == 30
    assert sum(1 for r in reports if r.sent) >= 2, "the workers did not run side by side"


# --- One row never holds up the others -----------------------------------------------------

# Recipients no outbox row may be sent to: not exactly one mailbox. Each would stop the
# worker (the email library raises) or, worse, mail two people.
NOT_ONE_MAILBOX = [
    "@sum@x.de",
    "anna@example.org,bernd@example.org",
    "anna@example.org, bernd@example.org",
    "freunde: anna@example.org, bernd@example.org;",
    "anna@example.org\r\nBcc: bernd@example.org",
    '"anna,bernd"@example.org',
    "Anna <anna@example.org>, bernd@example.org",
    "anna",
    "",
]


async def test_a_recipient_that_is_not_one_mailbox_fails_alone_and_the_queue_goes_on(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    bad = [
        queue_row(session, at=head_of_queue(now), recipient=address) for address in NOT_ONE_MAILBOX
    ]
    good = [enqueue(session, to=f"kunde{n}@example.org") for n in range(3)]
    await session.commit()

    report = await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)

    assert (report.sent, report.retried, report.failed) == (len(good), 0, len(bad))
    assert sorted(m.message_id for m in smtp.sink.mails) == sorted(good)
    assert sorted(m.recipients for m in smtp.sink.mails) == [
        [f"kunde{n}@example.org"] for n in range(3)
    ]
    for message_id, address in zip(bad, NOT_ONE_MAILBOX, strict=True):
        row = await row_of(session, message_id)
        assert (row.status, row.attempts) == (models.EmailStatus.FAILED, 1), address
        assert "UnsendableMail" in (row.last_error or ""), address


async def test_a_row_whose_message_does_not_build_fails_alone(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    """Broken content written to the outbox (a line break in a header, a malformed
    Message-ID): the email library raises while building, for this row only."""
    broken = [
        queue_row(session, at=head_of_queue(now), subject="Hallo\nBcc: bernd@example.org"),
        queue_row(session, at=head_of_queue(now), subject="Hallo\rBcc: bernd@example.org"),
    ]
    malformed_id = "<<x>"
    broken_id = queue_row(session, at=head_of_queue(now))
    await session.execute(
        sa.update(models.OutboundEmail)
        .where(models.OutboundEmail.message_id == broken_id)
        .values(message_id=malformed_id)
    )
    good = enqueue(session)
    await session.commit()

    report = await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)

    assert (report.sent, report.failed) == (1, 3)
    assert [m.message_id for m in smtp.sink.mails] == [good]
    for message_id in [*broken, malformed_id]:
        row = await row_of(session, message_id)
        assert (row.status, row.attempts) == (models.EmailStatus.FAILED, 1)
        assert row.last_error


async def test_a_recipient_the_server_refuses_for_good_fails_at_once_and_a_busy_one_waits(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    smtp.refuse("weg@example.org")  # 550
    smtp.refuse("voll@example.org", "452 4.2.2 Mailbox full")
    gone = queue_row(session, at=head_of_queue(now), recipient="weg@example.org")
    full = queue_row(session, at=head_of_queue(now), recipient="voll@example.org")
    good = [enqueue(session, to=f"kunde{n}@example.org") for n in range(2)]
    await session.commit()

    report = await delivery.deliver_due(sessions, smtp.transport, POLICY, now=now)

    assert (report.sent, report.retried, report.failed) == (2, 1, 1)
    assert sorted(m.message_id for m in smtp.sink.mails) == sorted(good)
    refused = await row_of(session, gone)
    assert (refused.status, refused.attempts) == (models.EmailStatus.FAILED, 1)
    assert "550" in (refused.last_error or "")
    waiting = await row_of(session, full)
    assert (waiting.status, waiting.attempts) == (models.EmailStatus.PENDING, 1)
    assert waiting.next_attempt_at == now + POLICY.first_wait
    assert "452" in (waiting.last_error or "")


async def test_any_other_error_of_one_mail_is_retried_and_the_queue_goes_on(
    smtp: SmtpServer,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    now: datetime,
) -> None:
    """An error nobody foresaw (here the transport raises a RuntimeError for one
    recipient) is counted against that row by the RetryPolicy, up to FAILED."""
    unlucky = enqueue(session, to="pech@example.org")
    await session.execute(
        sa.update(models.OutboundEmail)
        .where(models.OutboundEmail.message_id == unlucky)
        .values(next_attempt_at=head_of_queue(now))
    )
    good = enqueue(session)
    await session.commit()

    async def send(message: EmailMessage) -> object:
        if message["To"] == "pech@example.org":
            raise RuntimeError("unforeseen")
        return await smtp.transport(message)

    moment = now
    for attempt in range(1, POLICY.max_attempts + 1):
        report = await delivery.deliver_due(sessions, send, POLICY, now=moment)
        row = await row_of(session, unlucky)
        assert row.attempts == attempt
        assert row.last_error == "RuntimeError: unforeseen"
        moment += timedelta(hours=2)
        if attempt == 1:
            assert (report.sent, report.retried) == (1, 1)
    assert row.status is models.EmailStatus.FAILED
    assert [m.message_id for m in smtp.sink.mails] == [good]


@pytest.mark.parametrize("address", NOT_ONE_MAILBOX)
def test_a_message_is_never_built_for_more_or_less_than_one_mailbox(address: str) -> None:
    row = models.OutboundEmail(
        message_id="<1@x.example>",
        sender="a@x.example",
        recipient=address,
        subject="s",
        body_text="t",
        body_html="h",
    )
    with pytest.raises(delivery.UnsendableMail):
        delivery.build_message(row)
