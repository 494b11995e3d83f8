"""The role x field read permissions: one table, run dynamically as every role over
the demo world.

The table is the checked-in `schema.graphql`: every field says `@public` (every role;
rows are still scoped) or `@requires(roles: [...], grant: ...)`, the grant a portal
user's permission group must hold besides the role (staff need none). The field's
`allow(...)` is the one declaration; the exported SDL is its reviewed copy
(tests/test_schema_sdl.py fails when they differ), so loosening a permission shows in
two places of a diff, and adding a field touches its feature module and
`schema.graphql` only. Every field is run as each role that can reach it; every
granted field by each allowed portal user with and without its grant.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import GraphQLError, get_named_type
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.enums import Grant
from gql.auth.actor import PORTAL_USERS, Role
from gql.domain.scope import visible
from gql.schema import schema
from gql.schema.node_types import NODE_TYPES_BY_NAME
from tests.conftest import ACTORS, CUSTOMER_PORTAL, ROOT, GraphQLClient, global_id
from tests.schema_walk import SchemaField, schema_fields, sdl_matrix

COLUMNS = (Role.ADMIN, Role.AGENT, Role.CUSTOMER, Role.INSTALLER, Role.ANONYMOUS)
ACTOR_OF_ROLE = {
    Role.ADMIN: "admin",
    Role.AGENT: "agent",
    Role.CUSTOMER: "customer",
    Role.INSTALLER: "installer",
    Role.ANONYMOUS: "anonymous",
}


EXPECTED, EXPECTED_GRANTS = sdl_matrix((ROOT / "schema.graphql").read_text())
FIELDS = {field.key: field for field in schema_fields(schema._schema)}


def test_every_field_declares_its_roles_as_the_matrix_says() -> None:
    declared = {key: field.roles for key, field in FIELDS.items()}
    missing = sorted(set(declared) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(declared))
    changed = sorted(k for k in set(declared) & set(EXPECTED) if declared[k] != EXPECTED[k])
    assert (missing, stale, changed) == ([], [], []), (
        f"not in MATRIX: {missing}; no longer in schema: {stale}; differ: {changed}"
    )


def test_every_field_declares_its_grant_as_the_matrix_says() -> None:
    declared = {key: field.grant for key, field in FIELDS.items() if field.grant is not None}
    assert declared == EXPECTED_GRANTS


def test_every_customer_row_field_needs_a_grant() -> None:
    """What a customer reads of contracts, meters, orders, opportunities, documents and
    payments always depends on the permission group; a new field can not forget it."""
    granted_types = {"Contract", "ContractPrice", "Meter", "MeterRegister", "MeterReading"}
    granted_types |= {"Order", "OrderLineItem"}
    granted_types |= {"Opportunity", "Document", "Payment", "Process", "ProcessStep"}
    ungranted = [
        key
        for key, field in FIELDS.items()
        if key.split(".")[0] in granted_types
        and field.roles is not None
        and field.roles & PORTAL_USERS
        and field.grant is None
    ]
    assert ungranted == []


def test_role_restricted_fields_are_nullable_so_denial_is_a_field_error() -> None:
    non_null = [
        key
        for key, field in FIELDS.items()
        if field.roles is not None and str(field.graphql_field.type).endswith("!")
    ]
    assert non_null == []


# --- Dynamic: run each field as each role --------------------------------------------------

# The demo's customer portal, active: what an anonymous login page asks about.
CUSTOMERS = global_id("Portal", CUSTOMER_PORTAL)

# How each type is reached; `{id}` is a row of the type the role can see.
LOCATORS: dict[str, str] = {
    **{name: 'node(id: "{id}") {{ ... on ' + name + " {{ %s }} }}" for name in NODE_TYPES_BY_NAME},
    "Address": 'node(id: "{id}") {{ ... on Contact {{ address {{ %s }} }} }}',
    "PortalConfiguration": 'node(id: "{id}") {{ ... on Portal {{ configuration {{ %s }} }} }}',
    "PortalDesign": (
        'node(id: "{id}") {{ ... on Portal {{ configuration {{ design {{ %s }} }} }} }}'
    ),
    "RegistrationIdentifier": (
        'node(id: "{id}") {{ ... on Portal {{ configuration {{ identifiers {{ %s }} }} }} }}'
    ),
    "Viewer": "viewer {{ %s }}",
    # The same options for every caller and address, on an active portal.
    "LoginOptions": (
        'loginOptions(input: {{portalId: "' + CUSTOMERS + '", email: "jemand@example.org"}})'
        " {{ %s }}"
    ),
    # Portal users see tiles only as published: through their portal, not as rows.
    "Tile": (
        'node(id: "{id}") {{ ... on Portal {{ tiles(first: 1) {{ edges {{ node {{ %s }} }} }} }} }}'
    ),
}
SOURCE_TYPE = {
    "LoginOptions": "Portal",
    "Tile": "Portal",
    "Address": "Contact",
    "PortalConfiguration": "Portal",
    "PortalDesign": "Portal",
    "RegistrationIdentifier": "Portal",
}
# Root fields ask for rows the caller can see: its own portal and contact.
ROOT_FIELDS = {
    "node": 'node(id: "{portal}") {{ __typename }}',
    "nodes": 'nodes(ids: ["{portal}"]) {{ __typename }}',
    "viewer": "viewer {{ role }}",
    "portals": "portals {{ totalCount }}",
    "portal": 'portal(id: "{portal}") {{ name }}',
    "contacts": "contacts {{ totalCount }}",
    "contact": 'contact(id: "{contact}") {{ __typename }}',
    "portalUsers": "portalUsers {{ totalCount }}",
    "partnerUsers": "partnerUsers {{ totalCount }}",
    "auditEvents": "auditEvents {{ totalCount }}",
    "staffUsers": "staffUsers {{ totalCount }}",
    "portalHome": "portalHome {{ language }}",
    "meterReadingsToReview": "meterReadingsToReview {{ totalCount }}",
    "changeRequests": "changeRequests {{ totalCount }}",
    "exportPortalUsers": 'exportPortalUsers(portalId: "{portal}") {{ __typename }}',
    "publicPortal": 'publicPortal(domain: "musterstadt.portale.example") {{ name }}',
    "loginOptions": (
        'loginOptions(input: {{portalId: "' + CUSTOMERS + '", email: "jemand@example.org"}})'
        " {{ methods }}"
    ),
    "previewEmailTemplate": (
        'previewEmailTemplate(portalId: "{portal}", kind: ACTIVATION, language: "de")'
        " {{ __typename }}"
    ),
}
# Allowed fields that are null on the sampled demo rows (absent data, not denial).
MAY_BE_NULL: frozenset[str] = frozenset(
    {
        "Contact.companyName",  # private customers have none
        "Contact.marketingConsentAt",  # the first contact by ID never decided (Anna did)
        "Contact.marketingConsentText",
        "Contract.endDate",  # running contracts
        "Contract.price",  # the heat pump has prices of its registers only, none general
        "ContractPrice.validUntil",  # the latest price holds on
        "ContractPrice.obisCode",  # the general price is for every register
        "Document.order",  # documents of a contract, not of an order
        "PortalConfiguration.privacyUrl",  # the installer portal links none
        "PortalConfiguration.termsUrl",
        "PortalUser.lastLoginAt",  # nobody has logged in yet
        "StaffUser.lastLoginAt",
        "StaffUser.invitedAt",  # the demo staff were never invited
        "StaffUser.disabledAt",  # nor disabled
        "Viewer.impersonatedBy",  # nobody is impersonating
        "ChangeRequest.contract",  # the demo request changes a contact
        "ChangeRequest.decidedAt",  # the demo request waits
        "ChangeRequest.decidedBy",
        "ChangeRequest.reason",
        "Meter.counterResetAt",  # no demo meter rolled over
        "MeterReading.photo",  # no demo reading came with a photo
        "Order.offerAnsweredAt",  # no offer answered yet
        "Order.offerDeclineReason",
        "Order.description",  # the demo orders came without these (not by createOffer)
        "Order.offerValidUntil",
        "Order.contract",
        "Process.opportunity",  # the demo process is an order's
        "Process.contact",
        "ProcessStep.plannedFor",  # steps done or not planned yet
        "ProcessStep.doneAt",  # steps still to do
    }
)

# Which roles can see any row of a type at all (others are covered by test_isolation).
REACHABLE: dict[str, frozenset[Role]] = {
    "Contact": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "Contract": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "ContractPrice": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Meter": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "MeterRegister": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "MeterReading": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "Order": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "OrderLineItem": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Opportunity": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Document": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Payment": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "ChangeRequest": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Portal": frozenset(COLUMNS),
    "Tile": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "PermissionGroup": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "PortalUser": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "StaffUser": frozenset({Role.ADMIN, Role.AGENT}),
    # The demo installer portal shares no kind of process.
    "Process": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "ProcessStep": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "IdentityProvider": frozenset({Role.ADMIN, Role.AGENT}),
}


def _reachable_roles(key: str) -> frozenset[Role]:
    type_name = key.split(".")[0]
    if type_name in ("Query", "Viewer"):
        return frozenset(COLUMNS)
    if type_name in LOCATORS:
        return REACHABLE.get(type_name) or REACHABLE[SOURCE_TYPE[type_name]]
    return frozenset()  # connections, edges, page info, mutation results: static check only


def _cases() -> list[Any]:
    cases = []
    for key in EXPECTED:
        roles = _reachable_roles(key)
        for role in COLUMNS:
            if role in roles:
                actor = ACTOR_OF_ROLE[role]
                cases.append(pytest.param(actor, key, id=f"{actor}-{key}"))
    return cases


def _grant_cases() -> list[Any]:
    """Every granted field, for every portal user allowed to read it, without its grant."""
    cases = []
    for key, grant in EXPECTED_GRANTS.items():
        roles = (EXPECTED[key] or frozenset(COLUMNS)) & PORTAL_USERS & _reachable_roles(key)
        for role in sorted(roles):
            actor = ACTOR_OF_ROLE[role]
            cases.append(pytest.param(actor, key, grant, id=f"{actor}-without-{grant}-{key}"))
    return cases


async def _visible_row(session: AsyncSession, type_name: str, actor: str) -> str:
    model = NODE_TYPES_BY_NAME[type_name].__model__
    row_id = await session.scalar(
        sa.select(model.id).where(visible(model, ACTORS[actor])).order_by(model.id).limit(1)
    )
    assert row_id is not None, f"{actor} sees no {type_name}: fix REACHABLE or the demo data"
    return global_id(type_name, row_id)


def _selection(field: SchemaField) -> str:
    named = get_named_type(field.graphql_field.type)
    if not field.is_composite:
        return field.name
    if named.name.endswith("Connection"):
        return f"{field.name} {{ totalCount }}"
    return f"{field.name} {{ __typename }}"


def _find(data: Any, name: str) -> Any:
    """The first value under key `name` anywhere in the response."""
    if isinstance(data, dict):
        if name in data:
            return data[name]
        for value in data.values():
            if (found := _find(value, name)) is not None:
                return found
    if isinstance(data, list):
        for item in data:
            if (found := _find(item, name)) is not None:
                return found
    return None


def _dig(data: Any, path: list[str | int]) -> Any:
    for step in path:
        if data is None:
            return None
        data = data[step]
    return data


async def _query(session: AsyncSession, actor: str, key: str) -> str:
    """An operation that reaches `key` on a row `actor` can see."""
    type_name, field_name = key.split(".")
    if type_name == "Query":
        portal = await _visible_row(session, "Portal", actor)
        seer = "admin" if ACTORS[actor].role is Role.ANONYMOUS else actor
        contact = await _visible_row(session, "Contact", seer)
        return "{ " + ROOT_FIELDS[field_name].format(portal=portal, contact=contact) + " }"
    row = ""
    if type_name != "Viewer":
        row = await _visible_row(session, SOURCE_TYPE.get(type_name, type_name), actor)
    return "{ " + LOCATORS[type_name].format(id=row) % _selection(FIELDS[key]) + " }"


def _assert_forbidden(data: Any, errors: list[GraphQLError], field_name: str) -> None:
    codes = [(e.path or [], (e.extensions or {}).get("code")) for e in errors]
    assert any(code == "FORBIDDEN" and path[-1:] == [field_name] for path, code in codes), codes
    assert all(code == "FORBIDDEN" for _, code in codes), codes
    denied_path = next(path for path, code in codes if code == "FORBIDDEN")
    assert _dig(data, denied_path) is None


@pytest.mark.parametrize(("actor", "key"), _cases())
async def test_field_permission(
    gql: GraphQLClient, session: AsyncSession, actor: str, key: str
) -> None:
    field_name = key.split(".")[1]
    data, errors = await gql(await _query(session, actor, key), actor)

    expected = EXPECTED[key]
    if expected is None or ACTORS[actor].role in expected:
        assert errors == [], [(e.path, (e.extensions or {}).get("code")) for e in errors]
        value = _find(data, field_name)
        assert value is not None or key in MAY_BE_NULL, f"{key} is null for {actor}"
    else:
        _assert_forbidden(data, errors, field_name)


@pytest.mark.parametrize(("actor", "key", "grant"), _grant_cases())
async def test_field_needs_its_grant(
    gql: GraphQLClient, session: AsyncSession, actor: str, key: str, grant: Grant
) -> None:
    """The same field as the same portal user, whose group lacks just this grant."""
    full = ACTORS[actor]
    assert grant in full.grants  # with it, test_field_permission reads the field
    without = replace(full, grants=full.grants - {grant})

    data, errors = await gql(await _query(session, actor, key), without)

    _assert_forbidden(data, errors, key.split(".")[1])
    denial = next(e for e in errors if e.path and e.path[-1] == key.split(".")[1])
    assert (denial.extensions or {}).get("grant") == grant.value


def test_staff_need_no_grants() -> None:
    """Staff hold no permission group; a granted field is theirs by role alone."""
    assert ACTORS["admin"].grants == frozenset()
    assert all(ACTORS["admin"].may(grant) for grant in Grant)


def test_matrix_covers_the_demo_world_row_types() -> None:
    assert set(REACHABLE) == set(NODE_TYPES_BY_NAME)
