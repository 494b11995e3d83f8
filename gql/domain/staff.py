"""Staff management for ADMINs: invite (by email, with a single-use link), change the
role, disable and enable.

Roles travel in access tokens, so a role change or a disabled account revokes the
person's sessions at once; they log in again with what they are now. An organization
always keeps at least one active ADMIN.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth import passwords
from gql.auth.actor import Actor
from gql.domain import audit, email_address, mail, password_policy, sessions, text
from gql.domain.errors import Conflict, DomainError, InvalidInput, RuleViolation
from gql.domain.scope import find_visible
from gql.settings import Settings

INVITATION = "staff_invitation"


@dataclass(frozen=True)
class StaffConfig:
    invitation_ttl: timedelta
    accept_url: str
    sender: str
    hashing: passwords.Hashing

    @classmethod
    def from_settings(cls, settings: Settings) -> StaffConfig:
        return cls(
            invitation_ttl=timedelta(seconds=settings.staff_invitation_ttl_seconds),
            accept_url=settings.staff_app_url.rstrip("/") + "/accept-invitation?token=",
            sender=settings.mail_from,
            hashing=passwords.Hashing.from_settings(settings),
        )


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"


def clean_name(name: str) -> str:
    return text.clean_name(name, limit=200)


def clean_language(language: str) -> str:
    if language not in ("de", "en"):
        raise InvalidInput("staff_language_invalid", field="language")
    return language


async def _staff_user(
    db: AsyncSession, actor: Actor, staff_id: uuid.UUID | None
) -> models.StaffUser:
    return await find_visible(
        db, models.StaffUser, staff_id, actor, what="staff user", field="id", lock=True
    )


async def _ensure_another_admin(db: AsyncSession, user: models.StaffUser) -> None:
    """Refuse to take away the organization's last active ADMIN."""
    if user.role is not models.StaffRole.ADMIN or not user.is_active:
        return
    staff = models.StaffUser
    others = await db.scalar(
        sa.select(sa.func.count()).where(
            staff.organization_id == user.organization_id,
            staff.id != user.id,
            staff.role == models.StaffRole.ADMIN,
            staff.is_active,
            staff.password_hash.is_not(None),
        )
    )
    if not others:
        raise RuleViolation("last_active_admin", field="id")


async def _send_invitation(
    db: AsyncSession,
    config: StaffConfig,
    inviter: Actor,
    user: models.StaffUser,
    now: datetime,
) -> None:
    # A new invitation makes every older link of this person useless.
    code = models.OneTimeCode
    await db.execute(
        sa.update(code)
        .where(code.staff_user_id == user.id, code.purpose == INVITATION, code.used_at.is_(None))
        .values(used_at=now)
    )
    token = sessions.new_secret()
    expires = now + config.invitation_ttl
    db.add(
        code(
            organization_id=user.organization_id,
            purpose=INVITATION,
            staff_user_id=user.id,
            code_hash=sessions.token_hash(token),
            expires_at=expires,
        )
    )
    organization = await db.get_one(models.Organization, user.organization_id)
    inviter_name = await db.scalar(
        sa.select(models.StaffUser.name).where(models.StaffUser.id == inviter.subject_id)
    )
    message = mail.render(
        mail.STAFF_INVITATION[user.language],
        {
            "name": user.name,
            "inviter": inviter_name or organization.name,
            "organization": organization.name,
            "role": user.role.value,
            "link": config.accept_url + token,
            "expires": expires.strftime("%d.%m.%Y %H:%M UTC"),
        },
    )
    mail.enqueue(
        db,
        organization_id=user.organization_id,
        kind=INVITATION,
        sender=config.sender,
        recipient=user.email,
        message=message,
    )


