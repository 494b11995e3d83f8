"""Staff logging in as a portal user through a scoped token (seed 000)."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor, Role
from gql.domain import sessions
from tests.conftest import ACTORS, global_id, jwt_part
from tests.http_helpers import ANNA, IMPERSONATE, impersonate, login, portal_gid, post, staff_token


def claims_of(token: str) -> dict[str, Any]:
    return jwt_part(token, 1)


async def test_the_agent_sees_what_the_customer_sees(client: httpx.AsyncClient, agent: str) -> None:
    result = await impersonate(client, agent)
    assert result["__typename"] == "Impersonation"
    assert result["role"] == "CUSTOMER"
    assert result["expiresIn"] <= 900
    token = result["accessToken"]
    claims = claims_of(token)
    assert claims["act"] == {"sub": str(ACTORS["agent"].subject_id)}
    assert claims["sub"] == str(ACTORS["customer"].subject_id)
    assert claims["exp"] - claims["iat"] <= 900

    query = """{ viewer { role isImpersonation impersonatedBy contact { displayName }
                 contracts { totalCount } } contacts { totalCount } }"""
    data = (await post(client, query, token)).json()["data"]
    assert data["viewer"] == {
        "role": "CUSTOMER",
        "isImpersonation": True,
        "impersonatedBy": "Ali Agent",
        "contact": {"displayName": "Anna Becker"},
        "contracts": {"totalCount": 3},
    }
    assert data["contacts"] == {"totalCount": 1}


FORBIDDEN_UNDER_IMPERSONATION = [
    "mutation { logoutEverywhere { revokedSessions } }",
    'mutation { disableTotp(input: {code: "123456"}) { __typename } }',
    'mutation { regenerateRecoveryCodes(input: {code: "123456"}) { __typename } }',
    'mutation { impersonatePortalUser(input: {portalUserId: "' + ANNA + '", reason: "x"}) '
    "{ __typename } }",
    'mutation { changePassword(input: {currentPassword: "Demo-Kunde-1", newPassword: '
    '"Neues-Passwort-1"}) { __typename } }',
    'mutation { requestEmailChange(input: {newEmail: "anna.neu@example.org", password: '
    '"Demo-Kunde-1"}) { __typename } }',
    'mutation { deleteMyAccount(input: {password: "Demo-Kunde-1"}) { __typename } }',
]


@pytest.mark.parametrize("mutation", FORBIDDEN_UNDER_IMPERSONATION)
async def test_sensitive_mutations_are_refused(
    client: httpx.AsyncClient, agent: str, mutation: str
) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    body = (await post(client, mutation, token)).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    message = body["errors"][0]["message"]
    assert "impersonating" in message or "impersonatePortalUser" in message


async def test_setting_up_totp_is_refused(client: httpx.AsyncClient, agent: str) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    enroll = "mutation { enrollTotp(input: {}) { __typename ... on TwoFactorError { code } } }"
    body = (await post(client, enroll, token)).json()
    assert body["data"]["enrollTotp"] == {
        "__typename": "TwoFactorError",
        "code": "NOT_AUTHENTICATED",
    }


async def test_logout_ends_the_impersonation(client: httpx.AsyncClient, agent: str) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    response = await post(client, "mutation { logout { revokedSessions } }", token)
    assert response.json() == {"data": {"logout": {"revokedSessions": 1}}}
    assert (await post(client, "{ viewer { role } }", token)).status_code == 401


async def test_another_organization_can_not_impersonate(client: httpx.AsyncClient) -> None:
    other = await staff_token(client, "admin@nachbarstadt.example", "Demo-Admin-2")
    result = await impersonate(client, other)
    assert result == {
        "__typename": "ImpersonationError",
        "code": "NOT_FOUND",
        "field": "portalUserId",
    }


async def test_customers_can_not_impersonate(client: httpx.AsyncClient) -> None:
    jonas = await login(
        client,
        "jonas.wolf@example.org",
        "Demo-Kunde-2",
        global_id("Portal", ACTORS["customer"].portal_id),  # type: ignore[arg-type]
    )
    body = (await post(client, IMPERSONATE, jonas["accessToken"], id=ANNA, reason="x")).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("reason", ["", "   "])  # longer than a Line: refused at the edge
async def test_a_reason_is_required(client: httpx.AsyncClient, agent: str, reason: str) -> None:
    result = await impersonate(client, agent, reason=reason)
    assert result["code"] == "REASON_REQUIRED"


async def test_inactive_portal_users_can_not_be_impersonated(
    client: httpx.AsyncClient, agent: str, session: AsyncSession
) -> None:
    pending = await session.scalar(
        sa.select(models.PortalUser.id).where(
            models.PortalUser.assignment_status == models.AssignmentStatus.PENDING
        )
    )
    assert pending is not None
    result = await impersonate(client, agent, user=global_id("PortalUser", pending))
    assert result["code"] == "PORTAL_USER_INACTIVE"


async def test_the_token_expires(
    client: httpx.AsyncClient, agent: str, session: AsyncSession
) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    sid = claims_of(token)["sid"]
    await session.execute(
        sa.update(models.AuthSession)
        .where(models.AuthSession.id == sid)
        .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
    )
    assert (await post(client, "{ viewer { role } }", token)).status_code == 401
    assert claims_of(token)["exp"] <= time.time() + 900


async def test_start_and_every_request_are_audited_with_both_people(
    client: httpx.AsyncClient, agent: str, session: AsyncSession
) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    await post(client, "query Dashboard { viewer { role } }", token)
    await post(client, "mutation { logoutEverywhere { revokedSessions } }", token)
    events = (
        await session.scalars(
            sa.select(models.AuditEvent)
            .where(models.AuditEvent.action.like("impersonation.%"))
            .order_by(models.AuditEvent.action)
        )
    ).all()
    # One transaction in the test: equal timestamps, so order by what happened.
    assert [e.action for e in events] == [
        "impersonation.request",
        "impersonation.request",
        "impersonation.started",
    ]
    for event in events:
        assert event.actor_type is models.ActorType.STAFF
        assert event.actor_id == ACTORS["agent"].subject_id
        assert event.on_behalf_of_id == ACTORS["customer"].subject_id
    assert events[2].data["reason"] == "Ticket 4711"
    requests = sorted((e.data["type"], e.data["operation"], e.data["errors"]) for e in events[:2])
    assert requests == [("mutation", None, 1), ("query", "Dashboard", 0)]


LANGUAGE = """mutation { updateLanguage(input: {language: "en"}) {
  __typename ... on LanguageUpdated { language } } }"""


async def allow_impersonated_writes(session: AsyncSession) -> None:
    portal = await session.get_one(models.Portal, ACTORS["customer"].portal_id)
    assert portal.published_settings is not None
    portal.published_settings = portal.published_settings.model_copy(
        update={"impersonation_writes": True}
    )
    await session.commit()


async def test_self_service_writes_need_the_portal_to_allow_them(
    client: httpx.AsyncClient, agent: str, session: AsyncSession
) -> None:
    token = (await impersonate(client, agent))["accessToken"]
    refused = (await post(client, LANGUAGE, token)).json()
    assert refused["data"]["updateLanguage"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    await allow_impersonated_writes(session)
    # The same token: the portal's setting is read per request.
    done = (await post(client, LANGUAGE, token)).json()
    assert done == {"data": {"updateLanguage": {"__typename": "LanguageUpdated", "language": "en"}}}
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    await session.refresh(anna)
    assert anna.language == "en"
    event = await session.scalar(
        sa.select(models.AuditEvent).where(models.AuditEvent.action == "account.language_changed")
    )
    assert event is not None
    assert (event.actor_type, event.actor_id, event.on_behalf_of_id) == (
        models.ActorType.STAFF,
        ACTORS["agent"].subject_id,
        ACTORS["customer"].subject_id,
    )


@pytest.mark.parametrize("mutation", FORBIDDEN_UNDER_IMPERSONATION)
async def test_sensitive_mutations_stay_refused_when_writes_are_allowed(
    client: httpx.AsyncClient, agent: str, session: AsyncSession, mutation: str
) -> None:
    await allow_impersonated_writes(session)
    token = (await impersonate(client, agent))["accessToken"]
    body = (await post(client, mutation, token)).json()
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_customer_sets_the_language_of_their_mails(client: httpx.AsyncClient) -> None:
    result = await login(
        client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid("musterstadt-kunden")
    )
    done = (await post(client, LANGUAGE, result["accessToken"])).json()
    assert done["data"]["updateLanguage"]["language"] == "en"
    bad = 'mutation { updateLanguage(input: {language: "fr"}) { ... on MutationError { field } } }'
    refused = (await post(client, bad, result["accessToken"])).json()
    assert refused["data"]["updateLanguage"] == {"field": "language"}


def _token_actor(token: str, *, impersonator: str | None) -> Actor:
    """The actor of `token` as tokens.verify reads it, with the impersonator's claim
    (`act`) set to `impersonator` instead of the token's own."""
    claims = claims_of(token)
    return Actor(
        role=Role(claims["role"]),
        organization_id=uuid.UUID(claims["org"]),
        subject_id=uuid.UUID(claims["sub"]),
        portal_id=uuid.UUID(claims["portal"]),
        contact_id=uuid.UUID(claims["contact"]),
        session_id=uuid.UUID(claims["sid"]),
        impersonator_id=uuid.UUID(impersonator) if impersonator else None,
    )


async def test_a_token_is_checked_against_a_session_of_its_own_kind(
    client: httpx.AsyncClient, agent: str, session: AsyncSession
) -> None:
    """An impersonation's token passes only for an impersonation whose staff session is
    valid, a login's token only for a login (sessions.valid_as): a token that claimed
    the other kind would find no session."""
    impersonating = (await impersonate(client, agent))["accessToken"]
    agent_id = claims_of(agent)["sub"]
    own = (
        await login(
            client,
            "anna.becker@example.org",
            "Demo-Kunde-1",
            global_id("Portal", ACTORS["customer"].portal_id),  # type: ignore[arg-type]
        )
    )["accessToken"]
    now = datetime.now(UTC)
    impersonation = _token_actor(impersonating, impersonator=agent_id)
    anna = _token_actor(own, impersonator=None)
    assert await sessions.authorize(session, impersonation, now) is not None
    assert await sessions.authorize(session, anna, now) is not None
    # The impersonation's session named by a login's token, and the other way round.
    assert (
        await sessions.authorize(session, replace(impersonation, impersonator_id=None), now) is None
    )
    assert (
        await sessions.authorize(session, replace(anna, impersonator_id=uuid.UUID(agent_id)), now)
        is None
    )
