"""Every change a customer makes is audited and tells the portal's staff.

`customer_change` is the one call a self-service function makes after changing
something: it writes the audit event and, when the change came from a portal user
(themselves, or staff impersonating them), queues one email per active staff user the
portal names in `notifyStaffUserIds` - in the caller's transaction, so a refused or
rolled-back change notifies nobody.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit, mail
from gql.settings import Settings

KIND = "staff_notification"

# What staff read in the subject, per audit action.
SUMMARIES: dict[str, dict[str, str]] = {
    "meter_reading.submitted": {"de": "Zählerstand erfasst", "en": "Meter reading submitted"},
    "contract.installment_changed": {"de": "Abschlag geändert", "en": "Installment changed"},
    "contract.installment_interval_changed": {
        "de": "Zahlungsintervall geändert",
        "en": "Installment interval changed",
    },
    "contract.payment_method_changed": {
        "de": "Zahlungsart geändert",
        "en": "Payment method changed",
    },
    "contract.due_day_changed": {"de": "Fälligkeitstag geändert", "en": "Due day changed"},
    "contact.updated": {"de": "Kontaktdaten geändert", "en": "Contact data changed"},
    "change_request.created": {
        "de": "Änderung wartet auf Freigabe",
        "en": "Change waiting for approval",
    },
    "order.offer_accepted": {"de": "Angebot angenommen", "en": "Offer accepted"},
    "order.offer_declined": {"de": "Angebot abgelehnt", "en": "Offer declined"},
    "document.uploaded": {"de": "Dokument hochgeladen", "en": "Document uploaded"},
    "document.deleted": {"de": "Dokument gelöscht", "en": "Document deleted"},
}


@dataclass(frozen=True)
class Notifier:
    sender: str
    staff_app_url: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Notifier:
        return cls(sender=settings.mail_from, staff_app_url=settings.staff_app_url.rstrip("/"))


async def customer_change(
    db: AsyncSession,
    notify: Notifier,
    actor: Actor,
    entity: Any,
    action: str,
    origin: audit.Origin,
    data: dict[str, Any],
    *,
    details: Sequence[str] = (),
) -> models.AuditEvent:
    """Audit `action` on `entity`; for a portal user's change also notify staff.
    `details` are human-readable lines for the mail (never secrets: IBANs are masked
    by the caller)."""
    event = audit.about(db, actor, entity, action, origin, data)
    if actor.is_portal_user and action in SUMMARIES:
        await _notify(db, notify, actor, entity, action, details)
    return event


async def recipients(db: AsyncSession, portal: models.Portal) -> Sequence[models.StaffUser]:
    """Active staff users of the portal's organization named in its settings."""
    wanted = [uuid.UUID(value) for value in portal.live_settings.notify_staff_user_ids]
    if not wanted:
        return []
    staff = models.StaffUser
    statement = sa.select(staff).where(
        staff.id.in_(wanted), staff.organization_id == portal.organization_id, staff.is_active
    )
    return (await db.scalars(statement.order_by(staff.email))).all()


async def _notify(
    db: AsyncSession,
    notify: Notifier,
    actor: Actor,
    entity: Any,
    action: str,
    details: Sequence[str],
) -> None:
    portal = await db.get(models.Portal, actor.portal_id)
    if portal is None:
        return
    staff_users = await recipients(db, portal)
    if not staff_users:
        return
    contact = await db.get(models.Contact, actor.contact_id) if actor.contact_id else None
    customer = _name(contact)
    for user in staff_users:
        language = user.language if user.language in ("de", "en") else "de"
        message = mail.render(
            mail.STAFF_NOTIFICATION[language],
            _variables(notify, portal, user, customer, contact, action, language, details),
        )
        mail.enqueue(
            db,
            organization_id=portal.organization_id,
            kind=KIND,
            sender=notify.sender,
            recipient=user.email,
            message=message,
        )


def _variables(
    notify: Notifier,
    portal: models.Portal,
    user: models.StaffUser,
    customer: str,
    contact: models.Contact | None,
    action: str,
    language: str,
    details: Sequence[str],
) -> Mapping[str, Any]:
    link = f"{notify.staff_app_url}/change-requests" if action == "change_request.created" else ""
    return {
        "name": user.name,
        "portal": portal.name,
        "customer": customer,
        "customer_number": (contact.customer_number if contact else None) or "-",
        "summary": SUMMARIES[action][language],
        "details": list(details),
        "link": link,
    }


def _name(contact: models.Contact | None) -> str:
    if contact is None:
        return "?"
    person = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return person or contact.company_name or contact.email or "?"
