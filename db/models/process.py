"""Processes (epilot's workflows): the steps an order or a request goes through, e.g. a
house connection from the request to the installation. Staff keep them; the portal shows
a customer the kinds and steps its settings share (`PortalSettings.processes`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantOwned, enum_column
from db.models.enums import ProcessStatus, ProcessStepStatus


class Process(TenantOwned, Base):
    __tablename__ = "process"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    # What it belongs to: an order, a request (opportunity), or the contact alone.
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("order.id", ondelete="CASCADE"), index=True
    )
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("opportunity.id", ondelete="CASCADE"), index=True
    )
    # The kind the portal settings share or not, e.g. "house_connection".
    kind: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[ProcessStatus] = mapped_column(
        enum_column(ProcessStatus), default=ProcessStatus.OPEN
    )

    __table_args__ = (
        sa.CheckConstraint("num_nonnulls(order_id, opportunity_id) <= 1", name="one_parent"),
    )


class ProcessStep(TenantOwned, Base):
    __tablename__ = "process_step"

    process_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("process.id", ondelete="CASCADE"))
    position: Mapped[int]
    # Stable name of the step within its kind, e.g. "site_visit": what settings share.
    key: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[ProcessStepStatus] = mapped_column(
        enum_column(ProcessStepStatus), default=ProcessStepStatus.PENDING
    )
    planned_for: Mapped[date | None]
    done_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("process_id", "position"),
        sa.UniqueConstraint("process_id", "key"),
        sa.CheckConstraint("(status = 'DONE') = (done_at IS NOT NULL)", name="done_at_when_done"),
    )
