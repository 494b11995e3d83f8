"""Billing and consumption: meter photos sent with readings, payments by contract and due date

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TYPES = "'INVOICE', 'CONTRACT', 'OFFER', 'LETTER', 'PROTOCOL', 'OTHER'"


def upgrade() -> None:
    op.add_column("meter_reading", sa.Column("photo_document_id", sa.Uuid(), nullable=True))
    op.create_index(
        op.f("ix_meter_reading_photo_document_id"),
        "meter_reading",
        ["photo_document_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_meter_reading_photo_document_id_document"),
        "meter_reading",
        "document",
        ["photo_document_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_payment_contract_id_due_date", "payment", ["contract_id", "due_date"], unique=False
    )
    op.drop_constraint(op.f("ck_document_documenttype"), "document", type_="check")
    op.create_check_constraint(
        op.f("ck_document_documenttype"), "document", f"type IN ({_TYPES}, 'METER_PHOTO')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM document WHERE type = 'METER_PHOTO'")
    op.drop_constraint(op.f("ck_document_documenttype"), "document", type_="check")
    op.create_check_constraint(op.f("ck_document_documenttype"), "document", f"type IN ({_TYPES})")
    op.drop_index("ix_payment_contract_id_due_date", table_name="payment")
    op.drop_constraint(
        op.f("fk_meter_reading_photo_document_id_document"), "meter_reading", type_="foreignkey"
    )
    op.drop_index(op.f("ix_meter_reading_photo_document_id"), table_name="meter_reading")
    op.drop_column("meter_reading", "photo_document_id")
