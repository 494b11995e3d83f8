"""Portal access granted by staff: invitations (one contact, or every contact without
access, idempotently), accepting them, and the iPM flow of seed 004 (staff set a
password, then activate or deactivate the access)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from gql.auth.actor import Actor
from gql.domain import audit, consent, password_policy, portal_mail, sessions, sso
from gql.domain.errors import Conflict, InvalidInput, RuleViolation
from gql.domain.registration import (
    INVITATION,
    AccessConfig,
    InvalidToken,
    default_group,
    new_portal_user,
    redeem,
    send_link,
)
from gql.domain.scope import find_visible, visible
from gql.domain.text import optional_line


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(db, models.Portal, portal_id, actor, what="portal", field="portalId")


async def _contact(db: AsyncSession, actor: Actor, contact_id: uuid.UUID | None) -> models.Contact:
    return await find_visible(
        db, models.Contact, contact_id, actor, what="contact", field="contactId", lock=True
    )


async def _portal_user(
    db: AsyncSession, actor: Actor, user_id: uuid.UUID | None
) -> models.PortalUser:
    return await find_visible(
        db, models.PortalUser, user_id, actor, what="portal user", field="id", lock=True
    )


async def _user_of(
    db: AsyncSession, portal: models.Portal, contact: models.Contact
) -> models.PortalUser | None:
    """The portal user of this contact, or the one that has its email, on the portal."""
    user = models.PortalUser
    condition = user.contact_id == contact.id
    if contact.email:
        condition = sa.or_(condition, user.email == contact.email)
    return await db.scalar(
        sa.select(user).where(user.portal_id == portal.id, condition).limit(1).with_for_update()
    )


def _language(portal: models.Portal) -> str:
    return portal.live_settings.default_language


async def _invited_user(
    db: AsyncSession,
    portal: models.Portal,
    contact: models.Contact,
    permission_group_id: uuid.UUID | None = None,
) -> models.PortalUser:
    assert contact.email is not None
    return await new_portal_user(
        db,
        portal,
        email=contact.email,
        language=_language(portal),
        status=models.RegistrationStatus.INVITED,
        contact=contact,
        permission_group_id=permission_group_id,
    )


async def invite(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """Invite one contact: a user INVITED + ASSIGNED and a mail with a 7-day link.
    Inviting someone still invited sends a new link; anyone else is refused."""
    portal = await _portal(db, actor, portal_id)
    contact = await _contact(db, actor, contact_id)
    if not contact.email:
        raise InvalidInput("contact_without_email", field="contactId")
    user = await _user_of(db, portal, contact)
    if user is None:
        user = await _invited_user(db, portal, contact)
    elif user.registration_status is not models.RegistrationStatus.INVITED:
        raise Conflict("contact_has_access", field="contactId")
    elif user.contact_id != contact.id:
        raise Conflict("email_used_by_other_access", field="contactId")
    await send_link(db, config, portal, user, INVITATION, now)
    audit.about(db, actor, user, "portal_user.invited", origin, {"contact_id": str(contact.id)})
    return user


async def accept_invitation(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    token: str,
    password: str,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """Set the password from an invitation link; the access is active at once.

    Raises:
        InvalidInput: the password breaks the rules.
        InvalidToken: the link is unknown, used or expired.
        passwords.Busy: no admission to the hash within its wait.
    """
    password_hash = await password_policy.checked_and_hashed(config.hashing, password)
    user = await redeem(db, token, INVITATION, portal_id, now)
    if user.registration_status is not models.RegistrationStatus.INVITED:
        raise InvalidToken("This link is invalid or has expired.", field="token")
    password_policy.check_password(password, user.email)  # with the email, now known
    user.password_hash = password_hash
    user.registration_status = models.RegistrationStatus.ACTIVE
    user.activated_at = now
    portal = await db.get_one(models.Portal, user.portal_id)
    audit.about(
        db, sessions.actor_for(user, portal), user, "portal_user.invitation_accepted", origin
    )
    return user


@dataclass
class BulkInvitation:
    invited: int = 0
    # Contacts without access whose email is already the login of another access on the
    # portal (one login per email and portal): staff assign or invite them one by one.
    skipped: int = 0


def without_access(portal_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    """Contacts no portal user is assigned to, on the portal (or on any portal when
    None): the one meaning of "without access" (seed 002, "Portal Zugänge (leer)"),
    for the contact list's filter and the bulk invitation alike."""
    user = models.PortalUser
    access = sa.exists().where(user.contact_id == models.Contact.id)
    if portal_id is not None:
        access = access.where(user.portal_id == portal_id)
    return ~access


