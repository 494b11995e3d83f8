"""Contracts stored with room on each page (fill factor 90): a contract change (and
every dry run of one, rolled back) updates the installment, payment method or due day
and the update time, none of them indexed; with room on the page the new row version
stays there as a heap-only tuple, so none of the contract's five indexes gets an entry
and the dead version is pruned with the page (db/models/crm.py). Pages written before
keep their fill until they are rewritten (VACUUM FULL, or as rows move).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 20:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE contract SET (fillfactor = 90)")


def downgrade() -> None:
    op.execute("ALTER TABLE contract RESET (fillfactor)")
