"""Login sessions and their rotating refresh tokens.

A session is one login (or one impersonation). Access tokens name it in `sid`, and every
request checks that it is still active, so `logout`, `logoutEverywhere`, a password
change or disabling a user take effect at once, not when the access token expires.
Refresh tokens are opaque, stored as SHA-256 and single use: `refresh` marks the
presented one used and issues a new one; presenting a used one again means it was
stolen (or replayed), and the whole session - the token family - is revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.raw import Prepared, Writes
from gql.auth.actor import Actor, Role, Visibility
from gql.domain import audit
from gql.domain.errors import NotFound

Account = models.StaffUser | models.PortalUser


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int
    max_seconds: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def owner(actor: Actor) -> dict[str, uuid.UUID | None]:
    """The owner columns of a credential or session row of the actor's account."""
    if actor.is_staff:
        return {"staff_user_id": actor.subject_id, "portal_user_id": None}
    return {"staff_user_id": None, "portal_user_id": actor.subject_id}


async def start(
    db: AsyncSession,
    actor: Actor,
    *,
    policy: SessionPolicy,
    origin: audit.Origin,
    now: datetime,
    refreshable: bool = True,
    impersonator: Actor | None = None,
    reason: str | None = None,
    lifetime: timedelta | None = None,
    writes: Writes | None = None,
) -> tuple[Actor, str | None]:
    """Open a session for `actor`. Returns the actor carrying the session id, and a
    refresh token unless the session is not refreshable (impersonation). An
    impersonation is bound to the `impersonator`'s own session (see `valid`). The
    session and its refresh token are written in one statement, `writes`' when given
    (the caller runs it with its own writes), else at once."""
    assert actor.organization_id is not None
    impersonator_id = impersonator.subject_id if impersonator else None
    expires = now + (lifetime or timedelta(seconds=policy.max_seconds))
    row = models.AuthSession(
        id=uuid.uuid4(),
        organization_id=actor.organization_id,
        kind=models.SessionKind.IMPERSONATION if impersonator_id else models.SessionKind.LOGIN,
        impersonator_id=impersonator_id,
        impersonator_session_id=impersonator.session_id if impersonator else None,
        contact_id=actor.contact_id,
        reason=reason,
        expires_at=expires,
        last_seen_at=now,
        ip_address=origin.ip_address,
        user_agent=(origin.user_agent or "")[:300] or None,
        **owner(actor),
    )
    written = Writes() if writes is None else writes
    written.insert([row])
    refresh = None
    if refreshable:
        refresh = new_secret()
        written.insert([_refresh_token_row(row, refresh, policy, now)])
    if writes is None:
        await written.run(db)
    return replace(actor, session_id=row.id, impersonator_id=impersonator_id), refresh


def _refresh_token_row(
    row: models.AuthSession, token: str, policy: SessionPolicy, now: datetime
) -> models.RefreshToken:
    return models.RefreshToken(
        organization_id=row.organization_id,
        session_id=row.id,
        token_hash=token_hash(token),
        expires_at=min(now + timedelta(seconds=policy.idle_seconds), row.expires_at),
    )


async def refresh(
    db: AsyncSession, token: str, *, policy: SessionPolicy, origin: audit.Origin, now: datetime
) -> tuple[Actor, str] | None:
    """Swap a refresh token for a new one and the actor to issue an access token for.
    None when the token is unknown, expired, already used (which revokes its session:
    the caller must commit that) or its session has ended."""
    stored = await db.scalar(
        sa.select(models.RefreshToken)
        .where(models.RefreshToken.token_hash == token_hash(token))
        .with_for_update()
    )
    if stored is None:
        return None
    row = await db.get_one(models.AuthSession, stored.session_id, with_for_update=True)
    if stored.used_at is not None:
        if row.revoked_at is None:
            _revoke(row, "REFRESH_TOKEN_REUSE", now)
            audit.record(
                db,
                organization_id=row.organization_id,
                actor=await actor_of(db, row) or Actor(Role.ANONYMOUS),
                action="session.refresh_token_reused",
                origin=origin,
                entity=row,
            )
        return None
    if row.revoked_at is not None or row.expires_at <= now or stored.expires_at <= now:
        return None
    actor = await actor_of(db, row)
    if actor is None:
        _revoke(row, "ACCOUNT_INACTIVE", now)
        return None
    stored.used_at = now
    row.last_seen_at = now
    token = new_secret()
    db.add(_refresh_token_row(row, token, policy, now))
    return actor, token


