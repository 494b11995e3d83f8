"""Brute-force detection for every check of a password or a second factor: per account
from one client address (the pair), per account, and per address as a flood guard.

Like Keycloak's temporary lockout: after `limit` failures in a row a key is locked for
`wait` x (failures beyond the limit + 1), capped at `max_wait`; a failure older than
`reset` starts the count afresh. Three keys, so that an attacker can neither guess freely
nor lock others out cheaply:

- the pair (account, address) locks after `max_failures`: a guesser at one address is
  slowed to one try per lock, while the account's owner elsewhere is not affected;
- the account locks everywhere after `max_account_failures` (from all addresses
  together), the cap on guesses spread over many addresses;
- the address is only a coarse flood guard: `flood_failures` failures across all
  accounts within `flood_window` refuse it until the window ends, a number one office
  behind one address does not reach with typos.

Checks refused by a lock are not even made, so they neither count nor reveal anything.
Checks of one account run one after another, so concurrent guesses can not all be
made before the first failure is counted.
A success clears the account's and the pair's counters, never the flood counter: an
attacker must not reset it by logging in to an account of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models, raw
from gql import metrics
from gql.domain import rate_limit
from gql.settings import Settings


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    wait: timedelta = timedelta(minutes=1)
    max_wait: timedelta = timedelta(minutes=15)
    reset: timedelta = timedelta(hours=12)
    max_account_failures: int = 20
    flood_failures: int = 300
    flood_window: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> LockoutPolicy:
        return cls(
            max_failures=settings.max_login_failures,
            wait=timedelta(seconds=settings.lockout_wait_seconds),
            max_wait=timedelta(seconds=settings.lockout_max_wait_seconds),
            reset=timedelta(seconds=settings.failure_reset_seconds),
            max_account_failures=settings.max_account_failures,
            flood_failures=settings.address_flood_failures,
            flood_window=timedelta(seconds=settings.address_flood_window_seconds),
        )

    def lock_duration(self, failures: int, limit: int) -> timedelta | None:
        if failures < limit:
            return None
        return min(self.wait * (failures - limit + 1), self.max_wait)


def account_key(email: str, portal_id: uuid.UUID | None) -> str:
    """Counters are kept for emails whether or not an account exists, so a lockout
    answer can not tell which emails are registered."""
    return f"account:{portal_id or 'staff'}:{email}"


def _address(ip_address: str | None) -> str | None:
    """What one client is: an IPv4 address, or an IPv6 /64 (one subscriber's network,
    whose addresses an attacker can change at will)."""
    if ip_address is None:
        return None
    try:
        parsed = ipaddress.ip_address(ip_address)
    except ValueError:
        return ip_address
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(frozen=True)
class Keys:
    """The counters one credential check of an account counts against."""

    account: str
    pair: str
    flood: str | None

    @classmethod
    def of(cls, email: str, portal_id: uuid.UUID | None, ip_address: str | None) -> Keys:
        account = account_key(email, portal_id)
        address = _address(ip_address)
        # Without an address the pair still counts (all such clients as one), so the
        # pair's limit always applies; the flood guard needs a real address.
        return cls(
            account=account,
            pair=f"pair:{address or 'unknown'}:{account}",
            flood=f"login_failures:address:{address}" if address else None,
        )

    @classmethod
    def of_account(cls, account: models.StaffUser | models.PortalUser, ip: str | None) -> Keys:
        portal_id = account.portal_id if isinstance(account, models.PortalUser) else None
        return cls.of(account.email, portal_id, ip)


@dataclass(frozen=True)
class Checked:
    """The answer of one credential check under the lockout."""

    accepted: bool
    # Refused without checking: the pair or the account is locked, or the address flooded.
    locked: bool = False
    # The account's failures in a row (all addresses), this one included.
    failures: int = 0
    # This failure locked the pair or the account.
    locked_out: bool = False
    # Whether the account or the pair had failures on record when checked: without,
    # clearing them has nothing to delete (no other check of the account can count one
    # before this one's transaction ends, see `one_at_a_time`).
    counted: bool = True


async def guarded(
    db: AsyncSession,
    policy: LockoutPolicy,
    keys: Keys,
    check: Callable[[], Awaitable[bool]],
    now: datetime,
    *,
    clear: bool = True,
    state: State | None = None,
) -> Checked:
    """Run `check` (a password or a code) unless a lock is on, and count its answer; a
    success clears the counters unless `clear` is False (a login step that another
    factor follows: only the completed login clears them, or knowing the password
    would reset the count of guessed codes). The caller must write the counters even
    when it refuses (no rollback). `state`: the counters as the caller read them with
    `state_columns` in its own statement after `one_at_a_time` (login reads them with
    the account); otherwise read here."""
    if state is None:
        await one_at_a_time(db, keys)
        state = await _state(db, policy, keys, now)
    if state.refused:
        metrics.LOCKED_REFUSALS.inc()
        return Checked(accepted=False, locked=True)
    if await check():
        if clear and state.counted:
            await clear_failures(db, keys)
        return Checked(accepted=True, counted=state.counted)
    failures = await record_failure(db, keys.account, policy.max_account_failures, policy, now)
    pair = await record_failure(db, keys.pair, policy.max_failures, policy, now)
    if keys.flood is not None:
        await rate_limit.hit(db, keys.flood, policy.flood_failures, policy.flood_window, now)
    locked_out = failures == policy.max_account_failures or pair == policy.max_failures
    if locked_out:
        metrics.LOCKOUTS.inc()
    return Checked(accepted=False, failures=failures, locked_out=locked_out)


class _Turns:
    """The checks of each account that this process runs, one after another: the ones
    waiting for an account's turn hold nothing (no database connection, no admission to
    the password executor) while its current check runs."""

    def __init__(self) -> None:
        # The lock of an account with a check running or waiting, and how many are.
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, account: str) -> AsyncIterator[None]:
        lock, waiting = self._locks.get(account) or (asyncio.Lock(), 0)
        self._locks[account] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._locks[account]
            if waiting == 1:
                del self._locks[account]
            else:
                self._locks[account] = (lock, waiting - 1)


_TURNS = _Turns()


def account_turn(keys: Keys) -> contextlib.AbstractAsyncContextManager[None]:
    """Wait for this process's other checks of the account to end, before taking a
    connection for `one_at_a_time`: a burst of guesses at one account then waits here,
    without taking every connection, or every admission to the hash
    (`passwords.Hashing.admission`) from other accounts' logins. Other processes' checks are
    waited for by `one_at_a_time`."""
    return _TURNS.turn(keys.account)


async def one_at_a_time(db: AsyncSession, keys: Keys) -> None:
    """Wait for other checks of the account to end (their transactions), so that each
    sees the failures counted before it: otherwise a burst of concurrent guesses would
    all pass `refused` before the first failure is counted. Waiting is what the counter
    rows' locks did for most concurrent logins of one account already."""
    await db.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(keys.account, 0)))
    )


