"""Email outbox, staff invitations (no password until accepted, language), audit indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 17:35:44.794810
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SENT",
                "FAILED",
                name="emailstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_email_outbox_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_email_outbox_message_id")),
    )
    op.create_index(
        "ix_email_outbox_due",
        "email_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.create_index(
        op.f("ix_email_outbox_organization_id"), "email_outbox", ["organization_id"], unique=False
    )
    op.create_index(
        "ix_audit_event_actor",
        "audit_event",
        ["organization_id", "actor_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_event_entity",
        "audit_event",
        ["organization_id", "entity_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_event_on_behalf_of",
        "audit_event",
        ["organization_id", "on_behalf_of_id", "created_at"],
        unique=False,
    )
    op.add_column(
        "staff_user",
        sa.Column("language", sa.String(length=2), server_default="de", nullable=False),
    )
    op.add_column("staff_user", sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("staff_user", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.alter_column(
        "staff_user", "password_hash", existing_type=sa.VARCHAR(length=255), nullable=True
    )
    op.create_check_constraint(
        op.f("ck_staff_user_language"), "staff_user", "language IN ('de', 'en')"
    )


def downgrade() -> None:
    # Invitations nobody accepted have no password, which the old schema can not hold.
    op.execute("DELETE FROM staff_user WHERE password_hash IS NULL")
    op.drop_constraint(op.f("ck_staff_user_language"), "staff_user", type_="check")
    op.alter_column(
        "staff_user", "password_hash", existing_type=sa.VARCHAR(length=255), nullable=False
    )
    op.drop_column("staff_user", "disabled_at")
    op.drop_column("staff_user", "invited_at")
    op.drop_column("staff_user", "language")
    op.drop_index("ix_audit_event_on_behalf_of", table_name="audit_event")
    op.drop_index("ix_audit_event_entity", table_name="audit_event")
    op.drop_index("ix_audit_event_actor", table_name="audit_event")
    op.drop_index(op.f("ix_email_outbox_organization_id"), table_name="email_outbox")
    op.drop_index(
        "ix_email_outbox_due",
        table_name="email_outbox",
        postgresql_where=sa.text("status = 'PENDING'"),
    )
    op.drop_table("email_outbox")