async def actor_of(db: AsyncSession, row: models.AuthSession) -> Actor | None:
    """The actor a session speaks for, if its account may still log in."""
    actor = await account_actor(
        db, staff_user_id=row.staff_user_id, portal_user_id=row.portal_user_id
    )
    if actor is None or not speaks_for(row, actor):
        return None
    return replace(actor, session_id=row.id)


def speaks_for(row: models.AuthSession, actor: Actor) -> bool:
    """A portal user's session speaks only for the contact it was opened for."""
    return not actor.is_portal_user or actor.contact_id == row.contact_id


async def account_actor(
    db: AsyncSession,
    *,
    staff_user_id: uuid.UUID | None = None,
    portal_user_id: uuid.UUID | None = None,
    impersonator_id: uuid.UUID | None = None,
) -> Actor | None:
    """The actor of a staff user or a portal user (impersonated by `impersonator_id`,
    if given), or None when the account may not act: it is gone or may not log in
    (`may_log_in`), or the impersonator is not an active staff user of the portal user's
    organization. The one place that decides it from the accounts' rows: a session's
    refresh (`actor_of`) and a download link's holder (documents.actor_of); a bearer
    token's request decides it in SQL with its session check (`authorize`). One
    statement, two under impersonation; no session check of its own."""
    if staff_user_id is None and portal_user_id is None:
        return None
    impersonator = None
    if impersonator_id is not None:
        found = await load_account(db, staff_user_id=impersonator_id)
        if portal_user_id is None or found is None or not may_log_in(*found):
            return None
        impersonator = found[0]
    found = await load_account(db, staff_user_id=staff_user_id, portal_user_id=portal_user_id)
    if found is None or not may_log_in(*found):
        return None
    account, portal = found
    if impersonator is not None and impersonator.organization_id != account.organization_id:
        return None
    return replace(actor_for(account, portal), impersonator_id=impersonator_id)


