"""A portal user changes the email they log in with, confirmed from the new address.

`request_email_change` asks for the password (under the login lockout: a stolen access
token must not let anyone guess it) and mails a single-use link to the new address,
whether or not that address belongs to another portal user of the portal: the requester
must not learn which addresses have an access. `confirm_email_change` (the link, from
whoever can read the new mailbox) switches the login email, unless another portal user
of the portal has the address by then; links and codes sent to the old address stop
working, the account's other sessions end, the old address gets a notice, and, when the
portal's `email_change_updates_contact` says so, the contact's email changes as
`updateMyContact` would change it (with approval, if the portal requires one).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind
from gql.auth import passwords
from gql.auth.actor import Actor
from gql.domain import (
    audit,
    authentication,
    contact_changes,
    email_address,
    email_codes,
    portal_mail,
    rate_limit,
    sessions,
    throttle,
)
from gql.domain.errors import DomainError, InvalidInput, NotFound
from gql.domain.notifications import Notifier
from gql.domain.registration import AccessConfig, InvalidToken, RateLimited

log = structlog.get_logger(__name__)

WRONG_PASSWORD = authentication.Refused("INVALID_INPUT", "password_wrong", field="password")


async def own_portal_user(
    db: AsyncSession, actor: Actor
) -> tuple[models.PortalUser, models.Portal]:
    """The caller's own portal user and its portal.

    Raises:
        NotFound: the caller is no portal user (staff, anonymous) or is gone.
    """
    found = None
    if actor.is_portal_user and actor.subject_id is not None:
        found = await sessions.load_account(db, portal_user_id=actor.subject_id)
    if found is None or not isinstance(found[0], models.PortalUser) or found[1] is None:
        raise NotFound("account_not_found")
    return found[0], found[1]


async def checked_password(
    db: AsyncSession,
    config: authentication.IdentityConfig,
    actor: Actor,
    user: models.PortalUser,
    portal: models.Portal,
    password: str,
    action: str,
    origin: audit.Origin,
    now: datetime,
    hasher: passwords.Admitted,
) -> authentication.Refused | None:
    """The caller's password for a change of the account, under the login's lockout and
    the caller's admission to the hash; a refusal is returned (its failure count must be
    committed), audited as `<action>.password_failed`."""
    keys = throttle.Keys.of_account(user, origin.ip_address)
    checked = await authentication.check_password(
        db, config, keys, user, portal, password, now, hasher=hasher
    )
    if checked.accepted:
        return None
    if not checked.locked:
        data = {"failures": checked.failures, "locked_out": checked.locked_out}
        audit.record_by(db, actor, f"{action}.password_failed", origin, data)
    return authentication.refusal(checked, WRONG_PASSWORD)


async def _contact(db: AsyncSession, user: models.PortalUser) -> models.Contact | None:
    return await db.get(models.Contact, user.contact_id) if user.contact_id else None


async def request_email_change(
    db: AsyncSession,
    actor: Actor,
    identity: authentication.IdentityConfig,
    access: AccessConfig,
    *,
    new_email: str,
    password: str,
    origin: audit.Origin,
    now: datetime,
) -> str | authentication.Refused:
    """Mail a confirmation link to `new_email` (a waiting one stops working); the
    answer (the address, canonical) is the same whether or not the address is taken on
    the portal.

    Raises:
        InvalidInput: the address is not one mailbox, or is the login email already.
        RateLimited: more requests in the last hour than `MAIL_REQUESTS_PER_EMAIL`.
        passwords.Busy: no admission to the hash within its wait.
    """
    # Admitted to the hash before the first statement (`authentication.login`).
    async with identity.hashing.admission() as hasher:
        user, portal = await own_portal_user(db, actor)
        address = email_address.canonical(new_email, field="newEmail")
        # Judged before the password is checked: a refusal here rolls back, and must not
        # roll back a counted failure.
        if address == user.email:
            raise InvalidInput("email_unchanged", field="newEmail")
        refused = await checked_password(
            db, identity, actor, user, portal, password, "email_change", origin, now, hasher
        )
    if refused is not None:
        return refused
    key = f"email_change:user:{user.id}"
    if not await rate_limit.hit(db, key, access.per_email, timedelta(hours=1), now):
        raise RateLimited("email_changes_too_many")
    change = models.EmailChange
    await db.execute(
        sa.update(change)
        .where(change.portal_user_id == user.id, change.used_at.is_(None))
        .values(used_at=now)
    )
    token = sessions.new_secret()
    db.add(
        change(
            organization_id=user.organization_id,
            portal_user_id=user.id,
            new_email=address,
            token_hash=sessions.token_hash(token),
            session_id=actor.session_id,
            expires_at=now + access.email_change_ttl,
        )
    )
    await portal_mail.send(
        db,
        portal,
        EmailTemplateKind.EMAIL_CHANGE,
        sender=access.sender,
        email=address,
        language=user.language,
        contact=await _contact(db, user),
        token=token,
    )
    audit.record_by(db, actor, "email_change.requested", origin, {"to": address})
    return address


class ContactEmail(enum.StrEnum):
    """What a confirmed change of the login email did to the contact's email."""

    CHANGED = "CHANGED"
    REQUESTED = "REQUESTED"  # a change request waits for staff's approval
    UNCHANGED = "UNCHANGED"


