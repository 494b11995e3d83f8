"""A session names the contact it speaks for; an impersonation the staff session it was started from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("auth_session", sa.Column("impersonator_session_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_auth_session_impersonator_session_id"),
        "auth_session",
        ["impersonator_session_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_auth_session_impersonator_session_id_auth_session"),
        "auth_session",
        "auth_session",
        ["impersonator_session_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.add_column("auth_session", sa.Column("contact_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_auth_session_contact_id"), "auth_session", ["contact_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_auth_session_contact_id_contact"),
        "auth_session",
        "contact",
        ["contact_id"],
        ["id"],
        ondelete="CASCADE",
    )
    # Portal users' sessions speak for the contact their user has now.
    op.execute(
        "UPDATE auth_session SET contact_id = portal_user.contact_id FROM portal_user"
        " WHERE portal_user.id = auth_session.portal_user_id"
    )
    # Impersonations opened before this revision name no staff session; the session
    # check refuses them from now on, so end them honestly (they last 15 minutes at most).
    op.execute(
        "UPDATE auth_session SET revoked_at = now(), revoked_reason = 'UPGRADE'"
        " WHERE kind = 'IMPERSONATION' AND revoked_at IS NULL"
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_auth_session_contact_id_contact"), "auth_session", type_="foreignkey"
    )
    op.drop_index(op.f("ix_auth_session_contact_id"), table_name="auth_session")
    op.drop_column("auth_session", "contact_id")
    op.drop_constraint(
        op.f("fk_auth_session_impersonator_session_id_auth_session"),
        "auth_session",
        type_="foreignkey",
    )
    op.drop_index(op.f("ix_auth_session_impersonator_session_id"), table_name="auth_session")
    op.drop_column("auth_session", "impersonator_session_id")
