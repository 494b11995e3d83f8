"""A portal's published settings kept in its row, as they are (db/models/portal.py): the
column's storage MAIN and the table's `toast_tuple_target` at its largest, so that a row
fills its page before PostgreSQL moves values out of it; the draft goes out of line
first. Before, the settings (about 5 kB of JSONB) were compressed into the TOAST table,
and every statement reading them (each customer's home page) fetched them from there
and decompressed them. Settings written before keep their form until written again:
the published ones are written anew here.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 19:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE portal SET (toast_tuple_target = 8160)")
    op.execute("ALTER TABLE portal ALTER COLUMN published_settings SET STORAGE MAIN")
    # A new value (the same document): an unchanged one would keep its TOAST pointer.
    op.execute(
        "UPDATE portal SET published_settings = published_settings::text::jsonb"
        " WHERE published_settings IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE portal ALTER COLUMN published_settings SET STORAGE EXTENDED")
    op.execute("ALTER TABLE portal RESET (toast_tuple_target)")
