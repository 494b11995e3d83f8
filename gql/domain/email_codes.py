"""One-time login codes by email: the second factor for portal users without an
authenticator app (what epilot's portals offer). Six digits, single use, valid for 10
minutes, bound to one pending login; at most one per minute and five per hour.

A code's hash includes the pending login's id, so equal codes of different people
never collide and a code is worthless outside the login it was sent for.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain.errors import RuleViolation

PURPOSE = "email_code"
MIN_INTERVAL = timedelta(minutes=1)
MAX_PER_HOUR = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def code_hash(pending: models.OneTimeCode, code: str) -> str:
    return hashlib.sha256(f"{pending.id}:{code.strip()}".encode()).hexdigest()


def mask_email(email: str) -> str:
    """a***@example.org: enough to recognise the address, not to learn it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


async def check_rate(db: AsyncSession, pending: models.OneTimeCode, now: datetime) -> None:
    """Refuse a new code within a minute of the last one, or beyond five an hour."""
    code = models.OneTimeCode
    sent = (
        await db.scalars(
            sa.select(code.created_at).where(
                code.purpose == PURPOSE,
                code.portal_user_id == pending.portal_user_id,
                code.created_at > now - timedelta(hours=1),
            )
        )
    ).all()
    if sent and max(sent) > now - MIN_INTERVAL:
        raise RuleViolation("email_code_just_sent")
    if len(sent) >= MAX_PER_HOUR:
        raise RuleViolation("email_codes_too_many")


async def issue(
    db: AsyncSession, pending: models.OneTimeCode, ttl: timedelta, now: datetime
) -> str:
    """A new code for the pending login (older ones of it stop working); the login
    stays open as long as the code is valid."""
    code = models.OneTimeCode
    await db.execute(
        sa.update(code)
        .where(
            code.purpose == PURPOSE,
            code.portal_user_id == pending.portal_user_id,
            code.used_at.is_(None),
        )
        .values(used_at=now)
    )
    value = new_code()
    db.add(
        code(
            organization_id=pending.organization_id,
            purpose=PURPOSE,
            portal_user_id=pending.portal_user_id,
            code_hash=code_hash(pending, value),
            expires_at=now + ttl,
            created_at=now,
        )
    )
    pending.expires_at = max(pending.expires_at, now + ttl)
    return value


async def redeem(db: AsyncSession, pending: models.OneTimeCode, value: str, now: datetime) -> bool:
    """Use up the code if it is the valid one of this pending login."""
    code = models.OneTimeCode
    digest = code_hash(pending, value)
    row = await db.scalar(
        sa.select(code)
        .where(
            code.purpose == PURPOSE,
            code.portal_user_id == pending.portal_user_id,
            code.used_at.is_(None),
            code.expires_at > now,
        )
        .order_by(code.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None or not hmac.compare_digest(row.code_hash, digest):
        return False
    row.used_at = now
    return True
