"""The authorization sweep's machinery (tests/gql/test_authorization_sweep.py runs it):
every query field, node type and mutation of the schema, found by introspection (a new
one is covered without touching this file), run as each attacker against the rows of a
victim; nothing may cross a tenant or contact boundary.

The sweep runs feature by feature (`FEATURES`: which query fields, node types and
mutations make up a feature), so that a failure names the feature; an operation in no
feature is still swept, by the calibration test, and the table test names it.

Attackers and their victims:

- `other_customer` (Jonas) against Anna (contact c00 of Musterstadt): her contact and
  everything that hangs off it, her portal user, its credentials and sessions;
- `installer` against Anna's rows that are not assigned to its partner (the partner's
  orders and their meters are the installer's to see; Anna's contact too, names and
  addresses only, and not to change);
- `other_admin`, `other_org_customer` (Nachbarstadt) and `anonymous` against the whole
  organization Musterstadt, every table.

The agent is no attacker here: it belongs to the victim's organization and may see all
of it; staff of another organization are `other_admin` (the same tenant filter).

The rows an attacker must not see are the ground truth of tests/gql/tenancy.py (foreign
keys and organizations, not `gql.domain.scope`), shared with
tests/gql/test_isolation.py. Arguments are generated from the GraphQL argument and input
types (`Arguments`); ID arguments get the global ID of a victim row of the type their
name suggests (`id_target`). Each operation runs in a savepoint that is rolled back. An
attacker's answer may hold no victim row (by global ID, by bare UUID, or Anna's email),
and errors only refusal codes; a mutation may, besides, change or delete no victim row,
nor add one unless it is public (anybody may register on a portal, and the registration,
its email and audit rows land in the portal's organization): a fingerprint of the
victim's rows is compared before and after.

Calibration, so that the sweep can not pass by being vacuous: each mutation first runs as
its rightful caller (Anna, or the Musterstadt admin for staff-only mutations) with input
variants until one is accepted, and the attackers send that one (and the full one); the
summary says how many were accepted, and how often the fingerprint saw the rightful
change. Query fields run as Musterstadt's admin and Anna too, counting those that answer
victim rows. The floors of the calibration test are set under what was measured.
"""

from __future__ import annotations

import collections
import json
import re
import uuid
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_leaf_type,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from strawberry import relay

from db import demo, models
from db.base import Base
from db.session import RequestSession
from gql.auth.actor import Actor, Role
from gql.auth.permissions import declared_roles
from gql.auth.tokens import TokenService
from gql.context import Context
from gql.domain import audit, documents
from gql.domain import sessions as auth_sessions
from gql.domain.authentication import identity_config
from gql.schema.node_types import NODE_TYPES_BY_NAME
from gql.settings import Settings
from tests.conftest import ACTORS, CUSTOMER_PORTAL, MUSTERSTADT, global_id
from tests.gql.tenancy import (
    MODEL_OF,
    Rows,
    collect_ids,
    rows_hidden_from_installer,
    rows_of_contact,
    rows_of_organization,
    unlimited_schema,
    walk_selection,
)

ATTACKERS = ("other_customer", "installer", "other_admin", "other_org_customer", "anonymous")
# Refusals an attacker may get as GraphQL errors; anything else (no code: an internal
# error, masked) fails the sweep.
REFUSAL_CODES = frozenset({"FORBIDDEN", "UNAUTHENTICATED", "BAD_USER_INPUT", "NOT_FOUND"})
QUERY_BUDGET = 10  # selection levels walked below each root field (see walk_selection)
PAYLOAD_BUDGET = 7  # ... below each mutation payload
ANNA = ACTORS["customer"]


def _contact_of(actor: str) -> uuid.UUID:
    contact = ACTORS[actor].contact_id
    assert contact is not None
    return contact


ANNA_CONTACT = _contact_of("customer")
PARTNER_CONTACT = _contact_of("installer")  # the installer's partner company

# ID arguments whose name names no node type, nor does their operation's: what they get
# instead ("*": a list holding one victim row of every node type).
ID_EXCEPTIONS: dict[str, str] = {
    "Query.node.id": "Contact",  # any node: the most private one
    "Query.nodes.ids": "*",
    "Query.auditEvents.actorId": "PortalUser",  # "a StaffUser or PortalUser"
    "Query.auditEvents.subjectId": "Contact",
    # A session is no node type (`node(id:)` never answers one): the victim's portal user
    # ID stands in; tests/http/test_sessions.py aims another customer's and another
    # organization's real session IDs at revokeSession.
    "RevokeSessionInput.sessionId": "PortalUser",
}

# Plausible strings by argument or input field name (the rest get SWEEP). Emails and
# passwords are the caller's own (`Credentials`): an attacker typing the victim's email
# into `login` or `requestPasswordReset` does what anybody can do, and legitimately
# touches her row (failed attempts, reset codes).
SWEEP = "Sweep"
STRINGS: dict[str, str] = {
    "newPassword": "Sweep-Kennwort-2026!",
    "language": "de",
    "languages": "de",
    "defaultLanguage": "de",
    "iban": "DE89370400440532013000",
    "accountHolder": "Anna Becker",
    "domain": "musterstadt.portale.example",  # the victim portal's
    "subdomain": "sweep-portal",
    "code": "123456",
    "value": "999999",  # a meter reading above the demo's
    "correctedValue": "12345",
    "register": "1-1:1.8.0",
    "key": "contact.customer_number",  # a registration identifier
    "search": "Becker",  # the victim's name
    "postalCode": "12345",
    "phone": "+49 30 5559999",
    "country": "DE",
}
# Numbers and JSON by name (the rest: 1, and an empty object).
NUMBERS: dict[str, Any] = {"first": 100, "amount": "100.00"}  # a page, a monthly installment
JSONS: dict[str, Any] = {  # a tile of TileKind's first kind, ACTION
    "content": {"de": {"title": SWEEP, "button_label": SWEEP}, "url": "https://example.org/"}
}
# DateTime filters: the widest range, so that they leave every row in the answer.
EARLY, LATE = "2000-01-01T00:00:00+00:00", "2100-01-01T00:00:00+00:00"
DATETIMES = {"since": EARLY, "createdAfter": EARLY, "until": LATE, "createdBefore": LATE}
OMITTED = frozenset({"after"})  # a cursor: any invented one is refused as BAD_USER_INPUT
# Mutation inputs are tried with every field filled, then without the nullable ones, then
# with the required ones only (no defaults either), first keeping every ID field (they
# are what an attack aims), then not; the first the rightful caller gets accepted is the
# one the attackers send, and the full one too when it was not that one.
VARIANTS = ("full", "non-null+ids", "required+ids", "non-null", "required")
QUERY_VARIANTS = ("full", "required+ids")
# Root query fields whose answer is public by design, the same for every caller: for
# them an attacker's forbidden rows are only those anonymous callers may not see either
# (the login and registration page of an active portal names the portal's id).
PUBLIC_ANSWERS = frozenset({"publicPortal", "loginOptions"})


