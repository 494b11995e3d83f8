"""A meter's readings listed from the index alone: `ix_meter_reading_meter_id_read_at_id`
(the meter, then newest first) carries the row scope's column and the value beside its
keys (`INCLUDE (organization_id, value)`), so that a page of a meter's readings (value,
readAt, id: the dashboard's last three, the staff list's twelve per meter) is an
index-only scan. Readings are appended month by month across all meters, so each of a
meter's readings lay on a heap page of its own, one page read per reading: on the
bench's data the staff query's 50 contacts read 2,400 heap pages, and its statement
took 10.1 ms of PostgreSQL's CPU instead of 7.9 (bench/statement_cpu.py, median).

The heap is skipped for pages VACUUM has marked all-visible, which autovacuum does for
a table that is appended to (PostgreSQL 13's insert threshold); newer pages are read
as before.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_meter_reading_meter_id_read_at_id"
KEYS: list[str | sa.TextClause] = ["meter_id", sa.text("read_at DESC"), sa.text("id DESC")]


def upgrade() -> None:
    op.drop_index(NAME, table_name="meter_reading")
    op.create_index(NAME, "meter_reading", KEYS, postgresql_include=["organization_id", "value"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="meter_reading")
    op.create_index(NAME, "meter_reading", KEYS)
