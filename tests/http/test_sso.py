"""Single sign-on over HTTP through the ASGI app, against a real OpenID provider
(oidc-provider-mock in its own process, tests/oidc_provider.py): its discovery
document, its login form, its token endpoint and its signing keys. Nothing is mocked."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import demo, models
from db.portal_settings import TwoFactorPolicy
from gql.auth import oidc
from gql.domain import audit, sso
from gql.domain.authentication import IdentityConfig, Refused, identity_config
from gql.schema.results import now
from gql.settings import Settings
from tests.conftest import ACTORS, CUSTOMER_PORTAL, NACHBAR_PORTAL, global_id
from tests.http_helpers import call, portal_gid, post, staff_token
from tests.oidc_provider import OidcProvider
from tests.smtp import free_port

PORTAL = portal_gid("musterstadt-kunden")
NACHBAR = global_id("Portal", NACHBAR_PORTAL)
REDIRECT = "http://127.0.0.1:5173/sso/callback"
ANNA_ID = demo.demo_id(f"portal-user:{CUSTOMER_PORTAL}:anna.becker@example.org")
JULIA = "julia.richter@example.org"  # a contact of the demo without portal access

CREATE = """mutation($input: CreateIdentityProviderInput!) {
  createIdentityProvider(input: $input) {
    __typename
    ... on IdentityProviderSaved { identityProvider {
      id name slug issuer clientId scopes matchBy autoProvision portalId } }
    ... on MutationError { code field message }
  }
}"""
UPDATE = """mutation($input: UpdateIdentityProviderInput!) {
  updateIdentityProvider(input: $input) {
    __typename
    ... on IdentityProviderSaved { identityProvider { id name slug clientId } }
    ... on MutationError { code field message }
  }
}"""
DELETE = """mutation($input: DeleteIdentityProviderInput!) {
  deleteIdentityProvider(input: $input) {
    __typename
    ... on IdentityProviderDeleted { deletedId }
    ... on MutationError { code field }
  }
}"""
START = """mutation($input: StartSsoLoginInput!) {
  startSsoLogin(input: $input) {
    __typename
    ... on SsoLoginStarted { authorizationUrl state expiresAt }
    ... on SsoError { code field message detail }
  }
}"""
COMPLETE = """mutation($input: CompleteSsoLoginInput!) {
  completeSsoLogin(input: $input) {
    __typename
    ... on LoggedIn { accessToken refreshToken role }
    ... on SecondFactorRequired { mfaToken enrollmentRequired methods }
    ... on LoginError { code message detail }
  }
}"""
VIEWER = "{ viewer { role contact { customerNumber } } }"


@dataclass
class Configured:
    """An identity provider of the demo customer portal at the running provider."""

    id: str
    slug: str
    client_id: str
    client_secret: str


@pytest.fixture
async def admin(client: httpx.AsyncClient) -> str:
    return await staff_token(client, "admin@musterstadt.example", "Demo-Admin-1")


async def identify_by_email_alone(session: AsyncSession) -> None:
    """The customer portal identifies customers by their email alone. A provider's user
    brings only an email, and a contact is matched only when every identifier the portal
    asks for matches (the demo asks for the customer number too)."""
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    settings = portal.published_settings
    registration = settings.registration.model_copy(
        update={"identifiers": settings.registration.identifiers[:1]}
    )
    assert registration.identifiers[0].attribute == "email"
    portal.published_settings = settings.model_copy(update={"registration": registration})
    await session.commit()


async def configure(
    client: httpx.AsyncClient,
    admin: str,
    provider: OidcProvider,
    *,
    slug: str = "keycloak",
    match_by: str = "EMAIL",
    auto_provision: bool = False,
    secret: str | None = None,
) -> Configured:
    client_id, client_secret = provider.register_client(REDIRECT)
    answer = await call(
        client,
        CREATE,
        admin,
        portalId=PORTAL,
        name="Keycloak",
        slug=slug,
        issuer=provider.issuer,
        clientId=client_id,
        clientSecret=secret or client_secret,
        scopes=["email", "profile"],
        matchBy=match_by,
        autoProvision=auto_provision,
    )
    assert answer["__typename"] == "IdentityProviderSaved", answer
    saved = answer["identityProvider"]
    return Configured(saved["id"], slug, client_id, client_secret)


async def start(
    client: httpx.AsyncClient,
    slug: str = "keycloak",
    *,
    portal: str = PORTAL,
    redirect: str = REDIRECT,
) -> dict[str, Any]:
    return dict(await call(client, START, portalId=portal, provider=slug, redirectUri=redirect))


async def complete(client: httpx.AsyncClient, code: str, state: str) -> dict[str, Any]:
    return dict(await call(client, COMPLETE, code=code, state=state))


async def sso_login(
    client: httpx.AsyncClient, provider: OidcProvider, subject: str, slug: str = "keycloak"
) -> dict[str, Any]:
    """The whole login: start, the provider's form in the browser, the callback."""
    started = await start(client, slug)
    assert started["__typename"] == "SsoLoginStarted", started
    back = provider.authorize(started["authorizationUrl"], subject)
    assert back["state"] == started["state"]
    return await complete(client, back["code"], back["state"])


