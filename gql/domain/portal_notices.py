"""Mails that tell a contact's portal users about something new for them (a process step
done, a document staff added): to each active user of an online portal who may see the
row now, by the same rules a request of theirs would meet (`sessions.portal_user_actor`,
the group's grant, `scope.one_visible`), in the user's language, through the outbox in
the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind, Grant
from gql.domain import portal_mail, sessions
from gql.domain.scope import one_visible


async def tell_contact(
    db: AsyncSession,
    *,
    row: Any,
    contact_id: uuid.UUID,
    grant: Grant,
    kind: EmailTemplateKind,
    sender: str,
    values: Callable[[models.Portal], Mapping[str, str]],
    wanted: Callable[[models.Portal], bool] = lambda portal: True,
) -> int:
    """Queue the `kind` mail for each portal user of `contact_id` who may see `row`, in
    portals that want it; `values` are the mail's own values in that portal. Returns how
    many were queued."""
    user, portal = models.PortalUser, models.Portal
    candidates = await db.execute(
        sa.select(user, portal)
        .join(portal, portal.id == user.portal_id)
        .where(
            user.organization_id == row.organization_id,
            user.contact_id == contact_id,
            user.registration_status == models.RegistrationStatus.ACTIVE,
            portal.status == models.PortalStatus.ACTIVE,
        )
        .order_by(user.email)
    )
    contact = await db.get(models.Contact, contact_id)
    queued = 0
    for recipient, shown_in in candidates:
        if not wanted(shown_in):
            continue
        actor = await sessions.portal_user_actor(db, recipient.id)
        if actor is None or not actor.may(grant):
            continue
        if await one_visible(db, type(row), row.id, actor) is None:
            continue
        await portal_mail.send(
            db,
            shown_in,
            kind,
            sender=sender,
            email=recipient.email,
            language=recipient.language,
            contact=contact,
            values=values(shown_in),
        )
        queued += 1
    return queued
