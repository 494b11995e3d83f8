"""Processes of orders and requests with their steps; the process step and new document mails

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:40:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from db import template_rows

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _common(table: str) -> list[Any]:
    return [
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f(f"fk_{table}_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


TEMPLATE_KINDS = ("INVITATION", "ACTIVATION", "PASSWORD_RESET")


def upgrade() -> None:
    op.create_table(
        "process",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("opportunity_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", _enum("processstatus", "OPEN", "DONE", "CANCELLED"), nullable=False),
        *_common("process"),
        sa.CheckConstraint(
            "num_nonnulls(order_id, opportunity_id) <= 1", name=op.f("ck_process_one_parent")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_process_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_process_order_id_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunity.id"],
            name=op.f("fk_process_opportunity_id_opportunity"),
            ondelete="CASCADE",
        ),
    )
    for column in ("organization_id", "contact_id", "order_id", "opportunity_id"):
        op.create_index(op.f(f"ix_process_{column}"), "process", [column], unique=False)
    op.create_table(
        "process_step",
        sa.Column("process_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            _enum("processstepstatus", "PENDING", "IN_PROGRESS", "DONE", "SKIPPED"),
            nullable=False,
        ),
        sa.Column("planned_for", sa.Date(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        *_common("process_step"),
        sa.CheckConstraint(
            "(status = 'DONE') = (done_at IS NOT NULL)",
            name=op.f("ck_process_step_done_at_when_done"),
        ),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["process.id"],
            name=op.f("fk_process_step_process_id_process"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("process_id", "key", name=op.f("uq_process_step_process_id_key")),
        sa.UniqueConstraint(
            "process_id", "position", name=op.f("uq_process_step_process_id_position")
        ),
    )
    op.create_index(
        op.f("ix_process_step_organization_id"), "process_step", ["organization_id"], unique=False
    )
    template_rows.allow_kinds((*TEMPLATE_KINDS, "PROCESS_STEP_DONE", "NEW_DOCUMENT"))


def downgrade() -> None:
    op.execute("DELETE FROM email_template WHERE kind IN ('PROCESS_STEP_DONE', 'NEW_DOCUMENT')")
    template_rows.allow_kinds(TEMPLATE_KINDS)
    op.drop_table("process_step")
    op.drop_table("process")
