"""A meter's readings newest first with the id as the last key, as the relation
declares them (gql/resolvers/relations.py METER_READINGS: read_at descending, then the
id descending): the index on (meter_id, read_at DESC) left the id to a sort per meter, so
the dashboard's "three newest readings" sorted every meter's readings. The index now
carries the id too and the plan reads the first rows of each meter in order.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_meter_reading_meter_id_read_at_id",
        "meter_reading",
        ["meter_id", sa.text("read_at DESC"), sa.text("id DESC")],
    )
    op.drop_index("ix_meter_reading_meter_id_read_at", table_name="meter_reading")


def downgrade() -> None:
    op.create_index(
        "ix_meter_reading_meter_id_read_at", "meter_reading", ["meter_id", sa.text("read_at DESC")]
    )
    op.drop_index("ix_meter_reading_meter_id_read_at_id", table_name="meter_reading")
