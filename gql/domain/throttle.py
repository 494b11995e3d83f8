"""Brute-force detection for logins and second factors, per account and per address.

Like Keycloak's temporary lockout: after `max_failures` failures in a row a key is
locked for `wait` x (failures beyond the limit + 1), capped at `max_wait`; a failure
older than `reset` starts the count afresh. Failures during a lockout are not even
checked (the password is not verified), so they neither count nor reveal anything.
A success clears the account's counter, never the address's: an attacker must not
reset the address counter by logging in to an account of their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.settings import Settings


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    wait: timedelta = timedelta(minutes=1)
    max_wait: timedelta = timedelta(minutes=15)
    reset: timedelta = timedelta(hours=12)
    max_address_failures: int = 20

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(
            max_failures=settings.max_login_failures,
            wait=timedelta(seconds=settings.lockout_wait_seconds),
            max_wait=timedelta(seconds=settings.lockout_max_wait_seconds),
            reset=timedelta(seconds=settings.failure_reset_seconds),
            max_address_failures=settings.max_address_failures,
        )

    def lock_duration(self, failures: int, limit: int) -> timedelta | None:
        if failures < limit:
            return None
        return min(self.wait * (failures - limit + 1), self.max_wait)


def account_key(email: str, portal_id: uuid.UUID | None) -> str:
    """Counters are kept for emails whether or not an account exists, so a lockout
    answer can not tell which emails are registered."""
    return f"account:{portal_id or 'staff'}:{email}"


def address_key(ip_address: str | None) -> str | None:
    return f"address:{ip_address}" if ip_address else None


async def locked(db: AsyncSession, keys: list[str], now: datetime) -> bool:
    throttle = models.LoginThrottle
    found = await db.scalar(
        sa.select(sa.func.count()).where(throttle.key.in_(keys), throttle.locked_until > now)
    )
    return bool(found)


async def record_failure(
    db: AsyncSession, key: str, limit: int, policy: LockoutPolicy, now: datetime
) -> int:
    """Count one failure of `key` (atomically, also under concurrent requests) and lock
    it once it reaches `limit`. Returns the failures in a row."""
    throttle = models.LoginThrottle
    fresh = throttle.last_failure_at < now - policy.reset
    statement = (
        insert(throttle)
        .values(key=key, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=[throttle.key],
            set_={
                "failures": sa.case((fresh, 1), else_=throttle.failures + 1),
                "last_failure_at": now,
            },
        )
        .returning(throttle.failures)
    )
    failures = int((await db.execute(statement)).scalar_one())
    duration = policy.lock_duration(failures, limit)
    if duration is not None:
        await db.execute(
            sa.update(throttle).where(throttle.key == key).values(locked_until=now + duration)
        )
    return failures


async def record_success(db: AsyncSession, key: str) -> None:
    await db.execute(sa.delete(models.LoginThrottle).where(models.LoginThrottle.key == key))