async def actions(session: AsyncSession, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """The audit events whose action starts with `prefix`, by action (one test is one
    transaction: their times are all the same)."""
    event = models.AuditEvent
    rows = await session.execute(
        sa.select(event.action, event.data).where(event.action.startswith(prefix))
    )
    return sorted(((action, dict(data)) for action, data in rows.all()), key=lambda e: e[0])


# --- Configuration ----------------------------------------------------------------------------


async def test_create_identity_provider_seals_the_secret_and_shows_it_nowhere(
    client: httpx.AsyncClient,
    admin: str,
    oidc_provider: OidcProvider,
    session: AsyncSession,
    test_settings: Settings,
) -> None:
    configured = await configure(client, admin, oidc_provider, secret="s3cr3t-of-the-client")

    row = await session.get_one(models.IdentityProvider, _row_id(configured.id))
    assert row.client_secret_encrypted != "s3cr3t-of-the-client"
    box = sso.sso_config(test_settings).box
    assert box.decrypt(row.client_secret_encrypted) == "s3cr3t-of-the-client"
    assert row.scopes == ["openid", "email", "profile"]
    listed = await post(
        client,
        "query($id: ID!) { portal(id: $id) { identityProviders { __typename slug issuer"
        " clientId matchBy autoProvision } } }",
        admin,
        id=PORTAL,
    )
    assert "s3cr3t" not in listed.text
    slugs = [p["slug"] for p in listed.json()["data"]["portal"]["identityProviders"]]
    assert sorted(slugs) == ["demo", "keycloak"]
    schema_types = await post(client, '{ __type(name: "IdentityProvider") { fields { name } } }')
    fields = {f["name"] for f in schema_types.json()["data"]["__type"]["fields"]}
    assert not {name for name in fields if "ecret" in name}
    assert await actions(session, "identity_provider.") == [
        (
            "identity_provider.created",
            {
                "portal_id": str(CUSTOMER_PORTAL),
                "slug": "keycloak",
                "issuer": oidc_provider.issuer,
            },
        )
    ]


def _row_id(global_id_: str) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(global_id_).node_id)


async def test_login_page_lists_the_portal_s_providers(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider
) -> None:
    await configure(client, admin, oidc_provider)
    query = (
        '{ publicPortal(domain: "musterstadt.portale.example")'
        " { identityProviders { slug name } } }"
    )
    answer = (await post(client, query)).json()
    assert answer["data"]["publicPortal"]["identityProviders"] == [
        {"slug": "demo", "name": "Demo-Login"},
        {"slug": "keycloak", "name": "Keycloak"},
    ]
    other = (
        '{ publicPortal(domain: "nachbarstadt.portale.example") { identityProviders { slug } } }'
    )
    assert (await post(client, other)).json()["data"]["publicPortal"]["identityProviders"] == []


async def test_create_identity_provider_refuses_a_taken_slug_and_an_issuer_without_discovery(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider
) -> None:
    base = {
        "portalId": PORTAL,
        "name": "Zweiter",
        "clientId": "x",
        "clientSecret": "y",
        "matchBy": "NONE",
    }
    taken = await call(client, CREATE, admin, **base, slug="demo", issuer=oidc_provider.issuer)
    assert (taken["code"], taken["field"]) == ("CONFLICT", "slug")

    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = await call(client, CREATE, admin, **base, slug="zwei", issuer=nobody)
    assert (unreachable["code"], unreachable["field"]) == ("SSO_PROVIDER_ERROR", "issuer")

    # The discovery document names the issuer exactly (no trailing slash here).
    other_name = await call(
        client, CREATE, admin, **base, slug="zwei", issuer=oidc_provider.issuer + "/"
    )
    assert (other_name["code"], other_name["field"]) == ("SSO_PROVIDER_ERROR", "issuer")

    bad_slug = await call(
        client, CREATE, admin, **base, slug="Mit Leerzeichen", issuer=oidc_provider.issuer
    )
    assert (bad_slug["code"], bad_slug["field"]) == ("INVALID_INPUT", "slug")


