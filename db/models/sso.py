"""Single sign-on with OpenID Connect: a portal's identity providers, the links of
external identities (issuer + subject) to portal users, and the logins under way."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantOwned, enum_column
from db.models.enums import SsoMatchBy


class IdentityProvider(TenantOwned, Base):
    """An OpenID provider a portal's users may log in with (Entra ID, Keycloak, Auth0).
    The client secret is encrypted at rest (Fernet, gql/auth/secrets.py) and never shown
    again."""

    __tablename__ = "identity_provider"

    portal_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("portal.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(80))
    # What the login page passes to startSsoLogin, e.g. "entra".
    slug: Mapped[str] = mapped_column(sa.String(40))
    # Exactly as the provider's discovery document and ID tokens name it.
    issuer: Mapped[str] = mapped_column(sa.String(500))
    client_id: Mapped[str] = mapped_column(sa.String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[list[str]] = mapped_column(postgresql.ARRAY(sa.String(64)))
    match_by: Mapped[SsoMatchBy] = mapped_column(enum_column(SsoMatchBy))
    auto_provision: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.UniqueConstraint("portal_id", "slug"),
        # One client per issuer and portal: a subject means one person per issuer.
        sa.UniqueConstraint("portal_id", "issuer"),
        sa.CheckConstraint("slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'", name="slug"),
    )


class IdentityLink(TenantOwned, Base):
    """An external identity (the provider's issuer and subject) that logs in as a portal
    user. Links go with their provider or their portal user."""

    __tablename__ = "identity_link"

    provider_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("identity_provider.id", ondelete="CASCADE")
    )
    portal_user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    last_login_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("provider_id", "subject"),
        # A portal user has at most one identity per provider.
        sa.UniqueConstraint("provider_id", "portal_user_id"),
    )


class SsoLogin(TenantOwned, Base):
    """A login sent to a provider and not back yet: stored here, not in the browser or
    one process's memory, so that any process can complete it, once, within minutes.
    The state and the nonce are stored as SHA-256; the PKCE verifier encrypted."""

    __tablename__ = "sso_login"

    provider_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("identity_provider.id", ondelete="CASCADE"), index=True
    )
    state_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    nonce_hash: Mapped[str] = mapped_column(sa.String(64))
    code_verifier_encrypted: Mapped[str] = mapped_column(sa.Text)
    redirect_uri: Mapped[str] = mapped_column(sa.String(2000))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
