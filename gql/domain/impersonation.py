"""Staff logging in as a portal user ("Anmeldung als Kunde") through a scoped token.

An AGENT or ADMIN of the portal user's organization opens an impersonation session with
a reason. It is not refreshable and ends after at most 15 minutes; its access token
carries the staff member in the RFC 8693 `act` claim. Under it the staff member sees
exactly what the portal user sees; mutations are refused unless they are marked as
allowed under impersonation, and credentials, email, second factors and sessions never
are. Every request under it is audited with both people. It is bound to the staff
member's session it was started from and ends with it (sessions.valid): logout,
logoutEverywhere, a password change, a role change or being disabled end it at once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.actor import Actor
from gql.domain import audit, sessions
from gql.domain.errors import InvalidInput, NotFound, RuleViolation

MAX_REASON_LENGTH = 500


async def start(
    db: AsyncSession,
    staff: Actor,
    *,
    portal_user_id: uuid.UUID,
    reason: str,
    policy: sessions.SessionPolicy,
    lifetime_seconds: int,
    origin: audit.Origin,
    now: datetime,
) -> Actor:
    """Open the impersonation session; returns the actor to issue the token for.

    Raises:
        InvalidInput: REASON_REQUIRED when the reason is empty or too long.
        NotFound: the portal user does not exist in the staff member's organization
            (the same answer whether it exists elsewhere or not at all).
        RuleViolation: PORTAL_USER_INACTIVE when the portal user can not log in.
    """
    assert staff.is_staff
    assert not staff.is_impersonated
    assert staff.session_id is not None  # the impersonation lives as long as this session
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"Give a reason (at most {MAX_REASON_LENGTH} characters).",
            code="REASON_REQUIRED",
            field="reason",
        )
    found = await sessions.load_account(db, portal_user_id=portal_user_id)
    if found is None or found[0].organization_id != staff.organization_id:
        raise NotFound("portal_user_not_found", field="portalUserId")
    user, portal = found
    if not sessions.may_log_in(user, portal):
        raise RuleViolation(
            "Only active portal users assigned to a contact can be impersonated.",
            code="PORTAL_USER_INACTIVE",
            field="portalUserId",
        )
    actor, _ = await sessions.start(
        db,
        sessions.actor_for(user, portal),
        policy=policy,
        origin=origin,
        now=now,
        refreshable=False,
        impersonator=staff,
        reason=reason,
        lifetime=timedelta(seconds=lifetime_seconds),
    )
    audit.record(
        db,
        organization_id=user.organization_id,
        actor=actor,
        action="impersonation.started",
        origin=origin,
        entity=user,
        data={"reason": reason, "session_id": str(actor.session_id)},
    )
    return actor
