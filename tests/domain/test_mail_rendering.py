"""Where and how mails render (gql/domain/mail.py `render`, portal_mail.py `render`): the
built-in templates on the event loop without the sandbox, byte for byte as the sandbox
renders them; the templates staff wrote in a worker thread, in the sandbox with its
budget."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from db.models.enums import EmailTemplateKind
from gql.domain import mail, portal_mail, template_sandbox
from gql.domain.errors import InvalidInput

KIND = EmailTemplateKind.STAFF_NOTIFICATION
PORTAL = "Stadtwerke Musterstadt"
COSTLY_LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"

# What `staff.invite` gives the system's own invitation.
STAFF_INVITATION_VARIABLES = {
    "name": "Max Mitarbeiter",
    "inviter": "Erika Admin",
    "organization": "Stadtwerke Musterstadt GmbH",
    "role": "AGENT",
    "link": "https://staff.example/accept?token=beispiel",
    "expires": "10.12.2026 17:00 UTC",
}

# Every built-in template with the variables its sender gives it.
BUILT_IN_CASES: dict[str, tuple[mail.Template, dict[str, Any]]] = {
    **{
        f"{kind.value}-{language}": (template, portal_mail.sample_variables(kind, PORTAL))
        for kind, by_language in portal_mail.DEFAULTS.items()
        for language, template in by_language.items()
    },
    **{
        f"STAFF_INVITATION-{language}": (template, STAFF_INVITATION_VARIABLES)
        for language, template in mail.STAFF_INVITATION.items()
    },
}


def _strings(value: Any, change: Callable[[str], str]) -> Any:
    """`value` with every string in it changed (dicts and lists walked)."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {key: _strings(inner, change) for key, inner in value.items()}
    if isinstance(value, list):
        return [_strings(inner, change) for inner in value]
    return value


# The samples; every string with what HTML escapes; every string of a group (`contact.*`,
# `change.*`, ...) empty: no first name, no link (the templates' other branches).
VARIANTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "samples": lambda variables: variables,
    "markup": lambda variables: _strings(variables, lambda text: f"<b>{text}</b> & \"'"),
    "empty": lambda variables: {
        name: _strings(value, lambda _: "") if isinstance(value, dict) else value
        for name, value in variables.items()
    },
}


@pytest.fixture
def sandboxed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The sources rendered in the sandbox from now on (`template_sandbox.render`)."""
    sources: list[str] = []
    render = template_sandbox.render

    def counted(environment: Any, source: str, variables: dict[str, Any]) -> str:
        sources.append(source)
        return render(environment, source, variables)

    monkeypatch.setattr(template_sandbox, "render", counted)
    return sources


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[Callable[..., Any]]:
    """The functions run in a worker thread from now on (asyncio.to_thread)."""
    ran: list[Callable[..., Any]] = []
    to_thread = asyncio.to_thread

    async def counted(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        ran.append(function)
        return await to_thread(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    return ran


def test_the_cases_are_every_built_in_template() -> None:
    assert {template for template, _ in BUILT_IN_CASES.values()} == mail.BUILT_IN
    assert len(BUILT_IN_CASES) == len(mail.BUILT_IN)  # none is another's copy


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", BUILT_IN_CASES)
def test_a_built_in_template_renders_without_the_sandbox_as_within_it(
    sandboxed: list[str], case: str, variant: str
) -> None:
    template, samples = BUILT_IN_CASES[case]
    variables = VARIANTS[variant](samples)
    rendered = mail.render(template, variables)
    assert sandboxed == []
    within = mail.render_sandboxed(template, variables)
    assert sandboxed == [template.subject, template.text, template.html]
    for part in ("subject", "text", "html"):
        assert getattr(rendered, part).encode() == getattr(within, part).encode(), part
    assert rendered.text.strip()


def test_built_in_html_escapes_every_value() -> None:
    template, samples = BUILT_IN_CASES["STAFF_NOTIFICATION-de"]
    rendered = mail.render(template, VARIANTS["markup"](samples))
    assert "&lt;b&gt;Erika Mustermann&lt;/b&gt; &amp; &#34;&#39;" in rendered.html
    assert "<b>Erika Mustermann</b> & \"'" in rendered.text


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_built_in_template_missing_a_variable_is_refused_as_in_the_sandbox(
    language: str,
) -> None:
    template = portal_mail.DEFAULTS[KIND][language]
    variables = portal_mail.sample_variables(KIND, PORTAL)
    del variables["change"]
    refusals = []
    for render in (mail.render, mail.render_sandboxed):
        with pytest.raises(InvalidInput) as refused:
            render(template, variables)
        refusals.append((type(refused.value), refused.value.key, refused.value.field))
    assert refusals == [(InvalidInput, "template_not_renderable", "subject")] * 2


@pytest.mark.parametrize("language", ["de", "en"])
async def test_built_in_template_renders_on_the_loop(
    threads: list[Callable[..., Any]], sandboxed: list[str], language: str
) -> None:
    template = portal_mail.DEFAULTS[KIND][language]
    variables = portal_mail.sample_variables(KIND, PORTAL)
    rendered = await portal_mail.render(template, variables)
    assert (threads, sandboxed) == ([], [])
    assert rendered == mail.render_sandboxed(template, variables)
    assert PORTAL in rendered.text


async def test_staff_template_renders_in_a_thread_in_the_sandbox(
    threads: list[Callable[..., Any]], sandboxed: list[str]
) -> None:
    built_in = portal_mail.DEFAULTS[KIND]["de"]
    written = replace(built_in, subject="Neu: " + built_in.subject)
    variables = portal_mail.sample_variables(KIND, PORTAL)
    rendered = await portal_mail.render(written, variables)
    assert threads == [mail.render]
    assert sandboxed == [written.subject, written.text, written.html]
    assert rendered.subject == "Neu: " + mail.render(built_in, variables).subject


@pytest.mark.parametrize("language", ["de", "en"])
async def test_a_staff_template_over_the_budget_is_refused(language: str) -> None:
    """A built-in template's text with a costly loop added is the staff's, not ours."""
    built_in = portal_mail.DEFAULTS[KIND][language]
    written = replace(built_in, text=built_in.text + COSTLY_LOOP)
    assert not mail.is_built_in(written)
    variables = portal_mail.sample_variables(KIND, PORTAL)
    with pytest.raises(mail.TemplateTooCostly) as refused:
        await portal_mail.render(written, variables)
    assert (refused.value.code, refused.value.field) == ("TEMPLATE_TOO_COSTLY", "text")
