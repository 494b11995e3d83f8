"""The caller of a request, derived once from the access token."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class Role(enum.StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"
    CUSTOMER = "CUSTOMER"
    INSTALLER = "INSTALLER"
    ANONYMOUS = "ANONYMOUS"


STAFF = frozenset({Role.ADMIN, Role.AGENT})
PORTAL_USERS = frozenset({Role.CUSTOMER, Role.INSTALLER})


@dataclass(frozen=True, slots=True)
class Visibility:
    """Visibility criteria of a permission group; None means no restriction."""

    contract_statuses: frozenset[str] | None = None
    document_types: frozenset[str] | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Visibility:
        data = data or {}
        statuses = data.get("contract_statuses")
        types = data.get("document_types")
        return cls(
            contract_statuses=None if statuses is None else frozenset(statuses),
            document_types=None if types is None else frozenset(types),
        )


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
    # Whether the portal lets an impersonating staff member change what the portal user
    # may change (loaded per request with the session).
    impersonation_writes: bool = False
    # The portal user's permission group with its grants and visibility criteria, loaded
    # per request (so a change applies at once); staff have none and need none.
    permission_group_id: uuid.UUID | None = None
    grants: frozenset[str] = frozenset()
    visibility: Visibility = Visibility()

    @property
    def is_impersonated(self) -> bool:
        return self.impersonator_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF

    @property
    def is_portal_user(self) -> bool:
        return self.role in PORTAL_USERS

    def may(self, grant: str) -> bool:
        """Whether the actor holds `grant`: staff always, portal users by their group."""
        return self.is_staff or (self.is_portal_user and grant in self.grants)


ANONYMOUS = Actor(role=Role.ANONYMOUS)