async def clear_failures(db: AsyncSession, keys: Keys) -> None:
    """Forget the account's and the pair's failures (never the flood counter)."""
    await clearing(raw.Writes(), keys).run(db)


def clearing(writes: raw.Writes, keys: Keys) -> raw.Writes:
    """`writes` with `clear_failures`'s delete (a login's one write statement)."""
    return writes.delete(models.LoginThrottle.key, [keys.account, keys.pair])


async def forget_account(db: AsyncSession, keys: Keys) -> None:
    """Delete every counter that names the account: its own and its pairs with every
    address (an erased account's email must not stay in them)."""
    throttle = models.LoginThrottle
    await db.execute(
        sa.delete(throttle).where(
            sa.or_(
                throttle.key == keys.account,
                throttle.key.endswith(":" + keys.account, autoescape=True),
            )
        )
    )


@dataclass(frozen=True)
class State:
    refused: bool  # a lock is on, or the address flooded
    counted: bool  # the account or the pair has failures on record


def state_columns(
    policy: LockoutPolicy, keys: Keys, now: datetime
) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """What the counters of `keys` say, as the two columns `refused` and `counted` of
    `State` for a statement (read after `one_at_a_time`, so that it sees what the checks
    before it counted)."""
    throttle = models.LoginThrottle
    of_account = throttle.key.in_([keys.account, keys.pair])
    locked = sa.exists().where(of_account, throttle.locked_until > now)
    flooded: sa.ColumnElement[bool] = sa.false()
    if keys.flood is not None:
        flooded = rate_limit.reached_clause(
            keys.flood, policy.flood_failures, policy.flood_window, now
        )
    counted = sa.exists().where(of_account)
    return sa.or_(locked, flooded).label("refused"), counted.label("counted")


async def _state(db: AsyncSession, policy: LockoutPolicy, keys: Keys, now: datetime) -> State:
    """What the counters of `keys` say now, in one statement: whether a check is
    refused without being made (`refused`), and whether there are failures to clear."""
    row = (await db.execute(sa.select(*state_columns(policy, keys, now)))).one()
    return State(refused=bool(row.refused), counted=bool(row.counted))


async def refused(db: AsyncSession, policy: LockoutPolicy, keys: Keys, now: datetime) -> bool:
    """Whether a check for `keys` is refused now without being made."""
    return (await _state(db, policy, keys, now)).refused


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
