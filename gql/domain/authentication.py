"""Login of staff users (no portal) and portal users (on one portal), with brute-force
detection, an optional or required second factor and server-side sessions.

Every refusal answers the same `INVALID_CREDENTIALS` - wrong password, unknown email,
inactive or unassigned account, locked account or address - and an unknown account
costs the same password hash as a known one, so neither answers nor timing reveal
which emails exist. Refusals are not errors that roll back: their failure counters and
audit events must be written, so `login` returns them as `Refused`.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import TwoFactorPolicy
from gql.auth.actor import Actor
from gql.auth.passwords import verify_password_off_loop
from gql.auth.secrets import SecretBox
from gql.domain import audit, email_address, email_codes, mail, sessions, throttle, two_factor
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
    password_profile: Literal["low", "test"]
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
        password_profile=settings.password_profile,
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


LoginOutcome = Authenticated | SecondFactorRequired | Refused
Account = sessions.Account


async def _find_account(
    db: AsyncSession, email: str, portal_id: uuid.UUID | None
) -> tuple[Account | None, models.Portal | None]:
    if portal_id is None:
        staff = await db.scalar(sa.select(models.StaffUser).where(models.StaffUser.email == email))
        return staff, None
    row = (
        await db.execute(
            sa.select(models.PortalUser, models.Portal)
            .join(models.Portal, models.Portal.id == models.PortalUser.portal_id)
            .where(models.PortalUser.portal_id == portal_id, models.PortalUser.email == email)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else (None, None)


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
    """
    normalized = email_address.canonical(email)
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("Enter your password.", code="INVALID_PASSWORD", field="password")
    account_key = throttle.account_key(normalized, portal_id)
    address_key = throttle.address_key(origin.ip_address)
    keys = [account_key] + ([address_key] if address_key else [])
    account, portal = await _find_account(db, normalized, portal_id)

    if await throttle.locked(db, keys, now):
        await verify_password_off_loop(None, password, config.password_profile)  # same cost
        if account is not None:
            _audit(db, account, portal, "login.refused_locked", origin)
        return Refused()

    ok = await verify_password_off_loop(
        account.password_hash if account else None, password, config.password_profile
    )
    if account is None or not ok or not sessions.may_log_in(account, portal):
        await _count_failure(db, config, account, portal, account_key, address_key, origin, now)
        return Refused()

    await throttle.record_success(db, account_key)
    if await two_factor.enabled(db, account):
        token = await _mfa_token(db, config, account, MFA_PURPOSE_VERIFY, now)
        _audit(db, account, portal, "login.second_factor_requested", origin)
        return SecondFactorRequired(token, enrollment_required=False)
    if await _second_factor_required(db, account, portal):
        token = await _mfa_token(db, config, account, MFA_PURPOSE_ENROLL, now)
        _audit(db, account, portal, "login.enrollment_requested", origin)
        return SecondFactorRequired(
            token,
            enrollment_required=True,
            email_code_allowed=isinstance(account, models.PortalUser),
        )
    return await open_session(db, config, account, portal, origin, now)


async def _count_failure(
    db: AsyncSession,
    config: IdentityConfig,
    account: Account | None,
    portal: models.Portal | None,
    account_key: str,
    address_key: str | None,
    origin: audit.Origin,
    now: datetime,
) -> None:
    policy = config.lockout
    failures = await throttle.record_failure(db, account_key, policy.max_failures, policy, now)
    if address_key:
        await throttle.record_failure(db, address_key, policy.max_address_failures, policy, now)
    if account is not None:
        _audit(db, account, portal, "login.failed", origin, {"failures": failures})
        if failures == policy.max_failures:
            _audit(db, account, portal, "login.locked_out", origin, {"failures": failures})


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
) -> Authenticated:
    account.last_login_at = now
    actor, refresh = await sessions.start(
        db, sessions.actor_for(account, portal), policy=config.sessions, origin=origin, now=now
    )
    assert refresh is not None
    audit.record(
        db,
        organization_id=account.organization_id,
        actor=actor,
        action="login.succeeded",
        origin=origin,
        entity=account,
        data={"session_id": str(actor.session_id)},
    )
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
    invalid = Refused("INVALID_CODE", "The code is not correct or the login has expired.")
    if pending is None:
        return invalid
    row, account, portal = pending
    key = throttle.account_key(account.email, portal.id if portal else None)
    if await throttle.locked(db, [key], now):
        return invalid
    if row.purpose == MFA_PURPOSE_VERIFY:
        ok = await two_factor.verify(db, account, config.box, code, now)
    else:
        ok = portal is not None and await email_codes.redeem(db, row, code, now)
    if not ok:
        row.attempts += 1
        policy = config.lockout
        await throttle.record_failure(db, key, policy.max_failures, policy, now)
        _audit(db, account, portal, "login.second_factor_failed", origin)
        return invalid
    row.used_at = now
    await throttle.record_success(db, key)
    return await open_session(db, config, account, portal, origin, now)


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
    message = mail.render(
        mail.LOGIN_CODE[account.language],
        {"code": code, "portal": portal.name, "minutes": minutes},
    )
    mail.enqueue(
        db,
        organization_id=account.organization_id,
        kind=email_codes.PURPOSE,
        sender=config.mail_sender,
        recipient=account.email,
        message=message,
    )
    _audit(db, account, portal, "login.email_code_sent", origin)
    return LoginCodeSent(
        email_codes.mask_email(account.email), int(config.email_code_ttl.total_seconds())
    )
