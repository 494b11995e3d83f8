"""Rate counters for registration, activation mails and password resets

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 17:56:53.303947
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counter")),
    )
    op.create_index("ix_rate_counter_window_start", "rate_counter", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_counter_window_start", table_name="rate_counter")
    op.drop_table("rate_counter")
