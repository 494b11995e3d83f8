"""Identity: login sessions with rotating refresh tokens, brute-force counters, second
factors. A credential row belongs to exactly one staff user or one portal user."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, Identified, TenantOwned, enum_column
from db.models.enums import SessionKind

OWNED_BY_ONE = "(staff_user_id IS NULL) <> (portal_user_id IS NULL)"


def _staff_fk() -> Mapped[uuid.UUID | None]:
    return mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)


def _portal_user_fk() -> Mapped[uuid.UUID | None]:
    return mapped_column(sa.ForeignKey("portal_user.id", ondelete="CASCADE"), index=True)


class AuthSession(TenantOwned, Base):
    """One login (or one impersonation): the family of its refresh tokens. Access tokens
    name it in `sid`; a revoked or expired session makes them worthless at once."""

    __tablename__ = "auth_session"

    kind: Mapped[SessionKind] = mapped_column(enum_column(SessionKind))
    staff_user_id: Mapped[uuid.UUID | None] = _staff_fk()
    portal_user_id: Mapped[uuid.UUID | None] = _portal_user_fk()
    # The staff member acting as the portal user (kind IMPERSONATION).
    impersonator_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    # The staff member's own session the impersonation was started from: the
    # impersonation is valid only while that session is (sessions.valid), so logging
    # out, being disabled or losing the role ends it at once.
    impersonator_session_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("auth_session.id", ondelete="CASCADE"), index=True
    )
    # The contact a portal user's session speaks for: moved to another contact, the
    # user's sessions are no longer valid, whichever path moved them (sessions.valid).
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(40))
    ip_address: Mapped[str | None] = mapped_column(postgresql.INET)
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))
    # Where the primary's WAL stood right after this session's last mutation committed
    # (a byte position, pg_lsn as a number): its reads go to a replica only once the
    # replica has replayed that far, so a caller always reads its own writes
    # (gql/http/reads.py). Kept here because every process reads this row anyway.
    wrote_lsn: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (
        sa.CheckConstraint(OWNED_BY_ONE, name="owned_by_one"),
        sa.CheckConstraint(
            "(kind = 'IMPERSONATION') = (impersonator_id IS NOT NULL)", name="impersonator"
        ),
    )


class RefreshToken(TenantOwned, Base):
    """An opaque refresh token, stored as its SHA-256. Single use: using it again revokes
    the whole session (token family)."""

    __tablename__ = "refresh_token"

    session_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth_session.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Consecutive failures of one account, or of one account from one client address
    (brute-force detection, gql/domain/throttle.py). `key` is e.g.
    `account:staff:<email>` or `pair:<ip>:account:staff:<email>`; not tenant-owned,
    like the counters of an address, which attacks every tenant at once."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_login_throttle_last_failure_at", "last_failure_at"),)


class TotpCredential(TenantOwned, Base):
    """A TOTP authenticator. The secret is encrypted (Fernet, keys from settings); it
    counts only once confirmed; `last_step` stops a code from being used twice."""

    __tablename__ = "totp_credential"

    staff_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="CASCADE"), unique=True
    )
    portal_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="CASCADE"), unique=True
    )
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    confirmed_at: Mapped[datetime | None]
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    __table_args__ = (sa.CheckConstraint(OWNED_BY_ONE, name="owned_by_one"),)


class RecoveryCode(TenantOwned, Base):
    """A single-use recovery code, stored as its SHA-256 (codes carry 50 random bits)."""

    __tablename__ = "recovery_code"

    staff_user_id: Mapped[uuid.UUID | None] = _staff_fk()
    portal_user_id: Mapped[uuid.UUID | None] = _portal_user_fk()
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None]

    __table_args__ = (sa.CheckConstraint(OWNED_BY_ONE, name="owned_by_one"),)


class OneTimeCode(Identified, Base):
    """A short-lived single-purpose secret: the pending second step of a login
    (`mfaToken`), stored as its SHA-256."""

    __tablename__ = "one_time_code"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(sa.String(32))
    staff_user_id: Mapped[uuid.UUID | None] = _staff_fk()
    portal_user_id: Mapped[uuid.UUID | None] = _portal_user_fk()
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.CheckConstraint(OWNED_BY_ONE, name="owned_by_one"),)


class EmailChange(TenantOwned, Base):
    """A portal user's request to log in with another email, waiting for the link sent
    to that address (gql/domain/email_change.py). The link's token is stored as its
    SHA-256; single use, expiring; a new request replaces the waiting one."""

    __tablename__ = "email_change"

    portal_user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="CASCADE"), index=True
    )
    new_email: Mapped[str] = mapped_column(sa.String(254))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The session the change was asked for from: it stays open when the change ends
    # the account's other sessions.
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("auth_session.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    __table_args__ = (sa.CheckConstraint("new_email = lower(new_email)", name="email_lower"),)


class RateCounter(Base):
    """How often something happened for one key in the current fixed window, e.g.
    `register:email:<email>` or `password_reset:address:<ip>` (not tenant-owned: an
    address or an email is counted across tenants)."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (sa.Index("ix_rate_counter_window_start", "window_start"),)


class PersistedQuery(Base):
    """A query text kept under its SHA-256 for automatic persisted queries
    (gql/persisted_queries.py), per tenant (`organization:<id>` or `portal:<id>`): in
    the database, so that a hash one process learnt is known to every process."""

    __tablename__ = "persisted_query"

    tenant: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
