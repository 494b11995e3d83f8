"""Portal email templates: staff list, preview and edit them; a template that does not
render with the documented variables is refused when saved; registration mails use the
saved template. Rendering is bounded: a template that would keep the server busy or fill
its memory is refused when saved and in a preview, and fails alone when sent."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.models.enums import EmailTemplateKind
from db.portal_settings import PortalSettings
from gql import delivery
from gql.domain import mail, portal_mail, registration
from gql.domain.errors import InvalidInput
from gql.domain.mail import Template
from gql.settings import Settings
from tests.conftest import CUSTOMER_PORTAL, MUSTERSTADT, GraphQLClient, global_id
from tests.smtp import SmtpServer

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


# Answers to an anonymous registration: they greet nobody by name.
ANONYMOUS_ANSWERS = {EmailTemplateKind.ACCOUNT_EXISTS, EmailTemplateKind.REGISTRATION_DENIED}


async def test_every_default_renders_with_the_documented_variables() -> None:
    assert set(portal_mail.DEFAULTS) == set(EmailTemplateKind)
    for kind, by_language in portal_mail.DEFAULTS.items():
        assert set(by_language) == {"de", "en"}, kind
        samples = portal_mail.sample_variables(kind, "Kundenportal")
        # Each default shows what only its kind has: its link, its code, the new address.
        shown = [name for name in samples if name.endswith("_link")]
        shown += list(portal_mail.VALUES_OF_KIND.get(kind, ()))
        for language, template in by_language.items():
            rendered = await portal_mail.check(kind, template, "Kundenportal")
            for name in shown:
                assert str(samples[name]) in rendered.text, (kind, language, name)
                assert str(samples[name]) in rendered.html, (kind, language, name)
            if kind in ANONYMOUS_ANSWERS:
                continue  # to an address whose person the request does not know
            to_staff = {EmailTemplateKind.PENDING_USER, EmailTemplateKind.STAFF_NOTIFICATION}
            expected = "Max" if kind in to_staff else "Erika"
            assert expected in rendered.text, (kind, language)


@pytest.mark.parametrize(
    ("kind", "foreign"),
    [
        (EmailTemplateKind.PENDING_USER, "{{ invitation_link }}"),
        (EmailTemplateKind.ACCOUNT_ASSIGNED, "{{ change.summary }}"),
        (EmailTemplateKind.CHANGE_REQUEST_DECIDED, "{{ staff.name }}"),
        (EmailTemplateKind.INVITATION, "{{ login_link }}"),
        (EmailTemplateKind.STAFF_NOTIFICATION, "{{ offer.number }}"),
        (EmailTemplateKind.NEW_OFFER, "{{ change.summary }}"),
    ],
)
async def test_a_template_using_another_kinds_variable_is_refused(
    kind: EmailTemplateKind, foreign: str
) -> None:
    template = portal_mail.DEFAULTS[kind]["de"]
    with pytest.raises(InvalidInput) as refused:
        await portal_mail.check(kind, Template(template.subject, foreign, template.html), "P")
    assert refused.value.field == "text"


def test_the_documented_variables_of_the_new_kinds() -> None:
    assert portal_mail.VARIABLES[EmailTemplateKind.PENDING_USER][-3:] == [
        "staff.name",
        "registration.details",
        "pending_users_link",
    ]
    assert portal_mail.VARIABLES[EmailTemplateKind.CHANGE_REQUEST_DECIDED][-4:] == [
        "change.approved",
        "change.summary",
        "change.reason",
        "login_link",
    ]
    assert portal_mail.VARIABLES[EmailTemplateKind.ACCOUNT_ASSIGNED][-1] == "login_link"
    assert portal_mail.VARIABLES[EmailTemplateKind.STAFF_NOTIFICATION][-5:] == [
        "staff.name",
        "customer.name",
        "change.summary",
        "change.details",
        "change.link",
    ]
    assert portal_mail.VARIABLES[EmailTemplateKind.NEW_OFFER][-8:] == [
        "offer.number",
        "offer.title",
        "offer.description",
        "offer.line_items",
        "offer.total_net",
        "offer.total_gross",
        "offer.valid_until",
        "offers_link",
    ]


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


@pytest.mark.parametrize(
    ("kind", "text", "field"),
    [
        # Each kind's own variables belong to it alone.
        ("LOGIN_CODE", "{{ login_code }} {{ minutes }}", None),
        ("LOGIN_CODE", "{{ email_change_link }}", "bodyText"),
        ("EMAIL_CHANGE", "{{ email_change_link }}", None),
        ("EMAIL_CHANGE", "{{ login_code }}", "bodyText"),
        ("EMAIL_CHANGED", "{{ new_email }} statt {{ user.email }}", None),
        ("EMAIL_CHANGED", "{{ password_reset_link }}", "bodyText"),
        ("ACCOUNT_DELETED", "{{ contact.display_name }} {{ portal.url }}", None),
        ("ACCOUNT_DELETED", "{{ new_email }}", "bodyText"),
        ("STAFF_NOTIFICATION", "{{ staff.name }} {{ change.summary }} {{ customer.name }}", None),
        ("STAFF_NOTIFICATION", "{{ change.reason }}", "bodyText"),
        ("NEW_OFFER", "{{ offer.number }} {{ offer.valid_until }} {{ offers_link }}", None),
        ("NEW_OFFER", "{{ offer.total }}", "bodyText"),
        ("NEW_OFFER", "{{ login_link }}", "bodyText"),
    ],
)
async def test_the_identity_mails_are_edited_with_their_own_variables(
    gql: GraphQLClient, kind: str, text: str, field: str | None
) -> None:
    answer = await result_of(
        gql,
        UPDATE,
        input=template_input(kind=kind, subject="Betreff", bodyText=text, bodyHtml="<p>Hallo</p>"),
    )
    if field is None:
        assert answer["emailTemplate"]["kind"] == kind
    else:
        assert (answer["code"], answer["field"]) == ("INVALID_INPUT", field)


async def test_login_code_mails_use_the_saved_template(
    gql: GraphQLClient, session: AsyncSession, test_settings: Settings
) -> None:
    saved = template_input(
        kind="LOGIN_CODE",
        subject="Code {{ login_code }}",
        bodyText="{{ minutes }} min",
        bodyHtml="<b>{{ login_code }}</b>",
    )
    await result_of(gql, UPDATE, input=saved)
    request = """mutation($input: PortalEmailInput!) { requestLoginCode(input: $input) {
      __typename } }"""
    answer = await result_of(
        gql, request, "anonymous", input={"portalId": PORTAL, "email": "anna.becker@example.org"}
    )
    assert answer == {"__typename": "RequestReceived"}
    config = registration.AccessConfig.from_settings(test_settings)
    await registration.answer_next(session, config, datetime.now(UTC))  # the mail worker
    outbox = models.OutboundEmail
    sent = await session.scalar(sa.select(outbox).where(outbox.kind == "login_code"))
    assert sent is not None
    assert re.fullmatch(r"Code \d{6}", sent.subject), sent.subject
    assert sent.body_text == "10 min"


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
    assert "https://musterstadt.portale.example/portal/activate?token=" in mail.body_text


async def test_a_new_portal_gets_every_template_in_each_of_its_languages() -> None:
    portal = models.Portal(id=uuid.uuid4(), organization_id=uuid.uuid4(), name="Neu")
    rows = portal_mail.default_rows(portal, ["de"])
    assert {(r.kind, r.language) for r in rows} == {(k, "de") for k in EmailTemplateKind}
    both = portal_mail.default_rows(portal, ["de", "en"])
    assert len(both) == 2 * len(EmailTemplateKind)
    for row in both:
        assert row.portal_id == portal.id
        assert row.organization_id == portal.organization_id
        template = Template(row.subject, row.body_text, row.body_html)
        await portal_mail.check(row.kind, template, portal.name)


# --- Rendering is bounded -------------------------------------------------------------------

# Each would, unbounded, run for minutes to hours or build gigabytes; each must be
# refused within a fraction of a second, in any part.
BIG = "{% set big = 'x' * 100000 %}"
HEAVY = "".join(
    "{% set l" + str(level) + " = [" + ", ".join([inner] * 30) + "] %}"
    for level, inner in ((1, "big"), (2, "l1"), (3, "l2"))
)
TOO_COSTLY = {
    "nested ranges": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "a huge range": "{% for i in range(10**9) %}{% endfor %}",
    "nested loops over a list": "{% for i in range(9999)|list %}{% for j in range(9999)|list %}"
    "{% endfor %}{% endfor %}",
    "nested loops over a string": BIG + "{% for c in big %}{% for d in big %}{% endfor %}"
    "{% endfor %}",
    "string multiplication": "{{ 'x' * 10**9 }}",
    "string multiplication by a literal": "{{ 'x' * 1000000000 }}",
    "list multiplication": "{{ [0] * 10**9 }}",
    "a giant number": "{{ 10 ** 1000000000 }}",
    "squaring in a loop": "{% set ns = namespace(n=3) %}{% for i in range(64) %}"
    "{% set ns.n = ns.n * ns.n %}{% endfor %}",
    "doubling with ~ in a loop": "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "doubling with + in a loop": "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
    "{% set ns.s = ns.s + ns.s %}{% endfor %}",
    "a long concatenation": BIG + "{% set s = big ~ big ~ big ~ big %}",
    "recursive macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "macro calling itself twice": "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}"
    "{% endif %}{% endmacro %}{{ f(60) }}",
    "nested macro doubling": "{% macro d(s) %}{{ s }}{{ s }}{% endmacro %}"
    + "{{ "
    + "d(" * 40
    + "'x'"
    + ")" * 40
    + " }}",
    "a loop calling itself": "{% for x in ['ab' * 50000] recursive %}"
    "{{ loop(x) if x|length > 1 }}{% endfor %}",
    "output size": "{% for i in range(10000) %}{{ 'y' * 1000 }}{% endfor %}",
    "output inside a macro": BIG + "{% macro m() %}{% for i in range(9000) %}{{ big }}"
    "{% endfor %}{% endmacro %}{{ m()|length }}",
    "replace": BIG + "{{ big|replace('x', big) }}",
    "join": BIG + "{{ range(10000)|join(big) }}",
    "map with replace": BIG + "{{ [big]|map('replace', 'x', big)|list }}",
    "a slice count": "{{ range(3)|slice(10**9)|list }}",
    "wordwrap": "{{ ('x ' * 50000)|wordwrap(1, wrapstring='y' * 100000) }}",
    "wordwrap, positional": "{{ ('x ' * 50000)|wordwrap(1, true, 'y' * 100000) }}",
    "indent": "{{ ('x\n' * 50000)|indent(100000) }}",
    "indent by a string": "{{ ('x\n' * 50000)|indent('y' * 100000) }}",
    "a source too long to compile quickly": "{{ x }}" * 10_000,
    # Few items, each the same long string: 30 * 30 * 30 * 100,000 characters as text.
    "printing nested lists": BIG + HEAVY + "{{ l3 }}",
    "nested lists through a filter": BIG + HEAVY + "{{ l3|string|length }}",
    "nested lists joined": BIG + HEAVY + "{{ l3|map('join')|join }}",
    "the items of a dict": BIG
    + HEAVY
    + "{% set d = {"
    + ", ".join(f"{n}: l2" for n in range(30))
    + "} %}{{ d.items() }}",
    "printing a namespace": BIG
    + HEAVY
    + "{% set ns = namespace("
    + ", ".join(f"a{n}=l2" for n in range(30))
    + ") %}{{ ns }}",
}
# Builders of text whose size is a number given to them: not available at all.
NOT_AVAILABLE = {
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    "%-formatting": "{{ '%0999999999d' % 1 }}",
    "format filter": "{{ '%0999999999d'|format(1) }}",
    "center filter": "{{ 'x'|center(999999999) }}",
    "str.center": "{{ 'x'.center(999999999) }}",
    "str.zfill": "{{ 'x'.zfill(999999999) }}",
    "str.translate": "{{ 'x'.translate({120: 'y' * 100000}) }}",
    "int.to_bytes": "{{ (1).to_bytes(999999999, 'big') }}",
    "tojson indent": "{{ range(10000)|list|tojson(indent=100000) }}",
    "sum of lists": "{{ ([range(10000)|list] * 10000)|sum(start=[]) }}",
    "lipsum": "{{ lipsum(100000) }}",
}
# The template's own arithmetic errors: refused, not a server error.
FAILING = {
    "division by zero": "{{ 1 / 0 }}",
    "type error": "{{ 'a' - 1 }}",
    "index error": "{{ [1][5] }}",
}
FINE = Template(subject="{{ name|upper }}", text="", html="")


def ids(cases: dict[str, str]) -> list[str]:
    return [name.replace(" ", "-") for name in cases]


def refusal(source: str, part: str) -> InvalidInput:
    parts = {"subject": "Hallo", "text": "Hallo", "html": "<p>Hallo</p>", part: source}
    # No wall-clock limit here (tests assert structure): the budget's own deadline
    # (template_sandbox.MAX_SECONDS) ends any render, and the refusal must say so.
    with pytest.raises(InvalidInput) as refused:
        mail.render(Template(parts["subject"], parts["text"], parts["html"]), {"name": "Anna"})
    assert refused.value.field == part
    return refused.value


@pytest.mark.parametrize("part", ["subject", "text", "html"])
@pytest.mark.parametrize("source", TOO_COSTLY.values(), ids=ids(TOO_COSTLY))
def test_a_costly_template_is_refused(source: str, part: str) -> None:
    refused = refusal(source, part)
    assert isinstance(refused, mail.TemplateTooCostly), refused.message
    assert refused.code == "TEMPLATE_TOO_COSTLY"
    assert "too costly" in refused.message


@pytest.mark.parametrize("source", NOT_AVAILABLE.values(), ids=ids(NOT_AVAILABLE))
def test_text_builders_sized_by_a_number_are_not_available(source: str) -> None:
    assert refusal(source, "text").code in {"INVALID_INPUT", "TEMPLATE_TOO_COSTLY"}


@pytest.mark.parametrize("source", FAILING.values(), ids=ids(FAILING))
def test_a_template_that_raises_is_refused_naming_the_part(source: str) -> None:
    assert refusal(source, "html").code == "INVALID_INPUT"


def test_an_ordinary_template_with_loops_macros_and_filters_renders() -> None:
    source = (
        "{% macro greet(name) %}Hallo {{ name|title }}{% endmacro %}{{ greet(name) }}\n"
        "{% set ns = namespace(total=0) %}{% for line in lines %}"
        "{{ loop.index }}. {{ line|trim|replace('x', 'y')|truncate(20) }}"
        "{% set ns.total = ns.total + line|length %}{{ loop.cycle(';', '.') }}{% endfor %}\n"
        "{{ lines|join(', ') }} {{ ns.total }} {{ (name ~ '!') * 2 }} {{ name.split('n') }}"
        "{% for i in range(3) %}{{ i }}{% endfor %}\n{{ 'a b c'|wordwrap(3) }}|"
        "{{ 'a\nb'|indent(2) }}"
    )
    rendered = mail.render(
        Template("{{ name }}", source, source), {"name": "anna", "lines": ["ax ", "b"]}
    )
    assert rendered.text == (
        "Hallo Anna\n1. ay;2. b.\nax , b 4 anna!anna! ['a', '', 'a']012\na b\nc|a\n  b"
    )
    assert rendered.html.startswith("Hallo Anna\n1. ay;2. b.")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "{{ 'x' * 10**9 }}"}, "subject"),
        ({"bodyText": TOO_COSTLY["nested ranges"]}, "bodyText"),
        ({"bodyHtml": TOO_COSTLY["macro calling itself twice"]}, "bodyHtml"),
    ],
)
async def test_a_costly_template_is_refused_when_saved(
    gql: GraphQLClient, change: dict[str, str], field: str
) -> None:
    refused = await result_of(gql, UPDATE, input=template_input(**change))
    assert refused["__typename"] == "MutationError"
    assert (refused["code"], refused["field"]) == ("TEMPLATE_TOO_COSTLY", field)
    preview = await result_of(gql, PREVIEW, p=PORTAL, t=TOO_COSTLY["nested ranges"])
    assert (preview["code"], preview["field"]) == ("TEMPLATE_TOO_COSTLY", "text")


async def test_a_costly_template_saved_before_fails_alone_when_sent(
    gql: GraphQLClient,
    session: AsyncSession,
    smtp: SmtpServer,
    sessions: async_sessionmaker[AsyncSession],
    test_settings: Settings,
) -> None:
    """A template that got into the database unchecked (saved before the budget, or
    by hand) is triggered by an anonymous registration: the registration answers as
    always and at once, its mail is written FAILED with the reason, and the mails
    queued with it still go out."""
    row = models.EmailTemplate
    await session.execute(
        sa.update(row)
        .where(row.portal_id == CUSTOMER_PORTAL, row.kind == EmailTemplateKind.ACTIVATION)
        .values(body_text=TOO_COSTLY["nested ranges"])
    )
    other = mail.enqueue(
        session,
        organization_id=MUSTERSTADT,
        kind="test",
        sender="no-reply@musterstadt.example",
        recipient="anna@example.org",
        message=mail.render(FINE, {"name": "Anna"}),
    )
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
    # The worker answers the queued registration and writes its mail.
    await registration.answer_requests(
        sessions, registration.AccessConfig.from_settings(test_settings)
    )
    outbox = models.OutboundEmail
    failed = await session.scalar(
        sa.select(outbox).where(outbox.recipient == "julia.richter@example.org")
    )
    assert failed is not None
    assert failed.status is models.EmailStatus.FAILED
    assert "too costly" in (failed.last_error or "")
    assert failed.body_text == ""
    await session.commit()

    later = datetime.now(UTC) + timedelta(minutes=5)
    report = await delivery.deliver_due(sessions, smtp.transport, delivery.RetryPolicy(), now=later)
    assert [m.message_id for m in smtp.sink.mails] == [other.message_id]
    assert report.failed == 0


async def test_checking_a_long_template_leaves_the_event_loop_free() -> None:
    """Compiling and rendering the longest template allowed (about 2,900 tags, some
    0.3 s of work) happens in a worker thread: a heartbeat on the event loop goes on
    (its longest pause, about a third, is Python's compile() of the generated code,
    which holds the GIL; on the event loop it would be all of it)."""
    longest = Template("Hallo", "{{ portal.name }}" * 2_900, "<p>Hallo</p>")
    gaps: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beating = asyncio.create_task(heartbeat())
    start = time.perf_counter()
    rendered = await portal_mail.check(EmailTemplateKind.ACTIVATION, longest, "Stadtwerke")
    took = time.perf_counter() - start
    done.set()
    await beating
    assert rendered.text.count("Stadtwerke") == 2_900
    assert max(gaps) < took * 0.75, f"the loop stood still {max(gaps):.3f} s of {took:.3f} s"


def test_every_mail_link_points_below_the_portals_pages() -> None:
    portal = models.Portal(id=uuid.uuid4(), domain="kunden.stadtwerk.de", name="Neu")
    portal.draft_settings = PortalSettings()
    assert portal_mail.page_link(portal, "login") == "https://kunden.stadtwerk.de/portal/login"
    portal.draft_settings = PortalSettings.model_validate(
        {"pagesUrl": "https://www.stadtwerk.de/kundenportal/"}
    )
    assert portal_mail.link(portal, EmailTemplateKind.PASSWORD_RESET, "a-b_c") == (
        "https://www.stadtwerk.de/kundenportal/reset-password?token=a-b_c"
    )
    seen = portal_mail.variables(
        portal, EmailTemplateKind.ACCOUNT_DELETED, email="a@example.org", contact=None
    )
    assert seen["portal"]["url"] == "https://www.stadtwerk.de/kundenportal"
    with pytest.raises(ValueError, match="no query or fragment"):
        PortalSettings.model_validate({"pagesUrl": "https://www.stadtwerk.de/p?x=1"})
