"""The session check of a portal user's mutation in the statement that locks the row the
mutation changes: one round trip less.

The view (gql/http/view.py) may leave the check of a known session
(gql.auth.backend.KnownSessions: the grants it had last time are assumed) to the first
row a mutation locks (`scope.locked_visible`), for mutations that read nothing before
that lock. That statement returns the session's row (`sessions.PORTAL_USER_SESSION`)
and the row locked behind it: nothing is locked when the session has ended, and the
mutation goes on only when the check says the grants the request assumed. Otherwise
the mutation is abandoned (`CheckSaidOtherwise`, its transaction rolled back) and the
view answers 401, or runs the mutation again for the grants the check said. When no
row was locked (the check did not ride), the view checks the session alone and runs
the mutation again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.actor import Actor
from gql.domain import sessions

_KEY = "riding_session_check"


class Outcome(enum.Enum):
    PENDING = "pending"  # no row was locked: the check did not run
    SAME = "same"  # valid, the grants assumed
    CHANGED = "changed"  # valid, other grants: the mutation is to run again
    ENDED = "ended"  # the session has ended: nothing was locked


class CheckSaidOtherwise(Exception):
    """The riding check found the session ended or its grants changed: the mutation's
    work is abandoned (rolled back), the view answers instead."""


@dataclass
class RidingCheck:
    """A pending session check for the actor `assumed`, at `now`; `confirm` is told the
    check's row (the session's columns), completes the actor from it (the view keeps
    the actor a known session's row completes to: gql.auth.backend.KnownSessions) and
    answers whether its grants are the assumed ones."""

    assumed: Actor
    now: datetime
    confirm: Callable[[Sequence[Any]], bool]
    outcome: Outcome = Outcome.PENDING

    def parameters(self) -> dict[str, Any]:
        return sessions.session_parameters(self.assumed, self.now)

    def settle(self, session_row: Sequence[Any] | None) -> None:
        """The check's answer (the session's row, None when it has ended).

        Raises:
            CheckSaidOtherwise: the session has ended, or has other grants now.
        """
        if session_row is None:
            self.outcome = Outcome.ENDED
            raise CheckSaidOtherwise
        if not self.confirm(session_row):
            self.outcome = Outcome.CHANGED
            raise CheckSaidOtherwise
        self.outcome = Outcome.SAME


def settled(
    check: RidingCheck, row: tuple[Any, ...] | None, keys: tuple[str, ...]
) -> tuple[tuple[Any, ...], tuple[str, ...]] | None:
    """`check` settled by the row of a statement built by `behind_check` (`keys`: its
    columns' keys); the locked row's columns and their keys behind the session's, or
    None when the session's row came alone (no row to lock is visible).

    Raises:
        CheckSaidOtherwise: the session has ended, or has other grants now.
    """
    check.settle(None if row is None else row[:SESSION_COLUMNS])
    assert row is not None  # settled: the session's row is there
    row, keys = row[SESSION_COLUMNS:], keys[SESSION_COLUMNS:]
    return None if row[keys.index("id")] is None else (row, keys)


def let_ride(db: AsyncSession, check: RidingCheck) -> None:
    """The next row `db`'s work locks carries `check`."""
    db.info[_KEY] = check


def take(db: AsyncSession) -> RidingCheck | None:
    """The check waiting for a lock on `db`, if any (taken: it rides once)."""
    check: RidingCheck | None = db.info.pop(_KEY, None)
    return check


# The columns of the session's row ahead of the locked row's.
SESSION_COLUMNS = len(sessions.PORTAL_USER_SESSION.selected_columns)


def behind_check(
    lock: sa.Select[Any],
    beside: Callable[[Any], Sequence[Any]] = lambda _locked: (),
    hidden: Sequence[str] = (),
) -> sa.Select[Any]:
    """`lock` (a SELECT ... FOR UPDATE) behind the portal user's session check: the
    session's columns, then the locked row's (NULLs when no row is found), then the
    columns `beside(locked)` builds from the locked row's (`hidden`: the locked
    columns they read and the statement does not return); no row at all when the
    session has ended, and then nothing is locked."""
    checked = sessions.PORTAL_USER_SESSION.subquery("checked")
    locked = lock.lateral("locked")
    shown = [column for column in locked.c if column.key not in hidden]
    return sa.select(*checked.c, *shown, *beside(locked)).select_from(
        checked.outerjoin(locked, sa.true())
    )
