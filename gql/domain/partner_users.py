"""Installer partners manage their own company's users: the partner's admin (a portal
user whose permission group holds `partner_users:manage`, given by staff) invites
colleagues to the installer portal and removes them.

A partner company is a contact; its users are the portal's logins assigned to that
contact. Which logins the admin reaches is decided where every row rule is,
`scope._partner_users`: the services find rows only through it, so no other company's
user (nor a customer's) can be named, and one that can not be found is refused like
one that does not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit, email_address, sessions
from gql.domain.errors import Conflict, RuleViolation
from gql.domain.registration import (
    INVITATION,
    AccessConfig,
    default_group,
    new_portal_user,
    send_link,
)
from gql.domain.scope import find_visible


async def invite_colleague(
    db: AsyncSession,
    actor: Actor,
    config: AccessConfig,
    *,
    email: str,
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser:
    """A login for a colleague: INVITED, assigned to the company's contact, in the
    portal's default group, with the invitation mail (7-day link). Inviting a colleague
    still invited sends a new link.

    Raises:
        InvalidInput: not an email address.
        Conflict: the email is already a login on the portal (of anyone else).
    """
    address = email_address.canonical(email)
    portal = await db.get_one(models.Portal, actor.portal_id)
    contact = await db.get_one(models.Contact, actor.contact_id)
    user = models.PortalUser
    existing = await db.scalar(
        sa.select(user).where(user.portal_id == portal.id, user.email == address).with_for_update()
    )
    if existing is None:
        existing = await new_portal_user(
            db,
            portal,
            email=address,
            language=portal.live_settings.default_language,
            status=models.RegistrationStatus.INVITED,
            contact=contact,
            permission_group_id=await default_group(db, portal),
        )
    elif not (
        existing.contact_id == contact.id
        and existing.registration_status is models.RegistrationStatus.INVITED
    ):
        raise Conflict("email_used_by_other_access", field="email")
    await send_link(db, config, portal, existing, INVITATION, now)
    audit.about(db, actor, existing, "portal_user.invited", origin, {"contact_id": str(contact.id)})
    return existing


async def remove_colleague(
    db: AsyncSession,
    actor: Actor,
    *,
    user_id: uuid.UUID | None,
    origin: audit.Origin,
    now: datetime,
) -> None:
    """Delete a colleague's login (its sessions end at once). Admins do not remove
    themselves: a company would lock itself out; staff do that.

    Raises:
        NotFound: not a login of the actor's company (or not visible to the actor).
        RuleViolation: the actor's own login.
    """
    user = await find_visible(
        db, models.PortalUser, user_id, actor, what="portal user", field="portalUserId", lock=True
    )
    if user.id == actor.subject_id:
        raise RuleViolation("cannot_remove_yourself", field="portalUserId")
    await sessions.end_portal_user_sessions(db, [user.id], reason="DELETED", now=now)
    audit.about(db, actor, user, "portal_user.deleted", origin, {"portal_id": str(user.portal_id)})
    await db.delete(user)
    await db.flush()
