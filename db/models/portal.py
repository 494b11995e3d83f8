"""Portals with their draft and published settings, permission groups, tiles, email templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, TenantOwned, enum_column
from db.models.enums import (
    DomainKind,
    DomainStatus,
    EmailTemplateKind,
    PortalStatus,
    PortalType,
    TileKind,
)
from db.portal_settings import PortalSettings, SettingsColumn

# A portal row may fill its page before PostgreSQL moves values out of it (the largest
# `toast_tuple_target`), so that the published settings, kept in the row (STORAGE MAIN,
# the column's `info`), stay there as they are: every customer's home page and the
# executor's portal reads use them, and compressed in the TOAST table (the default for
# a value over 2 kB) each read fetched them from that table and decompressed them.
# The draft, read by staff, goes out of line first.
SETTINGS_IN_ROW_TUPLE_TARGET = 8160


class Portal(TenantOwned, Base):
    __tablename__ = "portal"

    type: Mapped[PortalType] = mapped_column(enum_column(PortalType))
    name: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[PortalStatus] = mapped_column(
        enum_column(PortalStatus), default=PortalStatus.DRAFT
    )
    domain_kind: Mapped[DomainKind] = mapped_column(
        enum_column(DomainKind), default=DomainKind.MANAGED
    )
    # Lower-case host name; unique across tenants because it routes anonymous requests.
    domain: Mapped[str] = mapped_column(sa.String(253), unique=True)
    domain_status: Mapped[DomainStatus] = mapped_column(
        enum_column(DomainStatus), default=DomainStatus.READY
    )
    draft_settings: Mapped[PortalSettings] = mapped_column(SettingsColumn())
    published_settings: Mapped[PortalSettings | None] = mapped_column(
        SettingsColumn(), info={"storage": "main"}
    )
    published_version: Mapped[int | None]
    published_at: Mapped[datetime | None]

    @property
    def live_settings(self) -> PortalSettings:
        """What customers and their emails get: the published settings, or the draft
        before the first publication (e.g. while staff invite the first users)."""
        return self.published_settings or self.draft_settings

    __table_args__ = (
        sa.CheckConstraint("domain = lower(domain)", name="domain_lower"),
        sa.CheckConstraint(
            "(published_settings IS NULL) = (published_version IS NULL)", name="published_pair"
        ),
        {"postgresql_with": {"toast_tuple_target": SETTINGS_IN_ROW_TUPLE_TARGET}},
    )


class PortalVersion(TenantOwned, Base):
    """A published snapshot of a portal's settings and tiles; restorable as the draft."""

    __tablename__ = "portal_version"

    portal_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("portal.id", ondelete="CASCADE"))
    version: Mapped[int]
    settings: Mapped[PortalSettings] = mapped_column(SettingsColumn())
    tiles: Mapped[list[dict[str, Any]]] = mapped_column(sa.dialects.postgresql.JSONB)
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("staff_user.id", ondelete="SET NULL")
    )

    __table_args__ = (sa.UniqueConstraint("portal_id", "version"),)


class PermissionGroup(TenantOwned, Base):
    """Named grants of a portal (iPM "Kontaktgruppe", epilot "Berechtigungen")."""

    __tablename__ = "permission_group"

    portal_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("portal.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120))
    grants: Mapped[list[str]]
    # Optional visibility criteria, e.g. {"contract_statuses": ["ACTIVE"]}.
    visibility: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_default: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        sa.UniqueConstraint("portal_id", "name"),
        sa.Index(
            "uq_permission_group_default",
            "portal_id",
            unique=True,
            postgresql_where=sa.text("is_default"),
        ),
    )


class Tile(TenantOwned, Base):
    """A card of the portal's home page; content is per language and validated per kind."""

    __tablename__ = "tile"

    portal_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("portal.id", ondelete="CASCADE"))
    kind: Mapped[TileKind] = mapped_column(enum_column(TileKind))
    position: Mapped[int]
    visible: Mapped[bool] = mapped_column(default=True)
    # Empty: visible to every permission group.
    permission_group_ids: Mapped[list[uuid.UUID]] = mapped_column(
        sa.dialects.postgresql.ARRAY(sa.Uuid), default=list
    )
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)

    def snapshot(self) -> dict[str, Any]:
        """The tile as a published version keeps it."""
        return {
            "id": str(self.id),
            "kind": self.kind.value,
            "position": self.position,
            "visible": self.visible,
            "permission_group_ids": [str(group) for group in self.permission_group_ids],
            "content": self.content,
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any], portal: Portal) -> Tile:
        """A tile of a published version, as an object that is not in any session."""
        return cls(
            id=uuid.UUID(data["id"]),
            organization_id=portal.organization_id,
            portal_id=portal.id,
            kind=TileKind(data["kind"]),
            position=data["position"],
            visible=data["visible"],
            permission_group_ids=[uuid.UUID(group) for group in data["permission_group_ids"]],
            content=data["content"],
        )

    __table_args__ = (
        sa.UniqueConstraint("portal_id", "position", deferrable=True, initially="DEFERRED"),
        sa.CheckConstraint("position >= 0", name="position_non_negative"),
    )


class EmailTemplate(TenantOwned, Base):
    __tablename__ = "email_template"

    portal_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("portal.id", ondelete="CASCADE"))
    kind: Mapped[EmailTemplateKind] = mapped_column(enum_column(EmailTemplateKind))
    language: Mapped[str] = mapped_column(sa.String(2))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (
        sa.UniqueConstraint("portal_id", "kind", "language"),
        sa.CheckConstraint("language IN ('de', 'en')", name="language"),
    )
