"""Every change a customer makes is audited and tells the portal's staff.

`customer_change` is the one call a self-service function makes after changing
something: it writes the audit event and, when the change came from a portal user
(themselves, or staff impersonating them), queues one email per active staff user the
portal names in `notifyStaffUserIds` - in the caller's transaction, so a refused or
rolled-back change notifies nobody. The email is the portal's STAFF_NOTIFICATION
template (staff edit it like every other), read with the audience in one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from db import models, raw
from db.models.enums import EmailTemplateKind
from db.portal_settings import settings_parts
from gql.auth.actor import Actor
from gql.domain import audit, mail, portal_mail
from gql.domain.errors import InvalidInput
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
    audience: Audience | None = None,
    writes: raw.Writes | None = None,
) -> models.AuditEvent:
    """Audit `action` on `entity`; for a portal user's change also notify staff.
    `details` are human-readable lines for the mail (never secrets: IBANs are masked
    by the caller). `audience`: who is told, when the caller read it already with its
    own facts (`audience_columns`); else one statement reads it. The event and the
    mails are written in one statement, or with the caller's `writes` when given (the
    caller runs them, with its own change, in one statement)."""
    event = audit.event_about(actor, entity, action, origin, data)
    own = writes is None
    writes = raw.Writes() if writes is None else writes
    writes.insert([event])
    if actor.is_portal_user and action in SUMMARIES:
        if audience is None:
            audience = audience_of((await db.execute(audience_query(actor))).one())
        writes.insert(await _notify(notify, audience, action, details))
    if own:
        await writes.run(db)
    return event


@dataclass(frozen=True)
class Recipient:
    """An active staff user of the portal's organization named in its settings."""

    email: str
    name: str
    language: str


@dataclass(frozen=True)
class Audience:
    """Who is told of a portal user's change, and what the mail says of the customer:
    the portal (None: gone), its recipients by email, the customer's contact, the
    portal's STAFF_NOTIFICATION templates by language and the portal user's email."""

    portal_name: str | None
    organization_id: uuid.UUID | None
    recipients: list[Recipient]
    contact: Mapping[str, Any] | None
    portal_url: str | None = None
    default_language: str = "de"
    templates: Mapping[str, mail.Template] | None = None
    user_email: str = ""


def notified_staff(named_ids: Any = None) -> list[sa.ColumnElement[bool]]:
    """The staff users a portal names in `notifyStaffUserIds` (its live settings, or
    `named_ids`: that setting as the statement read it already), active, of its
    organization: conditions on `StaffUser` next to a `Portal` row. The one rule of who
    is told, for `recipients` and `audience_columns`."""
    portal, staff = models.Portal, models.StaffUser
    if named_ids is None:
        named_ids = live_setting("notify_staff_user_ids")
    named = sa.func.jsonb_array_elements_text(named_ids)
    return [
        staff.id.in_(sa.select(sa.cast(named.column_valued(), sa.Uuid))),
        staff.organization_id == portal.organization_id,
        staff.is_active.is_(True),
    ]


async def recipients(db: AsyncSession, portal: models.Portal) -> Sequence[models.StaffUser]:
    """The staff `portal` tells (`notified_staff`), as rows, by email."""
    staff = models.StaffUser
    statement = sa.select(staff).where(models.Portal.id == portal.id, *notified_staff())
    return (await db.scalars(statement.order_by(staff.email))).all()


def _live() -> Any:
    """The portal's live settings (`Portal.live_settings`: the published ones, else the
    draft) as a JSONB expression."""
    portal = models.Portal
    return sa.func.coalesce(portal.published_settings, portal.draft_settings)


def live_setting(name: str) -> Any:
    """A setting of the portal's live settings as a JSONB expression, for statements
    that read one (several: `live_settings`)."""
    return sa.type_coerce(_live().op("->")(sa.literal(name, sa.Text)), postgresql.JSONB)


def live_settings(*names: str) -> Any:
    """The live settings `names` of the `Portal` row beside it, as JSONB columns of a
    FROM item that unpacks the document once (`settings_parts`)."""
    return settings_parts(_live(), "live_settings", **dict.fromkeys(names, postgresql.JSONB))


# The live settings the audience reads.
AUDIENCE_SETTINGS = ("notify_staff_user_ids", "pages_url", "default_language")