async def test_update_and_delete_identity_provider(
    client: httpx.AsyncClient,
    admin: str,
    oidc_provider: OidcProvider,
    session: AsyncSession,
    test_settings: Settings,
) -> None:
    await identify_by_email_alone(session)
    configured = await configure(client, admin, oidc_provider, auto_provision=True)
    oidc_provider.set_user("julia", email=JULIA, email_verified=True)
    assert (await sso_login(client, oidc_provider, "julia"))["__typename"] == "LoggedIn"

    updated = await call(
        client, UPDATE, admin, id=configured.id, name="Mein Keycloak", clientSecret="neu"
    )
    assert updated["identityProvider"]["name"] == "Mein Keycloak"
    row = await session.get_one(models.IdentityProvider, _row_id(configured.id))
    await session.refresh(row)
    assert sso.sso_config(test_settings).box.decrypt(row.client_secret_encrypted) == "neu"
    deleted = await call(client, DELETE, admin, id=configured.id)
    assert deleted == {"__typename": "IdentityProviderDeleted", "deletedId": configured.id}
    links = await session.scalar(sa.select(sa.func.count()).select_from(models.IdentityLink))
    assert links == 0
    # Julia keeps her access; a password reset would give her a password.
    julia = await session.scalar(
        sa.select(models.PortalUser).where(models.PortalUser.email == JULIA)
    )
    assert julia is not None
    assert [a for a, _ in await actions(session, "identity_provider.")] == [
        "identity_provider.created",
        "identity_provider.deleted",
        "identity_provider.updated",
    ]


async def test_a_new_issuer_drops_the_links_of_the_old_one(
    client: httpx.AsyncClient,
    admin: str,
    oidc_provider: OidcProvider,
    own_provider: OidcProvider,
    session: AsyncSession,
) -> None:
    """A subject names someone only at its own issuer."""
    configured = await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)
    assert (await sso_login(client, oidc_provider, "anna"))["__typename"] == "LoggedIn"
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.IdentityLink)) == 1

    moved = await call(client, UPDATE, admin, id=configured.id, issuer=own_provider.issuer)

    assert moved["__typename"] == "IdentityProviderSaved", moved
    assert await session.scalar(sa.select(sa.func.count()).select_from(models.IdentityLink)) == 0


async def test_other_organization_can_neither_see_nor_change_the_providers(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider
) -> None:
    configured = await configure(client, admin, oidc_provider)
    other = await staff_token(client, "admin@nachbarstadt.example", "Demo-Admin-2")

    seen = await post(
        client, "query($id: ID!) { node(id: $id) { __typename } }", other, id=configured.id
    )
    assert seen.json()["data"]["node"] is None
    portal = await post(
        client,
        "query($id: ID!) { portal(id: $id) { identityProviders { slug } } }",
        other,
        id=PORTAL,
    )
    assert portal.json()["data"]["portal"] is None
    changed = await call(client, UPDATE, other, id=configured.id, name="Gekapert")
    assert (changed["code"], changed["field"]) == ("NOT_FOUND", "id")
    deleted = await call(client, DELETE, other, id=configured.id)
    assert (deleted["code"], deleted["field"]) == ("NOT_FOUND", "id")
    created = await call(
        client,
        CREATE,
        other,
        portalId=PORTAL,
        name="Fremd",
        slug="fremd",
        issuer=oidc_provider.issuer,
        clientId="x",
        clientSecret="y",
        matchBy="EMAIL",
    )
    assert (created["code"], created["field"]) == ("NOT_FOUND", "portalId")
    # The agent of the organization reads them but may not change them.
    agent = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    refused = await post(client, UPDATE, agent, input={"id": configured.id, "name": "x"})
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- Logins ---------------------------------------------------------------------------------


