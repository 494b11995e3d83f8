"""The email outbox: every mail is a row written in the transaction of the change that
causes it, and delivered later by `portal worker` (at least once, stable Message-ID)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantOwned, enum_column
from db.models.enums import EmailStatus


class OutboundEmail(TenantOwned, Base):
    __tablename__ = "email_outbox"

    # What caused it (staff_invitation, login_code, ...), for the log and for tests.
    kind: Mapped[str] = mapped_column(sa.String(40))
    # `<uuid@domain>`, the same on every attempt, so receivers can drop a repeat.
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    sender: Mapped[str] = mapped_column(sa.String(254))
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus), default=EmailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        # The worker's queue: pending rows by due time.
        sa.Index(
            "ix_email_outbox_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'PENDING'"),
        ),
    )
