"""Self-registration, activation and password reset of portal users (seeds 000-002).

Every answer to the caller is the same whether or not the email or a contact exists;
what differs goes into the email (an activation link, "you already have an account",
"we could not find you"). Links carry single-use tokens, stored hashed, bound to one
portal user and so to one portal. Requests that send mail are rate-limited per email
(silently: the answer stays the same) and per client address (refused).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind
from db.portal_settings import IdentifierEntity, PortalSettings, SelfRegistration
from gql.auth.actor import ANONYMOUS, Actor
from gql.auth.passwords import PasswordProfile, hash_password
from gql.domain import audit, email_address, mail, portal_mail, rate_limit, sessions
from gql.domain.errors import DomainError, InvalidInput, RuleViolation
from gql.domain.password_policy import check_password
from gql.settings import Settings

ACTIVATION = "activation"
INVITATION = "invitation"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a token purpose


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"


class RateLimited(RuleViolation):
    code = "RATE_LIMITED"


@dataclass(frozen=True)
class AccessConfig:
    activation_ttl: timedelta
    invitation_ttl: timedelta
    reset_ttl: timedelta
    sender: str
    password_profile: PasswordProfile
    per_email: int
    per_address: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessConfig:
        return cls(
            activation_ttl=timedelta(seconds=settings.activation_ttl_seconds),
            invitation_ttl=timedelta(seconds=settings.invitation_ttl_seconds),
            reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
            sender=settings.mail_from,
            password_profile=settings.password_profile,
            per_email=settings.mail_requests_per_email,
            per_address=settings.mail_requests_per_address,
        )

    def ttl(self, purpose: str) -> timedelta:
        return {
            ACTIVATION: self.activation_ttl,
            INVITATION: self.invitation_ttl,
            PASSWORD_RESET: self.reset_ttl,
        }[purpose]


KIND_OF_PURPOSE = {
    ACTIVATION: EmailTemplateKind.ACTIVATION,
    INVITATION: EmailTemplateKind.INVITATION,
    PASSWORD_RESET: EmailTemplateKind.PASSWORD_RESET,
}


# --- Tokens and mails -------------------------------------------------------------------


async def send_link(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    user: models.PortalUser,
    purpose: str,
    now: datetime,
) -> None:
    """A new single-use link for `purpose` (older ones of the user stop working), mailed
    with the portal's template in the user's language."""
    code = models.OneTimeCode
    await db.execute(
        sa.update(code)
        .where(code.portal_user_id == user.id, code.purpose == purpose, code.used_at.is_(None))
        .values(used_at=now)
    )
    token = sessions.new_secret()
    db.add(
        code(
            organization_id=user.organization_id,
            purpose=purpose,
            portal_user_id=user.id,
            code_hash=sessions.token_hash(token),
            expires_at=now + config.ttl(purpose),
        )
    )
    contact = await db.get(models.Contact, user.contact_id) if user.contact_id else None
    await portal_mail.send(
        db,
        portal,
        KIND_OF_PURPOSE[purpose],
        sender=config.sender,
        email=user.email,
        language=user.language,
        contact=contact,
        token=token,
    )


async def redeem(
    db: AsyncSession, token: str, purpose: str, portal_id: uuid.UUID | None, now: datetime
) -> models.PortalUser:
    """The portal user a valid link of `purpose` on this portal belongs to; the link is
    used up. Unknown, used, expired and other portals' links get the same refusal."""
    code = models.OneTimeCode
    row = await db.scalar(
        sa.select(code)
        .where(code.code_hash == sessions.token_hash(token.strip()), code.purpose == purpose)
        .with_for_update()
    )
    user = None
    if row is not None and row.used_at is None and row.expires_at > now:
        user = await db.get(models.PortalUser, row.portal_user_id, with_for_update=True)
    if row is None or user is None or user.portal_id != portal_id:
        raise InvalidToken("This link is invalid or has expired.", field="token")
    row.used_at = now
    return user


