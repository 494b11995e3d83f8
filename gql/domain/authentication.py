"""Login of staff users (no portal) and portal users (on one portal), with brute-force
detection, an optional or required second factor and server-side sessions.

Every refusal answers the same `INVALID_CREDENTIALS` - wrong password, unknown email,
inactive or unassigned account, locked account or address - and an unknown account
costs the same password hash as a known one, so neither answers nor timing reveal
which emails exist. Refusals are not errors that roll back: their failure counters and
audit events must be written, so `login` returns them as `Refused`.
"""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models, raw
from db.models.enums import EmailTemplateKind
from db.portal_settings import PortalSettings, TwoFactorPolicy
from gql.auth import passwords
from gql.auth.actor import Actor
from gql.auth.secrets import SecretBox
from gql.domain import (
    audit,
    email_address,
    email_codes,
    login_codes,
    portal_mail,
    sessions,
    throttle,
    two_factor,
)
from gql.domain.errors import InvalidInput, RuleViolation
from gql.settings import Settings

INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
MAX_PASSWORD_LENGTH = 1024
MFA_PURPOSE_VERIFY = "mfa_verify"
MFA_PURPOSE_ENROLL = "mfa_enroll"
MAX_MFA_ATTEMPTS = 5


@dataclass(frozen=True)
class IdentityConfig:
    """What the identity services need from the settings, built once per process."""

    sessions: sessions.SessionPolicy
    lockout: throttle.LockoutPolicy
    box: SecretBox
    mfa_ttl: timedelta
    impersonation_ttl: timedelta
    hashing: passwords.Hashing
    email_code_ttl: timedelta
    mail_sender: str


@functools.cache
def identity_config(settings: Settings) -> IdentityConfig:
    return IdentityConfig(
        sessions=sessions.SessionPolicy(
            settings.session_idle_seconds, settings.session_max_seconds
        ),
        lockout=throttle.LockoutPolicy.from_settings(settings),
        box=SecretBox.from_settings(settings),
        mfa_ttl=timedelta(seconds=settings.mfa_token_ttl_seconds),
        impersonation_ttl=timedelta(seconds=settings.impersonation_ttl_seconds),
        hashing=passwords.Hashing.from_settings(settings),
        email_code_ttl=timedelta(seconds=settings.email_code_ttl_seconds),
        mail_sender=settings.mail_from,
    )


@dataclass(frozen=True)
class Authenticated:
    actor: Actor  # carries the new session id
    refresh_token: str


@dataclass(frozen=True)
class SecondFactorRequired:
    mfa_token: str
    enrollment_required: bool
    # Portal users without TOTP may finish with a code sent by email instead.
    email_code_allowed: bool = False


@dataclass(frozen=True)
class Refused:
    code: str = INVALID_CREDENTIALS
    message: str = "Email or password is wrong."
    field: str | None = None


LOCKED = Refused("RATE_LIMITED", "Too many failed attempts; try again later.")


LoginOutcome = Authenticated | SecondFactorRequired | Refused
Account = sessions.Account


@dataclass(frozen=True)
class Found:
    """The account an email names (None: none), its portal, and whether it has a
    confirmed TOTP credential, read in one statement; with the lockout's counters
    (`throttle.State`) when asked for."""

    account: Account | None
    portal: models.Portal | None
    totp_enabled: bool
    lockout: throttle.State | None = None


async def _find_account(
    db: AsyncSession,
    email: str,
    portal_id: uuid.UUID | None,
    counters: tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]] | None = None,
) -> Found:
    """One statement, one row whether or not the email has an account (an outer join
    from a single row), so that it can carry `counters`, the lockout's
    (`throttle.state_columns`), which count for unknown emails too."""
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    extra = counters or ()
    if portal_id is None:
        staff = models.StaffUser
        row = (
            await db.execute(
                sa.select(staff, two_factor.enabled_clause(staff.id, None), *extra)
                .select_from(one)
                .outerjoin(staff, staff.email == email)
            )
        ).one()
        state = _state(row[2:]) if counters else None
        return Found(row[0], None, bool(row[1]), state)
    user, portal = models.PortalUser, models.Portal
    # The portal's draft settings are not read here: left unloaded (parsing them is
    # most of the row's cost), and an error should anything reach for them.
    row = (
        await db.execute(
            sa.select(user, portal, two_factor.enabled_clause(None, user.id), *extra)
            .select_from(one)
            .outerjoin(user, sa.and_(user.portal_id == portal_id, user.email == email))
            .outerjoin(portal, portal.id == user.portal_id)
            .options(sa.orm.defer(portal.draft_settings, raiseload=True))
        )
    ).one()
    state = _state(row[3:]) if counters else None
    return Found(row[0], row[1], bool(row[2]), state)


