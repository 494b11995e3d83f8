"""Permission groups (iPM "Kontaktgruppe", epilot "Berechtigungen"): named grants of a
portal and optional visibility criteria; every portal user belongs to one group, and a
portal has exactly one default group that new portal users join.

Grants and criteria are read per request (`sessions.authorize`), so a change applies to
the next request of every member; no session needs to be revoked.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import GRANTS_BY_PORTAL_TYPE, Grant
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import Conflict, InvalidInput, RuleViolation
from gql.domain.scope import find_visible
from gql.domain.text import clean_name


@dataclass(frozen=True)
class VisibilityCriteria:
    """Which rows members see; None means every row of that kind."""

    contract_statuses: frozenset[models.ContractStatus] | None = None
    document_types: frozenset[models.DocumentType] | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.contract_statuses is not None:
            data["contract_statuses"] = sorted(s.value for s in self.contract_statuses)
        if self.document_types is not None:
            data["document_types"] = sorted(t.value for t in self.document_types)
        return data


# --- Rules (pure) ----------------------------------------------------------------------------


def clean_grants(grants: Iterable[Grant], portal_type: models.PortalType) -> list[str]:
    """The grants as stored: known, applicable to the kind of portal, each once, sorted."""
    chosen = {Grant(g) for g in grants}
    foreign = chosen - GRANTS_BY_PORTAL_TYPE[portal_type]
    if foreign:
        names = ", ".join(sorted(g.value for g in foreign))
        raise InvalidInput(
            "grants_not_applicable",
            field="grants",
            parameters={"portalType": portal_type.value, "grants": names},
        )
    return sorted(g.value for g in chosen)


def clean_visibility(
    criteria: VisibilityCriteria, portal_type: models.PortalType
) -> dict[str, Any]:
    if criteria.contract_statuses is not None and not criteria.contract_statuses:
        raise InvalidInput("no_contract_status", field="visibility.contractStatuses")
    if criteria.document_types is not None and not criteria.document_types:
        raise InvalidInput("no_document_type", field="visibility.documentTypes")
    if portal_type is not models.PortalType.CUSTOMER and criteria.as_json():
        raise InvalidInput("visibility_for_customer_portals", field="visibility")
    return criteria.as_json()


# --- Services --------------------------------------------------------------------------------


async def _group(
    db: AsyncSession, actor: Actor, group_id: uuid.UUID | None
) -> models.PermissionGroup:
    return await find_visible(
        db, models.PermissionGroup, group_id, actor, what="permission group", field="id", lock=True
    )


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(db, models.Portal, portal_id, actor, what="portal", field="portalId")


async def _ensure_unique_name(
    db: AsyncSession, portal_id: uuid.UUID, name: str, except_id: uuid.UUID | None = None
) -> None:
    group = models.PermissionGroup
    taken = await db.scalar(
        sa.select(group.id).where(
            group.portal_id == portal_id,
            sa.func.lower(group.name) == name.lower(),
            group.id != except_id if except_id else sa.true(),
        )
    )
    if taken is not None:
        raise Conflict("group_name_taken", field="name", parameters={"name": name})


async def _make_default(db: AsyncSession, group: models.PermissionGroup) -> None:
    """`group` becomes its portal's only default (the previous one loses the flag first:
    the partial unique index allows one default per portal)."""
    model = models.PermissionGroup
    await db.execute(
        sa.update(model)
        .where(model.portal_id == group.portal_id, model.is_default, model.id != group.id)
        .values(is_default=False)
    )
    group.is_default = True


async def create(
    db: AsyncSession,
    actor: Actor,
    *,
    portal_id: uuid.UUID | None,
    name: str,
    grants: Iterable[Grant],
    visibility: VisibilityCriteria,
    is_default: bool,
    origin: audit.Origin,
) -> models.PermissionGroup:
    portal = await _portal(db, actor, portal_id)
    group = models.PermissionGroup(
        organization_id=portal.organization_id,
        portal_id=portal.id,
        name=clean_name(name),
        grants=clean_grants(grants, portal.type),
        visibility=clean_visibility(visibility, portal.type),
        is_default=False,
    )
    await _ensure_unique_name(db, portal.id, group.name)
    db.add(group)
    try:
        await db.flush()
    except IntegrityError as error:  # a concurrent create took the name first
        raise Conflict("group_name_taken", field="name", parameters={"name": group.name}) from error
    if is_default:
        await _make_default(db, group)
    audit.about(db, actor, group, "permission_group.created", origin, _snapshot(group))
    await db.flush()
    return group


async def update(
    db: AsyncSession,
    actor: Actor,
    group_id: uuid.UUID | None,
    *,
    name: str | None = None,
    grants: Iterable[Grant] | None = None,
    visibility: VisibilityCriteria | None = None,
    is_default: bool | None = None,
    origin: audit.Origin,
) -> models.PermissionGroup:
    """Changes what is given; None leaves a setting as it is."""
    group = await _group(db, actor, group_id)
    portal = await db.get_one(models.Portal, group.portal_id)
    before = _snapshot(group)
    if name is not None:
        cleaned = clean_name(name)
        await _ensure_unique_name(db, group.portal_id, cleaned, except_id=group.id)
        group.name = cleaned
    if grants is not None:
        group.grants = clean_grants(grants, portal.type)
    if visibility is not None:
        group.visibility = clean_visibility(visibility, portal.type)
    if is_default is False and group.is_default:
        raise RuleViolation("default_group_required", field="isDefault")
    if is_default:
        await _make_default(db, group)
    after = _snapshot(group)
    changed = {
        key: {"from": before[key], "to": after[key]} for key in after if before[key] != after[key]
    }
    if changed:
        audit.about(
            db,
            actor,
            group,
            "permission_group.updated",
            origin,
            changed,
        )
    await db.flush()
    return group


async def delete(
    db: AsyncSession, actor: Actor, group_id: uuid.UUID | None, *, origin: audit.Origin
) -> int:
    """Deletes a group that is not the default; its members move to the default group.
    Returns how many portal users moved."""
    group = await _group(db, actor, group_id)
    if group.is_default:
        raise RuleViolation("default_group_not_deletable", field="id")
    tile = models.Tile
    tiles = await db.scalar(
        sa.select(sa.func.count()).where(
            tile.portal_id == group.portal_id, tile.permission_group_ids.contains([group.id])
        )
    )
    if tiles:
        raise Conflict("group_shown_tiles", field="id", parameters={"tiles": tiles})
    default_id = await db.scalar(
        sa.select(models.PermissionGroup.id).where(
            models.PermissionGroup.portal_id == group.portal_id, models.PermissionGroup.is_default
        )
    )
    user = models.PortalUser
    moved = await db.execute(
        sa.update(user)
        .where(user.permission_group_id == group.id)
        .values(permission_group_id=default_id)
        .returning(user.id)
    )
    count = len(moved.all())
    audit.about(
        db,
        actor,
        group,
        "permission_group.deleted",
        origin,
        {**_snapshot(group), "moved_portal_users": count},
    )
    await db.delete(group)
    await db.flush()
    return count


async def assign(
    db: AsyncSession,
    actor: Actor,
    *,
    portal_user_id: uuid.UUID | None,
    group_id: uuid.UUID | None,
    origin: audit.Origin,
) -> models.PortalUser:
    """Puts a portal user into a group of its own portal (seed 004 "Kontaktgruppe
    festlegen")."""
    found = await find_visible(
        db,
        models.PortalUser,
        portal_user_id,
        actor,
        what="portal user",
        field="portalUserId",
        lock=True,
    )
    target = await find_visible(
        db,
        models.PermissionGroup,
        group_id,
        actor,
        what="permission group",
        field="permissionGroupId",
    )
    if target.portal_id != found.portal_id:
        raise InvalidInput("group_of_other_portal", field="permissionGroupId")
    if found.permission_group_id != target.id:
        audit.about(
            db,
            actor,
            found,
            "portal_user.permission_group_changed",
            origin,
            {"from": str(found.permission_group_id), "to": str(target.id)},
        )
        found.permission_group_id = target.id
        await db.flush()
    return found


def _snapshot(group: models.PermissionGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "grants": list(group.grants),
        "visibility": dict(group.visibility),
        "is_default": group.is_default,
    }
