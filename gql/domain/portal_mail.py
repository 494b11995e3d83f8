"""The emails a portal sends: to its users (invitation, activation, password reset,
login code, change of the login email and the notice to the old address, a closed
account, access assigned, change request decided, a process step done, a new document,
a new offer) and to its staff (a registration waits, a customer changed something).

Each portal has one template per kind and language (staff edit them); what a template
may use is documented in `VARIABLES`, and a template is checked against exactly those
when it is saved, so a typo is refused then and not discovered by a customer. Every
link points at one of the portal's pages, below its `pages_url` setting (`page_link`).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

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
    EmailTemplateKind.EMAIL_CHANGE: "email_change_link",
}
PATH_OF_KIND = {
    EmailTemplateKind.INVITATION: "invitation",
    EmailTemplateKind.ACTIVATION: "activate",
    EmailTemplateKind.PASSWORD_RESET: "reset-password",
    EmailTemplateKind.EMAIL_CHANGE: "confirm-email",
}
# The portal's page of offers, orders and change requests (the reference portal's
# `/changes`), where a customer answers an offer.
OFFERS_PAGE = "changes"
# The values of its own a kind gets besides its link (the sender passes them).
VALUES_OF_KIND: dict[EmailTemplateKind, tuple[str, ...]] = {
    EmailTemplateKind.LOGIN_CODE: ("login_code", "minutes"),
    # The new login email, masked (a***@example.org): the old address learns that it
    # changed, not where to.
    EmailTemplateKind.EMAIL_CHANGED: ("new_email",),
}
SAMPLE_VALUES: dict[str, Any] = {
    "login_code": "042917",
    "minutes": 10,
    "new_email": "e***@example.com",
}
CONTACT_FIELDS = ("first_name", "last_name", "display_name", "customer_number")
PORTAL_FIELDS = ("name", "url")

_SAMPLE_PORTAL_URL = "https://kundenportal.example/portal"

# What each kind may use besides `portal.*`, `contact.*` (empty strings when the user
# has no contact yet) and `user.email`, with the example values a template is checked
# and previewed with. A nested dict is a group (`change.approved`); its keys are the
# documented variables, so the list staff see and the check can not drift apart.
KIND_SAMPLES: dict[EmailTemplateKind, dict[str, Any]] = {
    **{
        kind: {link_name: f"{_SAMPLE_PORTAL_URL}/{PATH_OF_KIND[kind]}?token=beispiel"}
        for kind, link_name in LINK_OF_KIND.items()
    },
    # To the portal's notified staff: a registration waits to be assigned to a contact.
    EmailTemplateKind.PENDING_USER: {
        "staff": {"name": "Max Mitarbeiter"},
        "registration": {"details": ["Kundennummer: K-100042"]},
        "pending_users_link": "https://staff.example/portal-users?assignmentStatus=PENDING",
    },
    # To the customer: staff (or the registration) assigned the access to their contact.
    EmailTemplateKind.ACCOUNT_ASSIGNED: {"login_link": f"{_SAMPLE_PORTAL_URL}/login"},
    # To the customer: staff approved or rejected a change that waited for approval.
    EmailTemplateKind.CHANGE_REQUEST_DECIDED: {
        "change": {"approved": True, "summary": "Adresse", "reason": ""},
        "login_link": f"{_SAMPLE_PORTAL_URL}/login",
    },
    # To the customer: a step of a process their portal shares is done.
    EmailTemplateKind.PROCESS_STEP_DONE: {
        "process": {"title": "Hausanschluss Musterweg 1"},
        "step": {"title": "Vor-Ort-Termin", "done_on": "2026-12-02"},
        "next_step": {"title": "Angebot"},
        "process_link": f"{_SAMPLE_PORTAL_URL}/processes/UHJvY2Vzczox",
    },
    # To the customer: staff added a document they may see.
    EmailTemplateKind.NEW_DOCUMENT: {
        "document": {"name": "Jahresabrechnung 2026.pdf"},
        "documents_link": f"{_SAMPLE_PORTAL_URL}/documents",
    },
    # Kinds that tell a value of their own (VALUES_OF_KIND) and no link.
    **{
        kind: {name: SAMPLE_VALUES[name] for name in names}
        for kind, names in VALUES_OF_KIND.items()
    },
    EmailTemplateKind.ACCOUNT_DELETED: {},
    # After a registration: the address has an access already, or matched no contact.
    EmailTemplateKind.ACCOUNT_EXISTS: {"login_link": f"{_SAMPLE_PORTAL_URL}/login"},
    EmailTemplateKind.REGISTRATION_DENIED: {"login_link": f"{_SAMPLE_PORTAL_URL}/login"},
    # To the portal's notified staff: a portal user changed something (`contact.*` is the
    # customer's contact, `user.email` the portal user who made the change). The
    # customer's name: the person's, else the company's, else the email.
    EmailTemplateKind.STAFF_NOTIFICATION: {
        "staff": {"name": "Max Mitarbeiter"},
        "customer": {"name": "Erika Mustermann"},
        "change": {
            "summary": "Abschlag geändert",
            "details": ["V-2026-0001: 80.00 EUR -> 95.00 EUR"],
            # Where staff handle it (empty when there is nothing to handle).
            "link": "https://staff.example/change-requests",
        },
    },
    # To the customer: staff made them an offer (`createOffer`); amounts in EUR.
    EmailTemplateKind.NEW_OFFER: {
        "offer": {
            "number": "A-2026-17",
            "title": "Zählerwechsel",
            "description": "Tausch des Stromzählers gegen ein intelligentes Messsystem.",
            "line_items": ["1 Stk Zählerwechsel: 240.00 EUR + 19 %"],
            "total_net": "240.00",
            "total_gross": "285.60",
            "valid_until": "2026-12-31",
        },
        # The page where the customer answers it (after logging in, if she is not).
        "offers_link": f"{_SAMPLE_PORTAL_URL}/{OFFERS_PAGE}",
    },
}


def _names(values: Mapping[str, Any]) -> list[str]:
    return [
        f"{name}.{inner}" if isinstance(value, dict) else name
        for name, value in values.items()
        for inner in (value if isinstance(value, dict) else [None])
    ]


def own_variables(kind: EmailTemplateKind) -> list[str]:
    """What only this kind of email may use: its link, or its values."""
    return _names(KIND_SAMPLES[kind])


VARIABLES = {
    kind: (
        [f"portal.{name}" for name in PORTAL_FIELDS]
        + [f"contact.{name}" for name in CONTACT_FIELDS]
        + ["user.email", *own_variables(kind)]
    )
    for kind in EmailTemplateKind
}


DEFAULTS: dict[EmailTemplateKind, dict[str, Template]] = {
    kind: {language: Template(*parts) for language, parts in by_language.items()}
    for kind, by_language in DEFAULT_EMAILS.items()
}


async def render(template: Template, variables: Mapping[str, Any]) -> mail.Rendered:
    """`mail.render` on the event loop for a built-in template (`mail.is_built_in`:
    ours, short, rendered without the sandbox in a fraction of a millisecond, less than
    the hop to a worker thread and back), in a worker thread for one staff wrote
    (`mail.render_off_loop`, in the sandbox with its budget).

    Raises:
        TemplateTooCostly: a part exceeds the rendering budget.
        InvalidInput: a part does not compile or fails while rendering.
    """
    if mail.is_built_in(template):
        return mail.render(template, variables)
    return await mail.render_off_loop(template, variables)


def pages_url(portal: models.Portal) -> str:
    """Where the portal's pages are: its `pages_url` setting, else `/portal` on its
    domain (where `portal serve` serves the reference portal)."""
    return pages_address(portal.live_settings.pages_url, portal.domain)


def pages_address(configured: Any, domain: str | None) -> str:
    """`pages_url` of a portal's setting and domain read as values (by a statement)."""
    return str(configured).rstrip("/") if configured else f"https://{domain}/portal"


