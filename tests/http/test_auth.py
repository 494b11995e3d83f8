"""Login and access tokens, through HTTP against the ASGI app."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa
from joserfc import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, models
from gql.auth.actor import Role
from gql.auth.tokens import ALGORITHM, InvalidToken, TokenService, generate_key_set
from gql.domain import email_address
from gql.domain.errors import InvalidInput
from gql.settings import Settings
from tests.conftest import ACTORS, global_id, jwt_part
from tests.http_helpers import CUSTOMERS, LOGIN, login, portal_gid, post


@pytest.mark.parametrize("account", demo.LOGINS, ids=lambda account: account.email)
async def test_every_demo_login_works_and_carries_its_role(
    client: httpx.AsyncClient, account: demo.DemoLogin
) -> None:
    portal = portal_gid(account.portal) if account.portal else None
    result = await login(client, account.email, account.password, portal)
    assert result["__typename"] == "LoggedIn", result
    assert result["role"] == account.role
    assert result["tokenType"] == "Bearer"
    assert 60 <= result["expiresIn"] <= 900

    response = await post(client, "{ viewer { role } }", result["accessToken"])
    assert response.json() == {"data": {"viewer": {"role": account.role}}}


async def test_login_normalizes_the_email(client: httpx.AsyncClient) -> None:
    result = await login(
        client, "  Anna.Becker@EXAMPLE.org ", "Demo-Kunde-1", portal_gid("musterstadt-kunden")
    )
    assert result["__typename"] == "LoggedIn"


async def _email_of(session: AsyncSession, status: models.RegistrationStatus) -> str:
    email = await session.scalar(
        sa.select(models.PortalUser.email)
        .where(models.PortalUser.registration_status == status)
        .order_by(models.PortalUser.email)
        .limit(1)
    )
    assert email is not None
    return email


@pytest.mark.parametrize(
    ("email", "password", "portal"),
    [
        ("anna.becker@example.org", "wrong-password", CUSTOMERS),
        ("niemand@example.org", "Demo-Kunde-1", CUSTOMERS),  # unknown email
        ("anna.becker@example.org", "Demo-Kunde-1", None),  # a customer is not staff
        ("admin@musterstadt.example", "Demo-Admin-1", CUSTOMERS),  # staff is no portal user
        ("anna.becker@example.org", "Demo-Kunde-1", "nachbarstadt-kunden"),  # other tenant
        ("anna.becker@example.org", "Demo-Kunde-1", "musterstadt-partner"),  # other portal
        ("anna.becker@example.org", "Demo-Kunde-1", "does-not-exist"),  # unknown portal
        ("wartet.zuordnung@example.org", "Demo-Wartet-1", CUSTOMERS),  # not yet assigned
        ("neu.interessent@example.org", "y" * 12, CUSTOMERS),  # not yet activated
        ("admin@musterstadt.example", "demo-admin-1", None),  # passwords are case-sensitive
    ],
)
async def test_every_refusal_is_the_same_answer(
    client: httpx.AsyncClient, email: str, password: str, portal: str | None
) -> None:
    result = await login(client, email, password, portal_gid(portal) if portal else None)
    assert result == {
        "__typename": "LoginError",
        "code": "INVALID_CREDENTIALS",
        "message": "E-Mail-Adresse oder Passwort sind nicht korrekt.",  # no Accept-Language: de
        "field": None,
    }


async def test_a_disabled_user_is_refused_like_a_wrong_password(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = await _email_of(session, models.RegistrationStatus.DISABLED)
    result = await login(client, email, "Demo-Gesperrt-1", portal_gid(CUSTOMERS))
    assert result["code"] == "INVALID_CREDENTIALS"


async def test_an_invited_user_without_password_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    email = await _email_of(session, models.RegistrationStatus.INVITED)
    result = await login(client, email, "anything-at-all", portal_gid(CUSTOMERS))
    assert result["code"] == "INVALID_CREDENTIALS"


@pytest.mark.parametrize(
    ("email", "password", "portal", "code", "field"),
    [
        ("anna.becker@example.org", "", None, "INVALID_PASSWORD", "password"),
        (
            "anna.becker@example.org",
            "Demo-Kunde-1",
            global_id("Contact", demo.demo_id("contact:musterstadt:c00")),
            "INVALID_PORTAL_ID",
            "portalId",
        ),
    ],
)
async def test_malformed_input_names_the_field(
    client: httpx.AsyncClient,
    email: str,
    password: str,
    portal: str | None,
    code: str,
    field: str,
) -> None:
    result = await login(client, email, password, portal)
    assert (result["code"], result["field"]) == (code, field)


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [
        ("not-an-email", "x", "email"),
        ("", "x", "email"),
        ("anna.becker@example.org,eve@example.org", "x", "email"),
        ("anna.becker@example.org", "x" * 1025, "password"),
        ("anna.becker@example.org", "Demo\x00Kunde-1", "password"),
    ],
)
async def test_malformed_input_is_refused_at_the_edge_naming_the_field(
    client: httpx.AsyncClient, email: str, password: str, field: str
) -> None:
    variables = {"input": {"email": email, "password": password}}
    said = {}
    for language in ("en", "de"):
        response = await client.post(
            "/graphql",
            json={"query": LOGIN, "variables": variables},
            headers={"accept-language": language},
        )
        body = response.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        said[language] = error["message"]
    assert f"'$input' has invalid value at .{field}:" in said["en"]
    # In German the whole sentence, graphql-core's part included (gql/schema/input_errors).
    assert said["de"].startswith(f"Die Variable '$input' hat bei .{field} einen ungültigen Wert: ")


async def test_login_records_an_audit_event_and_the_last_login(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS))
    assert result["__typename"] == "LoggedIn"
    anna = ACTORS["customer"].subject_id
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.actor_id == anna, models.AuditEvent.action == "login.succeeded"
        )
    )
    assert event is not None
    assert event.entity_id == anna
    user = await session.get_one(models.PortalUser, anna)
    await session.refresh(user)
    assert user.last_login_at is not None


async def test_a_failed_login_is_audited_and_counted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await login(client, "anna.becker@example.org", "wrong", portal_gid(CUSTOMERS))
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "login.failed")
    )
    assert event is not None
    assert event.entity_id == ACTORS["customer"].subject_id
    assert event.data == {"failures": 1}
    throttles = (await session.scalars(sa.select(models.LoginThrottle.key))).all()
    account = f"account:{demo.demo_id('portal:musterstadt-kunden')}:anna.becker@example.org"
    assert sorted(throttles) == [account, f"pair:127.0.0.1:{account}"]


# --- Access tokens ---------------------------------------------------------------------------


async def test_a_token_carries_kid_and_claims(tokens: TokenService) -> None:
    token = tokens.issue(ACTORS["customer"])
    header = jwt_part(token, 0)
    assert header["alg"] == ALGORITHM
    assert header["kid"] == tokens.signing_key.kid
    claims = jwt.decode(token, tokens.keys, algorithms=[ALGORITHM]).claims
    actor = ACTORS["customer"]
    assert claims["role"] == "CUSTOMER"
    assert claims["sub"] == str(actor.subject_id)
    assert claims["org"] == str(actor.organization_id)
    assert claims["portal"] == str(actor.portal_id)
    assert claims["exp"] - claims["iat"] == tokens.ttl_seconds
    # The permission group is never in the token: it is loaded per request.
    assert "grants" not in claims
    assert tokens.verify(token) == replace(actor, permission_group_id=None, grants=frozenset())


def test_expired_and_not_yet_valid_tokens_are_refused(tokens: TokenService) -> None:
    now = int(time.time())
    old = tokens.issue(ACTORS["admin"], now=now - tokens.ttl_seconds - 60)
    future = tokens.issue(ACTORS["admin"], now=now + 3600)
    for token in (old, future):
        with pytest.raises(InvalidToken):
            tokens.verify(token)


def test_issuer_and_audience_are_checked(tokens: TokenService) -> None:
    token = tokens.issue(ACTORS["admin"])
    for other in (replace(tokens, issuer="someone-else"), replace(tokens, audience="other-api")):
        with pytest.raises(InvalidToken):
            other.verify(token)


def test_keys_rotate_a_retired_or_unknown_key_is_refused(tokens: TokenService) -> None:
    old = tokens
    new_key = TokenService.from_settings(
        Settings(environment="test", jwt_keys=json.dumps(generate_key_set()))
    )
    # Rotation: the new key signs, the old one still verifies.
    both = Settings(
        environment="test",
        jwt_keys=json.dumps(
            {"keys": [k.as_dict(private=True) for k in (*new_key.keys, *old.keys)]}
        ),
    )
    rotated = TokenService.from_settings(both)
    assert rotated.signing_key.kid == new_key.signing_key.kid
    legacy = old.issue(ACTORS["admin"])
    assert rotated.verify(legacy) == ACTORS["admin"]
    with pytest.raises(InvalidToken):
        old.verify(rotated.issue(ACTORS["agent"]))  # old deployments do not know the new key
    with pytest.raises(InvalidToken):
        new_key.verify(legacy)  # the old key retired


def test_tampered_and_unsigned_tokens_are_refused(tokens: TokenService) -> None:
    token = tokens.issue(ACTORS["customer"])
    header, payload, signature = token.split(".")
    forged = tokens.issue(ACTORS["admin"]).split(".")[1]
    for bad in (
        f"{header}.{forged}.{signature}",
        f"{header}.{payload}.",
        "not-a-token",
        f"{header}.{payload}.{signature[:-4]}AAAA",
    ):
        with pytest.raises(InvalidToken):
            tokens.verify(bad)


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer ", "Token abc"],
)
async def test_a_bad_authorization_header_is_401_not_anonymous(
    client: httpx.AsyncClient, header: str
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_expired_token_is_401(client: httpx.AsyncClient, tokens: TokenService) -> None:
    token = tokens.issue(ACTORS["admin"], now=int(time.time()) - 3600)
    response = await post(client, "{ viewer { role } }", token)
    assert response.status_code == 401


async def test_without_a_token_the_caller_is_anonymous(client: httpx.AsyncClient) -> None:
    response = await post(client, "{ viewer { role } }")
    assert response.json() == {"data": {"viewer": {"role": Role.ANONYMOUS.value}}}


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Anna.Becker@Example.ORG", "anna.becker@example.org"),
        ("  max@example.org\t", "max@example.org"),
        ("ｍａｘ@example.org", "max@example.org"),  # noqa: RUF001 - full-width letters (NFKC)
        ("kunde@münchen.de", "kunde@xn--mnchen-3ya.de"),  # the domain by IDNA
    ],
)
def test_an_email_address_has_one_canonical_form(raw: str, normalized: str) -> None:
    assert email_address.canonical(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "@example.org",
        "a@b",
        "a b@example.org",
        "@sum@x.de",
        "a@x.de,b@y.de",
        "a@x.de;b@y.de",
        "Anna <anna@example.org>",
        "anna@localhost",
        "anna@[127.0.0.1]",
        "anna@example.org\r\nBcc: eve@example.org",
        "a\x00@example.org",
        "a" * 65 + "@example.org",
        "anna@" + "a" * 250 + ".de",
        "jürgen@example.org",
    ],
)
def test_anything_but_one_mailbox_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        email_address.canonical(raw)
    assert (refused.value.code, refused.value.field) == ("INVALID_EMAIL", "email")


def test_a_remembered_token_still_expires(tokens: TokenService) -> None:
    """Verified tokens are remembered (TokenService._verified); the time checks are not."""
    now = int(time.time())
    token = tokens.issue(ACTORS["admin"], now=now)
    assert tokens.verify(token, now=now) == tokens.verify(token, now=now + 100)
    with pytest.raises(InvalidToken):
        tokens.verify(token, now=now + tokens.ttl_seconds + 5)
    with pytest.raises(InvalidToken):
        tokens.verify(token, now=now - 60)
    assert tokens.verify(token, now=now + 1) == tokens.verify(token)
    # Another text - the same claims with a signature of its own - is verified anew.
    header, claims, signature = token.split(".")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{claims}.{signature[::-1]}", now=now)
