"""Changes of the login email waiting for their confirmation; the emails of login codes,
email changes and closed accounts as portal templates

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db import template_rows

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "INVITATION",
    "ACTIVATION",
    "PASSWORD_RESET",
    "PROCESS_STEP_DONE",
    "NEW_DOCUMENT",
    "PENDING_USER",
    "ACCOUNT_ASSIGNED",
    "CHANGE_REQUEST_DECIDED",
)
NEW_KINDS = ("LOGIN_CODE", "EMAIL_CHANGE", "EMAIL_CHANGED", "ACCOUNT_DELETED")


def upgrade() -> None:
    op.create_table(
        "email_change",
        sa.Column("portal_user_id", sa.Uuid(), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "new_email = lower(new_email)", name=op.f("ck_email_change_email_lower")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_email_change_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["portal_user_id"],
            ["portal_user.id"],
            name=op.f("fk_email_change_portal_user_id_portal_user"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_email_change_session_id_auth_session"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_change")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_change_token_hash")),
    )
    op.create_index(
        op.f("ix_email_change_organization_id"), "email_change", ["organization_id"], unique=False
    )
    op.create_index(
        op.f("ix_email_change_portal_user_id"), "email_change", ["portal_user_id"], unique=False
    )
    template_rows.allow_kinds(OLD_KINDS + NEW_KINDS)
    # Existing portals get the new templates in each language they have templates in,
    # as new portals do (gql/domain/portal_mail.py default_rows).
    template_rows.add_defaults(NEW_KINDS)


def downgrade() -> None:
    template_rows.remove(NEW_KINDS)
    template_rows.allow_kinds(OLD_KINDS)
    op.drop_index(op.f("ix_email_change_portal_user_id"), table_name="email_change")
    op.drop_index(op.f("ix_email_change_organization_id"), table_name="email_change")
    op.drop_table("email_change")