def _address_key(action: str, origin: audit.Origin) -> str | None:
    return f"{action}:address:{origin.ip_address}" if origin.ip_address else None


async def within_limits(
    db: AsyncSession,
    config: AccessConfig,
    action: str,
    email: str,
    origin: audit.Origin,
    now: datetime,
) -> bool:
    """Refuse a client address over its limit (that tells nothing about any email);
    False (send nothing, answer the same) when the email is over its limit."""
    window = timedelta(hours=1)
    address = _address_key(action, origin)
    if address and not await rate_limit.hit(db, address, config.per_address, window, now):
        raise RateLimited("Too many requests from this address; try again in an hour.")
    return await rate_limit.hit(db, f"{action}:email:{email}", config.per_email, window, now)


async def active_portal(db: AsyncSession, portal_id: uuid.UUID | None) -> models.Portal:
    portal = await db.scalar(
        sa.select(models.Portal).where(
            models.Portal.id == portal_id, models.Portal.status == models.PortalStatus.ACTIVE
        )
    )
    if portal is None:
        raise InvalidInput("No such portal.", field="portalId")
    return portal


def _system_mail(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    templates: Mapping[str, mail.Template],
    kind: str,
    email: str,
    language: str,
) -> None:
    message = mail.render(
        templates.get(language) or templates["de"],
        {"portal": portal.name, "url": f"https://{portal.domain}/login"},
    )
    mail.enqueue(
        db,
        organization_id=portal.organization_id,
        kind=kind,
        sender=config.sender,
        recipient=email,
        message=message,
    )


# --- Matching ---------------------------------------------------------------------------


def _identifier_condition(
    entity: IdentifierEntity, attribute: str, value: str
) -> sa.ColumnElement[bool]:
    """Contacts whose attribute (or a linked contract's, order's or opportunity's)
    equals `value`, compared case- and space-insensitively."""
    wanted = " ".join(value.split()).lower()

    def same(column: sa.ColumnElement[str | None]) -> sa.ColumnElement[bool]:
        return sa.func.lower(sa.func.trim(column)) == wanted

    contact = models.Contact
    if entity is IdentifierEntity.CONTACT:
        return same(getattr(contact, attribute))
    model: Any = {
        IdentifierEntity.CONTRACT: models.Contract,
        IdentifierEntity.ORDER: models.Order,
        IdentifierEntity.OPPORTUNITY: models.Opportunity,
    }[entity]
    return contact.id.in_(
        sa.select(model.contact_id).where(
            model.organization_id == contact.organization_id, same(getattr(model, attribute))
        )
    )


def clean_identifiers(settings: PortalSettings, given: Mapping[str, str]) -> dict[str, str]:
    """The portal's identifiers besides the email, each required; unknown keys refused."""
    wanted = {identifier.key: identifier for identifier in settings.registration.identifiers}
    wanted.pop("contact.email", None)
    unknown = sorted(set(given) - set(wanted) - {"contact.email"})
    if unknown:
        raise InvalidInput(f"Unknown identifier: {', '.join(unknown)}.", field="identifiers")
    values: dict[str, str] = {}
    for key in wanted:
        value = " ".join((given.get(key) or "").split())
        if not value or len(value) > 200:
            raise InvalidInput("Please fill in this field.", field=f"identifiers.{key}")
        values[key] = value
    return values


async def match_contact(
    db: AsyncSession,
    portal: models.Portal,
    email: str,
    identifiers: Mapping[str, str],
) -> models.Contact | None:
    """The one contact of the portal's organization the registration belongs to: the
    email alone when one contact has it; narrowed by the other identifiers when several
    share it; otherwise none."""
    contact = models.Contact
    candidates = (
        await db.scalars(
            sa.select(contact).where(
                contact.organization_id == portal.organization_id, contact.email == email
            )
        )
    ).all()
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    by_key = {i.key: i for i in portal.live_settings.registration.identifiers}
    conditions = [
        _identifier_condition(by_key[key].entity, by_key[key].attribute, value)
        for key, value in identifiers.items()
    ]
    if not conditions:
        return None
    narrowed = (
        await db.scalars(
            sa.select(contact).where(contact.id.in_([c.id for c in candidates]), *conditions)
        )
    ).all()
    return narrowed[0] if len(narrowed) == 1 else None


