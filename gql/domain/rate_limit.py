"""Fixed-window rate limits for actions that send mail or create accounts (register,
resend activation, password reset), per email and per client address; and the flood
guard of failed credential checks per client address (gql/domain/throttle.py).

One atomic upsert per check: a new window starts when the old one has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

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


def reached_clause(key: str, limit: int, window: timedelta, now: datetime) -> Any:
    """Whether the key has used up its limit in the current window (nothing counted),
    as a boolean SQL expression for a statement that asks more (throttle)."""
    counter = models.RateCounter
    return sa.exists().where(
        counter.key == key, counter.window_start > now - window, counter.count >= limit
    )
