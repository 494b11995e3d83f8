"""Single sign-on: identity providers per portal, links of external identities to portal
users, logins under way; active portal users may have no password (SSO only)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _identified() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
    ]


def _owned(table: str) -> list[sa.Constraint]:
    return [
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f(f"fk_{table}_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "identity_provider",
        sa.Column("portal_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column(
            "match_by",
            sa.Enum(
                "EMAIL",
                "NONE",
                name="ssomatchby",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("auto_provision", sa.Boolean(), nullable=False),
        *_identified(),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$'", name=op.f("ck_identity_provider_slug")
        ),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["portal.id"],
            name=op.f("fk_identity_provider_portal_id_portal"),
            ondelete="CASCADE",
        ),
        *_owned("identity_provider"),
        sa.UniqueConstraint(
            "portal_id", "issuer", name=op.f("uq_identity_provider_portal_id_issuer")
        ),
        sa.UniqueConstraint("portal_id", "slug", name=op.f("uq_identity_provider_portal_id_slug")),
    )
    op.create_index(
        op.f("ix_identity_provider_organization_id"), "identity_provider", ["organization_id"]
    )
    op.create_index(op.f("ix_identity_provider_portal_id"), "identity_provider", ["portal_id"])

    op.create_table(
        "identity_link",
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("portal_user_id", sa.Uuid(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        *_identified(),
        sa.ForeignKeyConstraint(
            ["portal_user_id"],
            ["portal_user.id"],
            name=op.f("fk_identity_link_portal_user_id_portal_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_provider.id"],
            name=op.f("fk_identity_link_provider_id_identity_provider"),
            ondelete="CASCADE",
        ),
        *_owned("identity_link"),
        sa.UniqueConstraint(
            "provider_id",
            "portal_user_id",
            name=op.f("uq_identity_link_provider_id_portal_user_id"),
        ),
        sa.UniqueConstraint(
            "provider_id", "subject", name=op.f("uq_identity_link_provider_id_subject")
        ),
    )
    op.create_index(op.f("ix_identity_link_organization_id"), "identity_link", ["organization_id"])
    op.create_index(op.f("ix_identity_link_portal_user_id"), "identity_link", ["portal_user_id"])

    op.create_table(
        "sso_login",
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("code_verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        *_identified(),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["identity_provider.id"],
            name=op.f("fk_sso_login_provider_id_identity_provider"),
            ondelete="CASCADE",
        ),
        *_owned("sso_login"),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sso_login_state_hash")),
    )
    op.create_index(op.f("ix_sso_login_expires_at"), "sso_login", ["expires_at"])
    op.create_index(op.f("ix_sso_login_organization_id"), "sso_login", ["organization_id"])
    op.create_index(op.f("ix_sso_login_provider_id"), "sso_login", ["provider_id"])

    # Users created by a provider have no password; an active user needs a password or a
    # link, which a CHECK on one table can not say (gql/domain/portal_access.py does).
    op.drop_constraint(op.f("ck_portal_user_active_has_password"), "portal_user", type_="check")


def downgrade() -> None:
    op.execute(
        "UPDATE portal_user SET registration_status = 'DISABLED'"
        " WHERE registration_status = 'ACTIVE' AND password_hash IS NULL"
    )
    op.create_check_constraint(
        op.f("ck_portal_user_active_has_password"),
        "portal_user",
        "registration_status <> 'ACTIVE' OR password_hash IS NOT NULL",
    )
    op.drop_table("sso_login")
    op.drop_table("identity_link")
    op.drop_table("identity_provider")
