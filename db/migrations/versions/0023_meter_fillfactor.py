"""Meters stored with room on each page (fill factor 90), as contracts since 0022: a
submitted reading (and every dry run of one, rolled back) first updates its meter's
update time, the guard against a concurrent reading, which is not indexed; with room on
the page the new row version stays there as a heap-only tuple, so none of the meter's
four indexes gets an entry and the dead version is pruned with the page
(db/models/crm.py). Without it every reading added an entry to each index and left a
dead version that index scans of the contract's meters visited until the next vacuum.
Pages written before keep their fill until they are rewritten (VACUUM FULL, or as rows
move).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 19:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE meter SET (fillfactor = 90)")


def downgrade() -> None:
    op.execute("ALTER TABLE meter RESET (fillfactor)")
