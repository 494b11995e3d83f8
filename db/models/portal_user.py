"""Portal users ("Portal Zugang"): the logins of customers and installers."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantOwned, enum_column, trigram_index
from db.models.enums import AssignmentStatus, RegistrationStatus


class PortalUser(TenantOwned, Base):
    __tablename__ = "portal_user"

    portal_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("portal.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(254))
    # None until a password is set; an active user without one logs in only through an
    # identity provider (db/models/sso.py IdentityLink).
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    language: Mapped[str] = mapped_column(sa.String(2), default="de")
    registration_status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus))
    assignment_status: Mapped[AssignmentStatus] = mapped_column(enum_column(AssignmentStatus))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    permission_group_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("permission_group.id", ondelete="RESTRICT")
    )
    last_login_at: Mapped[datetime | None]
    # Marketing consent given while registering, kept until the user is assigned to a
    # contact, which then records it (gql.domain.consent).
    marketing_consent_at: Mapped[datetime | None]
    marketing_consent_text: Mapped[str | None] = mapped_column(sa.Text)
    activated_at: Mapped[datetime | None]
    # The contact's stored `search_text` (db/models/crm.py), copied here by the
    # database itself (migration 0025's triggers: whenever the user's contact changes
    # and whenever that contact's searched columns do), never written by the app. A
    # staff search for a frequent text walks the users in list order and compares
    # each user's login and contact: with the copy that is one row, not an index
    # lookup of the contact per user walked (gql/domain/search.py).
    contact_search_text: Mapped[str | None] = mapped_column(
        sa.Text, server_default=sa.FetchedValue(), server_onupdate=sa.FetchedValue()
    )

    __table_args__ = (
        sa.UniqueConstraint("portal_id", "email"),
        sa.Index("ix_portal_user_portal_id_created_at", "portal_id", "created_at", "id"),
        trigram_index("portal_user", "email"),  # what portalUsers' search matches
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
        sa.CheckConstraint("language IN ('de', 'en')", name="language"),
        sa.CheckConstraint(
            "(assignment_status = 'ASSIGNED') = (contact_id IS NOT NULL)", name="assignment"
        ),
    )
