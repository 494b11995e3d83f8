"""Organizations (tenants) and their staff users."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, Identified, TenantOwned, enum_column
from db.models.enums import StaffRole


class Organization(Identified, Base):
    __tablename__ = "organization"

    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    # Staff must set up TOTP before their first login completes.
    require_staff_two_factor: Mapped[bool] = mapped_column(server_default=sa.false())


class StaffUser(TenantOwned, Base):
    """An employee of a utility; logs in without a portal. Email is unique across tenants."""

    __tablename__ = "staff_user"

    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole))
    # None while an invitation is open: the invited person sets it when accepting.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    language: Mapped[str] = mapped_column(sa.String(2), server_default="de")
    is_active: Mapped[bool] = mapped_column(server_default=sa.true())
    last_login_at: Mapped[datetime | None]
    invited_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]

    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
        sa.CheckConstraint("language IN ('de', 'en')", name="language"),
    )