@dataclass(frozen=True)
class EmailChanged:
    user: models.PortalUser
    revoked_sessions: int
    contact: ContactEmail


class EmailTaken(DomainError):
    """Another portal user of the portal has the address: returned, not raised, so that
    the used link and the audit event are kept."""

    code = "CONFLICT"


async def _pending(db: AsyncSession, token: str, now: datetime) -> models.EmailChange:
    change = models.EmailChange
    row = await db.scalar(
        sa.select(change)
        .where(change.token_hash == sessions.token_hash(token.strip()))
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidToken("This link is invalid or has expired.", field="token")
    return row


async def confirm_email_change(
    db: AsyncSession,
    access: AccessConfig,
    notify: Notifier,
    *,
    token: str,
    origin: audit.Origin,
    now: datetime,
) -> EmailChanged | EmailTaken:
    """Switch the login email to the confirmed address (see the module).

    Raises:
        InvalidToken: the link is unknown, used or expired, or its account may no
            longer log in.
    """
    row = await _pending(db, token, now)
    found = await sessions.load_account(db, portal_user_id=row.portal_user_id)
    if found is None or not sessions.may_log_in(*found):
        raise InvalidToken("This link is invalid or has expired.", field="token")
    user, portal = found
    assert isinstance(user, models.PortalUser)
    assert portal is not None
    await db.refresh(user, with_for_update=True)
    row.used_at = now
    actor = sessions.actor_for(user, portal)
    users = models.PortalUser
    taken = await db.scalar(
        sa.select(users.id).where(
            users.portal_id == user.portal_id, users.email == row.new_email, users.id != user.id
        )
    )
    if taken is not None:
        audit.about(db, actor, user, "email_change.refused_taken", origin, {"to": row.new_email})
        return EmailTaken("email_change_taken", field="token")

    old = user.email
    user.email = row.new_email
    # Links and codes sent to the old address (a password reset, a login code) stop
    # working: whoever reads that mailbox no longer speaks for the account.
    code = models.OneTimeCode
    await db.execute(
        sa.update(code)
        .where(code.portal_user_id == user.id, code.used_at.is_(None))
        .values(used_at=now)
    )
    revoked = await sessions.revoke_all(
        db, actor, reason="EMAIL_CHANGED", now=now, keep=row.session_id
    )
    contact_outcome = await _change_contact(db, actor, portal, row.new_email, origin, notify, now)
    contact = await _contact(db, user)
    await portal_mail.send(
        db,
        portal,
        EmailTemplateKind.EMAIL_CHANGED,
        sender=access.sender,
        email=old,
        language=user.language,
        contact=contact,
        values={"new_email": email_codes.mask_email(row.new_email)},
    )
    audit.about(
        db,
        actor,
        user,
        "portal_user.email_changed",
        origin,
        {"from": old, "to": row.new_email, "revoked_sessions": revoked, "contact": contact_outcome},
    )
    await db.flush()
    return EmailChanged(user, revoked, contact_outcome)


async def _change_contact(
    db: AsyncSession,
    actor: Actor,
    portal: models.Portal,
    address: str,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> ContactEmail:
    """The contact's email follows the login email when the portal says so, through
    `update_my_contact` (approval, staff notification, audit); what happened, for the
    answer."""
    settings = portal.live_settings
    if not settings.email_change_updates_contact or actor.contact_id is None:
        return ContactEmail.UNCHANGED
    contact = await db.get(models.Contact, actor.contact_id)
    if contact is None or contact.email == address:
        return ContactEmail.UNCHANGED
    try:
        async with db.begin_nested():
            update = await contact_changes.update_my_contact(
                db,
                actor,
                changes={"email": address},
                marketing_consent=None,
                approval_required=frozenset(settings.approval_required_attributes),
                origin=origin,
                notify=notify,
                now=now,
            )
    except DomainError as error:
        # E.g. a change of the email waits for approval already: the login email
        # changes all the same, the contact stays, and the audit event says why.
        log.info("email_change.contact_unchanged", reason=error.key)
        return ContactEmail.UNCHANGED
    return ContactEmail.REQUESTED if update.requests else ContactEmail.CHANGED
