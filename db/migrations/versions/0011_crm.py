"""Marketing consent with its time and text; email templates for pending registrations,
assigned accesses and decided change requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db import template_rows

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = ("INVITATION", "ACTIVATION", "PASSWORD_RESET", "PROCESS_STEP_DONE", "NEW_DOCUMENT")
NEW_KINDS = ("PENDING_USER", "ACCOUNT_ASSIGNED", "CHANGE_REQUEST_DECIDED")
# Kinds 0008 allowed without giving existing portals their rows: given here with these.
BACKFILLED = ("PROCESS_STEP_DONE", "NEW_DOCUMENT")


def upgrade() -> None:
    for table in ("contact", "portal_user"):
        op.add_column(
            table, sa.Column("marketing_consent_at", sa.DateTime(timezone=True), nullable=True)
        )
        op.add_column(table, sa.Column("marketing_consent_text", sa.Text(), nullable=True))
    op.add_column("account_request", sa.Column("marketing_consent_text", sa.Text(), nullable=True))
    template_rows.allow_kinds(OLD_KINDS + NEW_KINDS)
    # Existing portals get the new templates in the languages they have templates in,
    # as new portals do (staff edit them from there).
    template_rows.add_defaults(NEW_KINDS + BACKFILLED)


def downgrade() -> None:
    template_rows.remove(NEW_KINDS + BACKFILLED)
    template_rows.allow_kinds(OLD_KINDS)
    op.drop_column("account_request", "marketing_consent_text")
    for table in ("portal_user", "contact"):
        op.drop_column(table, "marketing_consent_text")
        op.drop_column(table, "marketing_consent_at")
