"""Composing emails: templates rendered in Jinja2's sandbox, the result written to the
outbox in the caller's transaction (delivered later by `gql.delivery`).

A template sees only the variables it is given; an unknown variable is an error, not
an empty string (StrictUndefined), and the HTML part escapes every value. Rendering has
a budget of work and size (`template_sandbox`): staff write the portal templates and
anonymous actions render them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain import template_sandbox
from gql.domain.errors import InvalidInput

_TEXT = template_sandbox.BoundedEnvironment(autoescape=False)
_HTML = template_sandbox.BoundedEnvironment(autoescape=True)


class TemplateTooCostly(InvalidInput):
    """A template needs more work or memory than one email may take."""

    code = "TEMPLATE_TOO_COSTLY"


@dataclass(frozen=True)
class Template:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


async def render_off_loop(template: Template, variables: Mapping[str, Any]) -> Rendered:
    """`render` in a worker thread, for templates staff wrote: within its budget a
    template still takes up to tens of milliseconds (and compiling a long one more),
    which the event loop's other requests need not wait for.

    Raises:
        TemplateTooCostly: a part exceeds the rendering budget.
        InvalidInput: a part does not compile or fails while rendering.
    """
    return await asyncio.to_thread(render, template, variables)


def render(template: Template, variables: Mapping[str, Any]) -> Rendered:
    """Render all three parts; a template that fails is refused with the part named.

    Raises:
        TemplateTooCostly: a part exceeds the rendering budget.
        InvalidInput: a part does not compile or fails while rendering.
    """
    parts: dict[str, str] = {}
    for part, environment in (("subject", _TEXT), ("text", _TEXT), ("html", _HTML)):
        source = getattr(template, part)
        try:
            parts[part] = template_sandbox.render(environment, source, dict(variables))
        except template_sandbox.BudgetExceeded as error:
            raise TemplateTooCostly(
                f"The {part} is too costly to render: {error}.", field=part
            ) from error
        except TemplateError as error:
            raise InvalidInput(
                "template_not_renderable",
                field=part,
                parameters={"part": part, "problem": str(error)},
            ) from error
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as error:
            # What the template's own expressions raise ({{ 1 / 0 }}, {{ 'a' - 1 }}) is
            # its fault, not the server's.
            raise InvalidInput(
                "template_not_renderable",
                field=part,
                parameters={"part": part, "problem": f"{type(error).__name__}: {error}"},
            ) from error
    # A subject is one line.
    parts["subject"] = " ".join(parts["subject"].split())
    return Rendered(**parts)


def enqueue(
    db: AsyncSession,
    *,
    organization_id: uuid.UUID,
    kind: str,
    sender: str,
    recipient: str,
    message: Rendered | InvalidInput,
) -> models.OutboundEmail:
    """Write the mail to the outbox (`outbound`); it leaves only if the caller's
    transaction commits."""
    row = outbound(
        organization_id=organization_id,
        kind=kind,
        sender=sender,
        recipient=recipient,
        message=message,
    )
    db.add(row)
    return row


def outbound(
    *,
    organization_id: uuid.UUID,
    kind: str,
    sender: str,
    recipient: str,
    message: Rendered | InvalidInput,
) -> models.OutboundEmail:
    """The outbox row of a mail, not yet added to a session.

    A message that could not be rendered (its InvalidInput) is written FAILED with the
    reason: the mail is lost, not the action that sent it, and staff can see why.
    """
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    failure, content = (
        (message, Rendered(subject=kind, text="", html=""))
        if isinstance(message, InvalidInput)
        else (None, message)
    )
    row = models.OutboundEmail(
        organization_id=organization_id,
        kind=kind,
        message_id=f"<{uuid.uuid4()}@{domain}>",
        sender=sender,
        recipient=recipient,
        subject=content.subject[:300],
        body_text=content.text,
        body_html=content.html,
    )
    if failure is not None:
        row.status = models.EmailStatus.FAILED
        row.last_error = f"Not rendered: {failure.message}"[:500]
    return row


# --- Mails of the system itself (portal templates come with the registration issue) ------

_LAYOUT = (
    '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">'
    "{body}</body></html>"
)

STAFF_INVITATION = {
    "de": Template(
        subject="Einladung zu {{ organization }}",
        text=(
            "Hallo {{ name }},\n\n"
            "{{ inviter }} hat Sie als {{ role }} für {{ organization }} eingeladen.\n"
            "Legen Sie über diesen Link Ihr Passwort fest (gültig bis {{ expires }}):\n\n"
            "{{ link }}\n\n"
            "Wenn Sie keine Einladung erwartet haben, ignorieren Sie diese E-Mail.\n"
        ),
        html=_LAYOUT.format(
            body="<p>Hallo {{ name }},</p>"
            "<p>{{ inviter }} hat Sie als {{ role }} für {{ organization }} eingeladen.</p>"
            '<p><a href="{{ link }}">Passwort festlegen</a> (gültig bis {{ expires }})</p>'
            "<p>Wenn Sie keine Einladung erwartet haben, ignorieren Sie diese E-Mail.</p>"
        ),
    ),
    "en": Template(
        subject="Invitation to {{ organization }}",
        text=(
            "Hello {{ name }},\n\n"
            "{{ inviter }} invited you to {{ organization }} as {{ role }}.\n"
            "Set your password with this link (valid until {{ expires }}):\n\n"
            "{{ link }}\n\n"
            "If you did not expect an invitation, ignore this email.\n"
        ),
        html=_LAYOUT.format(
            body="<p>Hello {{ name }},</p>"
            "<p>{{ inviter }} invited you to {{ organization }} as {{ role }}.</p>"
            '<p><a href="{{ link }}">Set your password</a> (valid until {{ expires }})</p>'
            "<p>If you did not expect an invitation, ignore this email.</p>"
        ),
    ),
}
