"""A customer edits their own contact data; what the portal requires approval for
waits for staff (seed 003 step 3: "Freigabe erforderlich").

Attributes come in groups that are approved together: `contact.name` is first and
last name, `contact.address` street, house number, postal code, city and country,
`contact.phone` and `contact.email` one field each. Marketing consent is the
customer's own choice and never waits. A group the portal lists in
`approvalRequiredAttributes` becomes one `ChangeRequest` (PENDING) holding the old and
the new values; the contact is changed only when staff approve, and only if the old
values are still what the request saw (otherwise a conflict: someone changed it since).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.change_request import CONTRACT_ENTITY
from gql.auth.actor import Actor
from gql.domain import audit, consent, email_address, portal_mail
from gql.domain.errors import Conflict, InvalidInput, RuleViolation
from gql.domain.notifications import Notifier, customer_change
from gql.domain.scope import find_visible
from gql.domain.text import one_line, optional_line

# Approval group -> the contact columns it covers, in input order.
GROUPS: dict[str, tuple[str, ...]] = {
    "contact.name": ("first_name", "last_name"),
    "contact.address": ("street", "house_number", "postal_code", "city", "country"),
    "contact.phone": ("phone",),
    "contact.email": ("email",),
}
GROUP_OF = {column: group for group, columns in GROUPS.items() for column in columns}
# Contract changes that may need approval too (self_service asks `request_change`).
CONTRACT_GROUPS: dict[str, tuple[str, ...]] = {
    "contract.installment": ("installment_amount",),
    # The amount follows the interval (the year's sum stays), so both wait together.
    "contract.installment_interval": ("installment_interval", "installment_amount"),
    "contract.payment_method": ("payment_method", "iban", "account_holder"),
    "contract.due_day": ("due_day",),
}
# The audit action an approved contract change records (cadence rules count them).
APPLIED_ACTION = {
    "contract.installment": "contract.installment_changed",
    "contract.installment_interval": "contract.installment_interval_changed",
    "contract.payment_method": "contract.payment_method_changed",
    "contract.due_day": "contract.due_day_changed",
}
ENTITY_MODEL: dict[str, type[Any]] = {
    "contact": models.Contact,
    CONTRACT_ENTITY: models.Contract,
}
# camelCase input names, for error fields.
INPUT_NAME = {
    "first_name": "firstName",
    "last_name": "lastName",
    "street": "street",
    "house_number": "houseNumber",
    "postal_code": "postalCode",
    "city": "city",
    "country": "country",
    "phone": "phone",
    "email": "email",
}
LIMITS = {"first_name": 100, "last_name": 100, "street": 200, "house_number": 20, "city": 100}
PHONE = re.compile(r"^\+?[0-9][0-9 ()/-]{4,38}$")
POSTAL_CODE = {"DE": re.compile(r"^[0-9]{5}$"), "AT": re.compile(r"^[0-9]{4}$")}
COUNTRY = re.compile(r"^[A-Z]{2}$")
REQUIRED = frozenset({"last_name", "street", "postal_code", "city", "country"})


def clean(changes: Mapping[str, str | None], current: models.Contact) -> dict[str, str | None]:
    """The given attributes validated and normalised (None or "" clears an optional one);
    attributes not given are not in the result. The postal code is checked against the
    country it will have."""
    cleaned: dict[str, str | None] = {}
    for column, raw in changes.items():
        name = INPUT_NAME[column]
        if column in LIMITS:
            limit = LIMITS[column]
            value = (
                one_line(raw, field=name, limit=limit)
                if column in REQUIRED
                else optional_line(raw, field=name, limit=limit)
            )
        elif column == "phone":
            value = optional_line(raw, field=name, limit=40)
            if value is not None and not PHONE.match(value):
                raise InvalidInput("phone_invalid", field=name)
        elif column == "email":
            value = email_address.canonical(raw or "")
        elif column == "country":
            value = one_line(raw, field=name, limit=2).upper()
            if not COUNTRY.match(value):
                raise InvalidInput("country_invalid", field=name)
        else:  # postal_code
            value = one_line(raw, field=name, limit=10).upper()
        cleaned[column] = value
    country = cleaned.get("country") or current.country
    postal_code = cleaned.get("postal_code")
    pattern = POSTAL_CODE.get(country)
    if postal_code is not None and pattern is not None and not pattern.match(postal_code):
        raise InvalidInput(
            "postal_code_invalid", field="postalCode", parameters={"country": country}
        )
    return cleaned


@dataclass
class ContactUpdate:
    contact: models.Contact
    applied: list[str] = field(default_factory=list)  # groups changed at once
    requests: list[models.ChangeRequest] = field(default_factory=list)  # waiting


def _json(value: Any) -> Any:
    """A column value as a change request stores it (JSON)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _values(row: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    return {column: _json(getattr(row, column)) for column in columns}


def _column_value(model: type[Any], column: str, value: Any) -> Any:
    """A stored JSON value back as the column's Python type."""
    if value is None:
        return None
    python_type = sa.inspect(model).columns[column].type.python_type
    if issubclass(python_type, enum.Enum | Decimal):
        return python_type(value)
    return value


async def update_my_contact(
    db: AsyncSession,
    actor: Actor,
    *,
    changes: Mapping[str, str | None],
    marketing_consent: bool | None,
    approval_required: frozenset[str],
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> ContactUpdate:
    """Change the actor's own contact: groups that need approval become requests, the
    rest changes at once. Only values that really differ count; nothing to change is
    an error, and so is a second request for a group that is already waiting."""
    contact = await find_visible(
        db, models.Contact, actor.contact_id, actor, what="contact", field="id", lock=True
    )
    cleaned = clean(changes, contact)
    differing = {c: v for c, v in cleaned.items() if getattr(contact, c) != v}
    consent_changes = marketing_consent is not None and (
        marketing_consent != contact.marketing_consent
    )
    if not differing and not consent_changes:
        raise InvalidInput("contact_unchanged", field="input")
    consent_text = None
    if consent_changes:
        consent_text = await _consent_text(db, actor, bool(marketing_consent))
    result = ContactUpdate(contact)
    by_group: dict[str, dict[str, str | None]] = {}
    for column, value in differing.items():
        by_group.setdefault(GROUP_OF[column], {})[column] = value
    immediate: dict[str, dict[str, Any]] = {}
    for group, values in by_group.items():
        if group in approval_required:
            result.requests.append(
                await _request(db, actor, contact, group, values, origin, notify)
            )
        else:
            immediate[group] = values
    if consent_changes:
        immediate["contact.marketing_consent"] = {"marketing_consent": marketing_consent}
    if immediate:
        before = {
            column: getattr(contact, column) for values in immediate.values() for column in values
        }
        for values in immediate.values():
            for column, value in values.items():
                setattr(contact, column, value)
        if consent_changes:
            consent.give(contact, consent_text, now)
        result.applied = sorted(immediate)
        after = {column: getattr(contact, column) for column in before}
        await customer_change(
            db,
            notify,
            actor,
            contact,
            "contact.updated",
            origin,
            {"from": before, "to": after},
            details=[f"{c}: {before[c] or '-'} -> {after[c] or '-'}" for c in before],
        )
    await db.flush()
    return result


async def _consent_text(db: AsyncSession, actor: Actor, agreed: bool) -> str | None:
    """The portal's consent text in the portal user's language, that they agree to."""
    portal = await db.get_one(models.Portal, actor.portal_id)
    user = await db.get(models.PortalUser, actor.subject_id) if actor.subject_id else None
    language = user.language if user else portal.live_settings.default_language
    return consent.agreed_text(portal.live_settings, language, agreed)


async def _request(
    db: AsyncSession,
    actor: Actor,
    contact: models.Contact,
    group: str,
    values: dict[str, str | None],
    origin: audit.Origin,
    notify: Notifier,
) -> models.ChangeRequest:
    return await request_change(
        db,
        actor,
        contact,
        group,
        values,
        origin=origin,
        notify=notify,
        field=INPUT_NAME[next(iter(values))],
    )


async def request_change(
    db: AsyncSession,
    actor: Actor,
    entity: models.Contact | models.Contract,
    group: str,
    values: Mapping[str, Any],
    *,
    origin: audit.Origin,
    notify: Notifier,
    field: str,
) -> models.ChangeRequest:
    """A waiting change of `group` on a contact or contract; refused while another
    request for the same group of the same entity waits."""
    request = models.ChangeRequest
    waiting = await db.scalar(
        sa.select(request.id).where(
            request.entity_id == entity.id,
            request.attribute == group,
            request.status == models.ChangeRequestStatus.PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(
            "change_already_waiting", field=field, parameters={"change": group.split(".", 1)[1]}
        )
    is_contact = isinstance(entity, models.Contact)
    columns = (GROUPS if is_contact else CONTRACT_GROUPS)[group]
    old = _values(entity, columns)
    new = {**old, **{column: _json(value) for column, value in values.items()}}
    row = request(
        organization_id=entity.organization_id,
        portal_user_id=actor.subject_id if actor.is_portal_user else None,
        contact_id=entity.id if isinstance(entity, models.Contact) else entity.contact_id,
        entity_type="contact" if is_contact else CONTRACT_ENTITY,
        entity_id=entity.id,
        attribute=group,
        old_value=old,
        new_value=new,
    )
    db.add(row)
    await db.flush()
    await customer_change(
        db,
        notify,
        actor,
        row,
        "change_request.created",
        origin,
        {"attribute": group, "from": old, "to": new},
        details=[_masked(c, old[c], new[c]) for c in columns if old[c] != new[c]],
    )
    return row


def _masked(column: str, old: Any, new: Any) -> str:
    """A line for staff mails; IBANs show their last four characters only."""

    def shown(value: Any) -> str:
        if value in (None, ""):
            return "-"
        return f"...{str(value)[-4:]}" if column == "iban" else str(value)

    return f"{column}: {shown(old)} -> {shown(new)}"


async def _pending(
    db: AsyncSession, actor: Actor, request_id: uuid.UUID | None
) -> models.ChangeRequest:
    row = await find_visible(
        db,
        models.ChangeRequest,
        request_id,
        actor,
        what="change request",
        field="changeRequestId",
        lock=True,
    )
    if row.status is not models.ChangeRequestStatus.PENDING:
        raise RuleViolation(
            "change_already_decided",
            field="changeRequestId",
            parameters={"status": row.status.value},
        )
    return row


async def approve(
    db: AsyncSession,
    actor: Actor,
    notify: Notifier,
    *,
    request_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> models.ChangeRequest:
    """Apply a waiting request, if the contact still has the values the request saw."""
    row = await _pending(db, actor, request_id)
    model = ENTITY_MODEL[row.entity_type]
    entity = await db.get_one(model, row.entity_id, with_for_update=True)
    columns = (GROUPS if model is models.Contact else CONTRACT_GROUPS)[row.attribute]
    current = _values(entity, columns)
    if current != row.old_value:
        changed = sorted(c for c in current if current[c] != row.old_value.get(c))
        raise Conflict(
            "changed_since_request",
            field="changeRequestId",
            parameters={"changedFields": ", ".join(INPUT_NAME.get(c, c) for c in changed)},
        )
    for column, value in row.new_value.items():
        setattr(entity, column, _column_value(model, column, value))
    row.status = models.ChangeRequestStatus.APPROVED
    row.decided_by_id = actor.subject_id
    row.decided_at = now
    audit.about(db, actor, row, "change_request.approved", origin, {"attribute": row.attribute})
    audit.about(
        db,
        actor,
        entity,
        APPLIED_ACTION.get(row.attribute, f"{row.entity_type}.updated"),
        origin,
        {"from": row.old_value, "to": row.new_value, "change_request_id": str(row.id)},
    )
    await db.flush()
    await tell_decided(db, notify, row)
    return row


async def reject(
    db: AsyncSession,
    actor: Actor,
    notify: Notifier,
    *,
    request_id: uuid.UUID | None,
    reason: str,
    origin: audit.Origin,
    now: datetime,
) -> models.ChangeRequest:
    row = await _pending(db, actor, request_id)
    row.reason = one_line(reason, field="reason", limit=500)
    row.status = models.ChangeRequestStatus.REJECTED
    row.decided_by_id = actor.subject_id
    row.decided_at = now
    audit.about(
        db,
        actor,
        row,
        "change_request.rejected",
        origin,
        {"attribute": row.attribute, "reason": row.reason},
    )
    await db.flush()
    await tell_decided(db, notify, row)
    return row


# What the customer reads in the CHANGE_REQUEST_DECIDED mail, per approval group.
SUMMARIES: dict[str, dict[str, str]] = {
    "contact.name": {"de": "Name", "en": "Name"},
    "contact.address": {"de": "Adresse", "en": "Address"},
    "contact.phone": {"de": "Telefonnummer", "en": "Phone number"},
    "contact.email": {"de": "E-Mail-Adresse", "en": "Email address"},
    "contract.installment": {"de": "Abschlag", "en": "Installment"},
    "contract.payment_method": {"de": "Zahlungsart", "en": "Payment method"},
    "contract.due_day": {"de": "Fälligkeitstag", "en": "Due day"},
}


async def tell_decided(
    db: AsyncSession, notify: Notifier, row: models.ChangeRequest
) -> models.OutboundEmail | None:
    """Mail the portal user who asked for the change that staff decided it (template
    CHANGE_REQUEST_DECIDED), in their language; nobody when no portal user asked (or
    their access is gone since)."""
    user = await db.get(models.PortalUser, row.portal_user_id) if row.portal_user_id else None
    if user is None:
        return None
    portal = await db.get_one(models.Portal, user.portal_id)
    contact = await db.get(models.Contact, row.contact_id)
    language = "en" if user.language == "en" else "de"
    return await portal_mail.send(
        db,
        portal,
        models.EmailTemplateKind.CHANGE_REQUEST_DECIDED,
        sender=notify.sender,
        email=user.email,
        language=user.language,
        contact=contact,
        values={
            "change": {
                "approved": row.status is models.ChangeRequestStatus.APPROVED,
                "summary": SUMMARIES.get(row.attribute, {}).get(language, row.attribute),
                "reason": row.reason or "",
            },
            "login_link": portal_mail.login_link(portal),
        },
    )
