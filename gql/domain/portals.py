"""Portals as an ADMIN sets them up (seed 003): create (with a managed subdomain, a
default permission group and the email templates of its languages), rename, delete
while not active.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pydantic
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import default_grants
from db.portal_settings import PortalSettings
from gql.auth.actor import Actor
from gql.domain import audit, portal_mail
from gql.domain.errors import Conflict, InvalidInput, RuleViolation, invalid_document
from gql.domain.scope import find_visible
from gql.domain.text import clean_name

DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
DEFAULT_GROUP_NAME = "Standard"


def managed_domain(label: str, base_domain: str) -> str:
    """`<label>.<base domain>` for a valid DNS label (3 to 63 of a-z, 0-9 and inner
    hyphens)."""
    cleaned = label.strip().lower()
    if not DNS_LABEL.match(cleaned) or "--" in cleaned[2:4]:
        raise InvalidInput("subdomain_invalid", field="subdomain")
    return f"{cleaned}.{base_domain}"


def initial_settings(languages: Sequence[str], default_language: str | None) -> PortalSettings:
    try:
        return PortalSettings(
            languages=list(languages),
            default_language=default_language or (languages[0] if languages else "de"),
        )
    except pydantic.ValidationError as error:
        problem = error.errors()[0]
        field = "defaultLanguage" if "default" in str(problem.get("msg", "")) else "languages"
        raise InvalidInput("languages_invalid", field=field) from error


async def create(
    db: AsyncSession,
    actor: Actor,
    *,
    type: models.PortalType,
    name: str,
    subdomain: str,
    languages: Sequence[str],
    default_language: str | None,
    base_domain: str,
    origin: audit.Origin,
) -> models.Portal:
    """A new DRAFT portal on `<subdomain>.<base domain>` with its default permission
    group (every grant of its type) and the email templates of its languages."""
    assert actor.organization_id is not None
    settings = initial_settings(languages, default_language)
    portal = models.Portal(
        id=uuid.uuid4(),
        organization_id=actor.organization_id,
        type=type,
        name=clean_name(name),
        status=models.PortalStatus.DRAFT,
        domain_kind=models.DomainKind.MANAGED,
        domain=managed_domain(subdomain, base_domain),
        domain_status=models.DomainStatus.READY,
        draft_settings=settings,
    )
    taken = await db.scalar(
        sa.select(models.Portal.id).where(models.Portal.domain == portal.domain)
    )
    if taken is not None:
        raise Conflict("subdomain_taken", field="subdomain", parameters={"domain": portal.domain})
    db.add(portal)
    try:
        await db.flush()
    except IntegrityError as error:  # taken at the same moment by someone else
        raise Conflict(
            "subdomain_taken", field="subdomain", parameters={"domain": portal.domain}
        ) from error
    db.add(
        models.PermissionGroup(
            organization_id=portal.organization_id,
            portal_id=portal.id,
            name=DEFAULT_GROUP_NAME,
            grants=default_grants(type),
            visibility={},
            is_default=True,
        )
    )
    db.add_all(portal_mail.default_rows(portal, list(settings.languages)))
    await db.flush()
    audit.about(db, actor, portal, "portal.created", origin, {"domain": portal.domain})
    return portal


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(
        db, models.Portal, portal_id, actor, what="portal", field="id", lock=True
    )


async def rename(
    db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None, name: str, *, origin: audit.Origin
) -> models.Portal:
    portal = await _portal(db, actor, portal_id)
    cleaned = clean_name(name)
    if cleaned != portal.name:
        audit.about(
            db, actor, portal, "portal.renamed", origin, {"from": portal.name, "to": cleaned}
        )
        portal.name = cleaned
    return portal


async def delete(
    db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None, *, origin: audit.Origin
) -> None:
    """Delete a portal that is not active, with everything that belongs to it (its
    portal users, groups, tiles, templates and versions)."""
    portal = await _portal(db, actor, portal_id)
    if portal.status is models.PortalStatus.ACTIVE:
        raise RuleViolation("deactivate_before_delete", field="id")
    users = await db.scalar(
        sa.select(sa.func.count()).where(models.PortalUser.portal_id == portal.id)
    )
    audit.about(
        db,
        actor,
        portal,
        "portal.deleted",
        origin,
        {"domain": portal.domain, "name": portal.name, "portal_users": users},
    )
    # Portal users point at their group with ON DELETE RESTRICT: they go first.
    await db.execute(sa.delete(models.PortalUser).where(models.PortalUser.portal_id == portal.id))
    await db.delete(portal)
    await db.flush()


READY_DOMAINS = frozenset({models.DomainStatus.READY, models.DomainStatus.CONFIGURED})


async def set_active(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    *,
    active: bool,
    origin: audit.Origin,
    now: datetime,
) -> tuple[models.Portal, int]:
    """Activate a portal (its domain ready and a version published) or deactivate it,
    which ends the sessions of all its users. Returns the portal and how many sessions
    ended."""
    portal = await _portal(db, actor, portal_id)
    revoked = 0
    if active:
        if portal.domain_status not in READY_DOMAINS:
            raise RuleViolation(
                "domain_not_ready",
                field="id",
                parameters={"domain": portal.domain, "status": portal.domain_status.value},
            )
        if portal.published_version is None:
            raise RuleViolation("publish_before_activating", field="id")
        portal.status = models.PortalStatus.ACTIVE
    elif portal.status is models.PortalStatus.ACTIVE:
        portal.status = models.PortalStatus.INACTIVE
        session = models.AuthSession
        result = await db.execute(
            sa.update(session)
            .where(
                session.portal_user_id.in_(
                    sa.select(models.PortalUser.id).where(models.PortalUser.portal_id == portal.id)
                ),
                session.revoked_at.is_(None),
            )
            .values(revoked_at=now, revoked_reason="PORTAL_DEACTIVATED")
            .returning(session.id)
        )
        revoked = len(result.all())
    action = "portal.activated" if active else "portal.deactivated"
    audit.about(db, actor, portal, action, origin, {"revoked_sessions": revoked})
    return portal, revoked


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` laid over `base`: objects merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in changes.items():
        current = merged.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def changed_settings(current: PortalSettings, changes: Any) -> PortalSettings:
    """The draft settings with `changes` (camelCase, as `Portal.draftSettings` shows them)
    applied and validated; the first problem is named by its path."""
    if not isinstance(changes, Mapping):
        raise InvalidInput("changes_not_an_object", field="changes")
    document = merge(current.model_dump(mode="json", by_alias=True), changes)
    try:
        return PortalSettings.model_validate(document)
    except pydantic.ValidationError as error:
        raise invalid_document(error, "changes") from error


# What a portal may require staff approval for (seed 003 step 3).
APPROVAL_ATTRIBUTES = frozenset(
    {
        "contact.email",
        "contact.phone",
        "contact.address",
        "contact.name",
        "contract.installment",
        "contract.installment_interval",
        "contract.payment_method",
        "contract.iban",
        "contract.due_day",
        "meter_reading",
    }
)


async def _check_references(
    db: AsyncSession, portal: models.Portal, settings: PortalSettings
) -> None:
    """What the settings name must exist: staff to notify, attributes to approve."""
    unknown = sorted(set(settings.approval_required_attributes) - APPROVAL_ATTRIBUTES)
    if unknown:
        known = ", ".join(sorted(APPROVAL_ATTRIBUTES))
        raise InvalidInput(
            "attributes_unknown",
            field="changes.approvalRequiredAttributes",
            parameters={"unknown": ", ".join(unknown), "known": known},
        )
    wanted: set[uuid.UUID] = set()
    for value in settings.notify_staff_user_ids:
        try:
            wanted.add(uuid.UUID(value))
        except ValueError as error:
            raise InvalidInput(
                "not_a_staff_user_id",
                field="changes.notifyStaffUserIds",
                parameters={"value": repr(value)},
            ) from error
    staff = models.StaffUser
    found = set(
        (
            await db.scalars(
                sa.select(staff.id).where(
                    staff.id.in_(wanted),
                    staff.organization_id == portal.organization_id,
                    staff.is_active,
                )
            )
        ).all()
    )
    if found != wanted:
        raise InvalidInput("notify_staff_inactive", field="changes.notifyStaffUserIds")


async def update_settings(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    changes: Any,
    *,
    origin: audit.Origin,
) -> models.Portal:
    """Change the draft's settings; customers see them once the portal is published."""
    portal = await _portal(db, actor, portal_id)
    settings = changed_settings(portal.draft_settings, changes)
    await _check_references(db, portal, settings)
    if settings != portal.draft_settings:
        portal.draft_settings = settings
        audit.about(db, actor, portal, "portal.settings_changed", origin, {"changes": changes})
    return portal