def _email_used(portal: models.Portal) -> sa.ColumnElement[bool]:
    user = models.PortalUser
    return sa.exists().where(user.portal_id == portal.id, user.email == models.Contact.email)


def invitation_candidates(
    portal: models.Portal, actor: Actor, *, active_contract_only: bool
) -> list[sa.ColumnElement[bool]]:
    """Contacts of the organization without access to the portal that have an email
    and belong there: installer portals invite partner contacts of orders, customer
    portals everyone else with a contract."""
    contact = models.Contact
    conditions = [visible(contact, actor), without_access(portal.id), contact.email.is_not(None)]
    if portal.type is models.PortalType.INSTALLER:
        conditions.append(contact.id.in_(sa.select(models.Order.partner_contact_id)))
    else:
        contract = models.Contract
        has = sa.select(contract.contact_id)
        if active_contract_only:
            has = has.where(contract.status == models.ContractStatus.ACTIVE)
        conditions.append(contact.id.in_(has))
    return conditions


def uninvited_contacts(
    portal: models.Portal, actor: Actor, *, active_contract_only: bool
) -> sa.Select[models.Contact]:
    """The candidates an invitation can reach (their email is nobody's login on the
    portal yet), in a stable order."""
    contact = models.Contact
    conditions = invitation_candidates(portal, actor, active_contract_only=active_contract_only)
    return (
        sa.select(contact)
        .where(*conditions, ~_email_used(portal))
        .order_by(contact.created_at, contact.id)
    )


async def invite_batch(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    limit: int,
    active_contract_only: bool,
    origin: audit.Origin,
    now: datetime,
) -> tuple[BulkInvitation, int]:
    """Invite up to `limit` contacts that have no access yet. Returns what was done and
    how many remain; running it again never invites anyone twice."""
    portal = await _portal(db, actor, portal_id)
    query = uninvited_contacts(portal, actor, active_contract_only=active_contract_only)
    report = BulkInvitation()
    emails_taken: set[str] = set()
    group_id = await default_group(db, portal)
    for contact in (await db.scalars(query.limit(limit).with_for_update(skip_locked=True))).all():
        if contact.email in emails_taken:
            continue  # shares its email with a contact invited just now: counted below
        emails_taken.add(contact.email or "")
        user = await _invited_user(db, portal, contact, group_id)
        await send_link(db, config, portal, user, INVITATION, now)
        report.invited += 1
    await db.flush()
    candidates = invitation_candidates(portal, actor, active_contract_only=active_contract_only)
    count = sa.select(sa.func.count()).select_from(models.Contact)
    report.skipped = int(await db.scalar(count.where(*candidates, _email_used(portal))) or 0)
    remaining = await db.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    if report.invited:
        audit.about(
            db,
            actor,
            portal,
            "portal.contacts_invited",
            origin,
            {"invited": report.invited, "skipped": report.skipped},
        )
    return report, int(remaining or 0)


