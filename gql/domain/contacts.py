"""Staff keep customer contacts (seed 004: "Kundenkontakte legen Sie ... an"): create
and edit them, with the same checks a customer's own change gets.

The email staff enter is the contact's login email for the portal: invitations go to
it and the invited access logs in with it (`portal_access.invite`). So when staff
correct the email of a contact whose invitation is still open, the invited access
follows, and the links already sent to the old address stop working (it may be the
wrong person's); staff send a new invitation. Accesses in use keep their login email.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit, contact_changes
from gql.domain.errors import Conflict, InvalidInput
from gql.domain.registration import INVITATION
from gql.domain.scope import find_visible
from gql.domain.text import optional_line

# Staff edit these; the address, name, phone and email are checked as a customer's own
# change is (contact_changes.clean), the rest here.
OWN_CHECKS: dict[str, tuple[str, int]] = {
    "company_name": ("companyName", 200),
    "customer_number": ("customerNumber", 40),
}
FIELDS = frozenset(contact_changes.INPUT_NAME) | frozenset(OWN_CHECKS)


def clean(values: Mapping[str, str | None], current: models.Contact) -> dict[str, str | None]:
    """The given attributes checked and normalised; "" or None clears an optional one.
    The contact must keep a last name or a company name.

    Raises:
        InvalidInput: naming the field (camelCase).
    """
    unknown = set(values) - FIELDS
    if unknown:
        raise ValueError(f"not contact fields: {sorted(unknown)}")  # a programming error
    shared = {k: v for k, v in values.items() if k in contact_changes.INPUT_NAME}
    cleaned: dict[str, str | None] = {}
    if "email" in shared and not (shared["email"] or "").strip():
        # An email is optional for staff (a company reached by letter); when given it is
        # checked like any login email.
        del shared["email"]
        cleaned["email"] = None
    cleaned.update(contact_changes.clean(shared, current))
    for column, (name, limit) in OWN_CHECKS.items():
        if column in values:
            cleaned[column] = optional_line(values[column], field=name, limit=limit)
    last_name = cleaned.get("last_name", current.last_name)
    company = cleaned.get("company_name", current.company_name)
    if not (last_name or company):
        raise InvalidInput("last_name_or_company_required", field="lastName")
    return cleaned


async def _customer_number_free(
    db: AsyncSession, organization_id: uuid.UUID, number: str | None, own: uuid.UUID | None
) -> None:
    if number is None:
        return
    contact = models.Contact
    taken = await db.scalar(
        sa.select(contact.id).where(
            contact.organization_id == organization_id,
            contact.customer_number == number,
            contact.id != own if own is not None else sa.true(),
        )
    )
    if taken is not None:
        raise Conflict(
            "customer_number_taken", field="customerNumber", parameters={"number": number}
        )


async def create_contact(
    db: AsyncSession,
    actor: Actor,
    values: Mapping[str, str | None],
    *,
    origin: audit.Origin,
) -> models.Contact:
    """A new contact of the actor's organization (staff only, by the field's roles).

    Raises:
        InvalidInput: a value (named); neither last name nor company name.
        Conflict: the customer number belongs to another contact.
    """
    assert actor.organization_id is not None  # staff always belong to one
    contact = models.Contact(organization_id=actor.organization_id, country="DE")
    cleaned = clean({k: v for k, v in values.items() if v is not None}, contact)
    await _customer_number_free(db, actor.organization_id, cleaned.get("customer_number"), None)
    for column, value in cleaned.items():
        setattr(contact, column, value)
    db.add(contact)
    await db.flush()
    audit.about(db, actor, contact, "contact.created", origin, {"fields": sorted(cleaned)})
    return contact


async def update_contact(
    db: AsyncSession,
    actor: Actor,
    contact_id: uuid.UUID | None,
    values: Mapping[str, str | None],
    *,
    origin: audit.Origin,
    now: datetime,
) -> models.Contact:
    """Change the given attributes of a contact the actor sees; the others stay.

    Raises:
        NotFound: no such contact visible to the actor.
        InvalidInput: nothing given, or a value (named).
        Conflict: the customer number belongs to another contact, or the new email is
            already the login of another access the invited access would collide with.
    """
    contact = await find_visible(
        db, models.Contact, contact_id, actor, what="contact", field="contactId", lock=True
    )
    if not values:
        raise InvalidInput("contact_unchanged", field="input")
    cleaned = clean(values, contact)
    differing = {c: v for c, v in cleaned.items() if getattr(contact, c) != v}
    if not differing:
        raise InvalidInput("contact_unchanged", field="input")
    if "customer_number" in differing:
        await _customer_number_free(
            db, contact.organization_id, differing["customer_number"], contact.id
        )
    before: dict[str, Any] = {column: getattr(contact, column) for column in differing}
    for column, value in differing.items():
        setattr(contact, column, value)
    moved = 0
    if "email" in differing:
        moved = await _invitations_follow(db, contact, differing["email"], now)
    await db.flush()
    audit.about(
        db,
        actor,
        contact,
        "contact.updated",
        origin,
        {"from": before, "to": differing, "invitations_moved": moved},
    )
    return contact


async def _invitations_follow(
    db: AsyncSession, contact: models.Contact, email: str | None, now: datetime
) -> int:
    """Invited (never accepted) accesses of the contact take its new email; the links
    sent to the old address stop working. Returns how many accesses moved."""
    user, code = models.PortalUser, models.OneTimeCode
    invited = (
        await db.scalars(
            sa.select(user)
            .where(
                user.contact_id == contact.id,
                user.registration_status == models.RegistrationStatus.INVITED,
            )
            .with_for_update()
        )
    ).all()
    for access in invited:
        await db.execute(
            sa.update(code)
            .where(
                code.portal_user_id == access.id,
                code.purpose == INVITATION,
                code.used_at.is_(None),
            )
            .values(used_at=now)
        )
        if email is None:
            # Nowhere to invite to: the invitation is withdrawn with its links.
            await db.delete(access)
            continue
        clash = await db.scalar(
            sa.select(user.id).where(
                user.portal_id == access.portal_id, user.email == email, user.id != access.id
            )
        )
        if clash is not None:
            raise Conflict("email_used_by_other_access", field="email")
        access.email = email
    return len(invited)
