"""Email templates of a portal for staff: list, edit (checked when saved), preview."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.actor import Role
from gql.auth.permissions import STAFF, allow, public
from gql.context import Info
from gql.domain import audit, portal_mail
from gql.domain.errors import DomainError
from gql.domain.mail import Template
from gql.domain.scope import find_visible
from gql.schema import enums
from gql.schema.node import row_of
from gql.schema.results import INPUT, MutationError, attempt, origin, row_id
from gql.schema.scalars import Line, Text


@strawberry.type(description="An email a portal sends, in one language.")
class EmailTemplate:
    kind: enums.EmailTemplateKind | None = allow(STAFF, description="Which email.")
    language: str | None = allow(STAFF, description="Language code: de or en.")
    subject: str | None = allow(STAFF, description="Subject (a Jinja2 template).")
    body_text: str | None = allow(STAFF, description="Plain text part (a Jinja2 template).")
    body_html: str | None = allow(
        STAFF, description="HTML part (a Jinja2 template, values escaped)."
    )
    updated_at: datetime | None = allow(STAFF, description="When it was last changed.")

    @allow(STAFF, description="The variables the template may use.")
    def variables(self) -> list[str] | None:
        return portal_mail.VARIABLES[row_of(self).kind]


@strawberry.type(description="A template rendered with example values.")
class EmailPreview:
    subject: str = public("Subject.")
    text: str = public("Plain text part.")
    html: str = public("HTML part.")


@strawberry.input(description="A portal's email template, replaced as a whole.")
class UpdateEmailTemplateInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    kind: enums.EmailTemplateKind = strawberry.field(description="Which email.")
    language: Line = strawberry.field(description="de or en (one of the portal's languages).")
    subject: Line = strawberry.field(description="Subject.")
    body_text: Text = strawberry.field(description="Plain text part.")
    body_html: Text = strawberry.field(description="HTML part.")


@strawberry.type(description="The template as saved.")
class EmailTemplatePayload:
    email_template: EmailTemplate = public("The template.")


EmailTemplateResult = Annotated[
    EmailTemplatePayload | MutationError,
    strawberry.union(
        "EmailTemplateResult",
        description="Answer of `updateEmailTemplate`: EmailTemplatePayload, or MutationError (e.g."
        " a template that does not render, or TEMPLATE_TOO_COSTLY).",
    ),
]
PreviewResult = Annotated[
    EmailPreview | MutationError,
    strawberry.union(
        "EmailPreviewResult",
        description="Answer of `previewEmailTemplate`: EmailPreview with the rendered email, or"
        " MutationError (e.g. a template that does not render).",
    ),
]


async def _portal(db: AsyncSession, info: Info, portal_id: relay.GlobalID) -> models.Portal:
    return await find_visible(
        db,
        models.Portal,
        row_id(portal_id, "Portal", "portalId"),
        info.context.actor,
        what="portal",
        field="portalId",
    )


async def update_email_template(
    info: Info, input: Annotated[UpdateEmailTemplateInput, strawberry.argument(description=INPUT)]
) -> EmailTemplateResult:
    async def work(db: AsyncSession) -> EmailTemplatePayload:
        portal = await _portal(db, info, input.portal_id)
        row = await portal_mail.save_template(
            db,
            portal,
            input.kind,
            input.language,
            Template(input.subject, input.body_text, input.body_html),
        )
        audit.about(
            db,
            info.context.actor,
            row,
            "email_template.updated",
            origin(info),
            {"kind": input.kind.value, "language": input.language},
        )
        return EmailTemplatePayload(email_template=cast(EmailTemplate, row))

    return await attempt(info, work)


async def preview_email_template(
    info: Info,
    portal_id: Annotated[
        relay.GlobalID, strawberry.argument(description="The portal whose template to render.")
    ],
    kind: Annotated[enums.EmailTemplateKind, strawberry.argument(description="Which email.")],
    language: Annotated[
        Line, strawberry.argument(description="Language code: de or en (one the portal offers).")
    ],
    subject: Annotated[
        Line | None, strawberry.argument(description="Unsaved subject; the saved one if left out.")
    ] = None,
    body_text: Annotated[Text | None, strawberry.argument(description="Unsaved text part.")] = None,
    body_html: Annotated[Text | None, strawberry.argument(description="Unsaved HTML part.")] = None,
) -> PreviewResult:
    db = info.context.session
    try:
        async with info.context.lock:
            portal = await _portal(db, info, portal_id)
            saved = await portal_mail.template_for(db, portal, kind, language)
        template = Template(
            subject if subject is not None else saved.subject,
            body_text if body_text is not None else saved.text,
            body_html if body_html is not None else saved.html,
        )
        rendered = await portal_mail.check(kind, template, portal.name)
    except DomainError as error:
        return MutationError.of(error)
    return EmailPreview(subject=rendered.subject, text=rendered.text, html=rendered.html)


@strawberry.type
class Query:
    """Email templates: fields of the root `Query` (merged in root.py)."""

    preview_email_template: PreviewResult | None = allow(
        STAFF,
        description="A portal's email template (or an unsaved version) with example values.",
        resolver=preview_email_template,
    )


@strawberry.type
class Mutation:
    """Email templates: fields of the root `Mutation` (merged in root.py)."""

    update_email_template: EmailTemplateResult | None = allow(
        Role.ADMIN,
        description="Replace a portal's email template; refused if it does not render.",
        resolver=update_email_template,
    )