# --- Features ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feature:
    """The root query fields, node types (asked by `node(id:)`) and mutations of a feature."""

    queries: AbstractSet[str] = frozenset()
    nodes: AbstractSet[str] = frozenset()
    mutations: AbstractSet[str] = frozenset()


# Every root query field, node type and mutation in exactly one feature
# (test_every_operation_belongs_to_one_feature); the sweep's test runs one per feature.
FEATURES: dict[str, Feature] = {
    "sign_in": Feature(
        queries={"viewer", "loginOptions"},
        mutations={
            "login",
            "requestLoginCode",
            "loginWithCode",
            "requestEmailChange",
            "confirmEmailChange",
            "deleteMyAccount",
            "logout",
            "logoutEverywhere",
            "revokeSession",
            "refreshSession",
            "sendLoginCode",
            "verifyTwoFactor",
            "enrollTotp",
            "confirmTotp",
            "disableTotp",
            "regenerateRecoveryCodes",
            "changePassword",
            "requestPasswordReset",
            "resetPassword",
        },
    ),
    "registration": Feature(
        queries={"publicPortal"},
        mutations={
            "register",
            "activateAccount",
            "resendActivation",
            "acceptInvitation",
            "inviteContact",
            "inviteUninvitedContacts",
        },
    ),
    "portals": Feature(
        queries={"portal", "portals"},
        nodes={"Portal"},
        mutations={
            "createPortal",
            "updatePortal",
            "deletePortal",
            "activatePortal",
            "deactivatePortal",
            "publishPortal",
            "restorePortalVersion",
            "setPortalDomain",
            "verifyPortalDomain",
            "checkPortalConfiguration",
            "updatePortalSettings",
        },
    ),
    "home_and_tiles": Feature(
        queries={"portalHome"},
        nodes={"Tile"},
        mutations={"createTile", "updateTile", "deleteTile", "reorderTiles"},
    ),
    "email_templates": Feature(queries={"previewEmailTemplate"}, mutations={"updateEmailTemplate"}),
    "portal_users": Feature(
        queries={"portalUsers", "exportPortalUsers"},
        nodes={"PortalUser"},
        mutations={
            "activatePortalUser",
            "deactivatePortalUser",
            "deletePortalUser",
            "assignPortalUser",
            "assignPortalUserToNewContact",
            "unassignPortalUser",
            "setPortalUserPassword",
            "setPortalUserPermissionGroup",
            "importPortalUsers",
        },
    ),
    "partner_users": Feature(
        queries={"partnerUsers"}, mutations={"invitePartnerUser", "removePartnerUser"}
    ),
    "impersonation": Feature(mutations={"impersonatePortalUser"}),
    "single_sign_on": Feature(
        nodes={"IdentityProvider"},
        mutations={
            "createIdentityProvider",
            "updateIdentityProvider",
            "deleteIdentityProvider",
            "startSsoLogin",
            "completeSsoLogin",
        },
    ),
    "permission_groups": Feature(
        nodes={"PermissionGroup"},
        mutations={"createPermissionGroup", "updatePermissionGroup", "deletePermissionGroup"},
    ),
    "staff": Feature(
        queries={"staffUsers"},
        nodes={"StaffUser"},
        mutations={
            "inviteStaffUser",
            "acceptStaffInvitation",
            "updateStaffUser",
            "disableStaffUser",
            "enableStaffUser",
        },
    ),
    "contacts": Feature(
        queries={"contact", "contacts"},
        nodes={"Contact", "Opportunity"},
        mutations={"updateMyContact", "updateLanguage", "createContact", "updateContact"},
    ),
    "change_requests": Feature(
        queries={"changeRequests"},
        nodes={"ChangeRequest"},
        mutations={"approveChangeRequest", "rejectChangeRequest"},
    ),
    "contracts": Feature(
        nodes={"Contract", "Payment", "ContractPrice"},
        mutations={
            "changeInstallment",
            "changeInstallmentInterval",
            "changeDueDate",
            "changePaymentMethod",
            "setContractPrice",
            "removeContractPrice",
        },
    ),
    "meter_readings": Feature(
        queries={"meterReadingsToReview"},
        nodes={"Meter", "MeterRegister", "MeterReading"},
        mutations={
            "submitMeterReading",
            "submitMeterReadings",
            "reviewMeterReading",
            "resetMeterCounter",
        },
    ),
    "orders": Feature(
        nodes={"Order", "OrderLineItem"}, mutations={"respondToOffer", "createOffer"}
    ),
    "processes": Feature(
        nodes={"Process", "ProcessStep"},
        mutations={"startProcess", "updateProcessStep", "cancelProcess"},
    ),
    "documents": Feature(nodes={"Document"}, mutations={"uploadDocument", "deleteDocument"}),
    "audit_log": Feature(queries={"auditEvents"}),
    "node_lookup": Feature(queries={"node", "nodes"}),
}


# --- Ground truth: what each attacker must not see, and which rows are the victim ---------


async def organization_row_ids(session: AsyncSession, organization_id: uuid.UUID) -> set[uuid.UUID]:
    """The ids of every row of the organization, in every table."""
    found: set[uuid.UUID] = set()
    for table in Base.metadata.tables.values():
        if "organization_id" in table.columns and "id" in table.columns:
            statement = sa.select(table.c.id).where(table.c.organization_id == organization_id)
            found |= set(await session.scalars(statement))
    return found


