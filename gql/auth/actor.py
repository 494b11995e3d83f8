"""The caller of a request, derived once from the access token."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"
    CUSTOMER = "CUSTOMER"
    INSTALLER = "INSTALLER"
    ANONYMOUS = "ANONYMOUS"


STAFF = frozenset({Role.ADMIN, Role.AGENT})
PORTAL_USERS = frozenset({Role.CUSTOMER, Role.INSTALLER})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who calls. `subject_id` is the staff user or portal user; `contact_id` the assigned
    contact of a portal user (the partner contact for installers)."""

    role: Role
    organization_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    portal_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    # The login session (`sid`), checked on every request.
    session_id: uuid.UUID | None = None
    # The staff member acting as this portal user (RFC 8693 `act`), when impersonating.
    impersonator_id: uuid.UUID | None = None
    # Grants of the portal user's permission group, loaded per request; staff have none
    # and need none.
    grants: frozenset[str] = frozenset()

    @property
    def is_impersonated(self) -> bool:
        return self.impersonator_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_portal_user(self) -> bool:
        return self.role in PORTAL_USERS


ANONYMOUS = Actor(role=Role.ANONYMOUS)
