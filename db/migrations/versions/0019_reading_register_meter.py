"""A reading's register is one of the reading's own meter: the foreign key of
`meter_reading.register_id` becomes (register_id, meter_id) -> meter_register (id,
meter_id), so that a register's readings are visible exactly when the register is
(gql/domain/scope.py IMPLIED_BY_PARENT; query plans check only the tenant below it).

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

FOREIGN_KEY = "fk_meter_reading_register_id_meter_register"


def upgrade() -> None:
    op.create_unique_constraint(
        "uq_meter_register_id_meter_id", "meter_register", ["id", "meter_id"]
    )
    op.drop_constraint(FOREIGN_KEY, "meter_reading", type_="foreignkey")
    op.create_foreign_key(
        FOREIGN_KEY,
        "meter_reading",
        "meter_register",
        ["register_id", "meter_id"],
        ["id", "meter_id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(FOREIGN_KEY, "meter_reading", type_="foreignkey")
    op.create_foreign_key(
        FOREIGN_KEY, "meter_reading", "meter_register", ["register_id"], ["id"], ondelete="CASCADE"
    )
    op.drop_constraint("uq_meter_register_id_meter_id", "meter_register", type_="unique")