def page_link(portal: models.Portal, page: str, token: str | None = None) -> str:
    """The address of one of the portal's pages (`login`, `documents`, `activate`, ...)
    with the mail's token, if it has one: the one place every mail link is made."""
    address = f"{pages_url(portal)}/{page}"
    return f"{address}?{urlencode({'token': token})}" if token is not None else address


def row_page_link(portal: models.Portal, page: str, type_name: str, row_id: object) -> str:
    """The address of the page that shows one row (`processes/<id>`): the id is the row's
    GraphQL ID (Relay's global ID, base64 of `Type:id`, which the page asks `node` for),
    quoted because base64 may hold `/` and `+`."""
    global_id = base64.b64encode(f"{type_name}:{row_id}".encode()).decode()
    return page_link(portal, f"{page}/{quote(global_id, safe='')}")


def link(portal: models.Portal, kind: EmailTemplateKind, token: str) -> str:
    return page_link(portal, PATH_OF_KIND[kind], token)


def link_values(portal: models.Portal, kind: EmailTemplateKind, token: str) -> dict[str, str]:
    """The variable of a link kind (invitation, activation, reset)."""
    return {LINK_OF_KIND[kind]: link(portal, kind, token)}


def login_link(portal: models.Portal) -> str:
    return page_link(portal, "login")