async def forbidden_rows(session: AsyncSession) -> dict[str, Rows]:
    musterstadt = await rows_of_organization(session, MUSTERSTADT)
    return {
        "other_customer": await rows_of_contact(session, ANNA_CONTACT),
        "installer": await rows_hidden_from_installer(session),
        "other_admin": musterstadt,
        "other_org_customer": musterstadt,
        # Anonymous callers see active portals (login and registration pages).
        "anonymous": {name: ids for name, ids in musterstadt.items() if name != "Portal"},
    }


# Which victim row of a type the sweep aims at, when there is a choice: one its rightful
# caller can act on (an offer to answer, a meter with one register, the agent rather
# than the admin herself, the customer portal), so that the calibration shows the
# generated inputs work. Otherwise the first row by id.
PREFERENCE: dict[str, Any] = {
    "Order": models.Order.status == models.OrderStatus.OFFER,
    "PermissionGroup": models.PermissionGroup.portal_id == CUSTOMER_PORTAL,
    "Portal": models.Portal.id == CUSTOMER_PORTAL,
    "Tile": models.Tile.portal_id == CUSTOMER_PORTAL,
    "StaffUser": models.StaffUser.role == models.StaffRole.AGENT,
    "Meter": sa.select(sa.func.count())
    .where(models.MeterRegister.meter_id == models.Meter.id)
    .scalar_subquery()
    == 1,
}


async def victim_rows(session: AsyncSession, node_types: list[str]) -> dict[str, uuid.UUID]:
    """One victim row per node type: Anna's where the type hangs off a contact (and not
    one the installer may see), else Musterstadt's."""
    anna = await rows_of_contact(session, ANNA_CONTACT)
    installer = await rows_hidden_from_installer(session)
    musterstadt = await rows_of_organization(session, MUSTERSTADT)
    victims = {}
    for name in node_types:
        candidates = anna.get(name) or musterstadt[name]
        if name in installer:
            candidates = candidates & installer[name]
        model = MODEL_OF[name]
        order = [sa.desc(PREFERENCE[name])] if name in PREFERENCE else []
        statement = (
            sa.select(model.id).where(model.id.in_(candidates)).order_by(*order, model.id).limit(1)
        )
        row_id = await session.scalar(statement)
        assert row_id is not None, f"no victim row of {name}"
        victims[name] = row_id
    return victims


async def give_anna_what_the_demo_lacks(db: AsyncSession, victim_ids: dict[str, uuid.UUID]) -> None:
    """The demo world has no reading waiting for review, no document a customer uploaded
    and no audit event: the victim reading and document become such and Anna gets an
    audit event (in the test's transaction), so that `reviewMeterReading`,
    `deleteDocument` and `auditEvents` are tried on rows their rightful caller can act on
    or see, not refused or empty before anybody looks at who asks."""
    reading, document = models.MeterReading, models.Document
    await db.execute(
        sa.update(reading)
        .where(reading.id == victim_ids["MeterReading"])
        .values(status=models.MeterReadingStatus.PENDING_REVIEW)
    )
    await db.execute(
        sa.update(document)
        .where(document.id == victim_ids["Document"])
        .values(uploaded_by_id=ANNA.subject_id)
    )
    contact = await db.get_one(models.Contact, ANNA_CONTACT)
    audit.about(db, ANNA, contact, f"{SWEEP.lower()}.setup", audit.Origin())
    await db.commit()


# --- Fingerprints of the victim's rows ----------------------------------------------------

_CONTRACTS = "SELECT id FROM contract WHERE contact_id = :contact"
# SQL from constants of this file only (S608: no input reaches it).
_METERS = (
    f"SELECT id FROM meter WHERE contract_id IN ({_CONTRACTS}) AND id NOT IN"  # noqa: S608
    ' (SELECT meter_id FROM "order" WHERE partner_contact_id = :partner'
    " AND meter_id IS NOT NULL)"
)
_USERS = "SELECT id FROM portal_user WHERE contact_id = :contact"
# Anna's rows, table by table; `:partner` leaves out what is assigned to that partner.
CONTACT_ROWS = {
    "contact": "t.id = :contact",
    "contract": "t.contact_id = :contact",
    "meter": f"t.id IN ({_METERS})",
    "meter_register": f"t.meter_id IN ({_METERS})",
    "meter_reading": f"t.meter_id IN ({_METERS})",
    "payment": f"t.contract_id IN ({_CONTRACTS})",
    "contract_price": f"t.contract_id IN ({_CONTRACTS})",
    "order": "t.contact_id = :contact AND t.partner_contact_id IS DISTINCT FROM :partner",
    "opportunity": "t.contact_id = :contact",
    "document": "t.contact_id = :contact",
    "change_request": "t.contact_id = :contact",
    "portal_user": "t.contact_id = :contact",
    # Her credentials and sessions: nobody else's failed attempt writes these.
    "totp_credential": f"t.portal_user_id IN ({_USERS})",
    "recovery_code": f"t.portal_user_id IN ({_USERS})",
    "auth_session": f"t.portal_user_id IN ({_USERS})",
    "one_time_code": f"t.portal_user_id IN ({_USERS})",
}


def organization_rows() -> dict[str, str]:
    """Every table of the organization, logs included (audit events, email outbox,
    sessions, one-time codes): an attacker's own failed attempts write logs in its own
    organization, not in the victim's; what a public mutation (a login, a registration on
    the victim's portal) writes there is added rows, which public mutations may add.
    Login throttles and rate counters belong to no organization and are no victim's."""
    return {
        name: "t.organization_id = :organization"
        for name, table in sorted(Base.metadata.tables.items())
        if "organization_id" in table.columns
    }


