"""Several processes, one truth: persisted queries in the database; the WAL position
of a session's last write (read-your-writes with read replicas)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Expand only: a nullable column and a new table, so processes of the previous
    # release keep working while this one rolls out (docs/operations.md).
    op.add_column("auth_session", sa.Column("wrote_lsn", sa.BigInteger(), nullable=True))
    op.create_table(
        "persisted_query",
        sa.Column("tenant", sa.String(length=80), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant", "sha256", name=op.f("pk_persisted_query")),
    )


def downgrade() -> None:
    op.drop_table("persisted_query")
    op.drop_column("auth_session", "wrote_lsn")