async def test_sso_login_matches_the_verified_email_links_it_and_opens_a_session(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna-at-keycloak", email="Anna.Becker@example.org", email_verified=True)

    answer = await sso_login(client, oidc_provider, "anna-at-keycloak")

    assert answer["__typename"] == "LoggedIn", answer
    assert answer["role"] == "CUSTOMER"
    assert answer["refreshToken"]
    viewer = (await post(client, VIEWER, answer["accessToken"])).json()["data"]["viewer"]
    assert viewer == {"role": "CUSTOMER", "contact": {"customerNumber": "K-100001"}}
    link = await session.scalar(sa.select(models.IdentityLink))
    assert link is not None
    assert (link.portal_user_id, link.subject) == (ANNA_ID, "anna-at-keycloak")
    assert [a for a, _ in await actions(session, "sso.")] == ["sso.linked", "sso.login"]

    # From now on the link decides, whatever email the provider says.
    oidc_provider.set_user("anna-at-keycloak", email="anna@elsewhere.example")
    again = await sso_login(client, oidc_provider, "anna-at-keycloak")
    assert again["__typename"] == "LoggedIn", again
    assert [a for a, _ in await actions(session, "sso.")] == [
        "sso.linked",
        "sso.login",
        "sso.login",
    ]


async def test_sso_login_refuses_an_unverified_email_when_matching_by_email(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await configure(client, admin, oidc_provider, auto_provision=True)
    oidc_provider.set_user("mallory", email="anna.becker@example.org", email_verified=False)

    answer = await sso_login(client, oidc_provider, "mallory")

    assert answer["__typename"] == "LoginError"
    assert answer["code"] == "SSO_EMAIL_NOT_VERIFIED"
    assert answer["message"] == "Der Identitätsanbieter hat die E-Mail-Adresse nicht bestätigt."
    assert await session.scalar(sa.select(models.IdentityLink)) is None
    refusals = await actions(session, "sso.refused")
    assert [data["code"] for _, data in refusals] == ["SSO_EMAIL_NOT_VERIFIED"]


async def test_sso_login_auto_provisions_a_user_assigned_by_the_portal_s_rules(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await identify_by_email_alone(session)
    await configure(client, admin, oidc_provider, auto_provision=True)
    oidc_provider.set_user("julia", email=JULIA, email_verified=True, locale="en-GB")

    answer = await sso_login(client, oidc_provider, "julia")

    assert answer["__typename"] == "LoggedIn", answer
    viewer = (await post(client, VIEWER, answer["accessToken"])).json()["data"]["viewer"]
    assert viewer["contact"] == {"customerNumber": "K-100007"}  # the one contact with her email
    user = await session.scalar(
        sa.select(models.PortalUser).where(models.PortalUser.email == JULIA)
    )
    assert user is not None
    assert user.password_hash is None
    assert user.registration_status is models.RegistrationStatus.ACTIVE
    assert [a for a, _ in await actions(session, "sso.")] == [
        "sso.linked",
        "sso.login",
        "sso.provisioned",
    ]


async def test_an_email_alone_matches_no_contact_where_the_portal_asks_for_more(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    """The demo portal identifies by email and customer number; a provider gives only
    the email, so its user waits for staff like a registration that names too little."""
    await configure(client, admin, oidc_provider, auto_provision=True)
    oidc_provider.set_user("julia", email=JULIA, email_verified=True)

    answer = await sso_login(client, oidc_provider, "julia")

    assert (answer["__typename"], answer["code"]) == ("LoginError", "SSO_ACCOUNT_INACTIVE")
    user = await session.scalar(
        sa.select(models.PortalUser).where(models.PortalUser.email == JULIA)
    )
    assert user is not None
    assert user.assignment_status is models.AssignmentStatus.PENDING


async def test_sso_auto_provisioned_stranger_waits_for_assignment(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    """The demo portal lets people without a known contact register (they wait for
    staff to assign them): so does a provider's new user."""
    await configure(client, admin, oidc_provider, auto_provision=True)
    oidc_provider.set_user("fremd", email="neu.kunde@example.org", email_verified=True)

    answer = await sso_login(client, oidc_provider, "fremd")

    assert (answer["__typename"], answer["code"]) == ("LoginError", "SSO_ACCOUNT_INACTIVE")
    user = await session.scalar(
        sa.select(models.PortalUser).where(models.PortalUser.email == "neu.kunde@example.org")
    )
    assert user is not None
    assert user.assignment_status is models.AssignmentStatus.PENDING


async def test_sso_login_without_auto_provision_refuses_an_unknown_identity(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await configure(client, admin, oidc_provider, auto_provision=False)
    oidc_provider.set_user("julia", email=JULIA, email_verified=True)

    answer = await sso_login(client, oidc_provider, "julia")

    assert (answer["__typename"], answer["code"]) == ("LoginError", "SSO_NO_ACCOUNT")
    assert (
        await session.scalar(sa.select(models.PortalUser).where(models.PortalUser.email == JULIA))
        is None
    )


async def test_sso_login_matching_none_does_not_take_over_an_existing_email(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider
) -> None:
    await configure(client, admin, oidc_provider, match_by="NONE", auto_provision=True)
    oidc_provider.set_user("anna-2", email="anna.becker@example.org", email_verified=True)

    answer = await sso_login(client, oidc_provider, "anna-2")

    assert (answer["__typename"], answer["code"]) == ("LoginError", "SSO_NO_ACCOUNT")


async def test_sso_login_still_asks_for_the_second_factor_the_portal_requires(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    portal = await session.get_one(models.Portal, CUSTOMER_PORTAL)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"two_factor": TwoFactorPolicy.REQUIRED}
    )
    await session.flush()
    await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)

    answer = await sso_login(client, oidc_provider, "anna")

    assert answer["__typename"] == "SecondFactorRequired", answer
    assert answer["enrollmentRequired"] is True
    assert answer["methods"] == ["ENROLL_TOTP", "EMAIL_CODE"]
    assert "login.enrollment_requested" in [a for a, _ in await actions(session, "login.")]


async def test_sso_state_is_single_use(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)
    started = await start(client)
    back = oidc_provider.authorize(started["authorizationUrl"], "anna")
    assert (await complete(client, back["code"], back["state"]))["__typename"] == "LoggedIn"

    replayed = await complete(client, back["code"], back["state"])

    assert (replayed["__typename"], replayed["code"]) == ("LoginError", "SSO_STATE_INVALID")
    assert replayed["message"] == (
        "Diese Anmeldung ist unbekannt, schon verwendet oder abgelaufen; bitte erneut anmelden."
    )
    refusals = await actions(session, "sso.refused")
    assert [(d["code"], d["reason"]) for _, d in refusals] == [("SSO_STATE_INVALID", "replayed")]


async def test_sso_refuses_a_foreign_state(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider
) -> None:
    await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)
    started = await start(client)
    back = oidc_provider.authorize(started["authorizationUrl"], "anna")

    # A state we never issued (e.g. of another relying party), with a valid code.
    foreign = await complete(client, back["code"], oidc.new_secret())

    assert (foreign["__typename"], foreign["code"]) == ("LoginError", "SSO_STATE_INVALID")


async def test_sso_refuses_an_id_token_with_another_nonce(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    """An authorization response made for another login (here: the request's nonce
    swapped on the way) does not complete this one."""
    await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)
    started = await start(client)
    parts = urlsplit(started["authorizationUrl"])
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["nonce"] = oidc.new_secret()
    tampered = urlunsplit(parts._replace(query=urlencode(query)))
    back = oidc_provider.authorize(tampered, "anna")

    answer = await complete(client, back["code"], back["state"])

    assert (answer["__typename"], answer["code"]) == ("LoginError", "SSO_NONCE_MISMATCH")
    assert [d["code"] for _, d in await actions(session, "sso.refused")] == ["SSO_NONCE_MISMATCH"]


async def test_sso_refuses_a_provider_of_another_portal(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await configure(client, admin, oidc_provider)

    answer = await start(client, "keycloak", portal=NACHBAR)

    assert answer["__typename"] == "SsoError"
    assert (answer["code"], answer["field"]) == ("SSO_PROVIDER_UNKNOWN", "provider")
    assert [d["code"] for _, d in await actions(session, "sso.refused")] == ["SSO_PROVIDER_UNKNOWN"]


@pytest.mark.parametrize(
    ("redirect", "allowed"),
    [
        ("https://musterstadt.portale.example/login/sso", True),
        ("http://localhost:3000/callback", True),  # development settings
        ("https://evil.example/callback", False),
        ("https://musterstadt-partner.portale.example/login/sso", False),  # another portal's
        ("http://musterstadt.portale.example/login/sso", False),  # not https
    ],
)
async def test_sso_redirect_uri_must_be_on_the_portal_s_domain(
    client: httpx.AsyncClient,
    admin: str,
    oidc_provider: OidcProvider,
    redirect: str,
    allowed: bool,
) -> None:
    await configure(client, admin, oidc_provider)

    answer = await start(client, redirect=redirect)

    if allowed:
        assert answer["__typename"] == "SsoLoginStarted", answer
        assert parse_qs(urlsplit(answer["authorizationUrl"]).query)["redirect_uri"] == [redirect]
    else:
        assert (answer["code"], answer["field"]) == ("SSO_REDIRECT_URI_NOT_ALLOWED", "redirectUri")


async def test_sso_start_is_limited_per_client_address(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Each start stores a login: one address gets 200 per 10 minutes (httpx's ASGI
    transport calls from 127.0.0.1)."""
    session.add(
        models.RateCounter(
            key="sso_start:address:127.0.0.1", window_start=now(), count=sso.STARTS_PER_ADDRESS
        )
    )
    await session.flush()

    answer = await start(client, "demo")

    assert (answer["__typename"], answer["code"]) == ("SsoError", "RATE_LIMITED")


async def test_production_refuses_loopback_redirect_uris(
    production_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    answer = await call(
        production_client, START, portalId=PORTAL, provider="demo", redirectUri=REDIRECT
    )
    assert answer["code"] == "SSO_REDIRECT_URI_NOT_ALLOWED"


async def test_sso_refuses_when_the_provider_refuses_our_client_secret(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    """The secret is decrypted and sent: a wrong one is refused by the provider."""
    await configure(client, admin, oidc_provider, secret="not-the-registered-secret")
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)

    answer = await sso_login(client, oidc_provider, "anna")

    assert (answer["__typename"], answer["code"]) == ("LoginError", "SSO_PROVIDER_ERROR")


async def test_deactivating_a_linked_user_ends_the_session_and_refuses_the_next_sso_login(
    client: httpx.AsyncClient, admin: str, oidc_provider: OidcProvider, session: AsyncSession
) -> None:
    await configure(client, admin, oidc_provider)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)
    token = (await sso_login(client, oidc_provider, "anna"))["accessToken"]
    assert (await post(client, VIEWER, token)).json()["data"]["viewer"]["role"] == "CUSTOMER"

    deactivated = await call(
        client,
        """mutation($input: PortalUserIdInput!) { deactivatePortalUser(input: $input) {
          __typename ... on PortalUserPayload { revokedSessions } } }""",
        admin,
        id=global_id("PortalUser", ANNA_ID),
    )
    assert deactivated["revokedSessions"] == 1

    ended = await post(client, VIEWER, token)
    assert ended.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await sso_login(client, oidc_provider, "anna")
    assert (again["__typename"], again["code"]) == ("LoginError", "SSO_ACCOUNT_INACTIVE")
    # Reactivated without a password: the link lets the user log in again.
    reactivated = await call(
        client,
        """mutation($input: PortalUserIdInput!) { activatePortalUser(input: $input) {
          __typename } }""",
        admin,
        id=global_id("PortalUser", ANNA_ID),
    )
    assert reactivated["__typename"] == "PortalUserPayload"


# --- The relying party against the provider, below GraphQL ------------------------------------


@dataclass
class Issued:
    """A real ID token of the provider, with what it was issued for."""

    id_token: str
    metadata: oidc.Metadata
    client: oidc.ClientRegistration
    nonce: str


async def issue(rp: oidc.RelyingParty, provider: OidcProvider, subject: str) -> Issued:
    metadata = await rp.metadata(provider.issuer)
    client = oidc.ClientRegistration(provider.issuer, "rp-test", "secret", ("openid", "email"))
    state, nonce, verifier = oidc.new_secret(), oidc.new_secret(), oidc.new_secret()
    url = oidc.authorization_url(
        metadata, client, redirect_uri=REDIRECT, state=state, nonce=nonce, verifier=verifier
    )
    assert parse_qs(urlsplit(url).query)["code_challenge"] == [oidc.s256(verifier)]
    back = provider.authorize(url, subject)
    id_token = await rp.exchange(
        metadata, client, code=back["code"], redirect_uri=REDIRECT, verifier=verifier
    )
    return Issued(id_token, metadata, client, nonce)


@pytest.fixture
def own_provider() -> Iterator[OidcProvider]:
    """A provider of the test's own, to restart (a new signing key)."""
    provider = OidcProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


async def test_id_token_checks_issuer_audience_and_expiry(oidc_provider: OidcProvider) -> None:
    rp = oidc.RelyingParty()
    issued = await issue(rp, oidc_provider, "anna")
    moment = int(now().timestamp())

    claims = await rp.verify_id_token(issued.id_token, issued.metadata, issued.client, now=moment)
    assert (claims["sub"], claims["nonce"], claims["aud"]) == ("anna", issued.nonce, ["rp-test"])

    async def rejected(client: oidc.ClientRegistration, at: int) -> str:
        with pytest.raises(oidc.TokenRejected) as refused:
            await rp.verify_id_token(issued.id_token, issued.metadata, client, now=at)
        return refused.value.reason

    other_audience = replace(issued.client, client_id="another-client")
    assert await rejected(other_audience, moment) == "aud"
    other_issuer = replace(issued.client, issuer="https://login.example")
    assert await rejected(other_issuer, moment) == "iss"
    two_hours = int(timedelta(hours=2).total_seconds())  # the provider's tokens live 1 hour
    assert await rejected(issued.client, moment + two_hours) == "exp"
    header, payload, signature = issued.id_token.split(".")
    forged = ".".join([header, payload, signature[::-1]])
    with pytest.raises(oidc.TokenRejected) as refused:
        await rp.verify_id_token(forged, issued.metadata, issued.client, now=moment)
    assert refused.value.reason == "signature"


async def test_keys_are_cached_and_fetched_again_for_an_unknown_kid(
    own_provider: OidcProvider,
) -> None:
    rp = oidc.RelyingParty()
    first = await issue(rp, own_provider, "anna")
    moment = int(now().timestamp())
    await rp.verify_id_token(first.id_token, first.metadata, first.client, now=moment)
    second = await issue(rp, own_provider, "anna")
    await rp.verify_id_token(second.id_token, second.metadata, second.client, now=moment)
    assert rp.key_fetches == 1  # cached

    own_provider.restart()  # a new signing key, a new kid
    rotated = await issue(rp, own_provider, "anna")
    claims = await rp.verify_id_token(
        rotated.id_token, rotated.metadata, rotated.client, now=moment
    )

    assert claims["sub"] == "anna"
    assert rp.key_fetches == 2


async def test_sso_state_expires_after_ten_minutes(
    session: AsyncSession, oidc_provider: OidcProvider, test_settings: Settings
) -> None:
    """Checked below GraphQL, where the clock can be moved: a login completed later
    than its 10 minutes is refused, like a replayed one."""
    config = replace(sso.sso_config(test_settings), relying_party=oidc.RelyingParty())
    provider = models.IdentityProvider(
        organization_id=ACTORS["admin"].organization_id,
        portal_id=CUSTOMER_PORTAL,
        name="Kurz",
        slug="kurz",
        issuer=oidc_provider.issuer,
        client_id="rp-test",
        client_secret_encrypted=config.box.encrypt("secret"),
        scopes=["openid", "email"],
        match_by=models.SsoMatchBy.EMAIL,
        auto_provision=False,
    )
    session.add(provider)
    await session.flush()
    started = await sso.start_login(
        session,
        config,
        portal_id=CUSTOMER_PORTAL,
        slug="kurz",
        redirect_uri=REDIRECT,
        origin=_origin(),
        now=now(),
    )
    assert isinstance(started, sso.Started)
    oidc_provider.set_user("anna", email="anna.becker@example.org", email_verified=True)
    back = oidc_provider.authorize(started.authorization_url, "anna")

    late = await sso.complete_login(
        session,
        config,
        _identity(test_settings),
        code=back["code"],
        state=back["state"],
        origin=_origin(),
        now=now() + timedelta(minutes=11),
    )

    assert isinstance(late, Refused)
    assert late.code == "SSO_STATE_INVALID"


def _origin() -> audit.Origin:
    return audit.Origin("127.0.0.1", "pytest")


def _identity(settings: Settings) -> IdentityConfig:
    return identity_config(settings)