@dataclass
class Victim:
    """The rows of one victim, table by table (`where` filters each table `t`)."""

    where: dict[str, str]
    parameters: dict[str, Any]
    digest: dict[str, str] = field(default_factory=dict)  # table -> md5 of its rows
    rows: dict[str, dict[Any, str]] = field(default_factory=dict)  # id -> md5

    def _select(self, table: str, columns: str) -> str:
        return f'SELECT {columns} FROM "{table}" t WHERE {self.where[table]}'  # noqa: S608

    async def digests(self, connection: AsyncConnection) -> dict[str, str]:
        """One round trip: an md5 of all victim rows per table."""
        parts = [
            self._select(
                table, f"'{table}', md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
            )
            for table in self.where
        ]
        result = await connection.execute(sa.text(" UNION ALL ".join(parts)), self.parameters)
        return {str(name): str(value) for name, value in result.all()}

    async def row_digests(self, connection: AsyncConnection) -> dict[str, dict[Any, str]]:
        rows: dict[str, dict[Any, str]] = {}
        for table in self.where:
            # A table without an id (a counter such as offer_number) is told by its text.
            key = "t.id" if "id" in Base.metadata.tables[table].columns else "md5(t::text)"
            result = await connection.execute(
                sa.text(self._select(table, f"{key}, md5(t::text)")), self.parameters
            )
            rows[table] = {row_id: str(digest) for row_id, digest in result.all()}
        return rows

    async def remember(self, connection: AsyncConnection) -> None:
        self.digest = await self.digests(connection)
        self.rows = await self.row_digests(connection)
        assert sum(len(rows) for rows in self.rows.values()) > 10, "a victim without rows"

    async def changes(self, connection: AsyncConnection) -> tuple[list[str], list[str]]:
        """Victim rows changed or deleted since `remember`, and rows added to the victim."""
        if await self.digests(connection) == self.digest:
            return [], []
        changed, added = [], []
        for table, rows in (await self.row_digests(connection)).items():
            before = self.rows[table]
            changed += [f"{table} {i}" for i in before if rows.get(i) != before[i]]
            added += [f"{table} {i}" for i in rows if i not in before]
        return changed, added


def victims() -> dict[str, Victim]:
    nobody = uuid.UUID(int=0)
    anna = {"contact": ANNA_CONTACT}
    musterstadt = Victim(organization_rows(), {"organization": MUSTERSTADT})
    return {
        "other_customer": Victim(CONTACT_ROWS, {**anna, "partner": nobody}),
        "installer": Victim(CONTACT_ROWS, {**anna, "partner": PARTNER_CONTACT}),
        "other_admin": musterstadt,
        "other_org_customer": musterstadt,
        "anonymous": musterstadt,
    }


# --- Arguments from the schema's types -----------------------------------------------------


def node_type_names(graphql_schema: GraphQLSchema) -> list[str]:
    """The types implementing Node, by introspection."""
    node = graphql_schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    return sorted(t.name for t in graphql_schema.get_possible_types(node))


def id_target(name: str, operation: str, node_types: list[str]) -> str | None:
    """The node type an ID argument or input field points to, from its name: `contractId`
    a Contract, `portalUserIds` PortalUsers, `readingId` a MeterReading (a type whose name
    ends with it); a bare `id` the node type named in the operation, longest match
    (`deletePortalUser`: PortalUser, not Portal). None when nothing matches."""
    if name in ("id", "ids"):
        base, haystack = "", operation.lower()
    elif name.endswith("Ids"):
        base = name[:-3].lower()
    elif name.endswith("Id"):
        base = name[:-2].lower()
    else:
        return None
    if base:
        exact = [t for t in node_types if t.lower() == base]
        candidates = exact or [t for t in node_types if t.lower().endswith(base)]
    else:
        candidates = [t for t in node_types if t.lower() in haystack]
    return max(candidates, key=len) if candidates else None


class FakeUpload:
    """A file of a multipart request: a small PDF, read in chunks."""

    filename = "sweep.pdf"

    def __init__(self) -> None:
        self.rest = demo.demo_pdf("Sweep")

    async def read(self, size: int = -1, /) -> bytes:
        size = len(self.rest) if size < 0 else size
        chunk, self.rest = self.rest[:size], self.rest[size:]
        return chunk

    async def close(self) -> None:
        return None


@dataclass
class Arguments:
    """Values for the arguments of one operation, from their GraphQL types: IDs the global
    ID of a victim row (`id_target`), strings plausible ones by name (`STRINGS`; emails,
    passwords and refresh tokens the caller's own), numbers 1 and JSON an empty object
    unless named in `NUMBERS`/`JSONS`, booleans true, dates now (filters: the widest
    range), enums their first value, lists one element, input objects their fields, files
    a small PDF (null where nullable). Which optional arguments and input fields are
    given depends on the variant (`VARIANTS`); cursors never are."""

    victims: dict[str, uuid.UUID]
    node_types: list[str]
    caller: Credentials
    keys: Iterator[int]
    variant: str = "full"  # see VARIANTS

    def of_field(self, graphql_field: GraphQLField, root: str, operation: str) -> dict[str, Any]:
        return {
            name: self._of_type(argument.type, name, f"{root}.{operation}.{name}", operation)
            for name, argument in graphql_field.args.items()
            if self._wanted(name, argument, f"{root}.{operation}.{name}")
        }

    def _wanted(self, name: str, holder: GraphQLArgument | GraphQLInputField, key: str) -> bool:
        if name in OMITTED:
            return False
        if self.variant == "full":
            return True
        base, _, ids = self.variant.partition("+")
        if ids == key or (ids == "ids" and get_named_type(holder.type).name == "ID"):
            return True
        non_null = isinstance(holder.type, GraphQLNonNull)
        return non_null if base == "non-null" else non_null and holder.default_value is Undefined

    def _of_type(self, graphql_type: GraphQLInputType, name: str, key: str, operation: str) -> Any:
        nullable = not isinstance(graphql_type, GraphQLNonNull)
        inner = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
        if isinstance(inner, GraphQLList):
            if name.endswith("ids") or name.endswith("Ids"):
                target = self.target(name, key, operation)
                if target == "*":
                    return [global_id(t, self.victims[t]) for t in self.node_types]
            return [self._of_type(inner.of_type, name, key, operation)]
        if isinstance(inner, GraphQLInputObjectType):
            return {
                field_name: self._of_type(
                    input_field.type, field_name, f"{inner.name}.{field_name}", operation
                )
                for field_name, input_field in inner.fields.items()
                if self._wanted(field_name, input_field, f"{inner.name}.{field_name}")
            }
        if isinstance(inner, GraphQLEnumType):
            return next(iter(inner.values))
        assert isinstance(inner, GraphQLScalarType), key
        return self.scalar(inner.name, name, key, operation, nullable)

    def target(self, name: str, key: str, operation: str) -> str:
        found = ID_EXCEPTIONS.get(key) or id_target(name, operation, self.node_types)
        assert found is not None, f"{key}: which node type? (see id_target, ID_EXCEPTIONS)"
        return found

    def scalar(self, scalar: str, name: str, key: str, operation: str, nullable: bool) -> Any:
        if scalar == "ID":
            target = self.target(name, key, operation)
            target = "Contact" if target == "*" else target
            return global_id(target, self.victims[target])
        if scalar == "Cursor":
            return None  # from the start of each list
        if scalar in ("Line", "Text", "EmailAddress", "Iban"):
            if name == "email":
                return self.caller.email
            if name in ("password", "currentPassword"):
                return self.caller.password
            if name == "refreshToken":
                return self.caller.refresh_token
            if name == "clientKey":
                return f"sweep-{next(self.keys)}"
            return STRINGS.get(name, SWEEP)
        if scalar in ("Int", "Float", "Decimal"):
            one = {"Int": 1, "Float": 1.0, "Decimal": "1"}[scalar]
            return NUMBERS.get(name, one)
        if scalar == "Boolean":
            return True
        if scalar == "DateTime":
            return DATETIMES.get(name) or datetime.now(UTC).isoformat()
        if scalar == "Date":
            return datetime.now(UTC).date().isoformat()
        if scalar == "JSON":
            return JSONS.get(name, {})
        if scalar == "Upload":
            return None if nullable else FakeUpload()
        raise AssertionError(f"{key}: no value for scalar {scalar}")


