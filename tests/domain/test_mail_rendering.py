"""Where mails render (gql/domain/portal_mail.py `render`): the built-in templates on the
event loop, the templates staff wrote in a worker thread, with the same result."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from db.models.enums import EmailTemplateKind
from gql.domain import mail, portal_mail

KIND = EmailTemplateKind.STAFF_NOTIFICATION


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


@pytest.mark.parametrize("language", ["de", "en"])
async def test_built_in_template_renders_on_the_loop(
    threads: list[Callable[..., Any]], language: str
) -> None:
    template = portal_mail.DEFAULTS[KIND][language]
    variables = portal_mail.sample_variables(KIND, "Stadtwerke Musterstadt")
    rendered = await portal_mail.render(template, variables)
    assert threads == []
    assert rendered == mail.render(template, variables)
    assert "Stadtwerke Musterstadt" in rendered.text


async def test_staff_template_renders_in_a_thread(threads: list[Callable[..., Any]]) -> None:
    built_in = portal_mail.DEFAULTS[KIND]["de"]
    written = replace(built_in, subject="Neu: " + built_in.subject)
    variables = portal_mail.sample_variables(KIND, "Stadtwerke Musterstadt")
    rendered = await portal_mail.render(written, variables)
    assert threads == [mail.render]
    assert rendered == mail.render(written, variables)
