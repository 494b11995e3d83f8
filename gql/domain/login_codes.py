"""One-time codes that log a portal user in instead of the password (passwordless login,
when the portal's `passwordless_login` setting is on).

Six digits, mailed on request (`registration.request_login_code`, answered by the mail
worker so that the answer does not tell whether the address has an account), single
use, valid for `EMAIL_CODE_TTL_SECONDS` (10 minutes), a new one replaces the older.
Stored as SHA-256 over the row's id and the code, so equal codes of different people
never collide. Every wrong code counts against the login lockout like a wrong password
(`authentication.login_with_code`); besides, a code dies after `MAX_ATTEMPTS` wrong
tries, whatever addresses they came from.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import PortalSettings
from gql.domain import email_codes
from gql.domain.errors import RuleViolation

PURPOSE = "login_code"
MAX_ATTEMPTS = 5


def offered(settings: PortalSettings) -> bool:
    """The one reading of the setting: whether the portal offers logins by code
    (requesting one, logging in with one, and what its login page shows)."""
    return settings.passwordless_login


def check_offered(portal: models.Portal) -> None:
    """Raises:
    RuleViolation: the portal does not offer logins by code."""
    if not offered(portal.live_settings):
        raise RuleViolation("passwordless_login_off", field="portalId")


def code_hash(row_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{row_id}:{code.strip()}".encode()).hexdigest()


async def issue(db: AsyncSession, user: models.PortalUser, ttl: timedelta, now: datetime) -> str:
    """A new code for the user; codes sent before stop working."""
    code = models.OneTimeCode
    await db.execute(
        sa.update(code)
        .where(code.purpose == PURPOSE, code.portal_user_id == user.id, code.used_at.is_(None))
        .values(used_at=now)
    )
    value = email_codes.new_code()
    row_id = uuid.uuid4()
    db.add(
        code(
            id=row_id,
            organization_id=user.organization_id,
            purpose=PURPOSE,
            portal_user_id=user.id,
            code_hash=code_hash(row_id, value),
            expires_at=now + ttl,
            created_at=now,
        )
    )
    return value


async def redeem(db: AsyncSession, user_id: uuid.UUID, value: str, now: datetime) -> bool:
    """Use up the portal user's valid code if `value` is it; a wrong value counts as an
    attempt on the code (the lockout counts it besides)."""
    code = models.OneTimeCode
    row = await db.scalar(
        sa.select(code)
        .where(
            code.purpose == PURPOSE,
            code.portal_user_id == user_id,
            code.used_at.is_(None),
            code.expires_at > now,
            code.attempts < MAX_ATTEMPTS,
        )
        .order_by(code.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None:
        return False
    if not hmac.compare_digest(row.code_hash, code_hash(row.id, value)):
        row.attempts += 1
        return False
    row.used_at = now
    return True
