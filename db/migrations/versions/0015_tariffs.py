"""Tariff prices per contract: working price, base price and VAT from a day on, for all
registers or one (HT/NT)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract_price",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("obis_code", sa.String(length=20), nullable=True),
        sa.Column("working_price", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("base_price_per_year", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("vat_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "base_price_per_year >= 0", name=op.f("ck_contract_price_base_price_non_negative")
        ),
        sa.CheckConstraint("vat_rate BETWEEN 0 AND 100", name=op.f("ck_contract_price_vat_rate")),
        sa.CheckConstraint(
            "working_price >= 0", name=op.f("ck_contract_price_working_price_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contract.id"],
            name=op.f("fk_contract_price_contract_id_contract"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_contract_price_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_price")),
        sa.UniqueConstraint(
            "contract_id",
            "obis_code",
            "valid_from",
            name=op.f("uq_contract_price_contract_id_obis_code_valid_from"),
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_index(
        op.f("ix_contract_price_contract_id"), "contract_price", ["contract_id"], unique=False
    )
    op.create_index(
        op.f("ix_contract_price_organization_id"),
        "contract_price",
        ["organization_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_price_organization_id"), table_name="contract_price")
    op.drop_index(op.f("ix_contract_price_contract_id"), table_name="contract_price")
    op.drop_table("contract_price")
