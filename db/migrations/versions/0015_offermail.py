"""Every email a portal sends is a template staff edit: the notification of its staff
about a customer's change (STAFF_NOTIFICATION, hard-coded before) and the new offer to a
customer (NEW_OFFER); offers made by staff: line items, validity, the contract they
belong to, and their numbering per organization and year

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:40:00.000000
"""

from collections.abc import Sequence

from db import template_rows

revision: str = "0015"
down_revision: str | None = "0014"
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
    "ACCOUNT_EXISTS",
    "REGISTRATION_DENIED",
)
NEW_KINDS = ("STAFF_NOTIFICATION", "NEW_OFFER")


def upgrade() -> None:
    template_rows.allow_kinds(OLD_KINDS + NEW_KINDS)
    template_rows.add_defaults(NEW_KINDS)


def downgrade() -> None:
    template_rows.remove(NEW_KINDS)
    template_rows.allow_kinds(OLD_KINDS)