async def load_account(
    db: AsyncSession,
    *,
    staff_user_id: uuid.UUID | None = None,
    portal_user_id: uuid.UUID | None = None,
) -> tuple[Account, models.Portal | None] | None:
    """A staff user, or a portal user with its portal (one statement either way)."""
    if staff_user_id is not None:
        staff = await db.get(models.StaffUser, staff_user_id)
        return None if staff is None else (staff, None)
    row = (
        await db.execute(
            sa.select(models.PortalUser, models.Portal)
            .join(models.Portal, models.Portal.id == models.PortalUser.portal_id)
            .where(models.PortalUser.id == portal_user_id)
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def actor_for(account: Account, portal: models.Portal | None) -> Actor:
    if isinstance(account, models.StaffUser):
        return Actor(
            role=Role(account.role.value),
            organization_id=account.organization_id,
            subject_id=account.id,
        )
    assert portal is not None
    return Actor(
        role=Role.CUSTOMER if portal.type is models.PortalType.CUSTOMER else Role.INSTALLER,
        organization_id=account.organization_id,
        subject_id=account.id,
        portal_id=portal.id,
        contact_id=account.contact_id,
    )


def may_log_in(account: Account, portal: models.Portal | None) -> bool:
    """Staff: active. Portal users: active, assigned to a contact (GDPR: no access
    without a known contact), on an active portal."""
    if isinstance(account, models.StaffUser):
        return account.is_active
    return (
        portal is not None
        and account.registration_status is models.RegistrationStatus.ACTIVE
        and account.assignment_status is models.AssignmentStatus.ASSIGNED
        and portal.status is models.PortalStatus.ACTIVE
    )


def _revoke(row: models.AuthSession, reason: str, now: datetime) -> None:
    if row.revoked_at is None:
        row.revoked_at = now
        row.revoked_reason = reason


async def revoke(db: AsyncSession, session_id: uuid.UUID, reason: str, now: datetime) -> None:
    row = await db.get(models.AuthSession, session_id, with_for_update=True)
    if row is not None:
        _revoke(row, reason, now)


async def logout(db: AsyncSession, actor: Actor, *, origin: audit.Origin, now: datetime) -> int:
    """End the caller's own session. Returns how many sessions ended (1)."""
    assert actor.session_id is not None
    await revoke(db, actor.session_id, "LOGOUT", now)
    audit.record_by(db, actor, "session.logout", origin)
    return 1


def _own_logins(actor: Actor, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """The one rule of which sessions a caller sees and may end as theirs: their own
    account's logins (not an impersonation of them), in their organization, still valid."""
    session = models.AuthSession
    column = session.staff_user_id if actor.is_staff else session.portal_user_id
    return (
        column == actor.subject_id,
        session.organization_id == actor.organization_id,
        session.kind == models.SessionKind.LOGIN,
        valid(session, now),
    )


def _own_order() -> tuple[Any, ...]:
    session = models.AuthSession
    return (session.last_seen_at.desc(), session.created_at.desc(), session.id)


def own_sessions(actor: Actor, now: datetime) -> sa.Select[models.AuthSession]:
    """The caller's active logins, the most recently used first."""
    return sa.select(models.AuthSession).where(*_own_logins(actor, now)).order_by(*_own_order())


def own_sessions_json(actor: Actor, now: Any, columns: Sequence[str]) -> Any:
    """`own_sessions` as a JSON array of objects of `columns`, in the same order (a
    scalar subquery, for a query plan)."""
    session = models.AuthSession
    pairs: list[Any] = []
    for name in columns:
        pairs += [sa.literal_column(f"'{name}'"), getattr(session, name)]
    listed = sa.aggregate_order_by(
        sa.func.json_agg(sa.func.json_build_object(*pairs)), *_own_order()
    )
    return sa.select(listed).where(*_own_logins(actor, now)).scalar_subquery()


async def revoke_own(
    db: AsyncSession,
    actor: Actor,
    session_id: uuid.UUID,
    *,
    origin: audit.Origin,
    now: datetime,
) -> models.AuthSession:
    """End one of the caller's own logins (e.g. a lost phone's). Another account's
    session, an ended one or an unknown id are the same NOT_FOUND: nothing is revealed."""
    row = await db.scalar(
        sa.select(models.AuthSession)
        .where(models.AuthSession.id == session_id, *_own_logins(actor, now))
        .with_for_update()
    )
    if row is None:
        raise NotFound("session_not_found", field="sessionId")
    _revoke(row, "REVOKED_BY_USER", now)
    audit.record(
        db,
        organization_id=row.organization_id,
        actor=actor,
        action="session.revoke",
        origin=origin,
        entity=row,
        data={"current": row.id == actor.session_id},
    )
    return row


async def logout_everywhere(
    db: AsyncSession, actor: Actor, *, origin: audit.Origin, now: datetime
) -> int:
    """End every session of the caller's account. Returns how many."""
    count = await revoke_all(db, actor, reason="LOGOUT_EVERYWHERE", now=now)
    audit.record_by(db, actor, "session.logout_everywhere", origin, {"sessions": count})
    return count


async def revoke_all(
    db: AsyncSession,
    actor: Actor,
    *,
    reason: str,
    now: datetime,
    keep: uuid.UUID | None = None,
) -> int:
    """Revoke every active session of the actor's account (its own and those
    impersonating it), except `keep`. Returns how many. A staff member's
    impersonations end with the session they were started from (`valid`)."""
    session = models.AuthSession
    column = session.staff_user_id if actor.is_staff else session.portal_user_id
    return await _revoke_where(
        column == actor.subject_id,
        session.id != keep if keep is not None else sa.true(),
        db=db,
        reason=reason,
        now=now,
    )


_IDS_PER_STATEMENT = 5_000  # well below the driver's 32,767 parameters


async def end_portal_user_sessions(
    db: AsyncSession, user_ids: Collection[uuid.UUID], *, reason: str, now: datetime
) -> int:
    """End every session of these portal users: their logins with their refresh tokens,
    and staff impersonating them. Every change of a portal user's contact, status or
    existence calls this (gql/domain/portal_access.py, user_csv.py), because the
    contact is what a session shows. Returns how many sessions ended."""
    if not user_ids:
        return 0
    total = 0
    ids = list(user_ids)
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        total += await _revoke_where(
            models.AuthSession.portal_user_id.in_(chunk), db=db, reason=reason, now=now
        )
    return total


async def _revoke_where(
    *conditions: sa.ColumnElement[bool], db: AsyncSession, reason: str, now: datetime
) -> int:
    session = models.AuthSession
    result = await db.execute(
        sa.update(session)
        .where(*conditions, session.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(session.id)
    )
    return len(result.all())


def valid(session: type[models.AuthSession], now: Any) -> sa.ColumnElement[bool]:
    """The one rule of whether a session row (of `session`, the class or an alias) still
    speaks for its account at `now`: not revoked, not expired, and an impersonation
    only while the staff session it was started from is valid itself, so that the
    staff member's logout, disabling, role change or password change ends it too."""
    return sa.or_(*_valid_kinds(session, now).values())


def valid_as(
    session: type[models.AuthSession], now: Any, *, impersonation: bool
) -> sa.ColumnElement[bool]:
    """`valid` for a bearer token, which says which kind of session it names (an
    impersonation's token carries `act`, gql/auth/tokens.py): `valid`'s branch of that
    kind, so a login's token names a valid login and an impersonation's a valid
    impersonation (never the other kind: at least as strict as `valid`). A login's
    check then has no subquery for the impersonation's staff session, which PostgreSQL
    would set up at every execution though it never runs for a login."""
    return _valid_kinds(session, now)[
        models.SessionKind.IMPERSONATION if impersonation else models.SessionKind.LOGIN
    ]


def _valid_kinds(
    session: type[models.AuthSession], now: Any
) -> dict[models.SessionKind, sa.ColumnElement[bool]]:
    """`valid`, per kind of session."""
    started_from = orm.aliased(models.AuthSession, name="impersonator_session")
    own = (session.revoked_at.is_(None), session.expires_at > now)
    staff_session_valid = sa.exists().where(
        started_from.id == session.impersonator_session_id,
        started_from.kind == models.SessionKind.LOGIN,
        started_from.staff_user_id == session.impersonator_id,
        started_from.revoked_at.is_(None),
        started_from.expires_at > now,
    )
    return {
        models.SessionKind.LOGIN: sa.and_(*own, session.kind == models.SessionKind.LOGIN),
        models.SessionKind.IMPERSONATION: sa.and_(
            *own, session.kind == models.SessionKind.IMPERSONATION, staff_session_valid
        ),
    }


def _speaks_for(session: type[models.AuthSession]) -> Any:
    """`may_log_in` and `speaks_for` of a session's portal user, in SQL: a session stops
    working when its user is disabled or moved to another contact, even on a path that
    forgot to end the sessions (end_portal_user_sessions)."""
    user, portal = models.PortalUser, models.Portal
    return sa.and_(
        user.registration_status == models.RegistrationStatus.ACTIVE,
        user.assignment_status == models.AssignmentStatus.ASSIGNED,
        user.contact_id == session.contact_id,
        portal.status == models.PortalStatus.ACTIVE,
    )


def _authorization_statements() -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
    """The session checks of a staff member's token, a portal user's and an
    impersonation's (of a portal user, by a staff member)."""
    session = models.AuthSession
    group = models.PermissionGroup

    def parameter(name: str) -> Any:  # filled in per request, by name
        return sa.bindparam(name, required=False)

    def active(*, impersonation: bool) -> sa.ColumnElement[bool]:
        now = sa.bindparam("now", type_=sa.DateTime(timezone=True), required=False)
        return sa.and_(
            session.id == parameter("session_id"),
            session.organization_id == parameter("organization_id"),
            valid_as(session, now, impersonation=impersonation),
        )

    staff = sa.select(session.id).where(
        active(impersonation=False), session.staff_user_id == parameter("subject_id")
    )

    def portal_user(*, impersonation: bool) -> sa.Select[Any]:
        # Read only for an impersonation (`completed`): the portal's settings are a
        # large document PostgreSQL would otherwise fetch and unpack for every request.
        writes = (
            models.Portal.published_settings["impersonation_writes"].as_boolean()
            if impersonation
            else sa.null().cast(sa.Boolean)
        )
        return (
            sa.select(group.id, group.grants, group.visibility, writes)
            .select_from(session)
            .join(models.PortalUser, models.PortalUser.id == session.portal_user_id)
            .join(group, group.id == models.PortalUser.permission_group_id)
            .join(models.Portal, models.Portal.id == models.PortalUser.portal_id)
            .where(
                active(impersonation=impersonation),
                session.portal_user_id == parameter("subject_id"),
                _speaks_for(session),
            )
        )

    return staff, portal_user(impersonation=False), portal_user(impersonation=True)


# Every request with a token runs one of these: compiled once, run on the driver. The
# portal user's one is also the first part of query plans that check the session in
# their own statement (gql/query_plans.py), of the riding checks of mutations
# (session_check.py) and of reads on the replica (gql/http/reads.py): none of them is
# an impersonation's (the executor answers those, after `authorize`).
STAFF_SESSION, PORTAL_USER_SESSION, IMPERSONATION_SESSION = _authorization_statements()
_STAFF_SESSION = Prepared(STAFF_SESSION)
_PORTAL_USER_SESSION = Prepared(PORTAL_USER_SESSION)
_IMPERSONATION_SESSION = Prepared(IMPERSONATION_SESSION)


def session_parameters(actor: Actor, now: datetime) -> dict[str, Any]:
    """The parameters of the session statements for `actor`'s token."""
    return {
        "session_id": actor.session_id,
        "organization_id": actor.organization_id,
        "now": now,
        "subject_id": actor.subject_id,
    }


# The columns of a portal user's session row that `completed` reads (the first ones).
SESSION_COLUMNS = 4


def completed(actor: Actor, row: Sequence[Any]) -> Actor:
    """`actor` with what its portal user's session row says: the permission group, its
    grants and visibility criteria, whether an impersonator may write (its first
    SESSION_COLUMNS columns)."""
    return replace(
        _in_group(actor, row[0], row[1], row[2]),
        impersonation_writes=actor.is_impersonated and bool(row[3]),
    )


def _in_group(
    actor: Actor, group_id: Any, grants: Sequence[str], visibility: dict[str, Any] | None
) -> Actor:
    return replace(
        actor,
        permission_group_id=group_id,
        grants=frozenset(grants),
        visibility=Visibility.from_json(visibility),
    )


async def portal_user_actor(db: AsyncSession, portal_user_id: uuid.UUID) -> Actor | None:
    """A portal user as an actor with its group's grants and visibility, read now, when
    it may act (`account_actor`): for what is done for the user outside a request of
    theirs, e.g. deciding which notices it may be sent."""
    actor = await account_actor(db, portal_user_id=portal_user_id)
    if actor is None:
        return None
    user, group = models.PortalUser, models.PermissionGroup
    row = (
        await db.execute(
            sa.select(group.id, group.grants, group.visibility)
            .join(user, user.permission_group_id == group.id)
            .where(user.id == portal_user_id)
        )
    ).one()
    return _in_group(actor, *row)


async def authorize(db: AsyncSession, actor: Actor, now: datetime) -> Actor | None:
    """The actor of a verified access token, completed for this request: None if its
    session has ended; for portal users with the grants and visibility criteria of
    their permission group. One statement (db/raw.py: no transaction of its own)."""
    if actor.session_id is None:
        return None
    values = session_parameters(actor, now)
    if not actor.is_portal_user:
        found = await _STAFF_SESSION.fetchrow(db, **values)
        return None if found is None else actor
    check = _IMPERSONATION_SESSION if actor.is_impersonated else _PORTAL_USER_SESSION
    row = await check.fetchrow(db, **values)
    return None if row is None else completed(actor, row)
