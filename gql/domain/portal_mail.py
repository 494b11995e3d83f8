"""The emails a portal sends to its users: invitation, activation, password reset, and
the notices of process steps and new documents.

Each portal has one template per kind and language (staff edit them); what a template
may use is documented in `VARIABLES`, and a template is checked against exactly those
when it is saved, so a typo is refused then and not discovered by a customer. Links
point at the portal's own domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.email_defaults import DEFAULT_EMAILS
from db.models.enums import EmailTemplateKind
from gql.domain import mail
from gql.domain.errors import InvalidInput
from gql.domain.mail import Template

log = structlog.get_logger(__name__)

LINK_OF_KIND = {
    EmailTemplateKind.INVITATION: "invitation_link",
    EmailTemplateKind.ACTIVATION: "confirmation_link",
    EmailTemplateKind.PASSWORD_RESET: "password_reset_link",
}
PATH_OF_KIND = {
    EmailTemplateKind.INVITATION: "invitation",
    EmailTemplateKind.ACTIVATION: "activate",
    EmailTemplateKind.PASSWORD_RESET: "reset-password",
}
CONTACT_FIELDS = ("first_name", "last_name", "display_name", "customer_number")
PORTAL_FIELDS = ("name", "url")

# What a kind tells besides the portal, contact and user, with an example value for the
# preview: kinds that notify (no link of their own) name their values here.
EXAMPLES_OF_KIND: dict[EmailTemplateKind, dict[str, str]] = {
    EmailTemplateKind.PROCESS_STEP_DONE: {
        "process.title": "Hausanschluss Musterweg 1",
        "step.title": "Vor-Ort-Termin",
        "step.done_on": "2026-12-02",
        "next_step.title": "Angebot",
        "process_link": "https://kundenportal.example/processes/UHJvY2Vzczox",
    },
    EmailTemplateKind.NEW_DOCUMENT: {
        "document.name": "Jahresabrechnung 2026.pdf",
        "documents_link": "https://kundenportal.example/documents",
    },
}

# What every template may use: `portal.*`, `contact.*` (empty strings when the user
# has no contact yet), `user.email`, and the link of its kind or its own values.
VARIABLES = {
    kind: (
        [f"portal.{name}" for name in PORTAL_FIELDS]
        + [f"contact.{name}" for name in CONTACT_FIELDS]
        + ["user.email"]
        + ([LINK_OF_KIND[kind]] if kind in LINK_OF_KIND else list(EXAMPLES_OF_KIND[kind]))
    )
    for kind in EmailTemplateKind
}


def nested(values: Mapping[str, str]) -> dict[str, Any]:
    """{"step.title": x} as the template sees it: {"step": {"title": x}}."""
    result: dict[str, Any] = {}
    for dotted, value in values.items():
        *parents, name = dotted.split(".")
        target = result
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = value
    return result


DEFAULTS: dict[EmailTemplateKind, dict[str, Template]] = {
    kind: {language: Template(*parts) for language, parts in by_language.items()}
    for kind, by_language in DEFAULT_EMAILS.items()
}


def link(portal: models.Portal, kind: EmailTemplateKind, token: str) -> str:
    return f"https://{portal.domain}/{PATH_OF_KIND[kind]}?token={token}"


def contact_variables(contact: models.Contact | None) -> dict[str, str]:
    if contact is None:
        return dict.fromkeys(CONTACT_FIELDS, "")
    display = contact.company_name or " ".join(
        part for part in (contact.first_name, contact.last_name) if part
    )
    return {
        "first_name": contact.first_name or "",
        "last_name": contact.last_name or "",
        "display_name": display,
        "customer_number": contact.customer_number or "",
    }


def variables(
    portal: models.Portal,
    kind: EmailTemplateKind,
    *,
    email: str,
    contact: models.Contact | None,
    token: str | None,
    values: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What the template of `kind` sees: the link made of `token` for a kind with a link,
    `values` (dotted names as in `EXAMPLES_OF_KIND`) for the others."""
    own = (
        {LINK_OF_KIND[kind]: link(portal, kind, token or "")}
        if kind in LINK_OF_KIND
        else nested(values or {})
    )
    return {
        "portal": {"name": portal.name, "url": f"https://{portal.domain}"},
        "contact": contact_variables(contact),
        "user": {"email": email},
        **own,
    }


