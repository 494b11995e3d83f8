"""A reading's register is one of the reading's own meter: a second foreign key
(register_id, meter_id) -> meter_register (id, meter_id), so that a register's readings
are visible exactly when the register is (gql/domain/scope.py IMPLIED_BY_PARENT: query
plans check only the tenant below it). The foreign key of `register_id` alone stays
(what PostGraphile and other readers of the schema name the relation by).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 14:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_unique_constraint(
        "uq_meter_register_id_meter_id", "meter_register", ["id", "meter_id"]
    )
    op.create_foreign_key(
        "fk_meter_reading_register_of_meter",
        "meter_reading",
        "meter_register",
        ["register_id", "meter_id"],
        ["id", "meter_id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint("fk_meter_reading_register_of_meter", "meter_reading", type_="foreignkey")
    op.drop_constraint("uq_meter_register_id_meter_id", "meter_register", type_="unique")
