"""A one-time code by email as the second factor of portal users without an
authenticator app: over HTTP, delivered by a real SMTP server on loopback."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.portal_settings import TwoFactorPolicy
from gql import delivery
from gql.delivery import RetryPolicy
from gql.domain import email_codes
from tests.conftest import ACTORS
from tests.http_helpers import login, portal_gid, post
from tests.smtp import SmtpServer

SEND = """
mutation($t: Line!) { sendLoginCode(input: {mfaToken: $t}) {
  __typename
  ... on LoginCodeSent { email expiresIn }
  ... on TwoFactorError { code message }
} }
"""
VERIFY = """
mutation($t: Line!, $c: Line!) { verifyTwoFactor(input: {mfaToken: $t, code: $c}) {
  __typename
  ... on LoggedIn { accessToken role }
  ... on LoginError { code }
} }
"""
PORTAL = "musterstadt-kunden"


@pytest.fixture
async def required(session: AsyncSession) -> None:
    """The customer portal requires a second factor; nobody has TOTP."""
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"two_factor": TwoFactorPolicy.REQUIRED}
    )
    await session.commit()


async def pending(client: httpx.AsyncClient, email: str, password: str) -> str:
    first = await login(client, email, password, portal_gid(PORTAL))
    assert first["__typename"] == "SecondFactorRequired", first
    assert first["enrollmentRequired"] is True
    return str(first["mfaToken"])


async def mutate(client: httpx.AsyncClient, query: str, **variables: Any) -> Any:
    body = (await post(client, query, **variables)).json()
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def received_code(
    smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession], to: str
) -> tuple[str, str]:
    await delivery.deliver_due(sessions, smtp.transport, RetryPolicy())
    mail = [m for m in smtp.sink.mails if m.recipients == [to]][-1]
    match = re.search(r"\b(\d{6})\b", mail.text)
    assert match, mail.text
    assert match.group(1) in mail.html
    return match.group(1), mail.subject


async def test_a_customer_logs_in_with_a_code_from_the_email(
    client: httpx.AsyncClient,
    required: None,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(PORTAL))
    methods = (
        "{ login(input: {email: $e, password: $p, portalId: $i})"
        " { ... on SecondFactorRequired { methods } } }"
    )
    body = await post(
        client,
        "mutation($e: EmailAddress!, $p: Line!, $i: ID) " + methods,
        e="anna.becker@example.org",
        p="Demo-Kunde-1",
        i=portal_gid(PORTAL),
    )
    assert body.json()["data"]["login"]["methods"] == ["ENROLL_TOTP", "EMAIL_CODE"]
    mfa = first["mfaToken"]

    sent = await mutate(client, SEND, t=mfa)
    assert sent == {"__typename": "LoginCodeSent", "email": "a***@example.org", "expiresIn": 600}
    code, subject = await received_code(smtp, sessions, "anna.becker@example.org")
    assert code in subject
    assert subject.startswith("Ihr Anmeldecode")

    wrong = "000000" if code != "000000" else "111111"
    assert (await mutate(client, VERIFY, t=mfa, c=wrong))["code"] == "INVALID_CODE"
    done = await mutate(client, VERIFY, t=mfa, c=code)
    assert (done["__typename"], done["role"]) == ("LoggedIn", "CUSTOMER")
    # Used up, with its login.
    assert (await mutate(client, VERIFY, t=mfa, c=code))["code"] == "INVALID_CODE"


async def test_codes_are_rate_limited_and_a_new_one_replaces_the_old(
    client: httpx.AsyncClient,
    required: None,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    mfa = await pending(client, "anna.becker@example.org", "Demo-Kunde-1")
    await mutate(client, SEND, t=mfa)
    await received_code(smtp, sessions, "anna.becker@example.org")
    too_soon = await mutate(client, SEND, t=mfa)
    assert too_soon["code"] == "RULE_VIOLATED"

    async def age_codes(by: timedelta) -> None:
        code = models.OneTimeCode
        await session.execute(
            sa.update(code)
            .where(code.purpose == email_codes.PURPOSE)
            .values(created_at=code.created_at - by)
        )
        await session.commit()

    await age_codes(timedelta(minutes=2))
    assert (await mutate(client, SEND, t=mfa))["__typename"] == "LoginCodeSent"
    new, _ = await received_code(smtp, sessions, "anna.becker@example.org")
    # The earlier code is used up by the new one (compared in the database: two random
    # six-digit codes are equal once in a million).
    live = await session.scalar(
        sa.select(sa.func.count()).where(
            models.OneTimeCode.purpose == email_codes.PURPOSE,
            models.OneTimeCode.used_at.is_(None),
        )
    )
    assert live == 1
    assert (await mutate(client, VERIFY, t=mfa, c=new))["__typename"] == "LoggedIn"

    # At most five an hour.
    mfa = await pending(client, "anna.becker@example.org", "Demo-Kunde-1")
    for _ in range(3):
        await age_codes(timedelta(minutes=2))
        assert (await mutate(client, SEND, t=mfa))["__typename"] == "LoginCodeSent"
    await age_codes(timedelta(minutes=2))
    assert (await mutate(client, SEND, t=mfa))["code"] == "RULE_VIOLATED"


async def test_an_expired_code_and_another_persons_code_do_not_work(
    client: httpx.AsyncClient,
    required: None,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    anna = await pending(client, "anna.becker@example.org", "Demo-Kunde-1")
    jonas = await pending(client, "jonas.wolf@example.org", "Demo-Kunde-2")
    await mutate(client, SEND, t=anna)
    code, _ = await received_code(smtp, sessions, "anna.becker@example.org")
    assert (await mutate(client, VERIFY, t=jonas, c=code))["code"] == "INVALID_CODE"

    await session.execute(
        sa.update(models.OneTimeCode)
        .where(models.OneTimeCode.purpose == email_codes.PURPOSE)
        .values(expires_at=sa.func.now() - timedelta(seconds=1))
    )
    await session.commit()
    assert (await mutate(client, VERIFY, t=anna, c=code))["code"] == "INVALID_CODE"


async def test_who_can_not_use_email_codes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    unknown = await mutate(client, SEND, t="no-such-token")
    assert unknown["code"] == "INVALID_SESSION"

    organization = await session.get_one(models.Organization, ACTORS["admin"].organization_id)
    organization.require_staff_two_factor = True
    await session.commit()
    staff = await login(client, "admin@musterstadt.example", "Demo-Admin-1")
    assert staff["__typename"] == "SecondFactorRequired"
    assert (await mutate(client, SEND, t=staff["mfaToken"]))["code"] == "TOTP_ONLY"


def test_codes_are_six_digits_and_bound_to_their_login() -> None:
    codes = {email_codes.new_code() for _ in range(200)}
    assert all(re.fullmatch(r"\d{6}", code) for code in codes)
    assert len(codes) > 150
    first, second = models.OneTimeCode(id=uuid.uuid4()), models.OneTimeCode(id=uuid.uuid4())
    assert email_codes.code_hash(first, "123456") != email_codes.code_hash(second, "123456")
    assert email_codes.mask_email("anna.becker@example.org") == "a***@example.org"


async def test_the_code_mail_is_the_portals_login_code_template(
    client: httpx.AsyncClient,
    required: None,
    session: AsyncSession,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Staff edit the text of the second factor's code like every other portal mail
    (the LOGIN_CODE template, shared with passwordless login)."""
    template = models.EmailTemplate
    await session.execute(
        sa.update(template)
        .where(
            template.portal_id == ACTORS["customer"].portal_id,
            template.kind == models.EmailTemplateKind.LOGIN_CODE,
            template.language == "de",
        )
        .values(
            subject="Code {{ login_code }} der Stadtwerke",
            body_text="Ihr Code: {{ login_code }} ({{ minutes }} Minuten)",
            body_html="<p>{{ login_code }}</p>",
        )
    )
    await session.commit()
    mfa = await pending(client, "anna.becker@example.org", "Demo-Kunde-1")
    await mutate(client, SEND, t=mfa)
    code, subject = await received_code(smtp, sessions, "anna.becker@example.org")
    assert subject == f"Code {code} der Stadtwerke"
    outbox = models.OutboundEmail
    kinds = await session.scalars(
        sa.select(outbox.kind).where(outbox.recipient == "anna.becker@example.org")
    )
    assert email_codes.PURPOSE in kinds.all()
