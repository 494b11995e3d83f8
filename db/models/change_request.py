"""Approval-required edits and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from db.base import Base, TenantOwned, enum_column
from db.models.enums import ActorType, ChangeRequestStatus

# The entity_type of a change of a contract's attribute.
CONTRACT_ENTITY = "contract"


class ChangeRequest(TenantOwned, Base):
    __tablename__ = "change_request"

    portal_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("portal_user.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[uuid.UUID]
    attribute: Mapped[str] = mapped_column(sa.String(64))
    old_value: Mapped[Any] = mapped_column(postgresql.JSONB)
    new_value: Mapped[Any] = mapped_column(postgresql.JSONB)
    status: Mapped[ChangeRequestStatus] = mapped_column(
        enum_column(ChangeRequestStatus), default=ChangeRequestStatus.PENDING
    )
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(sa.String(500))

    # The contract it changes, if it changes one: for a row in Python and as SQL (query
    # plans), both halves here so they stay one rule.
    @hybrid_property
    def contract_id(self) -> uuid.UUID | None:
        return self.entity_id if self.entity_type == CONTRACT_ENTITY else None

    @contract_id.inplace.expression
    @classmethod
    def _contract_id_sql(cls) -> ColumnElement[uuid.UUID | None]:
        return sa.case((cls.entity_type == CONTRACT_ENTITY, cls.entity_id), else_=sa.null())

    __table_args__ = (
        sa.Index("ix_change_request_organization_id_status", "organization_id", "status"),
    )


class AuditEvent(TenantOwned, Base):
    """Who did what, when, from where; `on_behalf_of` is set while impersonating."""

    __tablename__ = "audit_event"

    actor_type: Mapped[ActorType] = mapped_column(enum_column(ActorType))
    actor_id: Mapped[uuid.UUID | None]
    on_behalf_of_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(sa.String(64))
    entity_type: Mapped[str | None] = mapped_column(sa.String(40))
    entity_id: Mapped[uuid.UUID | None]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip_address: Mapped[str | None] = mapped_column(postgresql.INET)
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))

    __table_args__ = (
        sa.Index("ix_audit_event_organization_id_created_at", "organization_id", "created_at"),
        # The filters of `auditEvents`: by person (acting or acted for) and by object.
        sa.Index("ix_audit_event_actor", "organization_id", "actor_id", "created_at"),
        sa.Index("ix_audit_event_on_behalf_of", "organization_id", "on_behalf_of_id", "created_at"),
        sa.Index("ix_audit_event_entity", "organization_id", "entity_id", "created_at"),
    )
