"""TOTP second factor (pyotp) with recovery codes.

Codes are 6 digits every 30 s, accepted within +/-1 time step (Keycloak's look-around
1). pyotp has no replay protection, so the last accepted time step is stored and no
code of that step or an earlier one is accepted again. Seeds are encrypted at rest
(`SecretBox`); recovery codes are single use and stored as SHA-256 (50 random bits
each, so a fast hash is enough).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.secrets import SecretBox
from gql.domain import sessions
from gql.domain.errors import RuleViolation

RECOVERY_CODES = 10
TOTP_WINDOW = 1

Account = sessions.Account


@dataclass(frozen=True)
class Enrollment:
    secret: str
    uri: str
    qr_svg: str


def owner_of(account: Account) -> dict[str, Any]:
    if isinstance(account, models.StaffUser):
        return {"staff_user_id": account.id, "portal_user_id": None}
    return {"staff_user_id": None, "portal_user_id": account.id}


def _owned(model: Any, account: Account) -> Any:
    column = model.staff_user_id if isinstance(account, models.StaffUser) else model.portal_user_id
    return column == account.id


async def credential(db: AsyncSession, account: Account) -> models.TotpCredential | None:
    return await db.scalar(
        sa.select(models.TotpCredential).where(_owned(models.TotpCredential, account))
    )


async def enabled(db: AsyncSession, account: Account) -> bool:
    found = await credential(db, account)
    return found is not None and found.confirmed_at is not None


def enabled_condition(staff_user_id: Any, portal_user_id: Any) -> Any:
    """`enabled` as a boolean SQL expression for the account whose id one of the
    arguments is (a column or a value): a condition, or a query plan's value."""
    totp = models.TotpCredential
    owner = (
        totp.staff_user_id == staff_user_id
        if staff_user_id is not None
        else totp.portal_user_id == portal_user_id
    )
    return sa.exists().where(owner, totp.confirmed_at.is_not(None))


def enabled_clause(staff_user_id: Any, portal_user_id: Any) -> Any:
    """`enabled_condition` as a column `totp_enabled`, for a statement that reads the
    account."""
    return enabled_condition(staff_user_id, portal_user_id).label("totp_enabled")


async def enroll(db: AsyncSession, account: Account, box: SecretBox, issuer: str) -> Enrollment:
    """A new secret to scan; it counts only after `confirm`.

    Raises:
        RuleViolation: TOTP_ALREADY_ENABLED (disable it first).
    """
    existing = await credential(db, account)
    if existing is not None and existing.confirmed_at is not None:
        raise RuleViolation(
            "Two-factor authentication is already set up.", code="TOTP_ALREADY_ENABLED"
        )
    if existing is not None:
        await db.delete(existing)
        await db.flush()
    secret = pyotp.random_base32()
    db.add(
        models.TotpCredential(
            organization_id=account.organization_id,
            secret_encrypted=box.encrypt(secret),
            **owner_of(account),
        )
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=account.email, issuer_name=issuer)
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return Enrollment(secret=secret, uri=uri, qr_svg=buffer.getvalue().decode())


def _check_totp(row: models.TotpCredential, box: SecretBox, code: str, now: datetime) -> bool:
    """Accept a code of the current step +/-1 that is newer than the last accepted one."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(box.decrypt(row.secret_encrypted))
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if row.last_step is not None and step <= row.last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            row.last_step = step
            return True
    return False


def _normalize_recovery(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(_normalize_recovery(code).encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(_normalize_recovery(code)) == 10 and not code.strip().isdigit()


async def new_recovery_codes(db: AsyncSession, account: Account) -> list[str]:
    """Replace the account's recovery codes with 10 new ones (shown once)."""
    recovery = models.RecoveryCode
    await db.execute(sa.delete(recovery).where(_owned(recovery, account)))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(7)).decode().lower()[:10]
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.add_all(
        recovery(
            organization_id=account.organization_id,
            code_hash=_recovery_hash(code),
            **owner_of(account),
        )
        for code in codes
    )
    return codes


async def confirm(
    db: AsyncSession, account: Account, box: SecretBox, code: str, now: datetime
) -> list[str]:
    """Activate the enrolled secret with a correct code; returns the recovery codes.

    Raises:
        RuleViolation: TOTP_NOT_ENROLLED, TOTP_ALREADY_ENABLED or INVALID_CODE.
    """
    row = await credential(db, account)
    if row is None:
        raise RuleViolation("Start the set-up first.", code="TOTP_NOT_ENROLLED")
    if row.confirmed_at is not None:
        raise RuleViolation(
            "Two-factor authentication is already set up.", code="TOTP_ALREADY_ENABLED"
        )
    if not _check_totp(row, box, code, now):
        raise RuleViolation("The code is not correct.", code="INVALID_CODE", field="code")
    row.confirmed_at = now
    return await new_recovery_codes(db, account)


async def verify(
    db: AsyncSession,
    account: Account,
    box: SecretBox,
    code: str,
    now: datetime,
    *,
    recovery: bool = True,
) -> bool:
    """A current TOTP code or (if `recovery`) an unused recovery code, which is then used
    up. Callers go through the lockout (gql/domain/throttle.py)."""
    row = await credential(db, account)
    if row is None or row.confirmed_at is None:
        return False
    if recovery and looks_like_recovery_code(code):
        recovery_code = models.RecoveryCode
        used = await db.execute(
            sa.update(recovery_code)
            .where(
                _owned(recovery_code, account),
                recovery_code.code_hash == _recovery_hash(code),
                recovery_code.used_at.is_(None),
            )
            .values(used_at=now)
            .returning(recovery_code.id)
        )
        return used.first() is not None
    return _check_totp(row, box, code, now)


async def remove(db: AsyncSession, account: Account) -> None:
    """Remove TOTP and the recovery codes (after a code was checked)."""
    await db.execute(sa.delete(models.TotpCredential).where(_owned(models.TotpCredential, account)))
    await db.execute(sa.delete(models.RecoveryCode).where(_owned(models.RecoveryCode, account)))