# --- Registration -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationOutcome:
    """What happened, for the tests and the audit log; the caller is told none of it."""

    kind: str  # REGISTERED_ASSIGNED, REGISTERED_PENDING, CONTACT_CREATED, EXISTS, DENIED,
    # THROTTLED
    portal_user_id: uuid.UUID | None = None


async def default_group(db: AsyncSession, portal: models.Portal) -> uuid.UUID:
    group = models.PermissionGroup
    found = await db.scalar(
        sa.select(group.id).where(group.portal_id == portal.id, group.is_default)
    )
    if found is None:
        raise RuleViolation("The portal has no default permission group.")
    return found


async def new_portal_user(
    db: AsyncSession,
    portal: models.Portal,
    *,
    email: str,
    language: str,
    status: models.RegistrationStatus,
    contact: models.Contact | None,
    password_hash: str | None = None,
    permission_group_id: uuid.UUID | None = None,
) -> models.PortalUser:
    """A new portal user, in `permission_group_id` or else the portal's default group."""
    user = models.PortalUser(
        organization_id=portal.organization_id,
        portal_id=portal.id,
        email=email,
        language=language,
        password_hash=password_hash,
        registration_status=status,
        assignment_status=(
            models.AssignmentStatus.ASSIGNED if contact else models.AssignmentStatus.PENDING
        ),
        contact_id=contact.id if contact else None,
        permission_group_id=permission_group_id or await default_group(db, portal),
    )
    db.add(user)
    await db.flush()
    return user


def _contact_from(
    portal: models.Portal, email: str, identifiers: Mapping[str, str]
) -> models.Contact:
    """A contact made of what the person registered with (ALLOW_WITH_CONTACT)."""
    values = {
        key.removeprefix("contact."): value
        for key, value in identifiers.items()
        if key
        in ("contact.first_name", "contact.last_name", "contact.phone", "contact.postal_code")
    }
    return models.Contact(organization_id=portal.organization_id, email=email, **values)


async def register(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    email: str,
    password: str,
    identifiers: Mapping[str, str],
    language: str | None,
    accepted_terms: bool,
    origin: audit.Origin,
    now: datetime,
) -> RegistrationOutcome:
    """Register on a portal. Input errors are refused (they do not depend on who
    exists); everything else ends in the same answer and an email.

    Raises:
        InvalidInput: portal, email, password, language, terms or identifiers.
        RateLimited: too many registrations from this address.
    """
    portal = await active_portal(db, portal_id)
    settings = portal.live_settings
    address = email_address.canonical(email)
    check_password(password, address)
    chosen = language or settings.default_language
    if chosen not in settings.languages:
        raise InvalidInput(f"The portal speaks {', '.join(settings.languages)}.", field="language")
    if settings.registration.terms_url is not None and not accepted_terms:
        raise InvalidInput("Please accept the terms of use.", field="acceptedTerms")
    values = clean_identifiers(settings, identifiers)
    # Hashed on every path, so the time of the answer does not tell who exists either.
    password_hash = hash_password(password, config.password_profile)
    if not await within_limits(db, config, "register", address, origin, now):
        return RegistrationOutcome("THROTTLED")

    existing = await db.scalar(
        sa.select(models.PortalUser).where(
            models.PortalUser.portal_id == portal.id, models.PortalUser.email == address
        )
    )
    if existing is not None:
        _system_mail(db, config, portal, mail.ACCOUNT_EXISTS, "account_exists", address, chosen)
        return RegistrationOutcome("EXISTS", existing.id)

    contact = await match_contact(db, portal, address, values)
    kind = "REGISTERED_ASSIGNED"
    if contact is None:
        policy = settings.registration.self_registration
        if policy is SelfRegistration.DENY:
            _system_mail(
                db, config, portal, mail.REGISTRATION_NOT_POSSIBLE, "registration_denied",
                address, chosen,
            )  # fmt: skip
            return RegistrationOutcome("DENIED")
        if policy is SelfRegistration.ALLOW_WITH_CONTACT:
            contact = _contact_from(portal, address, values)
            db.add(contact)
            await db.flush()
            kind = "CONTACT_CREATED"
        else:
            kind = "REGISTERED_PENDING"
    user = await new_portal_user(
        db,
        portal,
        email=address,
        language=chosen,
        status=models.RegistrationStatus.ACTIVATION_SENT,
        contact=contact,
        password_hash=password_hash,
    )
    await send_link(db, config, portal, user, ACTIVATION, now)
    audit.about(db, anonymous_on(portal), user, "portal_user.registered", origin, {"outcome": kind})
    return RegistrationOutcome(kind, user.id)