def sample_variables(kind: EmailTemplateKind, portal_name: str) -> dict[str, Any]:
    """Example values for a preview, and for checking a template before it is saved."""
    return {
        "portal": {"name": portal_name, "url": "https://kundenportal.example"},
        "contact": {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "display_name": "Erika Mustermann",
            "customer_number": "K-100042",
        },
        "user": {"email": "erika.mustermann@example.org"},
        **(
            {
                LINK_OF_KIND[
                    kind
                ]: f"https://kundenportal.example/{PATH_OF_KIND[kind]}?token=beispiel"
            }
            if kind in LINK_OF_KIND
            else nested(EXAMPLES_OF_KIND[kind])
        ),
    }


async def check(kind: EmailTemplateKind, template: Template, portal_name: str) -> mail.Rendered:
    """Render with the example values; an unknown variable, a broken template or one too
    costly to render is an InvalidInput naming the part (subject, text, html)."""
    return await mail.render_off_loop(template, sample_variables(kind, portal_name))


async def template_for(
    db: AsyncSession, portal: models.Portal, kind: EmailTemplateKind, language: str
) -> Template:
    """The portal's template in `language` (else the portal's default language), or the
    built-in default."""
    row = models.EmailTemplate
    rows = {
        found.language: found
        for found in await db.scalars(
            sa.select(row).where(row.portal_id == portal.id, row.kind == kind)
        )
    }
    settings = portal.live_settings
    for candidate in (language, settings.default_language):
        if candidate in rows:
            found = rows[candidate]
            return Template(found.subject, found.body_text, found.body_html)
    return DEFAULTS[kind].get(language) or DEFAULTS[kind]["de"]


async def send(
    db: AsyncSession,
    portal: models.Portal,
    kind: EmailTemplateKind,
    *,
    sender: str,
    email: str,
    language: str,
    contact: models.Contact | None,
    token: str | None = None,
    values: Mapping[str, str] | None = None,
) -> models.OutboundEmail:
    """Render the portal's template and write the mail to the outbox.

    A template that does not render (too costly, or broken by a value) does not fail
    the action that sends it, often an anonymous registration: the mail is written
    FAILED with the reason instead, for staff to find, and the action goes on.
    """
    template = await template_for(db, portal, kind, language)
    seen: Mapping[str, Any] = variables(
        portal, kind, email=email, contact=contact, token=token, values=values
    )
    message: mail.Rendered | InvalidInput
    try:
        message = await mail.render_off_loop(template, seen)
    except InvalidInput as error:
        log.error("mail.template_failed", portal=str(portal.id), kind=kind.value, error=str(error))
        message = error
    return mail.enqueue(
        db,
        organization_id=portal.organization_id,
        kind=kind.value.lower(),
        sender=sender,
        recipient=email,
        message=message,
    )


def default_rows(portal: models.Portal, languages: list[str]) -> list[models.EmailTemplate]:
    """The templates a new portal starts with: every kind in each of its languages."""
    return [
        models.EmailTemplate(
            organization_id=portal.organization_id,
            portal_id=portal.id,
            kind=kind,
            language=language,
            subject=template.subject,
            body_text=template.text,
            body_html=template.html,
        )
        for kind, by_language in DEFAULTS.items()
        for language, template in by_language.items()
        if language in languages
    ]


_PART_FIELDS = {"subject": "subject", "text": "bodyText", "html": "bodyHtml"}


async def save_template(
    db: AsyncSession,
    portal: models.Portal,
    kind: EmailTemplateKind,
    language: str,
    template: Template,
) -> models.EmailTemplate:
    """Store a portal's template after checking it renders with the documented
    variables; a broken one is refused naming the input field."""
    settings = portal.live_settings
    if language not in settings.languages:
        raise InvalidInput(
            "language_not_spoken",
            field="language",
            parameters={"languages": ", ".join(settings.languages)},
        )
    if not template.subject.strip() or len(template.subject) > 200:
        raise InvalidInput("subject_length", field="subject")
    try:
        await check(kind, template, portal.name)
    except InvalidInput as error:  # the same kind (TemplateTooCostly), named by input field
        raise type(error)(
            error.key, field=_PART_FIELDS.get(error.field or ""), parameters=error.parameters
        ) from error
    row = models.EmailTemplate
    found = await db.scalar(
        sa.select(row)
        .where(row.portal_id == portal.id, row.kind == kind, row.language == language)
        .with_for_update()
    )
    if found is None:
        found = row(
            organization_id=portal.organization_id,
            portal_id=portal.id,
            kind=kind,
            language=language,
        )
        db.add(found)
    found.subject = template.subject
    found.body_text = template.text
    found.body_html = template.html
    await db.flush()
    return found
