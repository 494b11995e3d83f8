"""Delivering the email outbox over SMTP (aiosmtplib).

Each mail is claimed, sent and marked in one transaction that holds its row lock
(`FOR UPDATE SKIP LOCKED`), so any number of workers run in parallel without sending a
row twice. The guarantee is at-least-once: if a worker dies after the SMTP server
accepted a mail but before its transaction commits, the row is still pending and is
sent once more, with the same Message-ID, so receivers can drop the repeat. A mail the
server refuses or can not take (outage, timeout) is retried with exponential backoff
and marked FAILED after `mail_max_attempts` attempts; nothing is ever deleted.

One row never holds up the others: whatever goes wrong while its message is built or
sent is written to that row (an attempt counted, the error kept) and the worker goes
on with the next. What can never succeed is FAILED at once: a row whose message does
not build (its recipient is not exactly one valid mailbox, a header is malformed) and
a recipient the server refuses for good (5xx).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
import email_validator
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gql import metrics
from gql.settings import Settings

log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(hours=1)

Send = Callable[[EmailMessage], Awaitable[object]]
# Work that writes mails to the outbox before a delivery round (answering queued
# account requests); returns how many it did.
Prepare = Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class SmtpTransport:
    """Hands one message to the configured SMTP server."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    async def __call__(self, message: EmailMessage) -> object:
        return await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            timeout=self.timeout,
        )


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_wait: timedelta = timedelta(seconds=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.mail_max_attempts, timedelta(seconds=settings.mail_retry_seconds))

    def wait_after(self, attempts: int) -> timedelta:
        """Wait after the `attempts`-th failed attempt: doubling, at most an hour."""
        wait: timedelta = self.first_wait * 2 ** (attempts - 1)
        return min(wait, MAX_BACKOFF)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class UnsendableMail(Exception):
    """A row whose message can not be built as it is; trying again would not help."""


def recipient_of(row: models.OutboundEmail) -> str:
    """The row's one recipient, normalised: exactly one mailbox, never a list, a group or
    a display name, whatever was written to the outbox (`a@x.de,b@y.de` would mail two
    people).

    Raises:
        UnsendableMail: the recipient is not exactly one valid address.
    """
    try:
        checked = email_validator.validate_email(row.recipient, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        raise UnsendableMail(f"Recipient {row.recipient!r}: {error}") from error
    return str(checked.normalized)


def build_message(row: models.OutboundEmail) -> EmailMessage:
    """The MIME message of a row: text and HTML alternatives, its stable Message-ID,
    addressed to exactly one mailbox.

    Raises:
        UnsendableMail: the row's content does not make a message.
    """
    recipient = recipient_of(row)
    message = EmailMessage()
    try:
        message["From"] = row.sender
        message["To"] = recipient
        message["Subject"] = row.subject
        message["Message-ID"] = row.message_id
        message["Date"] = format_datetime(row.created_at or datetime.now(UTC))
        message.set_content(row.body_text)
        message.add_alternative(row.body_html, subtype="html")
        # aiosmtplib takes the envelope's recipients from the headers: one, checked.
        addresses = [address.addr_spec for address in message["To"].addresses]
    except (ValueError, TypeError, LookupError) as error:  # e.g. a line break in a header
        raise UnsendableMail(f"{type(error).__name__}: {error}") from error
    if len(addresses) != 1:
        raise UnsendableMail(f"Recipient {row.recipient!r} is {len(addresses)} addresses")
    return message


def is_permanent(error: Exception) -> bool:
    """Whether retrying can not help: the row does not make a message, or the server
    refused its recipient for good. Anything else (an outage, a 4xx, a server that
    refuses everyone, e.g. a wrong password) is retried, so it does not cost every mail
    queued meanwhile."""
    if isinstance(error, UnsendableMail):
        return True
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(r.code >= 500 for r in error.recipients)
    return isinstance(error, aiosmtplib.SMTPRecipientRefused) and error.code >= 500


def _record_failure(
    row: models.OutboundEmail,
    error: Exception,
    policy: RetryPolicy,
    now: datetime,
    report: DeliveryReport,
) -> None:
    # No NUL: PostgreSQL text can not hold it, and marking the row must not fail.
    row.last_error = f"{type(error).__name__}: {error}".replace("\x00", "")[:500]
    if is_permanent(error) or row.attempts >= policy.max_attempts:
        row.status = models.EmailStatus.FAILED
        report.failed += 1
        metrics.MAILS.labels("failed").inc()
        log.error("mail.failed", message_id=row.message_id, kind=row.kind, error=row.last_error)
    else:
        row.next_attempt_at = now + policy.wait_after(row.attempts)
        report.retried += 1
        metrics.MAILS.labels("retried").inc()
        log.warning("mail.retry", message_id=row.message_id, attempts=row.attempts)


async def _claim(db: AsyncSession, now: datetime) -> models.OutboundEmail | None:
    outbox = models.OutboundEmail
    return await db.scalar(
        sa.select(outbox)
        .where(outbox.status == models.EmailStatus.PENDING, outbox.next_attempt_at <= now)
        .order_by(outbox.next_attempt_at, outbox.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def deliver_one(
    sessions: async_sessionmaker[AsyncSession],
    send: Send,
    policy: RetryPolicy,
    now: datetime,
    report: DeliveryReport,
) -> bool:
    """Claim, send and mark one due mail; False when none is due (or all are claimed).

    Any error of this one mail (Exception, not a cancelled or killed worker) is written
    to its row and counted, never raised: the rows behind it must go out.
    """
    async with sessions() as db, db.begin():
        row = await _claim(db, now)
        if row is None:
            return False
        row.attempts += 1
        try:
            await send(build_message(row))
        except Exception as error:  # whatever it is, it is this row's
            _record_failure(row, error, policy, now, report)
            return True
        row.status = models.EmailStatus.SENT
        row.sent_at = now
        row.last_error = None
        report.sent += 1
        metrics.MAILS.labels("sent").inc()
        log.info("mail.sent", message_id=row.message_id, kind=row.kind)
        return True


async def deliver_due(
    sessions: async_sessionmaker[AsyncSession],
    send: Send,
    policy: RetryPolicy,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> DeliveryReport:
    """Deliver up to `limit` due mails, one transaction each."""
    report = DeliveryReport()
    for _ in range(limit):
        moment = now or datetime.now(UTC)
        if not await deliver_one(sessions, send, policy, moment, report):
            break
    return report


async def run_worker(
    sessions: async_sessionmaker[AsyncSession],
    send: Send,
    policy: RetryPolicy,
    stop: asyncio.Event,
    *,
    poll_seconds: float = 2.0,
    prepare: Prepare | None = None,
) -> None:
    """Deliver until `stop` is set, each round after `prepare`; a database error is
    logged and the loop goes on."""
    while not stop.is_set():
        prepared = 0
        try:
            prepared = await prepare() if prepare else 0
            report = await deliver_due(sessions, send, policy)
        except Exception:  # the worker must survive a database restart
            log.exception("mail.worker_error")
            report = DeliveryReport()
        if prepared or report.sent or report.retried or report.failed:
            continue  # more may be due right away
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