def id_keys(graphql_schema: GraphQLSchema) -> Iterator[tuple[str, str, str]]:
    """(key, name, operation) of every ID argument and ID input field reachable from a
    root field's arguments."""

    def walk(
        graphql_type: Any, name: str, key: str, operation: str, seen: frozenset[str]
    ) -> Iterator[tuple[str, str, str]]:
        named = get_named_type(graphql_type)
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            for field_name, input_field in named.fields.items():
                yield from walk(
                    input_field.type,
                    field_name,
                    f"{named.name}.{field_name}",
                    operation,
                    seen | {named.name},
                )
        elif isinstance(named, GraphQLScalarType) and named.name == "ID":
            yield key, name, operation

    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        for operation, root_field in root.fields.items():
            for name, argument in root_field.args.items():
                yield from walk(
                    argument.type, name, f"{root.name}.{operation}.{name}", operation, frozenset()
                )


def optional_id_fields(graphql_schema: GraphQLSchema) -> Iterator[tuple[str, str]]:
    """(key, mutation) of the ID arguments and input fields a mutation may leave out."""
    mutation_type = graphql_schema.mutation_type
    assert mutation_type is not None
    for operation, root_field in mutation_type.fields.items():
        for name, argument in root_field.args.items():
            named = get_named_type(argument.type)
            if isinstance(named, GraphQLInputObjectType):
                for field_name, input_field in named.fields.items():
                    optional = not isinstance(input_field.type, GraphQLNonNull) or (
                        input_field.default_value is not Undefined
                    )
                    if optional and get_named_type(input_field.type).name == "ID":
                        yield f"{named.name}.{field_name}", operation
            elif not isinstance(argument.type, GraphQLNonNull) and named.name == "ID":
                yield f"Mutation.{operation}.{name}", operation


# --- Selections ---------------------------------------------------------------------------


def _leaves(graphql_type: GraphQLObjectType) -> list[str]:
    """Its scalar fields without required arguments, aliased per type (union members may
    have fields of one name and different types)."""
    return [
        f"{graphql_type.name}_{name}: {name}"
        for name, graphql_field in sorted(graphql_type.fields.items())
        if is_leaf_type(get_named_type(graphql_field.type))
        and not any(isinstance(arg.type, GraphQLNonNull) for arg in graphql_field.args.values())
    ]


def _object_selection(graphql_type: GraphQLObjectType, budget: int) -> str:
    """Its scalar fields, and `walk_selection`'s ids and relations below it."""
    walked = walk_selection(graphql_type, budget, frozenset({graphql_type.name}))
    return " ".join([*_leaves(graphql_type), walked])


def selection(graphql_type: GraphQLNamedType, schema: GraphQLSchema, budget: int) -> str:
    """What to select below a root field or a payload of type `graphql_type`."""
    if isinstance(graphql_type, GraphQLUnionType | GraphQLInterfaceType):
        members = (
            graphql_type.types
            if isinstance(graphql_type, GraphQLUnionType)
            else schema.get_possible_types(graphql_type)
        )
        fragments = [f"... on {m.name} {{ {_object_selection(m, budget)} }}" for m in members]
        return " ".join(["__typename", *fragments])
    if isinstance(graphql_type, GraphQLObjectType):
        if graphql_type.name.endswith("Connection"):
            inner = selection(_node_of(graphql_type), schema, budget - 3)
            return f"totalCount edges {{ node {{ {inner} }} }}"
        return _object_selection(graphql_type, budget)
    return ""


def _node_of(connection: GraphQLObjectType) -> GraphQLObjectType:
    edge = get_named_type(connection.fields["edges"].type)
    assert isinstance(edge, GraphQLObjectType)
    node = get_named_type(edge.fields["node"].type)
    assert isinstance(node, GraphQLObjectType)
    return node


def operation_text(
    kind: str, name: str, graphql_field: GraphQLField, values: dict[str, Any], body: str
) -> str:
    declared = ", ".join(f"${arg}: {graphql_field.args[arg].type}" for arg in values)
    passed = ", ".join(f"{arg}: ${arg}" for arg in values)
    head = f"{kind}({declared})" if declared else kind
    call = f"{name}({passed})" if passed else name
    return f"{head} {{ {call} {{ {body} }} }}" if body else f"{head} {{ {call} }}"


# --- Running ------------------------------------------------------------------------------

