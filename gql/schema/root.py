"""The root types: each feature module declares its own `Query` and `Mutation` (with the
permissions of every field next to the feature's types); here they are merged, in the
order the schema lists them."""

from __future__ import annotations

from collections import Counter

from strawberry.tools import merge_types
from strawberry.types.base import get_object_definition

from gql.schema import (
    account,
    audit_log,
    auth,
    change_requests,
    contacts,
    documents,
    email_templates,
    home,
    node_types,
    offers,
    partner_users,
    permission_groups,
    portal,
    portal_admin,
    portal_user,
    prices,
    processes,
    public_portal,
    registration,
    self_service,
    sso,
    staff,
    tiles,
    viewer,
)


def _root(name: str, description: str, parts: tuple[type, ...]) -> type:
    fields = Counter(
        field.name for part in parts for field in get_object_definition(part, strict=True).fields
    )
    # merge_types only warns when two features declare the same field, and the later one
    # would silently win.
    twice = sorted(field for field, count in fields.items() if count > 1)
    if twice:
        raise TypeError(f"{name} fields declared twice: {', '.join(twice)}")
    merged = merge_types(name, parts)
    # merge_types takes no description; the SDL keeps the root types' descriptions.
    get_object_definition(merged, strict=True).description = description
    return merged


Query = _root(
    "Query",
    "Entry points for reading.",
    (
        node_types.Query,
        viewer.Query,
        portal.Query,
        public_portal.Query,
        home.Query,
        contacts.Query,
        portal_user.Query,
        partner_users.Query,
        registration.Query,
        staff.Query,
        email_templates.Query,
        self_service.Query,
        change_requests.Query,
        audit_log.Query,
        auth.Query,
    ),
)

Mutation = _root(
    "Mutation",
    "Entry points for changing.",
    (
        auth.Mutation,
        sso.Mutation,
        account.Mutation,
        registration.Mutation,
        contacts.Mutation,
        portal_user.Mutation,
        partner_users.Mutation,
        permission_groups.Mutation,
        staff.Mutation,
        portal_admin.Mutation,
        tiles.Mutation,
        email_templates.Mutation,
        self_service.Mutation,
        prices.Mutation,
        change_requests.Mutation,
        documents.Mutation,
        offers.Mutation,
        processes.Mutation,
    ),
)

__all__ = ["Mutation", "Query"]