def anonymous_on(portal: models.Portal) -> Actor:
    """Who acts in a registration: nobody known yet, on this portal."""
    return Actor(role=ANONYMOUS.role, organization_id=portal.organization_id, portal_id=portal.id)


async def activate(
    db: AsyncSession,
    *,
    portal_id: uuid.UUID | None,
    token: str,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """Confirm the email of a registration; login works once a contact is assigned."""
    user = await redeem(db, token, ACTIVATION, portal_id, now)
    if user.registration_status is not models.RegistrationStatus.ACTIVATION_SENT:
        raise InvalidToken("This link is invalid or has expired.", field="token")
    user.registration_status = models.RegistrationStatus.ACTIVE
    user.activated_at = now
    audit.about(db, sessions.actor_for(user, await db.get_one(models.Portal, user.portal_id)),
                user, "portal_user.activated", origin)  # fmt: skip
    return user


async def _user_by_email(
    db: AsyncSession, portal: models.Portal, email: str
) -> models.PortalUser | None:
    return await db.scalar(
        sa.select(models.PortalUser)
        .where(models.PortalUser.portal_id == portal.id, models.PortalUser.email == email)
        .with_for_update()
    )


async def _mail_link_if(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    email: str,
    status: models.RegistrationStatus,
    purpose: str,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser | None:
    """Mail a new link for `purpose` to the portal user with this email if it is in
    `status`; within the rate limits; the caller learns nothing either way."""
    portal = await active_portal(db, portal_id)
    address = email_address.canonical(email)
    if not await within_limits(db, config, purpose, address, origin, now):
        return None
    user = await _user_by_email(db, portal, address)
    if user is None or user.registration_status is not status:
        return None
    await send_link(db, config, portal, user, purpose, now)
    audit.about(db, anonymous_on(portal), user, f"portal_user.{purpose}_requested", origin)
    return user


async def resend_activation(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    email: str,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """A new activation link (older ones stop working), if the email waits for one."""
    await _mail_link_if(
        db, config, portal_id=portal_id, email=email,
        status=models.RegistrationStatus.ACTIVATION_SENT, purpose=ACTIVATION,
        origin=origin, now=now,
    )  # fmt: skip


async def request_password_reset(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    email: str,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """A password reset link for an active portal user; nothing otherwise (same answer)."""
    await _mail_link_if(
        db, config, portal_id=portal_id, email=email,
        status=models.RegistrationStatus.ACTIVE, purpose=PASSWORD_RESET,
        origin=origin, now=now,
    )  # fmt: skip


async def reset_password(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    token: str,
    password: str,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """Set a new password from a reset link; every session of the user ends."""
    user = await redeem(db, token, PASSWORD_RESET, portal_id, now)
    check_password(password, user.email)
    user.password_hash = hash_password(password, config.password_profile)
    portal = await db.get_one(models.Portal, user.portal_id)
    actor = sessions.actor_for(user, portal)
    revoked = await sessions.revoke_all(db, actor, reason="PASSWORD_RESET", now=now)
    audit.about(db, actor, user, "password.reset", origin, {"revoked_sessions": revoked})
    return user