async def set_password(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    password: str,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """iPM: staff set the password of a contact's access, creating it (assigned, not yet
    active) if needed; an existing access loses its sessions.

    Raises:
        passwords.Busy: no admission to the hash within its wait.
    """
    hashed = await password_policy.checked_and_hashed(config.hashing, password)
    portal = await _portal(db, actor, portal_id)
    contact = await _contact(db, actor, contact_id)
    if not contact.email:
        raise InvalidInput("contact_without_email", field="contactId")
    password_policy.check_password(password, contact.email)  # with the email, now known
    user = await _user_of(db, portal, contact)
    if user is not None and user.contact_id != contact.id:
        raise Conflict("email_used_by_other_access", field="contactId")
    if user is None:
        user = await new_portal_user(
            db,
            portal,
            email=contact.email,
            language=_language(portal),
            status=models.RegistrationStatus.DISABLED,
            contact=contact,
            password_hash=hashed,
        )
    else:
        user.password_hash = hashed
        await sessions.end_portal_user_sessions(
            db, [user.id], reason="PASSWORD_SET_BY_STAFF", now=now
        )
    audit.about(db, actor, user, "portal_user.password_set", origin)
    return user


async def set_active(
    db: AsyncSession,
    actor: Actor,
    *,
    user_id: uuid.UUID | None,
    active: bool,
    origin: audit.Origin,
    now: datetime,
) -> tuple[models.PortalUser, int]:
    """Activate (needs a password) or deactivate a portal user; deactivating ends every
    session at once. Returns the user and how many sessions ended."""
    user = await _portal_user(db, actor, user_id)
    revoked = 0
    if active:
        # A user created by an identity provider logs in through it, without a password.
        if user.password_hash is None and not await sso.is_linked(db, user.id):
            raise RuleViolation("password_or_invitation_first", field="id")
        if user.registration_status is not models.RegistrationStatus.ACTIVE:
            user.registration_status = models.RegistrationStatus.ACTIVE
            user.activated_at = user.activated_at or now
    elif user.registration_status is not models.RegistrationStatus.DISABLED:
        user.registration_status = models.RegistrationStatus.DISABLED
        revoked = await sessions.end_portal_user_sessions(db, [user.id], reason="DISABLED", now=now)
    action = "portal_user.activated" if active else "portal_user.deactivated"
    audit.about(db, actor, user, action, origin, {"revoked_sessions": revoked})
    return user, revoked


async def invite_in_batches(
    sessions_factory: async_sessionmaker[AsyncSession],
    actor: Actor,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID,
    batch: int,
    active_contract_only: bool,
    on_batch: Callable[[BulkInvitation, int], None],
    now: Callable[[], datetime],
) -> BulkInvitation:
    """Invite every contact without access, one committed transaction per batch (an
    interrupted run loses at most its open batch and can simply be run again).
    `on_batch(done_so_far, remaining)` reports progress."""
    total = BulkInvitation()
    while True:
        async with sessions_factory() as db, db.begin():
            report, remaining = await invite_batch(
                db,
                actor,
                config,
                portal_id=portal_id,
                limit=batch,
                active_contract_only=active_contract_only,
                origin=audit.Origin(),
                now=now(),
            )
        total.invited += report.invited
        total.skipped += report.skipped
        on_batch(total, remaining)
        if remaining == 0 or report.invited == 0:
            return total


# --- Assignment (seed 000) -------------------------------------------------------------------


@dataclass(frozen=True)
class NewContact:
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    phone: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None


def _clean_new_contact(data: NewContact) -> dict[str, str | None]:
    limits = {
        "first_name": 100,
        "last_name": 100,
        "company_name": 200,
        "phone": 40,
        "street": 200,
        "house_number": 20,
        "postal_code": 10,
        "city": 100,
    }
    values = {
        name: optional_line(getattr(data, name), field=f"contact.{name}", limit=limit)
        for name, limit in limits.items()
    }
    if not (values["last_name"] or values["company_name"]):
        raise InvalidInput("last_name_or_company_required", field="contact.lastName")
    return values


async def _pending(db: AsyncSession, actor: Actor, user_id: uuid.UUID | None) -> models.PortalUser:
    user = await find_visible(
        db, models.PortalUser, user_id, actor, what="portal user", field="portalUserId", lock=True
    )
    if user.assignment_status is not models.AssignmentStatus.PENDING:
        raise RuleViolation("portal_user_assigned_already", field="portalUserId")
    return user


async def _assign(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    user: models.PortalUser,
    contact: models.Contact,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    # Only pending users are assigned, and they have no sessions; but whatever a
    # session was opened for, it was not this contact.
    await sessions.end_portal_user_sessions(db, [user.id], reason="ASSIGNED", now=now)
    user.contact_id = contact.id
    user.assignment_status = models.AssignmentStatus.ASSIGNED
    consent.carry_over(user, contact)
    await db.flush()
    audit.about(db, actor, user, "portal_user.assigned", origin, {"contact_id": str(contact.id)})
    await tell_assigned(db, config, user, contact)
    return user


async def tell_assigned(
    db: AsyncSession, config: AccessConfig, user: models.PortalUser, contact: models.Contact
) -> bool:
    """Tell the customer their access now belongs to their contact and they can log in
    (template ACCOUNT_ASSIGNED). Only an activated access: one still waiting for its
    activation is led in by the activation mail, which would otherwise cross this one."""
    if user.registration_status is not models.RegistrationStatus.ACTIVE:
        return False
    portal = await db.get_one(models.Portal, user.portal_id)
    await portal_mail.send(
        db,
        portal,
        models.EmailTemplateKind.ACCOUNT_ASSIGNED,
        sender=config.sender,
        email=user.email,
        language=user.language,
        contact=contact,
        values={"login_link": portal_mail.login_link(portal)},
    )
    return True


async def assign(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    *,
    user_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """Assign a pending portal user to a contact: the one given, or the one contact whose
    primary email is the user's (none or several are refused, saying which)."""
    user = await _pending(db, actor, user_id)
    if contact_id is not None:
        contact = await _contact(db, actor, contact_id)
        return await _assign(db, actor, config, user, contact, origin, now)
    found = models.Contact
    matches = (
        await db.scalars(
            sa.select(found)
            .where(visible(found, actor), found.email == user.email)
            .order_by(found.customer_number)
        )
    ).all()
    if not matches:
        raise InvalidInput(
            "no_contact_with_email", field="contactId", parameters={"email": user.email}
        )
    if len(matches) > 1:
        numbers = ", ".join(c.customer_number or str(c.id) for c in matches)
        raise InvalidInput(
            "contacts_share_email",
            field="contactId",
            parameters={"count": len(matches), "email": user.email, "customerNumbers": numbers},
        )
    return await _assign(db, actor, config, user, matches[0], origin, now)


async def assign_to_new_contact(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    *,
    user_id: uuid.UUID | None,
    data: NewContact,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """Create a contact from the given data and the user's email, and assign it."""
    user = await _pending(db, actor, user_id)
    contact = models.Contact(
        organization_id=user.organization_id, email=user.email, **_clean_new_contact(data)
    )
    db.add(contact)
    await db.flush()
    return await _assign(db, actor, config, user, contact, origin, now)


async def unassign(
    db: AsyncSession,
    actor: Actor,
    *,
    user_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> tuple[models.PortalUser, int]:
    """Take the contact away: the user can not log in until assigned again; its
    sessions end."""
    user = await _portal_user(db, actor, user_id)
    if user.assignment_status is models.AssignmentStatus.PENDING:
        raise RuleViolation("portal_user_not_assigned", field="id")
    revoked = await sessions.end_portal_user_sessions(db, [user.id], reason="UNASSIGNED", now=now)
    previous = user.contact_id
    user.contact_id = None
    user.assignment_status = models.AssignmentStatus.PENDING
    await db.flush()
    audit.about(
        db,
        actor,
        user,
        "portal_user.unassigned",
        origin,
        {"contact_id": str(previous), "revoked_sessions": revoked},
    )
    return user, revoked


async def delete_portal_user(
    db: AsyncSession,
    actor: Actor,
    *,
    user_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """GDPR erasure: the login with its credentials, 2FA, codes and sessions goes; the
    audit log keeps that it existed (its id and portal, not its email)."""
    user = await _portal_user(db, actor, user_id)
    # The rows go with the user (ON DELETE CASCADE); ended first like every change of
    # access, so nothing depends on the cascade.
    await sessions.end_portal_user_sessions(db, [user.id], reason="DELETED", now=now)
    audit.about(db, actor, user, "portal_user.deleted", origin, {"portal_id": str(user.portal_id)})
    await db.delete(user)
    await db.flush()
