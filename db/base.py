"""Declarative base, naming convention and the column helpers every model shares."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Stable constraint names keep `alembic check` quiet and migrations readable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Money: 2 decimals for amounts in EUR, never float.
Money = sa.Numeric(12, 2)
# Meter values: up to 3 decimals (kWh, m³).
MeterValue = sa.Numeric(15, 3)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: sa.DateTime(timezone=True),
        Decimal: Money,
        dict[str, Any]: postgresql.JSONB,
        list[str]: postgresql.ARRAY(sa.String(64)),
    }


def enum_column(enum_type: type[enum.Enum]) -> sa.Enum:
    """A VARCHAR with a CHECK constraint: new values need no `ALTER TYPE` migration."""
    return sa.Enum(
        enum_type,
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum_type.__name__.lower(),
        validate_strings=True,
    )


def trigram_index(table: str, column: str) -> sa.Index:
    """A GIN index of pg_trgm on `column`, which serves `column ILIKE '%part%'`: what a
    free-text search matches (gql/domain/search.py)."""
    return sa.Index(
        f"ix_{table}_{column}_trgm",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
    )


class Identified:
    """UUID primary key and creation/update timestamps."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        server_default=sa.func.now(), onupdate=sa.func.now()
    )


class TenantOwned(Identified):
    """Every tenant-owned row carries its organization, indexed for the scope filters."""

    @declared_attr
    def organization_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(
            sa.ForeignKey("organization.id", ondelete="CASCADE"), index=True, nullable=False
        )
