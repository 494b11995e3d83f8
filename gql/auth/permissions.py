"""Field permissions, declared once next to each field and printed into the SDL.

`allow(*roles, grant=...)` returns a field whose roles, and for portal users the grant
of their permission group, are checked by a small field extension and shown as
`@requires(roles: [...], grant: ...)` in `schema.graphql`, so every change of a
permission appears in the schema diff. Row visibility is not decided here but in
`gql.domain.scope`: fields decide which columns, scope decides which rows.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError, GraphQLObjectType, GraphQLResolveInfo
from strawberry.extensions import FieldExtension
from strawberry.schema_directive import Location
from strawberry.types.field import StrawberryField

from db.models.enums import Grant
from gql.auth.actor import PORTAL_USERS, STAFF, Actor, Role
from gql.descriptions import described_enum

__all__ = [
    "ALL_ROLES",
    "AUTHENTICATED",
    "PORTAL_USERS",
    "STAFF",
    "STAFF_AND_CUSTOMER",
    "STAFF_AND_PORTAL_USERS",
    "Forbidden",
    "GrantEnum",
    "Impersonation",
    "RoleEnum",
    "allow",
    "declared_grant",
    "declared_roles",
    "may_read",
    "public",
]

if TYPE_CHECKING:
    RoleEnum = Role
    GrantEnum = Grant
else:
    RoleEnum = described_enum(
        Role,
        "Who calls the API.",
        {
            Role.ADMIN: "A staff user with the ADMIN role (portals, staff, settings).",
            Role.AGENT: "A staff user with the AGENT role (customer service).",
            Role.CUSTOMER: "A portal user of a customer portal; sees only their own contact's"
            " data, as far as their permission group's grants allow.",
            Role.INSTALLER: "A portal user of an installer portal; sees the orders and meters"
            " assigned to their partner.",
            Role.ANONYMOUS: "No token: login, registration and the public portal only.",
        },
        name="Role",
    )
    GrantEnum = described_enum(
        Grant,
        "What a permission group lets its portal users read or do.",
        {
            Grant.CONTRACT_READ: "See their contracts (tariff, installment, payment method).",
            Grant.METER_READ: "See their meters and past readings.",
            Grant.METER_READING_CREATE: "Submit meter readings.",
            Grant.DOCUMENT_READ: "See and download their documents (invoices, letters, ...).",
            Grant.DOCUMENT_UPLOAD: "Upload documents (e.g. a photo of the meter).",
            Grant.DOCUMENT_DELETE: "Delete documents they uploaded.",
            Grant.INSTALLMENT_UPDATE: "Change the installment (Abschlag) within the portal's"
            " rules.",
            Grant.PAYMENT_METHOD_UPDATE: "Switch between SEPA direct debit and transfer.",
            Grant.DUE_DATE_UPDATE: "Move the day of the month the installment is due.",
            Grant.CONTACT_UPDATE: "Change their own contact data (name, address, phone, email,"
            " marketing consent); some changes may wait for staff approval.",
            Grant.ORDER_READ: "See orders and answer offers.",
            Grant.OPPORTUNITY_READ: "See opportunities (offers in preparation).",
            Grant.PAYMENT_READ: "See installments, invoices and refunds with their state.",
            Grant.PROCESS_READ: "Follow the processes of their orders and requests, in the"
            " kinds and steps the portal shares.",
            Grant.PARTNER_USERS_MANAGE: "Installer portals: the partner company's admin sees"
            " the company's users, invites colleagues and removes them (never in a default"
            " group).",
        },
        name="Grant",
    )

ALL_ROLES = frozenset(Role)
AUTHENTICATED = ALL_ROLES - {Role.ANONYMOUS}
STAFF_AND_CUSTOMER = STAFF | {Role.CUSTOMER}
STAFF_AND_PORTAL_USERS = STAFF | PORTAL_USERS


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description=(
        "Only these roles may read the field; others get a FORBIDDEN error. With `grant`,"
        " portal users also need that grant in their permission group (staff do not)."
    ),
)
class Requires:
    roles: list[RoleEnum] = strawberry.field(description="The roles that may read the field.")
    grant: GrantEnum | None = strawberry.field(
        default=strawberry.UNSET,
        description="The grant a portal user's permission group must also hold; none: the role"
        " is enough.",
    )


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    description="Every role may read the field (rows are still scoped).",
)
class Public:
    pass


class Forbidden(GraphQLError):
    def __init__(
        self, field_name: str, *, impersonated: bool = False, grant: Grant | None = None
    ) -> None:
        if impersonated:
            message = f"Not allowed while impersonating: '{field_name}'."
        elif grant is not None:
            message = f"Your permission group does not grant '{grant}' ('{field_name}')."
        else:
            message = f"Not allowed to read '{field_name}'."
        extensions: dict[str, Any] = {"code": "FORBIDDEN"}
        if grant is not None:
            extensions["grant"] = grant.value
        super().__init__(message, extensions=extensions)


class Impersonation(enum.Enum):
    """Whether a mutation may run under an impersonation token."""

    NEVER = "never"  # credentials, 2FA, email, sessions, staff work: the default
    ALWAYS = "always"  # e.g. ending the impersonation with `logout`
    IF_PORTAL_ALLOWS = "if_portal_allows"  # self-service the portal opens to staff


class AllowRoles(FieldExtension):
    """Rejects the field before its resolver runs for any role outside `roles`, for a
    portal user without `grant`, and for a mutation under impersonation unless it is
    marked as allowed then."""

    def __init__(
        self,
        roles: frozenset[Role],
        impersonation: Impersonation = Impersonation.NEVER,
        grant: Grant | None = None,
    ) -> None:
        self.roles = roles
        self.impersonation = impersonation
        self.grant = grant

    def permits(self, actor: Actor) -> bool:
        """Whether `actor` may read the field: its role, and for a portal user the grant
        of its permission group (impersonation only restricts mutations)."""
        return actor.role in self.roles and (self.grant is None or actor.may(self.grant))

    def check(self, actor: Actor, raw: GraphQLResolveInfo[Any]) -> None:
        """Raises Forbidden unless `actor` may resolve the field `raw` describes."""
        if not self.permits(actor):
            # The role may read the field, the permission group does not grant it: say which.
            grant = self.grant if actor.role in self.roles else None
            raise Forbidden(f"{raw.parent_type.name}.{raw.field_name}", grant=grant)
        if actor.is_impersonated and raw.parent_type is raw.schema.mutation_type:
            allowed = self.impersonation is Impersonation.ALWAYS or (
                self.impersonation is Impersonation.IF_PORTAL_ALLOWS and actor.impersonation_writes
            )
            if not allowed:
                raise Forbidden(f"{raw.parent_type.name}.{raw.field_name}", impersonated=True)

    def _check(self, info: strawberry.Info) -> None:
        self.check(info.context.actor, info._raw_info)

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: strawberry.Info, **kwargs: Any
    ) -> Any:
        self._check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self,
        next_: Callable[..., Awaitable[Any]],
        source: Any,
        info: strawberry.Info,
        **kwargs: Any,
    ) -> Any:
        self._check(info)
        return await next_(source, info, **kwargs)


def _ordered(roles: Iterable[Role]) -> list[Role]:
    order = list(Role)
    return sorted(set(roles), key=order.index)


def allow(
    *role_sets: Role | Iterable[Role],
    description: str,
    grant: Grant | None = None,
    impersonation: Impersonation = Impersonation.NEVER,
    **kwargs: Any,
) -> Any:
    """A field readable by the given roles only (roles or sets of roles); with `grant`,
    portal users also need that grant. A mutation is refused under impersonation
    unless `impersonation` says otherwise."""
    roles: set[Role] = set()
    for entry in role_sets:
        roles |= {entry} if isinstance(entry, Role) else set(entry)
    allowed = frozenset(roles)
    if grant is not None and not allowed & PORTAL_USERS:
        raise ValueError("a grant only restricts portal users; allow one of their roles")
    return strawberry.field(
        description=description,
        extensions=[AllowRoles(allowed, impersonation, grant), *kwargs.pop("extensions", [])],
        directives=[
            Requires(roles=_ordered(allowed), grant=strawberry.UNSET if grant is None else grant),
            *kwargs.pop("directives", []),
        ],
        **kwargs,
    )


def public(description: str, **kwargs: Any) -> Any:
    """A field every role may read; its rows are still scoped by the resolver."""
    return strawberry.field(
        description=description,
        directives=[Public(), *kwargs.pop("directives", [])],
        **kwargs,
    )


def declared_grant(field: Any) -> Grant | None:
    """The grant a schema field needs from portal users, if any (used by the tests)."""
    for extension in field.extensions:
        if isinstance(extension, AllowRoles):
            return extension.grant
    return None


def declared_roles(field: Any) -> frozenset[Role] | None:
    """The roles a schema field allows; None for public fields (used by the tests)."""
    for extension in field.extensions:
        if isinstance(extension, AllowRoles):
            return extension.roles
    if any(isinstance(directive, Public) for directive in field.directives):
        return None
    raise LookupError(f"field {field.python_name} declares neither allow() nor public()")


def may_read(field: StrawberryField, actor: Actor) -> bool:
    """Whether `actor` may read `field` as its `allow(...)` declares (public fields: all).

    Raises:
        LookupError: the field declares neither `allow()` nor `public()`.
    """
    for extension in field.extensions:
        if isinstance(extension, AllowRoles):
            return extension.permits(actor)
    if any(isinstance(directive, Public) for directive in field.directives):
        return True
    raise LookupError(f"field {field.python_name} declares neither allow() nor public()")


def fast_leaf_fields(schema: strawberry.Schema) -> int:
    """Give every plain attribute field whose only extension is `AllowRoles` a direct
    resolver: the same check, then `getattr`. Strawberry runs a field with extensions
    through its argument conversion and extension chain on every row, which cost more
    than the whole SQL of a dashboard; attribute fields have no arguments to convert.
    Returns how many fields were given one."""
    count = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get("strawberry-definition")
            if not isinstance(field, StrawberryField) or field.base_resolver is not None:
                continue
            if len(field.extensions) != 1 or not isinstance(field.extensions[0], AllowRoles):
                continue
            graphql_field.resolve = _leaf_resolver(field.extensions[0], field.python_name)
            count += 1
    return count


def _leaf_resolver(rule: AllowRoles, attribute: str) -> Callable[..., Any]:
    def resolve(source: Any, info: GraphQLResolveInfo[Any], **_: Any) -> Any:
        rule.check(info.context.actor, info)
        return getattr(source, attribute)

    return resolve
