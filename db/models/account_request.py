"""Anonymous requests about an email on a portal (register, resend the activation,
reset the password, a login code), queued for the mail worker.

The request itself only checks its input and the rate limits and writes one row; who
the email belongs to is looked up when the worker answers the row, so the answer to the
caller takes the same work, and the same time, whether or not an account exists.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantOwned


class AccountRequest(TenantOwned, Base):
    __tablename__ = "account_request"

    portal_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("portal.id", ondelete="CASCADE"))
    # register, activation, password_reset or login_code.
    action: Mapped[str] = mapped_column(sa.String(20))
    email: Mapped[str] = mapped_column(sa.String(254))
    # Registrations only: the chosen language, the hashed password, the identifiers.
    language: Mapped[str | None] = mapped_column(sa.String(5))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    identifiers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The marketing consent text the registrant agreed to; null: no consent.
    marketing_consent_text: Mapped[str | None] = mapped_column(sa.Text)
    # Where the request came from, for the audit event written when it is answered.
    ip_address: Mapped[str | None] = mapped_column(postgresql.INET)
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    __table_args__ = (
        # The worker's queue, oldest first.
        sa.Index("ix_account_request_created_at", "created_at"),
    )
