"""No password, token or link secret ever reaches a log line: a login, a failed login
and a whole password reset, with the mail delivered, captured at INFO level from both
structlog and the standard library's logging."""

from __future__ import annotations

import logging

import httpx
import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.account_helpers import PASSWORD, PORTAL, REQUEST_RESET, RESET, mails, token_of
from tests.http_helpers import call, login
from tests.smtp import SmtpServer


async def test_login_and_password_reset_log_no_secrets(
    client: httpx.AsyncClient,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with structlog.testing.capture_logs() as events:
        session = await login(client, "anna.becker@example.org", "Demo-Kunde-1", PORTAL)
        refused = await login(client, "anna.becker@example.org", "Falsch-Passwort-9", PORTAL)
        await call(client, REQUEST_RESET, portalId=PORTAL, email="anna.becker@example.org")
        [mail] = await mails(smtp, sessions)
        link = token_of(mail, "reset-password")
        await call(client, RESET, portalId=PORTAL, token=link, password=PASSWORD)
    assert refused["code"] == "INVALID_CREDENTIALS"
    # The test's SMTP server stands for the recipient's mailbox: it may read the mail.
    logged = [event for event in events if event["event"] != "dev_mail.received"]
    assert any(event["event"] == "mail.sent" for event in logged)  # logs were captured
    text = "\n".join(map(str, logged)) + caplog.text
    secrets = {
        "password": "Demo-Kunde-1",
        "wrong password": "Falsch-Passwort-9",
        "new password": PASSWORD,
        "reset token": link,
        "access token": session["accessToken"],
        "refresh token": session["refreshToken"],
    }
    assert [name for name, secret in secrets.items() if secret in text] == []