def _state(columns: Sequence[Any]) -> throttle.State:
    refused, counted = columns
    return throttle.State(refused=bool(refused), counted=bool(counted))


async def login(
    db: AsyncSession,
    config: IdentityConfig,
    *,
    email: str,
    password: str,
    portal_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> LoginOutcome:
    """Check the credentials; open a session, or ask for the second factor.

    Raises:
        InvalidInput: email malformed, or password empty or too long.
        passwords.Busy: no admission to the hash within its wait.
    """
    normalized = email_address.canonical(email)
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("Enter your password.", code="INVALID_PASSWORD", field="password")
    keys = throttle.Keys.of(normalized, portal_id, origin.ip_address)
    # The connection is taken in the account's turn in this process, once admitted to
    # the hash (`Hashing.admission`): it is held, with the account's lock, until the
    # hash is done.
    async with throttle.account_turn(keys), config.hashing.admission() as hasher:
        # The account and the lockout's counters in one statement, after waiting for
        # the account's other checks (`throttle.one_at_a_time`).
        await throttle.one_at_a_time(db, keys)
        counters = throttle.state_columns(config.lockout, keys, now)
        found = await _find_account(db, normalized, portal_id, counters)
        account, portal = found.account, found.portal
        # The counters are cleared when the login completes (`open_session`), not yet.
        checked = await check_password(
            db,
            config,
            keys,
            account,
            portal,
            password,
            now,
            clear=False,
            state=found.lockout,
            hasher=hasher,
        )
    if not checked.accepted:
        if account is not None:
            _audit_refusal(
                db,
                account,
                portal,
                checked,
                origin,
                failed="login.failed",
                refused_locked="login.refused_locked",
            )
        return Refused()
    assert account is not None  # accepted
    # No failures on record for the keys the session would clear: nothing to delete.
    nothing_to_clear = (
        not checked.counted and throttle.Keys.of_account(account, origin.ip_address) == keys
    )
    return await first_factor_passed(
        db,
        config,
        account,
        portal,
        origin,
        now,
        email_code_allowed=isinstance(account, models.PortalUser),
        totp_enabled=found.totp_enabled,
        clear=not nothing_to_clear,
    )


async def first_factor_passed(
    db: AsyncSession,
    config: IdentityConfig,
    account: Account,
    portal: models.Portal | None,
    origin: audit.Origin,
    now: datetime,
    *,
    email_code_allowed: bool,
    totp_enabled: bool | None = None,
    clear: bool = True,
) -> LoginOutcome:
    """The one rule of what follows a proof of who the account is (a password, a login
    code, an identity provider): the second factor the account has, or the one its
    portal (organization) requires it to set up, else the session. Every way of logging
    in ends here, so the 2FA policies apply to each. `email_code_allowed`: a mailed
    code may serve as the second factor (not after a login code, which is the mailbox
    already); `totp_enabled`: when the caller read it with the account; `clear`: see
    `open_session`."""
    if totp_enabled is None:
        totp_enabled = await two_factor.enabled(db, account)
    if totp_enabled:
        token = await _mfa_token(db, config, account, MFA_PURPOSE_VERIFY, now)
        _audit(db, account, portal, "login.second_factor_requested", origin)
        return SecondFactorRequired(token, enrollment_required=False)
    if await _second_factor_required(db, account, portal):
        token = await _mfa_token(db, config, account, MFA_PURPOSE_ENROLL, now)
        _audit(db, account, portal, "login.enrollment_requested", origin)
        return SecondFactorRequired(
            token, enrollment_required=True, email_code_allowed=email_code_allowed
        )
    return await open_session(db, config, account, portal, origin, now, clear=clear)


class LoginMethod(enum.StrEnum):
    """A way to log in that a portal's login page offers."""

    PASSWORD = "PASSWORD"  # noqa: S105 - a login method
    EMAIL_CODE = "EMAIL_CODE"


def login_methods(settings: PortalSettings) -> list[LoginMethod]:
    """What a portal's login page offers, from the portal's settings alone: never from
    an account, so that the answer is the same for every address. The password always
    (every portal user that may log in has one: registration, invitations and imports
    set it before the access is active); a mailed code when `passwordless_login` is on."""
    methods = [LoginMethod.PASSWORD]
    if login_codes.offered(settings):
        methods.append(LoginMethod.EMAIL_CODE)
    return methods


WRONG_LOGIN_CODE = Refused("INVALID_CODE", "The code is not correct or has expired.", "code")
# Never a portal user's id: the code lookup runs (and costs) the same for an unknown email.
_NOBODY = uuid.UUID(int=0)


async def login_with_code(
    db: AsyncSession,
    config: IdentityConfig,
    *,
    portal: models.Portal,
    email: str,
    code: str,
    origin: audit.Origin,
    now: datetime,
) -> LoginOutcome:
    """Log in with a code mailed by `requestLoginCode` instead of the password; then as
    after a password (`first_factor_passed`). Every refusal (unknown email, wrong, used
    or expired code, an account that may not log in, a lock) is the same
    `INVALID_CODE`; wrong codes count against the lockout like wrong passwords, also
    for unknown emails. The caller must not roll back a refusal.

    Raises:
        RuleViolation: the portal does not offer logins by code.
        InvalidInput: the code is not six digits (no guess was made, nothing counts).
    """
    login_codes.check_offered(portal)
    value = code.strip()
    if len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise InvalidInput("login_code_format", code="INVALID_CODE", field="code")
    normalized = email_address.canonical(email)
    keys = throttle.Keys.of(normalized, portal.id, origin.ip_address)
    account = (await _find_account(db, normalized, portal.id)).account
    user = account if isinstance(account, models.PortalUser) else None
    may = user is not None and sessions.may_log_in(user, portal)

    async def right() -> bool:
        # The code is looked up (and an attempt counted on it) only for an account that
        # may log in; for anybody else the same statement finds nothing.
        owner = user.id if user is not None and may else _NOBODY
        return await login_codes.redeem(db, owner, value, now)

    checked = await throttle.guarded(db, config.lockout, keys, right, now, clear=False)
    if not checked.accepted:
        if user is not None:
            _audit_refusal(
                db,
                user,
                portal,
                checked,
                origin,
                failed="login.code_failed",
                refused_locked="login.code_refused_locked",
            )
        return WRONG_LOGIN_CODE
    assert user is not None  # accepted
    _audit(db, user, portal, "login.code_accepted", origin)
    return await first_factor_passed(
        db, config, user, portal, origin, now, email_code_allowed=False
    )


async def check_password(
    db: AsyncSession,
    config: IdentityConfig,
    keys: throttle.Keys,
    account: Account | None,
    portal: models.Portal | None,
    password: str,
    now: datetime,
    *,
    clear: bool = True,
    state: throttle.State | None = None,
    hasher: passwords.Hasher | None = None,
) -> throttle.Checked:
    """The one check of a password, under the lockout: by `login`, and by every mutation
    that asks for the password again (a stolen access token must not let anyone guess
    it). An unknown account, or one that may not log in, fails like a wrong password;
    while locked the password is hashed anyway, so the answer takes as long. The caller
    must not roll back a refusal: its counters must be written. `clear`, `state`: see
    `throttle.guarded`; `hasher`: the caller's admission to the hash (taken before its
    first statement), else one is taken for each computation.

    Raises:
        passwords.Busy: no admission to the hash within its wait.
    """
    hashing = hasher if hasher is not None else config.hashing

    async def right() -> bool:
        may = account is not None and sessions.may_log_in(account, portal)
        stored = account.password_hash if account is not None else None
        verified = await hashing.verify_and_rehash(stored, password, rehash=may)
        if verified.rehashed is not None:
            # A hash of other parameters than the profile's, replaced in this
            # transaction (written with the session by `open_session`).
            assert account is not None
            account.password_hash = verified.rehashed
        return verified.matches and may

    checked = await throttle.guarded(db, config.lockout, keys, right, now, clear=clear, state=state)
    if checked.locked:
        await hashing.verify(None, password)  # the same cost
    return checked


def refusal(checked: throttle.Checked, wrong: Refused) -> Refused:
    """What a refused check answers a logged-in caller: `wrong`, or that a lock is on
    (the account's owner may know that; no password was checked)."""
    return LOCKED if checked.locked else wrong


def _audit_refusal(
    db: AsyncSession,
    account: Account,
    portal: models.Portal | None,
    checked: throttle.Checked,
    origin: audit.Origin,
    *,
    failed: str,
    refused_locked: str,
) -> None:
    """The refusal of a login step: `refused_locked`, or `failed` (and
    `login.locked_out` when this failure locked the pair or the account)."""
    if checked.locked:
        _audit(db, account, portal, refused_locked, origin)
        return
    data: dict[str, object] = {"failures": checked.failures}
    _audit(db, account, portal, failed, origin, data)
    if checked.locked_out:
        _audit(db, account, portal, "login.locked_out", origin, data)


async def _second_factor_required(
    db: AsyncSession, account: Account, portal: models.Portal | None
) -> bool:
    if isinstance(account, models.StaffUser):
        organization = await db.get_one(models.Organization, account.organization_id)
        return organization.require_staff_two_factor
    settings = portal.published_settings if portal else None
    return settings is not None and settings.two_factor is TwoFactorPolicy.REQUIRED


async def open_session(
    db: AsyncSession,
    config: IdentityConfig,
    account: Account,
    portal: models.Portal | None,
    origin: audit.Origin,
    now: datetime,
    *,
    clear: bool = True,
) -> Authenticated:
    """Every factor passed: the account's (and this address's) failures are forgotten
    (`clear`: False when the caller knows there are none). The session, its refresh
    token, the last login, the audit event and the cleared failures are one statement."""
    writes = raw.Writes()
    actor, refresh = await sessions.start(
        db,
        sessions.actor_for(account, portal),
        policy=config.sessions,
        origin=origin,
        now=now,
        writes=writes,
    )
    assert refresh is not None
    # With what the login changed on the account (a password rehashed by
    # `check_password`), so that the unit of work has nothing to write.
    writes.update(account, **{**raw.pending(account), "last_login_at": now})
    writes.insert(
        [
            audit.event(
                organization_id=account.organization_id,
                actor=actor,
                action="login.succeeded",
                origin=origin,
                entity=account,
                data={"session_id": str(actor.session_id)},
            )
        ]
    )
    if clear:
        throttle.clearing(writes, throttle.Keys.of_account(account, origin.ip_address))
    await writes.run(db)
    return Authenticated(actor, refresh)


def _audit(
    db: AsyncSession,
    account: Account,
    portal: models.Portal | None,
    action: str,
    origin: audit.Origin,
    data: dict[str, object] | None = None,
) -> None:
    audit.record(
        db,
        organization_id=account.organization_id,
        actor=sessions.actor_for(account, portal),
        action=action,
        origin=origin,
        entity=account,
        data=data,
    )


# --- The second step ------------------------------------------------------------------------


async def _mfa_token(
    db: AsyncSession, config: IdentityConfig, account: Account, purpose: str, now: datetime
) -> str:
    token = sessions.new_secret()
    db.add(
        models.OneTimeCode(
            organization_id=account.organization_id,
            purpose=purpose,
            code_hash=sessions.token_hash(token),
            expires_at=now + config.mfa_ttl,
            **two_factor.owner_of(account),
        )
    )
    return token


async def pending_login(
    db: AsyncSession, mfa_token: str, purpose: str, now: datetime
) -> tuple[models.OneTimeCode, Account, models.Portal | None] | None:
    """The login waiting for its second factor, if the token is valid for `purpose`."""
    row = await db.scalar(
        sa.select(models.OneTimeCode)
        .where(
            models.OneTimeCode.code_hash == sessions.token_hash(mfa_token),
            models.OneTimeCode.purpose == purpose,
        )
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    if row.attempts >= MAX_MFA_ATTEMPTS:
        return None
    found = await sessions.load_account(
        db, staff_user_id=row.staff_user_id, portal_user_id=row.portal_user_id
    )
    if found is None or not sessions.may_log_in(*found):
        return None
    return row, *found


async def confirm_totp(
    db: AsyncSession,
    config: IdentityConfig,
    account: Account,
    portal: models.Portal | None,
    *,
    code: str,
    caller: Actor | None,
    pending: models.OneTimeCode | None,
    origin: audit.Origin,
    now: datetime,
) -> tuple[list[str], Authenticated | None]:
    """Activate the enrolled TOTP; returns the recovery codes and, when the set-up was
    required by a login (`pending`), that login's session. `caller` is the logged-in
    user, None while finishing a login.

    Raises:
        RuleViolation: from `two_factor.confirm`.
    """
    codes = await two_factor.confirm(db, account, config.box, code, now)
    audit.record(
        db,
        organization_id=account.organization_id,
        actor=caller or sessions.actor_for(account, portal),
        action="two_factor.enabled",
        origin=origin,
        entity=account,
    )
    if pending is None:
        return codes, None
    pending.used_at = now
    return codes, await open_session(db, config, account, portal, origin, now)


async def verify_second_factor(
    db: AsyncSession,
    config: IdentityConfig,
    *,
    mfa_token: str,
    code: str,
    origin: audit.Origin,
    now: datetime,
) -> Authenticated | Refused:
    """Finish a login with a TOTP or recovery code, or (portal users without TOTP whose
    portal requires a second factor) with a code sent by email. Wrong codes count
    towards the account's lockout like wrong passwords; the mfaToken allows 5 attempts."""
    pending = await pending_login(db, mfa_token, MFA_PURPOSE_VERIFY, now)
    if pending is None:
        pending = await pending_login(db, mfa_token, MFA_PURPOSE_ENROLL, now)
    # The field tells the login page where to say it: the code typed, or the login
    # itself (expired or used up: log in again).
    if pending is None:
        return Refused("INVALID_CODE", "The login has expired; log in again.", "mfaToken")
    invalid = Refused("INVALID_CODE", "The code is not correct.", "code")
    row, account, portal = pending

    async def right() -> bool:
        if row.purpose == MFA_PURPOSE_VERIFY:
            return await two_factor.verify(db, account, config.box, code, now)
        return portal is not None and await email_codes.redeem(db, row, code, now)

    keys = throttle.Keys.of_account(account, origin.ip_address)
    checked = await throttle.guarded(db, config.lockout, keys, right, now, clear=False)
    if not checked.accepted:
        if not checked.locked:
            row.attempts += 1
        _audit_refusal(
            db,
            account,
            portal,
            checked,
            origin,
            failed="login.second_factor_failed",
            refused_locked="login.second_factor_refused_locked",
        )
        return invalid
    row.used_at = now
    return await open_session(db, config, account, portal, origin, now)


INVALID_CODE = Refused("INVALID_CODE", "The code is not correct.", field="code")


async def disable_totp(
    db: AsyncSession,
    config: IdentityConfig,
    caller: Actor,
    account: Account,
    *,
    code: str,
    origin: audit.Origin,
    now: datetime,
) -> Refused | None:
    """Remove the caller's TOTP and recovery codes, with a current or a recovery code
    (checked under the lockout). A refusal is returned, not raised: its counters must be
    written.

    Raises:
        RuleViolation: TOTP_NOT_ENABLED.
    """
    if not await two_factor.enabled(db, account):
        raise RuleViolation("Two-factor authentication is not set up.", code="TOTP_NOT_ENABLED")
    refused = await _check_code(
        db,
        config,
        caller,
        account,
        lambda: two_factor.verify(db, account, config.box, code, now),
        origin,
        now,
    )
    if refused is not None:
        return refused
    await two_factor.remove(db, account)
    audit.record_by(db, caller, "two_factor.disabled", origin)
    return None


async def regenerate_recovery_codes(
    db: AsyncSession,
    config: IdentityConfig,
    caller: Actor,
    account: Account,
    *,
    code: str,
    origin: audit.Origin,
    now: datetime,
) -> list[str] | Refused:
    """New recovery codes for a current TOTP code (checked under the lockout).

    Raises:
        RuleViolation: TOTP_NOT_ENABLED.
    """
    if not await two_factor.enabled(db, account):
        raise RuleViolation("Two-factor authentication is not set up.", code="TOTP_NOT_ENABLED")
    refused = await _check_code(
        db,
        config,
        caller,
        account,
        lambda: two_factor.verify(db, account, config.box, code, now, recovery=False),
        origin,
        now,
    )
    if refused is not None:
        return refused
    codes = await two_factor.new_recovery_codes(db, account)
    audit.record_by(db, caller, "two_factor.recovery_codes_regenerated", origin)
    return codes


async def _check_code(
    db: AsyncSession,
    config: IdentityConfig,
    caller: Actor,
    account: Account,
    check: Callable[[], Awaitable[bool]],
    origin: audit.Origin,
    now: datetime,
) -> Refused | None:
    """A logged-in caller's second-factor code, under the same lockout as passwords."""
    keys = throttle.Keys.of_account(account, origin.ip_address)
    checked = await throttle.guarded(db, config.lockout, keys, check, now)
    if checked.accepted:
        return None
    if not checked.locked:
        data = {"failures": checked.failures, "locked_out": checked.locked_out}
        audit.record_by(db, caller, "two_factor.check_failed", origin, data)
    return refusal(checked, INVALID_CODE)


@dataclass(frozen=True)
class LoginCodeSent:
    masked_email: str
    expires_in: int


async def send_login_code(
    db: AsyncSession,
    config: IdentityConfig,
    *,
    mfa_token: str,
    origin: audit.Origin,
    now: datetime,
) -> LoginCodeSent:
    """Mail a one-time code that finishes a login waiting for a second factor, for a
    portal user who has no authenticator app set up.

    Raises:
        InvalidInput: the mfaToken is unknown, used or expired (INVALID_SESSION).
        RuleViolation: staff (they use TOTP), or too many codes.
    """
    pending = await pending_login(db, mfa_token, MFA_PURPOSE_ENROLL, now)
    if pending is None:
        if await pending_login(db, mfa_token, MFA_PURPOSE_VERIFY, now) is not None:
            raise RuleViolation(
                "Use your authenticator app or a recovery code.", code="TOTP_ENABLED"
            )
        raise InvalidInput(
            "The login has expired; log in again.", code="INVALID_SESSION", field="mfaToken"
        )
    row, account, portal = pending
    if portal is None or not isinstance(account, models.PortalUser):
        raise RuleViolation("Staff confirm logins with an authenticator app.", code="TOTP_ONLY")
    await email_codes.check_rate(db, row, now)
    code = await email_codes.issue(db, row, config.email_code_ttl, now)
    minutes = int(config.email_code_ttl.total_seconds() // 60)
    contact = await db.get(models.Contact, account.contact_id) if account.contact_id else None
    # The portal's login code template, as for a passwordless login: one text per code.
    await portal_mail.send(
        db,
        portal,
        EmailTemplateKind.LOGIN_CODE,
        sender=config.mail_sender,
        email=account.email,
        language=account.language,
        contact=contact,
        values={"login_code": code, "minutes": minutes},
        outbox_kind=email_codes.PURPOSE,
    )
    _audit(db, account, portal, "login.email_code_sent", origin)
    return LoginCodeSent(
        email_codes.mask_email(account.email), int(config.email_code_ttl.total_seconds())
    )
