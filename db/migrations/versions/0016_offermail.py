"""Every email a portal sends is a template staff edit: the notification of its staff
about a customer's change (STAFF_NOTIFICATION, hard-coded before) and the new offer to a
customer (NEW_OFFER); offers made by staff: line items, validity, the contract they
belong to, and their numbering per organization and year

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 07:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from db import template_rows

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "INVITATION",
    "ACTIVATION",
    "PASSWORD_RESET",
    "PROCESS_STEP_DONE",
    "NEW_DOCUMENT",
    "PENDING_USER",
    "ACCOUNT_ASSIGNED",
    "CHANGE_REQUEST_DECIDED",
    "LOGIN_CODE",
    "EMAIL_CHANGE",
    "EMAIL_CHANGED",
    "ACCOUNT_DELETED",
    "ACCOUNT_EXISTS",
    "REGISTRATION_DENIED",
)
NEW_KINDS = ("STAFF_NOTIFICATION", "NEW_OFFER")


def _timestamps() -> list[Any]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    template_rows.allow_kinds(OLD_KINDS + NEW_KINDS)
    template_rows.add_defaults(NEW_KINDS)

    op.add_column("order", sa.Column("contract_id", sa.Uuid(), nullable=True))
    op.add_column("order", sa.Column("description", sa.String(length=2000), nullable=True))
    op.add_column("order", sa.Column("offer_valid_until", sa.Date(), nullable=True))
    op.create_index(op.f("ix_order_contract_id"), "order", ["contract_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_order_contract_id_contract"),
        "order",
        "contract",
        ["contract_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_table(
        "order_line_item",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(12, 3), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_price_net", sa.Numeric(12, 2), nullable=False),
        sa.Column("vat_rate", sa.Numeric(5, 2), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_line_item_quantity_positive")),
        sa.CheckConstraint(
            "unit_price_net >= 0", name=op.f("ck_order_line_item_unit_price_net_not_negative")
        ),
        sa.CheckConstraint(
            "vat_rate >= 0 AND vat_rate <= 100", name=op.f("ck_order_line_item_vat_rate_percent")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.id"],
            name=op.f("fk_order_line_item_order_id_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_order_line_item_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_item")),
        sa.UniqueConstraint(
            "order_id", "position", name=op.f("uq_order_line_item_order_id_position")
        ),
    )
    for column in ("organization_id", "order_id"):
        op.create_index(
            op.f(f"ix_order_line_item_{column}"), "order_line_item", [column], unique=False
        )
    op.create_table(
        "offer_number",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_offer_number_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", "year", name=op.f("pk_offer_number")),
    )


def downgrade() -> None:
    op.drop_table("offer_number")
    op.drop_table("order_line_item")
    op.drop_constraint(op.f("fk_order_contract_id_contract"), "order", type_="foreignkey")
    op.drop_index(op.f("ix_order_contract_id"), table_name="order")
    for column in ("offer_valid_until", "description", "contract_id"):
        op.drop_column("order", column)
    template_rows.remove(NEW_KINDS)
    template_rows.allow_kinds(OLD_KINDS)
