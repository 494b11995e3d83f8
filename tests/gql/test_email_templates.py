"""Portal email templates: staff list, preview and edit them; a template that does not
render with the documented variables is refused when saved; registration mails use the
saved template."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind
from gql.domain import portal_mail, registration
from gql.domain.mail import Template
from gql.settings import Settings
from tests.conftest import CUSTOMER_PORTAL, GraphQLClient, global_id

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
UPDATE = """
mutation($input: UpdateEmailTemplateInput!) { updateEmailTemplate(input: $input) {
  __typename
  ... on EmailTemplatePayload { emailTemplate { kind language subject variables } }
  ... on MutationError { code message field }
} }
"""
PREVIEW = """
query($p: ID!, $s: Line, $t: Text) {
  previewEmailTemplate(portalId: $p, kind: ACTIVATION, language: "de", subject: $s, bodyText: $t) {
    __typename
    ... on EmailPreview { subject text html }
    ... on MutationError { code message field }
  }
}
"""


def template_input(**change: str) -> dict[str, Any]:
    return {
        "portalId": PORTAL,
        "kind": "ACTIVATION",
        "language": "de",
        "subject": "Willkommen, {{ contact.first_name }}",
        "bodyText": "Bitte bestätigen: {{ confirmation_link }}",
        "bodyHtml": '<a href="{{ confirmation_link }}">Bestätigen</a>',
        **change,
    }


async def result_of(gql: GraphQLClient, query: str, actor: str = "admin", **variables: Any) -> Any:
    data, errors = await gql(query, actor, **variables)
    assert errors == [], errors
    assert data is not None
    return next(iter(data.values()))


def test_every_default_renders_with_the_documented_variables() -> None:
    for kind, by_language in portal_mail.DEFAULTS.items():
        for language, template in by_language.items():
            rendered = portal_mail.check(kind, template, "Kundenportal")
            link = portal_mail.sample_variables(kind, "Kundenportal")[
                portal_mail.LINK_OF_KIND[kind]
            ]
            assert link in rendered.text, (kind, language)
            assert link in rendered.html, (kind, language)
            assert "Erika" in rendered.text


async def test_staff_list_the_templates_of_a_portal(gql: GraphQLClient) -> None:
    query = '{ node(id: "%s") { ... on Portal { emailTemplates { kind language variables } } } }'
    data, errors = await gql(query % PORTAL, "agent")
    assert errors == []
    assert data is not None
    templates = data["node"]["emailTemplates"]
    assert {(t["kind"], t["language"]) for t in templates} == {
        (kind.value, language) for kind in EmailTemplateKind for language in ("de", "en")
    }
    activation = next(t for t in templates if t["kind"] == "ACTIVATION")
    assert "confirmation_link" in activation["variables"]


async def test_a_preview_renders_saved_or_unsaved_text(gql: GraphQLClient) -> None:
    saved = await result_of(gql, PREVIEW, p=PORTAL)
    assert (
        saved["subject"]
        == "Bitte bestätigen Sie Ihre Registrierung im Kundenportal Stadtwerke Musterstadt"
    )
    unsaved = await result_of(gql, PREVIEW, p=PORTAL, s="Hallo {{ contact.last_name }}")
    assert unsaved["subject"] == "Hallo Mustermann"
    broken = await result_of(gql, PREVIEW, p=PORTAL, t="{{ contract.number }}")
    assert (broken["code"], broken["field"]) == ("INVALID_INPUT", "text")


async def test_an_admin_saves_a_template(gql: GraphQLClient, session: AsyncSession) -> None:
    saved = await result_of(gql, UPDATE, input=template_input())
    assert saved["emailTemplate"]["subject"] == "Willkommen, {{ contact.first_name }}"
    preview = await result_of(gql, PREVIEW, p=PORTAL)
    assert preview["subject"] == "Willkommen, Erika"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bodyText": "{{ passwort }}"}, "bodyText"),
        ({"bodyHtml": "{% if %}"}, "bodyHtml"),
        ({"subject": "{{ portal.__class__ }}"}, "subject"),
        ({"subject": "  "}, "subject"),
        ({"language": "fr"}, "language"),
    ],
)
async def test_a_broken_template_is_refused(
    gql: GraphQLClient, change: dict[str, str], field: str
) -> None:
    refused = await result_of(gql, UPDATE, input=template_input(**change))
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", field)


async def test_agents_and_other_organizations_can_not_edit(gql: GraphQLClient) -> None:
    _, errors = await gql(UPDATE, "agent", input=template_input())
    assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
    foreign = await result_of(gql, UPDATE, "other_admin", input=template_input())
    assert foreign["code"] == "NOT_FOUND"


async def test_registration_mails_use_the_saved_template(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    await result_of(gql, UPDATE, input=template_input())
    register = """mutation($input: RegisterInput!) { register(input: $input) { __typename } }"""
    answer = await result_of(
        gql,
        register,
        "anonymous",
        input={
            "portalId": PORTAL,
            "email": "julia.richter@example.org",
            "password": "Zählerstand-2026!",
            "identifiers": [{"key": "contact.customer_number", "value": "K-100007"}],
            "acceptedTerms": True,
        },
    )
    assert answer == {"__typename": "RequestReceived"}
    config = registration.AccessConfig.from_settings(test_settings)
    await registration.answer_next(session, config, datetime.now(UTC))  # the mail worker
    outbox = models.OutboundEmail
    mail = await session.scalar(
        sa.select(outbox).where(outbox.recipient == "julia.richter@example.org")
    )
    assert mail is not None
    assert mail.subject == "Willkommen, Julia"
    assert "https://musterstadt.portale.example/activate?token=" in mail.body_text


def test_a_new_portal_gets_every_template_in_each_of_its_languages() -> None:
    portal = models.Portal(id=uuid.uuid4(), organization_id=uuid.uuid4(), name="Neu")
    rows = portal_mail.default_rows(portal, ["de"])
    assert {(r.kind, r.language) for r in rows} == {(k, "de") for k in EmailTemplateKind}
    both = portal_mail.default_rows(portal, ["de", "en"])
    assert len(both) == 2 * len(EmailTemplateKind)
    for row in both:
        assert row.portal_id == portal.id
        assert row.organization_id == portal.organization_id
        template = Template(row.subject, row.body_text, row.body_html)
        portal_mail.check(row.kind, template, portal.name)