# Strings of the victim no attacker may read anywhere (the installer sees Anna's name
# and address, not her email).
MARKERS = ("anna.becker@example.org",)
UUID_PATTERN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _global_id(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        type_name, node_id = relay.from_base64(value)
        uuid.UUID(node_id)
    except ValueError:
        return False
    return type_name in NODE_TYPES_BY_NAME


def _ids_for_collect(data: Any) -> Any:
    """`data` as `collect_ids` reads it: without `id` values that are not global IDs (an
    AuditEvent's is a bare UUID), and with global IDs under other names (`subjectId`,
    `deletedId`) as `{"id": ...}`."""
    if isinstance(data, dict):
        kept = {}
        for key, value in data.items():
            if key == "id" and not _global_id(value):
                continue
            kept[key] = value if key == "id" else _ids_for_collect(value)
        return kept
    if isinstance(data, list):
        return [_ids_for_collect(item) for item in data]
    return {"id": data} if _global_id(data) else data


def leaked(data: Any, forbidden: Rows, secret_ids: set[uuid.UUID]) -> list[str]:
    """Victim rows in an answer: by global ID, or as a bare UUID anywhere in it."""
    found = collect_ids(_ids_for_collect(data))
    by_id = [
        f"{name} {row_id}"
        for name, ids in sorted(found.items())
        for row_id in sorted(ids & forbidden.get(name, set()))
    ]
    text = json.dumps(data, default=str)
    bare = [
        f"uuid {u}" for u in sorted(set(UUID_PATTERN.findall(text))) if uuid.UUID(u) in secret_ids
    ]
    return by_id + bare + [f"text {m!r}" for m in MARKERS if m in text]


@dataclass
class Outcome:
    data: dict[str, Any] | None
    errors: list[Any]

    def unexpected_errors(self) -> list[str]:
        return [
            f"{(e.extensions or {}).get('code')}: {e.message} at {e.path}"
            for e in self.errors
            if (e.extensions or {}).get("code") not in REFUSAL_CODES
        ]


@dataclass
class Sweep:
    connection: AsyncConnection
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    tokens: TokenService
    storage: documents.DocumentStorage  # uploads and deletions touch only this
    schema: strawberry.Schema = field(init=False)
    actors: dict[str, Actor] = field(default_factory=lambda: dict(ACTORS))

    def __post_init__(self) -> None:
        self.schema = unlimited_schema(self.settings)

    async def run(
        self, text: str, actor: str, variables: dict[str, Any], victim: Victim | None = None
    ) -> tuple[Outcome, list[str], list[str]]:
        """Runs `text` as `actor` in a savepoint that is rolled back; with `victim`, also
        returns the victim rows it changed and those it added."""
        savepoint = await self.connection.begin_nested()
        try:
            async with self.sessions() as session:
                context = Context(
                    sessions=RequestSession.given(session),
                    actor=self.actors[actor],
                    settings=self.settings,
                    tokens=self.tokens,
                    document_storage=self.storage,
                )
                result = await self.schema.execute(
                    text, variable_values=variables, context_value=context
                )
            changed, added = ([], []) if victim is None else await victim.changes(self.connection)
        finally:
            await savepoint.rollback()
        return Outcome(result.data, list(result.errors or [])), changed, added


@dataclass(frozen=True)
class Credentials:
    """What a caller types into credential fields: its own email and password and the
    refresh token of its session (anonymous callers: an address nobody has)."""

    email: str
    password: str
    refresh_token: str


async def log_in(sweep: Sweep) -> dict[str, Credentials]:
    """Gives every demo actor a session, as a login would (`logout` needs one), and
    returns what each caller knows."""
    logins: dict[uuid.UUID | None, demo.DemoLogin] = {}
    for login in demo.LOGINS:
        if login.portal is None:
            subject = demo.demo_id(f"staff:{login.email}")
        else:
            portal = demo.demo_id(f"portal:{login.portal}")
            subject = demo.demo_id(f"portal-user:{portal}:{login.email}")
        logins[subject] = login
    credentials = {}
    policy = identity_config(sweep.settings).sessions
    async with sweep.sessions() as db:
        for name, actor in ACTORS.items():
            known = logins.get(actor.subject_id)
            if known is None:
                assert actor.role is Role.ANONYMOUS, name
                stranger = Credentials("sweep.stranger@example.org", STRINGS["newPassword"], SWEEP)
                credentials[name] = stranger
                continue
            started, refresh = await auth_sessions.start(
                db, actor, policy=policy, origin=audit.Origin(), now=datetime.now(UTC)
            )
            sweep.actors[name] = started
            credentials[name] = Credentials(known.email, known.password, refresh or SWEEP)
        await db.commit()
    return credentials


def rightful_caller(graphql_field: GraphQLField) -> str:
    """Who may call a mutation on the victim's rows: Anna for what customers (or anybody)
    may call, the Musterstadt admin for staff-only mutations."""
    definition = graphql_field.extensions["strawberry-definition"]
    roles = declared_roles(definition)
    return "customer" if roles is None or Role.CUSTOMER in roles else "admin"


def refusal_types(graphql_schema: GraphQLSchema) -> frozenset[str]:
    """Payload types that say no (MutationError, LoginError, ...Refused)."""
    return frozenset(
        name
        for name in graphql_schema.type_map
        if name.endswith("Error") or name.endswith("Refused")
    )


@dataclass
class Campaign:
    """One sweep: the ground truth, the victims' rows and fingerprints, the tallies."""

    sweep: Sweep
    node_types: list[str]
    credentials: dict[str, Credentials]
    forbidden: dict[str, Rows]  # attacker -> rows it must not see
    secret: dict[str, set[uuid.UUID]]  # attacker -> ids it must not meet, even bare
    victim_ids: dict[str, uuid.UUID]  # node type -> the victim row arguments aim at
    targets: dict[str, Victim]  # attacker -> its victim's rows
    optional_ids: dict[str, list[str]]  # mutation -> its optional ID arguments and fields
    keys: Iterator[int] = field(default_factory=lambda: iter(range(1_000_000)))
    operations: int = 0  # attackers' runs
    calibrations: int = 0  # rightful callers' runs
    problems: list[str] = field(default_factory=list)  # boundaries crossed
    errors: list[str] = field(default_factory=list)  # internal errors, unexpected codes
    tried: dict[str, set[str]] = field(default_factory=lambda: collections.defaultdict(set))
    revealing: set[str] = field(default_factory=set)  # query fields answering victim rows
    accepted: dict[str, str] = field(default_factory=dict)  # mutation -> variant
    refused: dict[str, str] = field(default_factory=dict)  # mutation -> why
    noticed: set[str] = field(default_factory=set)  # accepted, and the fingerprint saw it
    answers: collections.Counter[str] = field(default_factory=collections.Counter)
    done: collections.Counter[str] = field(default_factory=collections.Counter)

    @classmethod
    async def prepare(cls, sweep: Sweep) -> Campaign:
        node_types = node_type_names(sweep.schema._schema)
        credentials = await log_in(sweep)
        async with sweep.sessions() as truth:
            forbidden = await forbidden_rows(truth)
            victim_ids = await victim_rows(truth, node_types)
            await give_anna_what_the_demo_lacks(truth, victim_ids)
            everything = await organization_row_ids(truth, MUSTERSTADT)
        targets = victims()
        for victim in {id(v): v for v in targets.values()}.values():
            await victim.remember(sweep.connection)
        sent = set(victim_ids.values())  # attackers know these; no other may show up
        secret = {
            attacker: {row_id for ids in rows.values() for row_id in ids} - sent
            for attacker, rows in forbidden.items()
        }
        # Other organizations may meet no id of Musterstadt's, of any table (audit
        # events, templates, versions, ...); anonymous callers its active portals'.
        secret["other_admin"] = secret["other_org_customer"] = everything - sent
        secret["anonymous"] = everything - sent - forbidden["other_admin"]["Portal"]
        optional_ids: dict[str, list[str]] = collections.defaultdict(list)
        for key, operation in optional_id_fields(sweep.schema._schema):
            optional_ids[operation].append(key)
        return cls(
            sweep, node_types, credentials, forbidden, secret, victim_ids, targets, optional_ids
        )

    def roots(self) -> tuple[GraphQLObjectType, GraphQLObjectType]:
        """The schema's Query and Mutation types."""
        graphql_schema = self.sweep.schema._schema
        query_type, mutation_type = graphql_schema.query_type, graphql_schema.mutation_type
        assert query_type is not None
        assert mutation_type is not None
        return query_type, mutation_type

    def untried(self) -> Feature:
        """What no feature has swept yet: operations in no feature (or deselected)."""
        query_type, mutation_type = self.roots()
        return Feature(
            queries=set(query_type.fields) - self.tried["query"],
            nodes=set(self.node_types) - self.tried["node"],
            mutations=set(mutation_type.fields) - self.tried["mutation"],
        )

    async def sweep_feature(self, feature: Feature) -> tuple[list[str], list[str]]:
        """Its query fields (by name), node types and mutations (by name) not swept yet;
        then checks that the victims' rows are as they were. Returns the boundaries they
        crossed and their unexpected errors (also in `problems` and `errors`)."""
        problems, errors = len(self.problems), len(self.errors)
        query_type, mutation_type = self.roots()
        for name in sorted(feature.queries & set(query_type.fields) - self.tried["query"]):
            await self.query(name, query_type.fields[name])
        for name in self.node_types:
            if name in feature.nodes and name not in self.tried["node"]:
                await self.node(name)
        for name in sorted(feature.mutations & set(mutation_type.fields) - self.tried["mutation"]):
            await self.mutation(name, mutation_type.fields[name], self.optional_ids[name])
        for victim in {id(v): v for v in self.targets.values()}.values():
            assert await victim.digests(self.sweep.connection) == victim.digest, "not rolled back"
        return self.problems[problems:], self.errors[errors:]

    def summary(self) -> list[str]:
        """The figures of everything swept so far, for the terminal."""
        query_type, mutation_type = self.roots()
        queries, mutations = len(query_type.fields), len(mutation_type.fields)
        c = self
        refused = [f"{name} ({why})" for name, why in sorted(c.refused.items())]
        return [
            f"authorization sweep: {queries} query fields, {len(c.node_types)} node types,"
            f" {mutations} mutations x {len(ATTACKERS)} attackers = {c.operations} operations;"
            f" {len(c.accepted)} mutations accepted for their rightful caller with the"
            f" generated input; {len(c.problems)} crossed a boundary;"
            f" {len(c.errors)} internal errors",
            f"  rightful callers: {c.calibrations} runs; {len(c.revealing)} of {queries} query"
            f" fields answer them victim rows"
            f" (not: {_names(set(query_type.fields) - c.revealing)});"
            f" the fingerprint saw {len(c.noticed)} of the {len(c.accepted)} accepted mutations"
            f" change the victim (not: {_names(set(c.accepted) - c.noticed)})",
            f"  not accepted for their rightful caller: {', '.join(refused)}",
            "  attackers' mutations: "
            + ", ".join(f"{count} {answer}" for answer, count in sorted(c.answers.items()))
            + f" (on their own rows: {', '.join(f'{n} x{k}' for n, k in sorted(c.done.items()))})",
        ]

    def arguments(self, caller: str, variant: str = "full") -> Arguments:
        credentials = self.credentials[caller]
        return Arguments(self.victim_ids, self.node_types, credentials, self.keys, variant)

    def rightful(self, caller: str, outcome: Outcome, what: str) -> None:
        self.calibrations += 1
        self.errors += [f"{what} as {caller}: {e}" for e in outcome.unexpected_errors()]

    def check(self, what: str, attacker: str, outcome: Outcome, public: bool = False) -> None:
        """No unexpected error and no victim row in an attacker's answer."""
        self.operations += 1
        self.errors += [f"{what} as {attacker}: {e}" for e in outcome.unexpected_errors()]
        rows = self.forbidden[attacker]
        if public:  # what anonymous callers may see, anybody may
            anonymous = self.forbidden["anonymous"]
            rows = {name: ids & anonymous.get(name, set()) for name, ids in rows.items()}
        found = leaked(outcome.data, rows, self.secret[attacker])
        self.problems += [f"{what} as {attacker} answers {row}" for row in found]

    async def query(self, name: str, graphql_field: GraphQLField) -> None:
        """A root query field with every argument aimed at victim rows, and with only the
        required and ID arguments (a filter a role may not use must not hide the rest);
        as Musterstadt's admin and Anna where allowed (do they get victim rows?), then as
        every attacker."""
        graphql_schema = self.sweep.schema._schema
        body = selection(get_named_type(graphql_field.type), graphql_schema, QUERY_BUDGET)
        roles = declared_roles(graphql_field.extensions["strawberry-definition"])
        callers = [c for c in ("admin", "customer") if roles is None or ACTORS[c].role in roles]
        for variant in QUERY_VARIANTS:
            values = self.arguments("admin", variant).of_field(graphql_field, "Query", name)
            text = operation_text("query", name, graphql_field, values, body)
            for caller in callers:
                own = self.forbidden["other_customer" if caller == "customer" else "other_admin"]
                values = self.arguments(caller, variant).of_field(graphql_field, "Query", name)
                outcome, _, _ = await self.sweep.run(text, caller, values)
                self.rightful(caller, outcome, f"query {name}")
                if leaked(outcome.data, own, {i for ids in own.values() for i in ids}):
                    self.revealing.add(name)
            for attacker in ATTACKERS:
                values = self.arguments(attacker, variant).of_field(graphql_field, "Query", name)
                outcome, _, _ = await self.sweep.run(text, attacker, values)
                self.check(f"query {name} ({variant})", attacker, outcome, name in PUBLIC_ANSWERS)
        self.tried["query"].add(name)

    async def node(self, name: str) -> None:
        """`node(id:)` of the victim row of a node type: there for Musterstadt's admin (the
        IDs are real), null for every attacker that may not see it."""
        variables = {"id": global_id(name, self.victim_ids[name])}
        text = "query($id: ID!) { node(id: $id) { __typename id } }"
        outcome, _, _ = await self.sweep.run(text, "admin", variables)
        assert outcome.data == {"node": {"__typename": name, "id": variables["id"]}}, name
        for attacker in ATTACKERS:
            if self.victim_ids[name] not in self.forbidden[attacker].get(name, set()):
                continue  # the installer sees Anna's contact; anybody active portals
            outcome, _, _ = await self.sweep.run(text, attacker, variables)
            self.check(f"node {name}", attacker, outcome)
            if outcome.data != {"node": None}:
                self.problems.append(f"node {name} as {attacker}: {outcome.data}")
        self.tried["node"].add(name)

    async def mutation(
        self, name: str, graphql_field: GraphQLField, optional_ids: list[str]
    ) -> None:
        """A mutation as its rightful caller, input variant after variant until one is
        accepted; then as every attacker with that input, the full one, and the required
        one with each optional ID alone (a victim's contract, no contact named)."""
        graphql_schema = self.sweep.schema._schema
        refusals = refusal_types(graphql_schema)
        body = selection(get_named_type(graphql_field.type), graphql_schema, PAYLOAD_BUDGET)
        caller = rightful_caller(graphql_field)
        # Anna's rows for Anna, the organization's for the admin: the fingerprint must
        # notice what the rightful caller changes.
        own = self.targets["other_customer" if caller == "customer" else "other_admin"]
        reasons: list[str] = []
        state = None  # how the full input was refused for the rightful caller, if it was
        chosen = "full"
        for variant in VARIANTS:
            values = self.arguments(caller, variant).of_field(graphql_field, "Mutation", name)
            text = operation_text("mutation", name, graphql_field, values, body)
            outcome, changed, added = await self.sweep.run(text, caller, values, own)
            self.rightful(caller, outcome, f"mutation {name}")
            refusal = _refusal(name, outcome, refusals)
            state = refusal if variant == "full" else state
            verdict = _verdict(name, outcome, refusals)
            if verdict is None:
                self.accepted[name], chosen = variant, variant
                if changed or added:
                    self.noticed.add(name)
                break
            reason = str((refusal or {}).get("code") or (refusal or {}).get("reason") or verdict)
            reasons += [reason] if reason not in reasons else []
        else:
            self.refused[name] = f"{caller}: {'/'.join(reasons)}"
        public = declared_roles(graphql_field.extensions["strawberry-definition"]) is None
        variants = dict.fromkeys([chosen, "full", *(f"required+{k}" for k in optional_ids)])
        for variant in variants:
            for attacker in ATTACKERS:
                values = self.arguments(attacker, variant).of_field(graphql_field, "Mutation", name)
                text = operation_text("mutation", name, graphql_field, values, body)
                victim = self.targets[attacker]
                outcome, changed, added = await self.sweep.run(text, attacker, values, victim)
                what = f"mutation {name} ({variant})"
                self.check(what, attacker, outcome)
                self.problems += [f"{what} as {attacker} changed {row}" for row in changed]
                if not public:
                    self.problems += [f"{what} as {attacker} added {row}" for row in added]
                if variant == "full" and state and _refusal(name, outcome, refusals) == state:
                    self.oracle(name, what, attacker, state)
                answer = _answer(name, outcome, refusals)
                self.answers[answer] += 1
                if answer == "accepted":
                    self.done[name] += 1
        self.tried["mutation"].add(name)

    def oracle(self, name: str, what: str, attacker: str, state: dict[str, Any]) -> None:
        """An attacker refused exactly like the rightful caller, for the state of a victim
        row it may not see: the resolver looked at the row before asking who asks."""
        target = id_target(str(state.get("field")).split(".")[-1], name, self.node_types)
        if target and self.victim_ids[target] in self.forbidden[attacker].get(target, set()):
            self.problems.append(f"{what} as {attacker} is refused like its owner: {state}")


def _names(entries: set[str]) -> str:
    return ", ".join(sorted(entries)) or "none"


def _answer(name: str, outcome: Outcome, refusals: frozenset[str]) -> str:
    """How an attacker's mutation was answered."""
    codes = {(e.extensions or {}).get("code") for e in outcome.errors if e.path == [name]}
    if codes & {"FORBIDDEN", "UNAUTHENTICATED"}:
        return "refused by role"
    if _verdict(name, outcome, refusals) is not None:
        return "refused by the resolver"
    return "accepted"


def _refusal(name: str, outcome: Outcome, refusals: frozenset[str]) -> dict[str, Any] | None:
    """A typed refusal's type, code, message, field and reason (its fields are selected
    as `<Type>_<field>`), or None."""
    payload = (outcome.data or {}).get(name)
    if not isinstance(payload, dict) or payload.get("__typename") not in refusals:
        return None
    detail = {"type": payload["__typename"]}
    for key, value in payload.items():
        field_name = key.partition("_")[2]
        if field_name in ("code", "message", "field", "reason"):
            detail[field_name] = value
    return detail


def _verdict(name: str, outcome: Outcome, refusals: frozenset[str]) -> str | None:
    """None when the mutation was accepted, else why not."""
    root_errors = [e for e in outcome.errors if list(e.path or []) == [name]]
    if root_errors:
        return "; ".join(f"{(e.extensions or {}).get('code')}: {e.message}" for e in root_errors)
    if (outcome.data or {}).get(name) is None:
        return "null"
    refusal = _refusal(name, outcome, refusals)
    return None if refusal is None else " ".join(f"{v}" for v in refusal.values())