def audience_portal(actor: Actor, *settings: str) -> sa.Select[Any]:
    """The actor's portal as `audience_of` reads it (the `audience_portal` column: its
    name, the staff it names in `notifyStaffUserIds`, live settings: the published ones,
    else the draft; active, of the portal's organization; by email, its
    STAFF_NOTIFICATION templates, the actor's login email) and its live `settings`
    besides (columns by their names), from one unpacking of the settings (about 5 kB;
    a draft compressed and out of line): a statement that reads other settings of the portal
    too joins this (no row: no portal)."""
    portal, staff = models.Portal, models.StaffUser
    template, user = models.EmailTemplate, models.PortalUser
    live = live_settings(*dict.fromkeys([*AUDIENCE_SETTINGS, *settings]))
    templates = (
        sa.select(
            sa.func.json_object_agg(
                template.language,
                sa.func.json_build_object(
                    "subject",
                    template.subject,
                    "text",
                    template.body_text,
                    "html",
                    template.body_html,
                ),
            )
        )
        .where(
            template.portal_id == portal.id,
            template.kind == EmailTemplateKind.STAFF_NOTIFICATION,
        )
        .scalar_subquery()
    )
    user_email = sa.select(user.email).where(user.id == actor.subject_id).scalar_subquery()
    recipients = (
        sa.select(
            sa.func.json_agg(
                aggregate_order_by(
                    sa.func.json_build_object(
                        "email", staff.email, "name", staff.name, "language", staff.language
                    ),
                    staff.email,
                )
            )
        )
        .where(*notified_staff(live.c.notify_staff_user_ids))
        .scalar_subquery()
    )
    of_portal = sa.select(
        sa.func.json_build_object(
            "name",
            portal.name,
            "organization_id",
            portal.organization_id,
            "recipients",
            recipients,
            "domain",
            portal.domain,
            "pages_url",
            live.c.pages_url,
            "default_language",
            live.c.default_language,
            "templates",
            templates,
            "user_email",
            user_email,
            type_=postgresql.JSON,
        ).label("audience_portal"),
        *(live.c[name] for name in settings),
    )
    from_portal = sa.join(portal, live, sa.true())
    return of_portal.select_from(from_portal).where(portal.id == actor.portal_id)


def audience_columns(actor: Actor, portal: Any = None) -> list[sa.ColumnElement[Any]]:
    """The columns `audience_of` reads, as scalar subqueries any statement of the
    caller can carry (a mutation's facts statement): the actor's portal
    (`audience_portal`; or the column of that name of `portal`, the statement's FROM
    item of it, when the statement reads more of the portal) and the actor's contact."""
    contact = models.Contact
    if portal is None:
        of_portal = audience_portal(actor).scalar_subquery()
    else:
        of_portal = portal.c.audience_portal
    of_contact = sa.select(
        sa.func.json_build_object(
            "first_name",
            contact.first_name,
            "last_name",
            contact.last_name,
            "company_name",
            contact.company_name,
            "email",
            contact.email,
            "customer_number",
            contact.customer_number,
            type_=postgresql.JSON,
        )
    ).where(contact.id == actor.contact_id)
    return [
        of_portal.label("audience_portal"),
        of_contact.scalar_subquery().label("audience_contact"),
    ]


def audience_query(actor: Actor) -> sa.Select[Any]:
    """`audience_columns` as a statement of its own."""
    return sa.select(*audience_columns(actor))


def audience_of(row: Any) -> Audience:
    """The audience from a row carrying `audience_columns`."""
    portal = row.audience_portal
    if portal is None:
        return Audience(None, None, [], row.audience_contact)
    return Audience(
        portal_name=portal["name"],
        organization_id=uuid.UUID(portal["organization_id"]),
        recipients=[Recipient(**user) for user in portal["recipients"] or ()],
        contact=row.audience_contact,
        portal_url=portal_mail.pages_address(portal["pages_url"], portal["domain"]),
        default_language=portal["default_language"] or "de",
        templates={
            language: mail.Template(**parts)
            for language, parts in (portal["templates"] or {}).items()
        },
        user_email=portal["user_email"] or "",
    )


async def _notify(
    notify: Notifier,
    audience: Audience,
    action: str,
    details: Sequence[str],
) -> list[models.OutboundEmail]:
    """The outbox rows of the mails to the audience (one per recipient)."""
    if audience.portal_name is None or audience.organization_id is None:
        return []
    kind = EmailTemplateKind.STAFF_NOTIFICATION
    mails = []
    for user in audience.recipients:
        language = user.language if user.language in ("de", "en") else "de"
        template = portal_mail.choose_template(
            audience.templates or {}, kind, user.language, audience.default_language
        )
        everything = portal_mail.variables_of(
            kind,
            portal_name=audience.portal_name,
            portal_url=audience.portal_url or "",
            email=audience.user_email,
            contact=audience.contact,
            own=_own_values(notify, audience, user, action, language, details),
        )
        message: mail.Rendered | InvalidInput
        try:
            message = await portal_mail.render(template, everything)
        except InvalidInput as error:  # a template that fails alone, not the change
            message = error
        mails.append(
            mail.outbound(
                organization_id=audience.organization_id,
                kind=KIND,
                sender=notify.sender,
                recipient=user.email,
                message=message,
            )
        )
    return mails


def _own_values(
    notify: Notifier,
    audience: Audience,
    user: Recipient,
    action: str,
    language: str,
    details: Sequence[str],
) -> Mapping[str, Any]:
    """The STAFF_NOTIFICATION's own variables (`portal_mail.KIND_SAMPLES`)."""
    link = f"{notify.staff_app_url}/change-requests" if action == "change_request.created" else ""
    return {
        "staff": {"name": user.name},
        "customer": {"name": _name(audience.contact)},
        "change": {
            "summary": SUMMARIES[action][language],
            "details": list(details),
            "link": link,
        },
    }


def _name(contact: Mapping[str, Any] | None) -> str:
    if contact is None:
        return "?"
    person = " ".join(p for p in (contact["first_name"], contact["last_name"]) if p)
    return person or contact["company_name"] or contact["email"] or "?"
