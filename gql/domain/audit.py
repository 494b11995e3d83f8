"""The audit log: one row per security-relevant action, written in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models, raw
from gql.auth.actor import Actor


@dataclass(frozen=True)
class Origin:
    """Where a request came from."""

    ip_address: str | None = None
    user_agent: str | None = None


def actor_type(actor: Actor) -> models.ActorType:
    if actor.is_staff and actor.subject_id is None:
        return models.ActorType.SYSTEM  # a CLI command or a job acting for the organization
    if actor.is_staff:
        return models.ActorType.STAFF
    if actor.is_portal_user:
        return models.ActorType.PORTAL_USER
    return models.ActorType.ANONYMOUS


def record_by(
    session: AsyncSession,
    actor: Actor,
    action: str,
    origin: Origin,
    data: dict[str, Any] | None = None,
) -> models.AuditEvent:
    """An event of a logged-in actor, in the actor's organization."""
    assert actor.organization_id is not None
    return record(
        session,
        organization_id=actor.organization_id,
        actor=actor,
        action=action,
        origin=origin,
        data=data,
    )


def about(
    session: AsyncSession,
    actor: Actor,
    entity: Any,
    action: str,
    origin: Origin,
    data: dict[str, Any] | None = None,
) -> models.AuditEvent:
    """An event concerning `entity` (a tenant-owned row), in the entity's organization."""
    event = event_about(actor, entity, action, origin, data)
    session.add(event)
    return event


def event_about(
    actor: Actor,
    entity: Any,
    action: str,
    origin: Origin,
    data: dict[str, Any] | None = None,
) -> models.AuditEvent:
    """`about`'s event, not yet added to a session (for `db.raw.insert`)."""
    return event(
        organization_id=entity.organization_id,
        actor=actor,
        action=action,
        origin=origin,
        entity=entity,
        data=data,
    )


def record(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    actor: Actor,
    action: str,
    origin: Origin,
    entity: Any = None,
    data: dict[str, Any] | None = None,
) -> models.AuditEvent:
    row = event(
        organization_id=organization_id,
        actor=actor,
        action=action,
        origin=origin,
        entity=entity,
        data=data,
    )
    session.add(row)
    return row


def event(
    *,
    organization_id: uuid.UUID,
    actor: Actor,
    action: str,
    origin: Origin,
    entity: Any = None,
    data: dict[str, Any] | None = None,
) -> models.AuditEvent:
    """The audit event, not yet added to a session."""
    # Under impersonation the staff member acts, on behalf of the portal user.
    impersonated = actor.impersonator_id is not None
    return raw.built(
        models.AuditEvent,
        {
            "organization_id": organization_id,
            "actor_type": models.ActorType.STAFF if impersonated else actor_type(actor),
            "actor_id": actor.impersonator_id if impersonated else actor.subject_id,
            "on_behalf_of_id": actor.subject_id if impersonated else None,
            "action": action,
            "entity_type": None if entity is None else type(entity).__tablename__,
            "entity_id": None if entity is None else entity.id,
            "data": data or {},
            "ip_address": origin.ip_address,
            "user_agent": (origin.user_agent or "")[:300] or None,
        },
    )


DELETED = "[deleted]"


def _scrubbed(value: Any) -> Any:
    """`value` with every email address in it replaced (any text with an @)."""
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if isinstance(value, str) and "@" in value:
        return DELETED
    return value


async def pseudonymise(
    session: AsyncSession, organization_id: uuid.UUID, subject_id: uuid.UUID
) -> uuid.UUID:
    """Keep the audit trail of an account that is erased, without its personal data:
    in every event it acted in, was acted for in, or concerned, its id becomes a new
    random pseudonym (the same in all, so the trail still reads as one account's), the
    client address and user agent go, and every email address in the data becomes
    `[deleted]`. What the events say about other rows (a CRM contact, which stays)
    stays too. Returns the pseudonym."""
    pseudonym = uuid.uuid4()
    event = models.AuditEvent
    rows = await session.scalars(
        sa.select(event).where(
            event.organization_id == organization_id,
            sa.or_(
                event.actor_id == subject_id,
                event.on_behalf_of_id == subject_id,
                event.entity_id == subject_id,
            ),
        )
    )
    for row in rows:
        for column in ("actor_id", "on_behalf_of_id", "entity_id"):
            if getattr(row, column) == subject_id:
                setattr(row, column, pseudonym)
        row.ip_address = None
        row.user_agent = None
        row.data = _scrubbed(row.data)
    return pseudonym
