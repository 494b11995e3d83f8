"""Who acts for an account is decided in one place, `sessions.account_actor`, on one rule,
`sessions.may_log_in`: a session's refresh (`sessions.actor_of`) and a download link's
holder (`documents.actor_of`) both ask it, so an account that may not log in acts on
neither path, and one that may acts as the same person on both."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit, documents, sessions
from tests.conftest import ACTORS

POLICY = sessions.SessionPolicy(idle_seconds=1800, max_seconds=36000)
ORIGIN = audit.Origin()
CUSTOMER, AGENT, OTHER_ADMIN = ACTORS["customer"], ACTORS["agent"], ACTORS["other_admin"]

Change = Callable[[models.PortalUser, models.StaffUser, models.Portal], None]


def _unchanged(user: models.PortalUser, staff: models.StaffUser, portal: models.Portal) -> None:
    pass


def _set(row: str, **values: Any) -> Change:
    def change(user: models.PortalUser, staff: models.StaffUser, portal: models.Portal) -> None:
        target = {"user": user, "staff": staff, "portal": portal}[row]
        for name, value in values.items():
            setattr(target, name, value)

    return change


PENDING_CONTACT = _set("user", assignment_status=models.AssignmentStatus.PENDING, contact_id=None)
# (who holds the session, its impersonator, the change, whether the account may act)
CASES: dict[str, tuple[Actor, Actor | None, Change, bool]] = {
    "customer": (CUSTOMER, None, _unchanged, True),
    "customer-disabled": (
        CUSTOMER,
        None,
        _set("user", registration_status=models.RegistrationStatus.DISABLED),
        False,
    ),
    "customer-not-activated": (
        CUSTOMER,
        None,
        _set("user", registration_status=models.RegistrationStatus.ACTIVATION_SENT),
        False,
    ),
    "customer-without-contact": (CUSTOMER, None, PENDING_CONTACT, False),
    "customer-portal-offline": (
        CUSTOMER,
        None,
        _set("portal", status=models.PortalStatus.INACTIVE),
        False,
    ),
    "staff": (AGENT, None, _unchanged, True),
    "staff-disabled": (AGENT, None, _set("staff", is_active=False), False),
    "impersonated": (CUSTOMER, AGENT, _unchanged, True),
    "impersonated-by-disabled-staff": (CUSTOMER, AGENT, _set("staff", is_active=False), False),
    "impersonated-customer-without-contact": (CUSTOMER, AGENT, PENDING_CONTACT, False),
    "impersonated-by-another-organization": (CUSTOMER, OTHER_ADMIN, _unchanged, False),
}


def _identity(actor: Actor) -> tuple[Any, ...]:
    return (actor.role, actor.subject_id, actor.contact_id, actor.portal_id, actor.impersonator_id)


@pytest.mark.parametrize("case", CASES)
async def test_an_account_acts_on_every_path_exactly_when_it_may_log_in(
    session: AsyncSession, case: str
) -> None:
    holder, impersonator, change, acts = CASES[case]
    now = datetime.now(UTC)
    if impersonator is not None:
        staff_actor, _ = await sessions.start(
            session, impersonator, policy=POLICY, origin=ORIGIN, now=now
        )
        actor, _ = await sessions.start(
            session,
            holder,
            policy=POLICY,
            origin=ORIGIN,
            now=now,
            refreshable=False,
            impersonator=staff_actor,
            reason="Ticket",
        )
    else:
        actor, _ = await sessions.start(session, holder, policy=POLICY, origin=ORIGIN, now=now)
    user = await session.get_one(models.PortalUser, CUSTOMER.subject_id)
    staff = await session.get_one(models.StaffUser, (impersonator or AGENT).subject_id)
    portal = await session.get_one(models.Portal, CUSTOMER.portal_id)
    change(user, staff, portal)
    await session.flush()

    found = await sessions.account_actor(
        session, **sessions.owner(holder), impersonator_id=actor.impersonator_id
    )
    link = documents.holder_of(actor)
    assert link is not None
    by_link = await documents.actor_of(session, link, now)
    assert (found is not None, by_link is not None) == (acts, acts)
    if found is not None and by_link is not None:
        expected = _identity(replace(holder, impersonator_id=actor.impersonator_id))
        assert _identity(found) == _identity(by_link) == expected
    if impersonator is None:  # a login session (impersonations are not refreshed)
        row = await session.get_one(models.AuthSession, actor.session_id)
        refreshed = await sessions.actor_of(session, row)
        assert (refreshed is not None) == acts
        assert refreshed is None or _identity(refreshed) == _identity(holder)
