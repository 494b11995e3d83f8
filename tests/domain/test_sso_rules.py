"""The rules of single sign-on, without a database or a provider: where a provider may
send the browser back, what an issuer, a slug and scopes may be, when an email counts as
verified, and the PKCE challenge."""

from __future__ import annotations

import pytest

from db import models
from gql.auth import oidc
from gql.domain import sso
from gql.domain.errors import InvalidInput


def _portal(
    domain_status: models.DomainStatus, domain: str = "kunden.stadtwerk.de"
) -> models.Portal:
    return models.Portal(domain=domain, domain_status=domain_status)


VERIFIED = models.DomainStatus.VERIFIED


@pytest.mark.parametrize(
    ("uri", "development", "allowed"),
    [
        ("https://kunden.stadtwerk.de/login/sso", False, True),
        ("https://kunden.stadtwerk.de:443/login/sso?x=1", False, True),
        ("https://KUNDEN.stadtwerk.de/cb", False, True),  # host names are case-insensitive
        ("https://kunden.stadtwerk.de:8443/cb", False, False),  # another port, another server
        ("http://kunden.stadtwerk.de/cb", False, False),
        ("https://kunden.stadtwerk.de.evil.example/cb", False, False),
        ("https://evil.example/cb?kunden.stadtwerk.de", False, False),
        ("https://user@kunden.stadtwerk.de/cb", False, False),
        ("https://kunden.stadtwerk.de/cb#fragment", False, False),  # RFC 6749 3.1.2
        ("http://127.0.0.1:5173/cb", True, True),
        ("http://localhost:3000/cb", True, True),
        ("http://127.0.0.1:5173/cb", False, False),  # production: never loopback
        ("https://127.0.0.1/cb", True, False),
        ("http://127.0.0.2:5173/cb", True, False),
        ("http://localhost:99999/cb", True, False),  # not a port
        ("javascript:alert(1)", True, False),
        ("", True, False),
    ],
)
def test_redirect_uri_allowed(uri: str, development: bool, allowed: bool) -> None:
    assert sso.redirect_uri_allowed(_portal(VERIFIED), uri, development=development) is allowed


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (models.DomainStatus.READY, True),  # a managed subdomain
        (models.DomainStatus.PENDING_VERIFICATION, False),
        (models.DomainStatus.VERIFIED, True),
        (models.DomainStatus.CONFIGURED, True),
    ],
)
def test_redirect_uri_needs_a_verified_domain(status: models.DomainStatus, allowed: bool) -> None:
    portal = _portal(status)
    assert sso.redirect_uri_allowed(portal, "https://kunden.stadtwerk.de/cb", development=True) is (
        allowed
    )


@pytest.mark.parametrize(
    ("issuer", "development", "valid"),
    [
        ("https://login.microsoftonline.com/tenant-id/v2.0", False, True),
        ("https://keycloak.stadtwerk.de/realms/kunden", False, True),
        ("http://keycloak.stadtwerk.de/realms/kunden", False, False),
        ("http://127.0.0.1:9400", True, True),
        ("http://127.0.0.1:9400", False, False),
        ("https://login.example/?tenant=1", False, False),
        ("https://login.example/#x", False, False),
        ("https://user@login.example", False, False),
        ("login.example", False, False),
        ("https://login.example:99999", False, False),
    ],
)
def test_clean_issuer(issuer: str, development: bool, valid: bool) -> None:
    if valid:
        assert sso.clean_issuer(issuer, development=development) == issuer
    else:
        with pytest.raises(InvalidInput) as refused:
            sso.clean_issuer(issuer, development=development)
        assert refused.value.field == "issuer"


@pytest.mark.parametrize(
    ("slug", "cleaned"),
    [
        ("entra", "entra"),
        (" Auth0 ", "auth0"),
        ("a", "a"),
        ("my-idp-2", "my-idp-2"),
        ("x" * 40, "x" * 40),
    ],
)
def test_clean_slug_accepts(slug: str, cleaned: str) -> None:
    assert sso.clean_slug(slug) == cleaned


@pytest.mark.parametrize("slug", ["", "-entra", "entra-", "mit leer", "ümlaut", "x" * 41, "a_b"])
def test_clean_slug_refuses(slug: str) -> None:
    with pytest.raises(InvalidInput):
        sso.clean_slug(slug)


def test_clean_scopes_puts_openid_first_once() -> None:
    assert sso.clean_scopes(["email", "openid", "profile", "email"]) == [
        "openid",
        "email",
        "profile",
    ]
    assert sso.clean_scopes([]) == ["openid"]


TOO_MANY = [f"scope{i}" for i in range(20)]  # with openid, 21


@pytest.mark.parametrize("scopes", [["two words"], ['quo"te'], ["back\\slash"], [""], TOO_MANY])
def test_clean_scopes_refuses(scopes: list[str]) -> None:
    with pytest.raises(InvalidInput):
        sso.clean_scopes(scopes)


@pytest.mark.parametrize(
    ("claims", "verified"),
    [
        ({"email_verified": True}, True),
        ({"email_verified": "true"}, True),  # Cognito and others send a string
        ({"email_verified": False}, False),
        ({"email_verified": "false"}, False),
        ({"email_verified": 1}, False),  # a number, not the boolean
        ({}, False),
    ],
)
def test_email_verified(claims: dict[str, object], verified: bool) -> None:
    assert sso.email_verified(claims) is verified


def test_pkce_challenge_is_rfc_7636_s256() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oidc.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