def contact_variables(contact: models.Contact | Mapping[str, Any] | None) -> dict[str, str]:
    """`contact.*` of a contact row, or of its columns read as a mapping (by name)."""
    if contact is None:
        return dict.fromkeys(CONTACT_FIELDS, "")
    row = contact

    def value(name: str) -> Any:
        return row.get(name) if isinstance(row, Mapping) else getattr(row, name)

    first, last = value("first_name"), value("last_name")
    display = value("company_name") or " ".join(part for part in (first, last) if part)
    return {
        "first_name": first or "",
        "last_name": last or "",
        "display_name": display,
        "customer_number": value("customer_number") or "",
    }


def variables(
    portal: models.Portal,
    kind: EmailTemplateKind,
    *,
    email: str,
    contact: models.Contact | None,
    token: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a template of `kind` sees: the common variables and the kind's own (its
    link made of `token`, and `values`), exactly those the kind declares in
    `KIND_SAMPLES` (a sender that forgot one fails here, not in a mailbox)."""
    own = dict(values or {})
    if kind in LINK_OF_KIND and token is not None:
        own[LINK_OF_KIND[kind]] = link(portal, kind, token)
    return variables_of(
        kind,
        portal_name=portal.name,
        portal_url=pages_url(portal),
        email=email,
        contact=contact,
        own=own,
    )


def variables_of(
    kind: EmailTemplateKind,
    *,
    portal_name: str,
    portal_url: str,
    email: str,
    contact: models.Contact | Mapping[str, Any] | None,
    own: Mapping[str, Any],
) -> dict[str, Any]:
    """`variables` of a portal (and contact) the sender read as values, not rows."""
    if set(KIND_SAMPLES[kind]) ^ set(own):  # a programming error
        raise ValueError(f"{kind} mail with variables {sorted(own)}")
    return {
        "portal": {"name": portal_name, "url": portal_url},
        "contact": contact_variables(contact),
        "user": {"email": email},
        **own,
    }


def sample_variables(kind: EmailTemplateKind, portal_name: str) -> dict[str, Any]:
    """Example values for a preview, and for checking a template before it is saved."""
    return {
        "portal": {"name": portal_name, "url": _SAMPLE_PORTAL_URL},
        "contact": {
            "first_name": "Erika",
            "last_name": "Mustermann",
            "display_name": "Erika Mustermann",
            "customer_number": "K-100042",
        },
        "user": {"email": "erika.mustermann@example.org"},
        **KIND_SAMPLES[kind],
    }


async def check(kind: EmailTemplateKind, template: Template, portal_name: str) -> mail.Rendered:
    """Render with the example values; an unknown variable, a broken template or one too
    costly to render is an InvalidInput naming the part (subject, text, html)."""
    return await render(template, sample_variables(kind, portal_name))


def choose_template(
    saved: Mapping[str, Template], kind: EmailTemplateKind, language: str, default_language: str
) -> Template:
    """Of a portal's `saved` templates of `kind` (by language): the one in `language`,
    else in the portal's default language, else the built-in default."""
    for candidate in (language, default_language):
        if candidate in saved:
            return saved[candidate]
    return DEFAULTS[kind].get(language) or DEFAULTS[kind]["de"]


async def template_for(
    db: AsyncSession, portal: models.Portal, kind: EmailTemplateKind, language: str
) -> Template:
    """The portal's template in `language` (`choose_template`)."""
    row = models.EmailTemplate
    saved = {
        found.language: Template(found.subject, found.body_text, found.body_html)
        for found in await db.scalars(
            sa.select(row).where(row.portal_id == portal.id, row.kind == kind)
        )
    }
    return choose_template(saved, kind, language, portal.live_settings.default_language)


async def send(
    db: AsyncSession,
    portal: models.Portal,
    kind: EmailTemplateKind,
    *,
    sender: str,
    email: str,
    language: str,
    contact: models.Contact | None,
    values: Mapping[str, Any] | None = None,
    recipient: str | None = None,
    token: str | None = None,
    outbox_kind: str | None = None,
) -> models.OutboundEmail:
    """Render the portal's template and write the mail to the outbox, to the portal
    user's `email` or, for staff mails about that user, to `recipient`; `token` makes
    the link of a kind that has one, `values` are the kind's own (`KIND_SAMPLES`).

    A template that does not render (too costly, or broken by a value) does not fail
    the action that sends it, often an anonymous registration: the mail is written
    FAILED with the reason instead, for staff to find, and the action goes on.
    """
    template = await template_for(db, portal, kind, language)
    everything = variables(portal, kind, email=email, contact=contact, token=token, values=values)
    message: mail.Rendered | InvalidInput
    try:
        message = await render(template, everything)
    except InvalidInput as error:
        log.error("mail.template_failed", portal=str(portal.id), kind=kind.value, error=str(error))
        message = error
    return mail.enqueue(
        db,
        organization_id=portal.organization_id,
        kind=outbox_kind or kind.value.lower(),
        sender=sender,
        recipient=recipient or email,
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
