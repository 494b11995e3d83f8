"""KnownSessions (gql/auth/backend.py): what the session check last said of a portal
user's session, and the actors built from it kept while the token and the check's row
stay the same (the planned read's short path builds none per request)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from gql.auth.actor import Actor, Role, Visibility
from gql.auth.backend import KnownSessions
from gql.domain import sessions

GROUP, OTHER_GROUP = uuid.uuid4(), uuid.uuid4()
# A session check's row: group, grants, visibility, impersonation writes, then the plan.
ROW = (GROUP, ["meter_readings:submit"], {"contract_statuses": ["ACTIVE"]}, None, "{}")


def _verified() -> Actor:
    """The actor of a token, as tokens.verify answers it (before the check)."""
    return Actor(
        role=Role.CUSTOMER,
        organization_id=uuid.uuid4(),
        subject_id=uuid.uuid4(),
        portal_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
    )


def _known_after_a_check(verified: Actor) -> KnownSessions:
    known = KnownSessions()
    known.remember(sessions.completed(verified, ROW))
    return known


def test_known_sessions_same_token_and_row_reuse_the_assumed_actor() -> None:
    verified = _verified()
    known = _known_after_a_check(verified)
    assumed = known.assume(verified)
    assert assumed is not None
    assert assumed.grants == frozenset(ROW[1])
    assert assumed.visibility == Visibility.from_json(ROW[2])
    assert known.assume(verified) is assumed
    first = known.completed(assumed, ROW)  # the row its grants came from is not known yet
    assert KnownSessions.same(first, assumed)
    assumed = known.assume(verified)
    assert assumed is not None
    assert known.completed(assumed, ROW) is assumed
    assert known.completed(assumed, list(ROW)) is assumed
    assert known.assume(verified) is assumed


def test_known_sessions_a_changed_row_completes_a_new_actor() -> None:
    verified = _verified()
    known = _known_after_a_check(verified)
    assumed = known.assume(verified)
    assert assumed is not None
    assert known.completed(assumed, ROW) is not None
    assumed = known.assume(verified)
    assert assumed is not None
    changed: tuple[Any, ...] = (OTHER_GROUP, [], None, None, "{}")
    actor = known.completed(assumed, changed)
    assert actor is not assumed
    assert not KnownSessions.same(actor, assumed)
    assert (actor.permission_group_id, actor.grants) == (OTHER_GROUP, frozenset())
    again = known.assume(verified)
    assert again is not None
    assert (again.permission_group_id, again.grants) == (OTHER_GROUP, frozenset())


def test_known_sessions_another_token_of_the_session_gets_its_own_actor() -> None:
    verified = _verified()
    known = _known_after_a_check(verified)
    assumed = known.assume(verified)
    assert assumed is not None
    refreshed = replace(verified)  # a refreshed token: the same claims, another object
    other = known.assume(refreshed)
    assert other is not None
    assert other is not assumed
    assert KnownSessions.same(other, assumed)


def test_known_sessions_a_forgotten_session_is_not_assumed() -> None:
    verified = _verified()
    known = _known_after_a_check(verified)
    assert known.assume(verified) is not None
    known.forget(verified)
    assert known.assume(verified) is None
