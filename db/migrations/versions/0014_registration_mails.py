"""The answers to a registration that made no access (an access exists, no contact
matched) as portal templates staff edit, like every other mail a portal sends

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 17:45:00.000000
"""

from collections.abc import Sequence

from db import template_rows

revision: str = "0014"
down_revision: str | None = "0013"
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
    "LOGIN_CODE",
    "EMAIL_CHANGE",
    "EMAIL_CHANGED",
    "ACCOUNT_DELETED",
)
NEW_KINDS = ("ACCOUNT_EXISTS", "REGISTRATION_DENIED")


def upgrade() -> None:
    template_rows.allow_kinds(OLD_KINDS + NEW_KINDS)
    template_rows.add_defaults(NEW_KINDS)


def downgrade() -> None:
    template_rows.remove(NEW_KINDS)
    template_rows.allow_kinds(OLD_KINDS)