async def invite(
    db: AsyncSession,
    actor: Actor,
    config: StaffConfig,
    *,
    email: str,
    name: str,
    role: models.StaffRole,
    language: str,
    origin: audit.Origin,
    now: datetime,
) -> models.StaffUser:
    """Create a staff user without a password and mail the invitation link. Inviting an
    open invitation again sends a new link and invalidates the old one."""
    assert actor.organization_id is not None
    address = email_address.canonical(email)
    existing = await db.scalar(
        sa.select(models.StaffUser).where(models.StaffUser.email == address).with_for_update()
    )
    if existing is not None:
        if existing.organization_id != actor.organization_id or existing.password_hash:
            raise Conflict("staff_email_taken", field="email")
        user = existing
    else:
        user = models.StaffUser(organization_id=actor.organization_id, email=address)
        db.add(user)
    user.name = clean_name(name)
    user.role = role
    user.language = clean_language(language)
    user.invited_at = now
    await db.flush()
    await _send_invitation(db, config, actor, user, now)
    data = {"email": address, "role": role.value, "again": existing is not None}
    audit.about(db, actor, user, "staff_user.invited", origin, data)
    return user


async def accept_invitation(
    db: AsyncSession,
    config: StaffConfig,
    *,
    token: str,
    password: str,
    origin: audit.Origin,
    now: datetime,
) -> models.StaffUser:
    """Set the password of an invited staff user; the link works once.

    Raises:
        InvalidInput: the password breaks the rules.
        InvalidToken: the link is unknown, used or expired.
        passwords.Busy: no admission to the hash within its wait.
    """
    password_hash = await password_policy.checked_and_hashed(config.hashing, password)
    code = models.OneTimeCode
    row = await db.scalar(
        sa.select(code)
        .where(code.code_hash == sessions.token_hash(token), code.purpose == INVITATION)
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidToken("This invitation link is invalid or has expired.", field="token")
    user = await db.get_one(models.StaffUser, row.staff_user_id, with_for_update=True)
    if not user.is_active or user.password_hash is not None:
        raise InvalidToken("This invitation link is invalid or has expired.", field="token")
    password_policy.check_password(password, user.email)  # with the email, now known
    user.password_hash = password_hash
    row.used_at = now
    audit.about(db, sessions.actor_for(user, None), user, "staff_user.invitation_accepted", origin)
    return user


async def update(
    db: AsyncSession,
    actor: Actor,
    staff_id: uuid.UUID | None,
    *,
    name: str | None,
    role: models.StaffRole | None,
    origin: audit.Origin,
    now: datetime,
) -> tuple[models.StaffUser, int]:
    """Rename, or change the role (ending the person's sessions). Returns the user and
    how many sessions ended."""
    user = await _staff_user(db, actor, staff_id)
    changes: dict[str, object] = {}
    revoked = 0
    if name is not None and clean_name(name) != user.name:
        changes["name"] = {"from": user.name, "to": clean_name(name)}
        user.name = clean_name(name)
    if role is not None and role is not user.role:
        if role is not models.StaffRole.ADMIN:
            await _ensure_another_admin(db, user)
        changes["role"] = {"from": user.role.value, "to": role.value}
        user.role = role
        # The old role is in the person's access tokens: end those sessions.
        revoked = await sessions.revoke_all(
            db, sessions.actor_for(user, None), reason="ROLE_CHANGED", now=now
        )
        changes["revoked_sessions"] = revoked
    if changes:
        audit.about(
            db,
            actor,
            user,
            "staff_user.updated",
            origin,
            changes,
        )
    await db.flush()
    return user, revoked


async def set_active(
    db: AsyncSession,
    actor: Actor,
    staff_id: uuid.UUID | None,
    *,
    active: bool,
    origin: audit.Origin,
    now: datetime,
) -> tuple[models.StaffUser, int]:
    """Disable (ending every session at once) or enable a staff user. Returns the user
    and how many sessions ended."""
    user = await _staff_user(db, actor, staff_id)
    if user.is_active == active:
        return user, 0
    revoked = 0
    if not active:
        if user.id == actor.subject_id:
            raise RuleViolation("cannot_disable_self", field="id")
        await _ensure_another_admin(db, user)
        user.is_active = False
        user.disabled_at = now
        revoked = await sessions.revoke_all(
            db, sessions.actor_for(user, None), reason="DISABLED", now=now
        )
    else:
        user.is_active = True
        user.disabled_at = None
    audit.about(
        db,
        actor,
        user,
        "staff_user.enabled" if active else "staff_user.disabled",
        origin,
        {"revoked_sessions": revoked},
    )
    await db.flush()
    return user, revoked
