"""Fixed-window rate limits for actions that send mail or create accounts (register,
resend activation, password reset), per email and per client address; and the flood
guard of failed credential checks per client address (gql/domain/throttle.py).

One atomic upsert per check: a new window starts when the old one has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models


async def hit(db: AsyncSession, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Count one occurrence; True while the key is within its limit."""
    counter = models.RateCounter
    expired = counter.window_start <= now - window
    statement = (
        insert(counter)
        .values(key=key, window_start=now, count=1)
        .on_conflict_do_update(
            index_elements=[counter.key],
            set_={
                "window_start": sa.case((expired, now), else_=counter.window_start),
                "count": sa.case((expired, 1), else_=counter.count + 1),
            },
        )
        .returning(counter.count)
    )
    count = (await db.execute(statement)).scalar_one()
    return int(count) <= limit


async def reached(db: AsyncSession, key: str, limit: int, window: timedelta, now: datetime) -> bool:
    """Whether the key has used up its limit in the current window (nothing counted)."""
    counter = models.RateCounter
    count = await db.scalar(
        sa.select(counter.count).where(counter.key == key, counter.window_start > now - window)
    )
    return count is not None and count >= limit
