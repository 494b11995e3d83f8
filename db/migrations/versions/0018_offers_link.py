"""The NEW_OFFER mail links to the portal's page of offers (`offers_link`) instead of its
login page: every portal's NEW_OFFER templates, the defaults and those staff edited,
name the new variable where they named `login_link` (which the kind no longer has).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rename(before: str, after: str) -> None:
    op.execute(
        sa.text(
            "UPDATE email_template SET subject = replace(subject, :before, :after),"
            " body_text = replace(body_text, :before, :after),"
            " body_html = replace(body_html, :before, :after)"
            " WHERE kind = 'NEW_OFFER'"
        ).bindparams(before=before, after=after)
    )


def upgrade() -> None:
    _rename("login_link", "offers_link")


def downgrade() -> None:
    _rename("offers_link", "login_link")
