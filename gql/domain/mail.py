"""Composing emails: templates rendered in Jinja2's sandbox, the result written to the
outbox in the caller's transaction (delivered later by `gql.delivery`).

A template sees only the variables it is given; an unknown variable is an error, not
an empty string (StrictUndefined), and the HTML part escapes every value. A template
staff wrote renders in Jinja's sandbox with a budget of work and size
(`template_sandbox`): staff write the portal templates and anonymous actions render
them. Our own templates (`BUILT_IN`: shipped with the code, and a portal's unchanged
copy of one, which is the same text) render in a plain environment with the same
settings: the sandbox and the budget guard against a template's author, and we are
theirs. The budget's bookkeeping (a filter call per piece of output, a step per loop
iteration) cost about as much as the rest of a mutation's mail.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

import jinja2
from sqlalchemy.ext.asyncio import AsyncSession

from db import models, raw
from db.email_defaults import DEFAULT_EMAILS
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
    """Render all three parts, a built-in template (`is_built_in`) as it is, any other
    in the sandbox (`render_sandboxed`); a template that fails is refused with the part
    named.

    Raises:
        TemplateTooCostly: a part exceeds the rendering budget.
        InvalidInput: a part does not compile or fails while rendering.
    """
    if is_built_in(template):
        return _rendered(template, variables, _render_built_in)
    return render_sandboxed(template, variables)


def render_sandboxed(template: Template, variables: Mapping[str, Any]) -> Rendered:
    """Render all three parts in the sandbox, each within a fresh budget, whoever
    wrote the template.

    Raises:
        TemplateTooCostly: a part exceeds the rendering budget.
        InvalidInput: a part does not compile or fails while rendering.
    """
    return _rendered(template, variables, _render_sandboxed)


def is_built_in(template: Template) -> bool:
    """Whether `template` is one of ours, by its text (`BUILT_IN`)."""
    return template in BUILT_IN


RenderPart = Callable[[bool, str, Mapping[str, Any]], str]


def _render_sandboxed(html: bool, source: str, variables: Mapping[str, Any]) -> str:
    return template_sandbox.render(_HTML if html else _TEXT, source, dict(variables))


class _BuiltInEnvironment(jinja2.Environment):
    """Jinja's environment, with a dict's item looked up without first failing to find
    an attribute of that name (what `{{ portal.name }}` does; the exception cost more
    than the rest of the lookup). The same answer: a dict has no attributes but those
    of its class."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir(dict))

# The environments of our own templates: the sandbox's settings (StrictUndefined, the
# HTML part escaped, the text part not: it is plain text) without the sandbox;
# `test_mail_rendering` compares every built-in template's output in both.
_BUILT_IN_TEXT = _BuiltInEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
_BUILT_IN_HTML = _BuiltInEnvironment(undefined=jinja2.StrictUndefined, autoescape=True)


@functools.cache  # only the texts of BUILT_IN come here: a fixed, small set
def _built_in_compiled(html: bool, source: str) -> jinja2.Template:
    template = (_BUILT_IN_HTML if html else _BUILT_IN_TEXT).from_string(source)
    # Its globals as one dict: Jinja chains them to the environment's (a ChainMap,
    # copied key by key for every render); ours never change.
    template.globals = dict(template.globals)
    return template


def _render_built_in(html: bool, source: str, variables: Mapping[str, Any]) -> str:
    return _built_in_compiled(html, source).render(variables)


def _rendered(
    template: Template, variables: Mapping[str, Any], render_part: RenderPart
) -> Rendered:
    parts: dict[str, str] = {}
    for part in ("subject", "text", "html"):
        try:
            parts[part] = render_part(part == "html", getattr(template, part), variables)
        except template_sandbox.BudgetExceeded as error:
            raise TemplateTooCostly(
                f"The {part} is too costly to render: {error}.", field=part
            ) from error
        except jinja2.TemplateError as error:
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
    domain = _domain_of(sender)
    failure, content = (
        (message, Rendered(subject=kind, text="", html=""))
        if isinstance(message, InvalidInput)
        else (None, message)
    )
    row = raw.built(
        models.OutboundEmail,
        {
            "organization_id": organization_id,
            "kind": kind,
            "message_id": f"<{uuid.uuid4()}@{domain}>",
            "sender": sender,
            "recipient": recipient,
            "subject": content.subject[:300],
            "body_text": content.text,
            "body_html": content.html,
        },
    )
    if failure is not None:
        row.status = models.EmailStatus.FAILED
        row.last_error = f"Not rendered: {failure.message}"[:500]
    return row


@functools.lru_cache(maxsize=16)  # the configured sender, one per process
def _domain_of(sender: str) -> str:
    """The domain of the Message-ID of a mail from `sender` (parsing an address costs
    more than the rest of an outbox row)."""
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


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

# Our own templates, by text: the system's and every portal's defaults.
BUILT_IN = frozenset(STAFF_INVITATION.values()) | frozenset(
    Template(*parts) for by_language in DEFAULT_EMAILS.values() for parts in by_language.values()
)
