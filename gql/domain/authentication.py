"""Login of staff users (no portal) and portal users (on one portal).

Every failure answers the same `INVALID_CREDENTIALS`, and an unknown account costs the
same password hash as a known one, so answers and timing do not reveal which emails
exist. Portal users log in only when active and assigned to a contact (GDPR: no
portal access without a known contact) on an active portal.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor, Role
from gql.auth.passwords import verify_password
from gql.domain import audit
from gql.domain.errors import InvalidInput, RuleViolation

INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
MAX_EMAIL_LENGTH = 254
MAX_PASSWORD_LENGTH = 1024


def normalize_email(raw: str) -> str:
    """NFKC, trimmed, lower-cased; rejects what can not be an address.

    Raises:
        InvalidInput: empty, too long, or not of the form local@domain.
    """
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    local, _, domain = email.rpartition("@")
    if not email or len(email) > MAX_EMAIL_LENGTH or not local or "." not in domain:
        raise InvalidInput("Enter a valid email address.", code="INVALID_EMAIL", field="email")
    if any(ch.isspace() for ch in email):
        raise InvalidInput("Enter a valid email address.", code="INVALID_EMAIL", field="email")
    return email


def _invalid() -> RuleViolation:
    return RuleViolation("Email or password is wrong.", code=INVALID_CREDENTIALS)


async def login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    portal_id: uuid.UUID | None,
    origin: audit.Origin,
    profile: Literal["low", "test"] = "low",
) -> Actor:
    """Check the credentials and return the actor to issue a token for.

    Raises:
        InvalidInput: email malformed or password empty or too long.
        RuleViolation: INVALID_CREDENTIALS for every other failure.
    """
    normalized = normalize_email(email)
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("Enter your password.", code="INVALID_PASSWORD", field="password")
    if portal_id is None:
        return await _login_staff(session, normalized, password, origin, profile)
    return await _login_portal_user(session, portal_id, normalized, password, origin, profile)


async def _login_staff(
    session: AsyncSession,
    email: str,
    password: str,
    origin: audit.Origin,
    profile: Literal["low", "test"],
) -> Actor:
    staff = await session.scalar(sa.select(models.StaffUser).where(models.StaffUser.email == email))
    ok = verify_password(staff.password_hash if staff else None, password, profile)
    if staff is None or not ok or not staff.is_active:
        raise _invalid()
    actor = Actor(
        role=Role(staff.role.value), organization_id=staff.organization_id, subject_id=staff.id
    )
    return _logged_in(session, actor, staff, "staff.login", origin)


async def _login_portal_user(
    session: AsyncSession,
    portal_id: uuid.UUID,
    email: str,
    password: str,
    origin: audit.Origin,
    profile: Literal["low", "test"],
) -> Actor:
    row = (
        await session.execute(
            sa.select(models.PortalUser, models.Portal)
            .join(models.Portal, models.Portal.id == models.PortalUser.portal_id)
            .where(models.PortalUser.portal_id == portal_id, models.PortalUser.email == email)
        )
    ).one_or_none()
    user, portal = (row[0], row[1]) if row else (None, None)
    ok = verify_password(user.password_hash if user else None, password, profile)
    if user is None or portal is None or not ok:
        raise _invalid()
    if (
        user.registration_status is not models.RegistrationStatus.ACTIVE
        or user.assignment_status is not models.AssignmentStatus.ASSIGNED
        or portal.status is not models.PortalStatus.ACTIVE
    ):
        raise _invalid()
    actor = Actor(
        role=Role.CUSTOMER if portal.type is models.PortalType.CUSTOMER else Role.INSTALLER,
        organization_id=user.organization_id,
        subject_id=user.id,
        portal_id=portal.id,
        contact_id=user.contact_id,
    )
    return _logged_in(session, actor, user, "portal_user.login", origin)


def _logged_in(
    session: AsyncSession,
    actor: Actor,
    account: models.StaffUser | models.PortalUser,
    action: str,
    origin: audit.Origin,
) -> Actor:
    """Note the login on the account and in the audit log."""
    account.last_login_at = datetime.now(UTC)
    audit.record(
        session,
        organization_id=account.organization_id,
        actor=actor,
        action=action,
        origin=origin,
        entity=account,
    )
    return actor
