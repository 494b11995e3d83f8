"""Self-registration, activation, password reset and passwordless login codes of portal
users (seeds 000-002).

Every answer to the caller is the same whether or not the email or a contact exists;
what differs goes into the email (an activation link, "you already have an account",
"we could not find you"). So that the time of the answer does not tell either, the
request checks its input and the rate limits, hashes the password (register) and queues
an `AccountRequest`; who the email belongs to is looked up, and the mail written, when
the mail worker answers the request (`answer_requests`). Links carry single-use tokens,
stored hashed, bound to one portal user and so to one portal. Requests that send mail
are rate-limited per email (silently: the answer stays the same) and per client address
(refused).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.models.enums import EmailTemplateKind
from db.portal_settings import Identifier, IdentifierEntity, PortalSettings, SelfRegistration
from gql.auth import passwords
from gql.auth.actor import ANONYMOUS, Actor
from gql.domain import (
    audit,
    consent,
    email_address,
    login_codes,
    notifications,
    password_policy,
    portal_mail,
    rate_limit,
    sessions,
)
from gql.domain.errors import DomainError, InvalidInput, RuleViolation
from gql.settings import Settings

log = structlog.get_logger(__name__)

REGISTER = "register"
ACTIVATION = "activation"
INVITATION = "invitation"
PASSWORD_RESET = "password_reset"  # noqa: S105 - a token purpose
LOGIN_CODE = login_codes.PURPOSE


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"


class RateLimited(RuleViolation):
    code = "RATE_LIMITED"


class RegistrationElsewhere(RuleViolation):
    """The portal replaced its own registration by a link (seed 002: "den
    Registrierungslink austauschen", e.g. registration only through a journey)."""

    code = "REGISTRATION_ELSEWHERE"


@dataclass(frozen=True)
class AccessConfig:
    activation_ttl: timedelta
    invitation_ttl: timedelta
    reset_ttl: timedelta
    login_code_ttl: timedelta
    email_change_ttl: timedelta
    sender: str
    hashing: passwords.Hashing
    per_email: int
    per_address: int
    # Where staff handle pending registrations (the link in the PENDING_USER mail).
    staff_app_url: str = "http://localhost:8000/staff"

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessConfig:
        return cls(
            activation_ttl=timedelta(seconds=settings.activation_ttl_seconds),
            invitation_ttl=timedelta(seconds=settings.invitation_ttl_seconds),
            reset_ttl=timedelta(seconds=settings.password_reset_ttl_seconds),
            login_code_ttl=timedelta(seconds=settings.email_code_ttl_seconds),
            email_change_ttl=timedelta(seconds=settings.email_change_ttl_seconds),
            sender=settings.mail_from,
            hashing=passwords.Hashing.from_settings(settings),
            per_email=settings.mail_requests_per_email,
            per_address=settings.mail_requests_per_address,
            staff_app_url=settings.staff_app_url.rstrip("/"),
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
        values=portal_mail.link_values(portal, KIND_OF_PURPOSE[purpose], token),
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
        raise InvalidInput("portal_not_found", field="portalId")
    return portal


async def _system_mail(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    kind: EmailTemplateKind,
    email: str,
    language: str,
) -> None:
    """A mail answering a registration that made no access (the portal's template)."""
    await portal_mail.send(
        db,
        portal,
        kind,
        sender=config.sender,
        email=email,
        language=language,
        contact=None,
        values={"login_link": portal_mail.login_link(portal)},
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


EMAIL_KEY = "contact.email"


def clean_identifiers(settings: PortalSettings, given: Mapping[str, str]) -> dict[str, str]:
    """The portal's identifiers besides the email (the email is the login and given
    anyway), each required; unknown keys refused."""
    wanted = {identifier.key: identifier for identifier in settings.registration.identifiers}
    wanted.pop(EMAIL_KEY, None)
    unknown = sorted(set(given) - set(wanted) - {EMAIL_KEY})
    if unknown:
        raise InvalidInput(
            "identifier_unknown", field="identifiers", parameters={"unknown": ", ".join(unknown)}
        )
    values: dict[str, str] = {}
    for key in wanted:
        value = " ".join((given.get(key) or "").split())
        if not value or len(value) > 200:
            raise InvalidInput("required", field=f"identifiers.{key}")
        values[key] = value
    return values


def required_matches(
    identifiers: Sequence[Identifier], email: str, given: Mapping[str, str]
) -> list[tuple[Identifier, str]] | None:
    """Every identifier the portal configures now, with the value to compare: the
    registration's email for `contact.email`, the given value for the others. None when
    a value is missing (the portal added an identifier after the request was queued):
    then nothing can match all of them, so nobody is assigned."""
    pairs: list[tuple[Identifier, str]] = []
    for identifier in identifiers:
        value = email if identifier.key == EMAIL_KEY else given.get(identifier.key)
        if not value:
            return None
        pairs.append((identifier, value))
    return pairs


async def match_contact(
    db: AsyncSession,
    portal: models.Portal,
    email: str,
    identifiers: Mapping[str, str],
) -> models.Contact | None:
    """The one contact of the portal's organization the registration belongs to: the
    one that matches every identifier the portal configures (the email only when it is
    one of them; a portal may identify by contract number alone); none when no contact
    or several match all of them."""
    pairs = required_matches(portal.live_settings.registration.identifiers, email, identifiers)
    if not pairs:
        return None
    contact = models.Contact
    matches = (
        await db.scalars(
            sa.select(contact)
            .where(
                contact.organization_id == portal.organization_id,
                *(_identifier_condition(i.entity, i.attribute, value) for i, value in pairs),
            )
            .limit(2)
        )
    ).all()
    return matches[0] if len(matches) == 1 else None


# --- Registration -------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationOutcome:
    """What happened, for the tests and the audit log; the caller is told none of it."""

    # REGISTERED_ASSIGNED, REGISTERED_PENDING, CONTACT_CREATED, EXISTS, DENIED (register),
    # LINK_SENT, NOTHING (activation, password reset), CODE_SENT, NOTHING (login code),
    # FAILED (logged).
    kind: str
    portal_user_id: uuid.UUID | None = None


async def default_group(db: AsyncSession, portal: models.Portal) -> uuid.UUID:
    group = models.PermissionGroup
    found = await db.scalar(
        sa.select(group.id).where(group.portal_id == portal.id, group.is_default)
    )
    if found is None:
        raise RuleViolation("portal_without_default_group")
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
    marketing_consent: bool = False,
) -> None:
    """Register on a portal. Input errors are refused (they do not depend on who
    exists); everything else is queued and ends in the same answer and, when the worker
    answers it (`complete_registration`), an email.

    Raises:
        InvalidInput: portal, email, password, language, terms, marketing consent or
            identifiers.
        RegistrationElsewhere: the portal registers through its replacement link.
        RateLimited: too many registrations from this address.
        passwords.Busy: no admission to the hash within its wait.
    """
    # The address and the password rules first: a bad password costs no statement and
    # no hash. Then the hash, on every path, so that a registration costs the request
    # the same whoever the email belongs to (the worker only stores it), and before the
    # first statement, so that no connection waits for it.
    address = email_address.canonical(email)
    password_policy.check_password(password, address)
    password_hash = await config.hashing.hash(password)
    portal = await active_portal(db, portal_id)
    settings = portal.live_settings
    link = settings.registration.registration_link
    if link is not None:
        raise RegistrationElsewhere(
            f"Registration for this portal is at {link}.",
            parameters={"registrationLink": str(link)},
        )
    chosen = language or settings.default_language
    if chosen not in settings.languages:
        raise InvalidInput(
            "language_not_spoken",
            field="language",
            parameters={"languages": ", ".join(settings.languages)},
        )
    if settings.registration.terms_url is not None and not accepted_terms:
        raise InvalidInput("terms_not_accepted", field="acceptedTerms")
    consent_text = consent.agreed_text(settings, chosen, marketing_consent)
    values = clean_identifiers(settings, identifiers)
    if await within_limits(db, config, REGISTER, address, origin, now):
        details = {
            "language": chosen,
            "password_hash": password_hash,
            "identifiers": values,
            "marketing_consent_text": consent_text,
        }
        _queue(db, portal, REGISTER, address, origin, now, **details)


async def complete_registration(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    request: models.AccountRequest,
    origin: audit.Origin,
    now: datetime,
) -> RegistrationOutcome:
    """The worker's half of `register`: a new portal user with an activation link, or
    the mail saying why not (an account exists, no contact matches on a DENY portal)."""
    settings = portal.live_settings
    address = request.email
    chosen = request.language or settings.default_language
    existing = await db.scalar(
        sa.select(models.PortalUser).where(
            models.PortalUser.portal_id == portal.id, models.PortalUser.email == address
        )
    )
    if existing is not None:
        await _system_mail(db, config, portal, EmailTemplateKind.ACCOUNT_EXISTS, address, chosen)
        return RegistrationOutcome("EXISTS", existing.id)

    values = request.identifiers
    contact = await match_contact(db, portal, address, values)
    kind = "REGISTERED_ASSIGNED"
    if contact is None:
        policy = settings.registration.self_registration
        if policy is SelfRegistration.DENY:
            await _system_mail(
                db, config, portal, EmailTemplateKind.REGISTRATION_DENIED, address, chosen
            )
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
        password_hash=request.password_hash,
    )
    agreed = request.marketing_consent_text
    if contact is not None and agreed is not None:
        consent.give(contact, agreed, request.created_at)
    elif agreed is not None:
        consent.hold(user, agreed, request.created_at)
    await send_link(db, config, portal, user, ACTIVATION, now)
    if contact is None:
        await tell_staff_of_pending(db, config, portal, user, values)
    audit.about(db, anonymous_on(portal), user, "portal_user.registered", origin, {"outcome": kind})
    return RegistrationOutcome(kind, user.id)


def identifier_lines(
    settings: PortalSettings, values: Mapping[str, str], language: str
) -> list[str]:
    """What the person registered with, one `label: value` line per identifier."""
    lines = []
    for identifier in settings.registration.identifiers:
        if identifier.key in values:
            label = identifier.label("en" if language == "en" else "de")
            lines.append(f"{label}: {values[identifier.key]}")
    return lines


async def tell_staff_of_pending(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    user: models.PortalUser,
    values: Mapping[str, str],
) -> int:
    """Mail the portal's notified staff (`notifyStaffUserIds`) that a registration
    matched no contact and waits to be assigned (ECP onMapAPendingUser), each in their
    language, with what the person registered with. Sent by the mail worker when it
    answers the registration, so it costs the anonymous request nothing and is as
    rate-limited as the registration itself. Returns how many were written."""
    staff_users = await notifications.recipients(db, portal)
    for staff in staff_users:
        language = staff.language if staff.language in ("de", "en") else "de"
        await portal_mail.send(
            db,
            portal,
            EmailTemplateKind.PENDING_USER,
            sender=config.sender,
            email=user.email,
            recipient=staff.email,
            language=language,
            contact=None,
            values={
                "staff": {"name": staff.name},
                "registration": {
                    "details": identifier_lines(portal.live_settings, values, language)
                },
                "pending_users_link": f"{config.staff_app_url}/portal-users"
                f"?portalId={portal.id}&assignmentStatus=PENDING",
            },
        )
    return len(staff_users)


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
    audit.about(
        db,
        sessions.actor_for(user, await db.get_one(models.Portal, user.portal_id)),
        user,
        "portal_user.activated",
        origin,
    )
    return user


async def _user_by_email(
    db: AsyncSession, portal: models.Portal, email: str
) -> models.PortalUser | None:
    return await db.scalar(
        sa.select(models.PortalUser)
        .where(models.PortalUser.portal_id == portal.id, models.PortalUser.email == email)
        .with_for_update()
    )


async def _request_link(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    email: str,
    purpose: str,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """Queue a request for a link of `purpose` within the rate limits; whether anyone
    gets one is decided by the worker (`mail_link_if`), the caller learns nothing."""
    portal = await active_portal(db, portal_id)
    address = email_address.canonical(email)
    if await within_limits(db, config, purpose, address, origin, now):
        _queue(db, portal, purpose, address, origin, now)


LINK_FOR_STATUS = {
    ACTIVATION: models.RegistrationStatus.ACTIVATION_SENT,
    PASSWORD_RESET: models.RegistrationStatus.ACTIVE,
}


async def mail_link_if(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    request: models.AccountRequest,
    origin: audit.Origin,
    now: datetime,
) -> RegistrationOutcome:
    """The worker's half of a link request: mail a new link to the portal user with the
    email if it is in the status the link is for (waiting for its activation, active for
    a reset); nothing otherwise."""
    purpose = request.action
    user = await _user_by_email(db, portal, request.email)
    if user is None or user.registration_status is not LINK_FOR_STATUS[purpose]:
        return RegistrationOutcome("NOTHING")
    await send_link(db, config, portal, user, purpose, now)
    audit.about(db, anonymous_on(portal), user, f"portal_user.{purpose}_requested", origin)
    return RegistrationOutcome("LINK_SENT", user.id)


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
    await _request_link(
        db, config, portal_id=portal_id, email=email, purpose=ACTIVATION, origin=origin, now=now
    )


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
    await _request_link(
        db, config, portal_id=portal_id, email=email, purpose=PASSWORD_RESET, origin=origin, now=now
    )


# --- Passwordless login -------------------------------------------------------------------


async def request_login_code(
    db: AsyncSession,
    config: AccessConfig,
    *,
    portal_id: uuid.UUID | None,
    email: str,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """Queue a login code for the email, within the rate limits; whether anyone gets
    one is decided by the worker (`mail_login_code_if`), the caller learns nothing.

    Raises:
        InvalidInput: no such active portal.
        RuleViolation: the portal does not offer passwordless login.
        RateLimited: too many requests from this address.
    """
    portal = await active_portal(db, portal_id)
    login_codes.check_offered(portal)
    address = email_address.canonical(email)
    if await within_limits(db, config, LOGIN_CODE, address, origin, now):
        _queue(db, portal, LOGIN_CODE, address, origin, now)


async def mail_login_code_if(
    db: AsyncSession,
    config: AccessConfig,
    portal: models.Portal,
    request: models.AccountRequest,
    origin: audit.Origin,
    now: datetime,
) -> RegistrationOutcome:
    """The worker's half of `request_login_code`: mail a new code to the portal user
    with the email if it may log in (and the portal still offers it); nothing otherwise."""
    user = await _user_by_email(db, portal, request.email)
    if (
        user is None
        or not sessions.may_log_in(user, portal)
        or not login_codes.offered(portal.live_settings)
    ):
        return RegistrationOutcome("NOTHING")
    code = await login_codes.issue(db, user, config.login_code_ttl, now)
    contact = await db.get(models.Contact, user.contact_id) if user.contact_id else None
    await portal_mail.send(
        db,
        portal,
        EmailTemplateKind.LOGIN_CODE,
        sender=config.sender,
        email=user.email,
        language=user.language,
        contact=contact,
        values={"login_code": code, "minutes": int(config.login_code_ttl.total_seconds() // 60)},
    )
    audit.about(db, anonymous_on(portal), user, "login.code_sent", origin)
    return RegistrationOutcome("CODE_SENT", user.id)


# --- The worker's side ------------------------------------------------------------------


def _queue(
    db: AsyncSession,
    portal: models.Portal,
    action: str,
    email: str,
    origin: audit.Origin,
    now: datetime,
    **registration: Any,
) -> None:
    db.add(
        models.AccountRequest(
            organization_id=portal.organization_id,
            portal_id=portal.id,
            action=action,
            email=email,
            ip_address=origin.ip_address,
            user_agent=origin.user_agent,
            # The request's own time (not the transaction's), so requests are answered
            # in the order they were made: a registration before its resend.
            created_at=now,
            **registration,
        )
    )


async def answer_next(
    db: AsyncSession, config: AccessConfig, now: datetime
) -> RegistrationOutcome | None:
    """Answer the oldest queued request nobody else is answering, and remove it; None
    when there is none. A portal deactivated in the meantime answers nobody."""
    queued = models.AccountRequest
    request = await db.scalar(
        sa.select(queued)
        .order_by(queued.created_at, queued.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if request is None:
        return None
    await db.delete(request)
    await db.flush()
    portal = await db.scalar(
        sa.select(models.Portal).where(
            models.Portal.id == request.portal_id,
            models.Portal.status == models.PortalStatus.ACTIVE,
        )
    )
    if portal is None:
        return RegistrationOutcome("NOTHING")
    origin = audit.Origin(
        str(request.ip_address) if request.ip_address else None, request.user_agent
    )
    try:
        async with db.begin_nested():
            # An unknown action fails here like any broken request.
            answer = ANSWERS[request.action]
            return await answer(db, config, portal, request, origin, now)
    except Exception:  # one broken request must not block the queue behind it
        log.exception("account_request.failed", action=request.action, request_id=request.id)
        return RegistrationOutcome("FAILED")


Answer = Callable[
    [AsyncSession, AccessConfig, models.Portal, models.AccountRequest, audit.Origin, datetime],
    Awaitable[RegistrationOutcome],
]
# What the worker does for each kind of queued request.
ANSWERS: dict[str, Answer] = {
    REGISTER: complete_registration,
    ACTIVATION: mail_link_if,
    PASSWORD_RESET: mail_link_if,
    LOGIN_CODE: mail_login_code_if,
}


async def answer_requests(
    sessions: async_sessionmaker[AsyncSession],
    config: AccessConfig,
    *,
    now: datetime | None = None,
    limit: int = 100,
) -> list[RegistrationOutcome]:
    """Answer up to `limit` queued requests, one transaction each (several workers
    share the queue); what happened, for the tests."""
    outcomes: list[RegistrationOutcome] = []
    for _ in range(limit):
        async with sessions() as db, db.begin():
            outcome = await answer_next(db, config, now or datetime.now(UTC))
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes


def answering(
    sessions: async_sessionmaker[AsyncSession], config: AccessConfig
) -> Callable[[], Awaitable[int]]:
    """`answer_requests` as the mail worker's step before each delivery round."""

    async def answer() -> int:
        return len(await answer_requests(sessions, config))

    return answer


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
    """Set a new password from a reset link; every session of the user ends.

    Raises:
        InvalidInput: the password breaks the rules.
        InvalidToken: the link is unknown, used or expired.
        passwords.Busy: no admission to the hash within its wait.
    """
    password_hash = await password_policy.checked_and_hashed(config.hashing, password)
    user = await redeem(db, token, PASSWORD_RESET, portal_id, now)
    password_policy.check_password(password, user.email)  # with the email, now known
    user.password_hash = password_hash
    portal = await db.get_one(models.Portal, user.portal_id)
    actor = sessions.actor_for(user, portal)
    revoked = await sessions.revoke_all(db, actor, reason="PASSWORD_RESET", now=now)
    audit.about(db, actor, user, "password.reset", origin, {"revoked_sessions": revoked})
    return user
