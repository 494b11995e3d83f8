"""Row visibility: the only place that decides which rows an actor may see.

Every loader and every list query filters through `visible(model, actor)`. Staff see
their organization; customers their assigned contact and what hangs off it, narrowed
by the visibility criteria of their permission group (contract statuses: hidden
contracts hide their meters, readings, payments, prices, orders and documents too; document
types);
installers
the orders assigned to their partner contact, the meters of those orders and the
customers of those orders (names and addresses only: fields decide the columns);
portal users see processes (and their steps) of their own records only in the kinds
and steps their portal shares;
anonymous callers see active portals and nothing else (`public_portals`: a portal's
configuration is its organization's until it goes online). Tile rows are the draft (staff
only); portal users see the published version's snapshot of them. Tenant isolation is
the first conjunct of every filter, for every role.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from db import models
from db.models.enums import Grant
from db.raw import Prepared, built, column_attributes
from gql.auth.actor import Actor, Role
from gql.domain import session_check
from gql.domain.errors import NotFound

Filter = ColumnElement[bool]
Row = TypeVar("Row")


def public_portals() -> Filter:
    """Portals anybody may see, also without logging in: the active ones. A draft or an
    offline portal shows only to its organization's staff."""
    return models.Portal.status == models.PortalStatus.ACTIVE


def _own_portal(actor: Actor) -> Filter:
    """A portal user's own portal, while it is public: the user of one portal sees no
    other, and no draft (its sessions end when it goes offline; this holds even for a
    token issued before)."""
    return sa.and_(models.Portal.id == actor.portal_id, public_portals())


def _own_contract(actor: Actor) -> Filter:
    """The customer's contracts, narrowed by the group's contract statuses if it has some."""
    condition = models.Contract.contact_id == actor.contact_id
    statuses = actor.visibility.contract_statuses
    if statuses is not None:
        condition = sa.and_(condition, models.Contract.status.in_(sorted(statuses)))
    return condition


def _customer_contracts(actor: Actor) -> sa.Select[Any]:
    return sa.select(models.Contract.id).where(
        models.Contract.organization_id == actor.organization_id, _own_contract(actor)
    )


def _own_document(actor: Actor) -> Filter:
    """The customer's documents, without those of hidden contracts, narrowed by the
    group's document types if it has some."""
    document = models.Document
    condition = sa.and_(
        document.contact_id == actor.contact_id,
        sa.or_(
            document.contract_id.is_(None), document.contract_id.in_(_customer_contracts(actor))
        ),
    )
    types = actor.visibility.document_types
    if types is not None:
        condition = sa.and_(condition, document.type.in_(sorted(types)))
    return condition


def _own_order(actor: Actor) -> Filter:
    """The customer's orders (offers too), without those of hidden contracts."""
    order = models.Order
    return sa.and_(
        order.contact_id == actor.contact_id,
        sa.or_(order.contract_id.is_(None), order.contract_id.in_(_customer_contracts(actor))),
    )


def _own_meter(actor: Actor) -> Filter:
    """The meters of the customer's contracts (those the group shows), by the meter's
    own contract: a meter row is tested itself, not its id looked up among the ids of a
    second scan of the meters."""
    return models.Meter.contract_id.in_(_customer_contracts(actor))


def _customer_meters(actor: Actor) -> sa.Select[Any]:
    return sa.select(models.Meter.id).where(
        models.Meter.organization_id == actor.organization_id, _own_meter(actor)
    )


def _installer_orders(actor: Actor) -> Filter:
    return models.Order.partner_contact_id == actor.contact_id


def _installer_meters(actor: Actor) -> sa.Select[Any]:
    return sa.select(models.Order.meter_id).where(
        models.Order.organization_id == actor.organization_id,
        _installer_orders(actor),
        models.Order.meter_id.is_not(None),
    )


def _sharing(actor: Actor, kind: Any) -> tuple[Any, list[Filter]]:
    """The entries of the actor's portal's live settings (`PortalSettings.processes`,
    published, else the draft) and the conditions that pick the one sharing processes
    of `kind`: the one place that reads the sharing in SQL, so lists, `node`, loaders
    and plans agree."""
    portal = models.Portal
    live = sa.func.coalesce(
        sa.type_coerce(portal.published_settings, JSONB),
        sa.type_coerce(portal.draft_settings, JSONB),
    )
    entry = (
        sa.func.jsonb_array_elements(live["processes"])
        .table_valued(sa.column("value", JSONB), joins_implicitly=True)
        .alias("shared")
    )
    return entry, [portal.id == actor.portal_id, entry.c.value["kind"].astext == kind]


def _shared(actor: Actor, kind: Any, step_key: Any = None) -> Filter:
    """Processes of `kind` (and, given, their step `step_key`) are among those the
    actor's portal shares."""
    portal = models.Portal
    entry, conditions = _sharing(actor, kind)
    if step_key is not None:
        steps = entry.c.value["steps"]
        conditions.append(
            sa.or_(
                sa.func.jsonb_typeof(steps).is_distinct_from("array"),
                steps.op("?")(step_key),
            )
        )
    # Everything else (the process, the step) is the enclosing query's row.
    return sa.exists(
        sa.select(1).select_from(portal, entry).where(*conditions).correlate_except(portal, entry)
    )


def sharing(actor: Actor, kind: Any) -> Any:
    """How the portal the actor sees shares processes of `kind`, in SQL: its entry
    (JSONB, a `SharedProcess`) as `Portal.live_settings.shared_process(kind)` reads it
    on the portal the actor's loaders give; null when it shares none."""
    portal = models.Portal
    entry, conditions = _sharing(actor, kind)
    return (
        sa.select(entry.c.value)
        .select_from(portal, entry)
        .where(*conditions, visible(portal, actor))
        .correlate_except(portal, entry)
        .limit(1)
        .scalar_subquery()
    )


def _customer_processes(actor: Actor) -> Filter:
    return models.Process.contact_id == actor.contact_id


def _installer_processes(actor: Actor) -> Filter:
    orders = sa.select(models.Order.id).where(
        models.Order.organization_id == actor.organization_id, _installer_orders(actor)
    )
    return models.Process.order_id.in_(orders)


def _shared_processes(parents: Callable[[Actor], Filter]) -> Callable[[Actor], Filter]:
    """The processes of the actor's records (`parents`) in the kinds its portal shares."""
    return lambda actor: sa.and_(parents(actor), _shared(actor, models.Process.kind))


def _shared_steps(parents: Callable[[Actor], Filter]) -> Callable[[Actor], Filter]:
    """The steps the portal shares of those processes."""
    process, step = models.Process, models.ProcessStep
    return lambda actor: sa.exists(
        sa.select(1).where(
            process.id == step.process_id,
            process.organization_id == actor.organization_id,
            parents(actor),
            _shared(actor, process.kind, step.key),
        )
    )


def _meters(actor: Actor) -> sa.Select[Any]:
    return _customer_meters(actor) if actor.role is Role.CUSTOMER else _installer_meters(actor)


def _portal_user_rules() -> dict[type[Any], Callable[[Actor], Filter]]:
    """Rows a portal user (customer or installer) sees besides the role-specific ones."""
    return {
        models.Portal: _own_portal,
        # Tile rows are the draft (staff only); portal users see the published snapshot.
        models.PortalVersion: lambda a: sa.and_(
            models.PortalVersion.portal_id == a.portal_id,
            models.PortalVersion.version
            == sa.select(models.Portal.published_version)
            .where(models.Portal.id == a.portal_id)
            .scalar_subquery(),
        ),
        models.PortalUser: lambda a: models.PortalUser.id == a.subject_id,
        models.PermissionGroup: lambda a: models.PermissionGroup.id.in_(
            sa.select(models.PortalUser.permission_group_id).where(
                models.PortalUser.id == a.subject_id
            )
        ),
        models.MeterRegister: lambda a: models.MeterRegister.meter_id.in_(_meters(a)),
        models.MeterReading: lambda a: models.MeterReading.meter_id.in_(_meters(a)),
    }


CUSTOMER_RULES: dict[type[Any], Callable[[Actor], Filter]] = {
    **_portal_user_rules(),
    models.Contact: lambda a: models.Contact.id == a.contact_id,
    models.Contract: _own_contract,
    models.Meter: _own_meter,
    models.Order: _own_order,
    models.OrderLineItem: lambda a: models.OrderLineItem.order_id.in_(
        sa.select(models.Order.id).where(
            models.Order.organization_id == a.organization_id, _own_order(a)
        )
    ),
    models.Opportunity: lambda a: models.Opportunity.contact_id == a.contact_id,
    models.Document: _own_document,
    models.Payment: lambda a: models.Payment.contract_id.in_(_customer_contracts(a)),
    models.ContractPrice: lambda a: models.ContractPrice.contract_id.in_(_customer_contracts(a)),
    models.ChangeRequest: lambda a: models.ChangeRequest.contact_id == a.contact_id,
    models.Process: _shared_processes(_customer_processes),
    models.ProcessStep: _shared_steps(_customer_processes),
}


def _partner_users(actor: Actor) -> Filter:
    """An installer sees their own login; the partner's admin (grant
    partner_users:manage) also those of their colleagues: the logins of the same
    partner contact on the same portal, and no other company's."""
    user = models.PortalUser
    own: Filter = user.id == actor.subject_id
    if not actor.may(Grant.PARTNER_USERS_MANAGE):
        return own
    return sa.or_(
        own, sa.and_(user.portal_id == actor.portal_id, user.contact_id == actor.contact_id)
    )


INSTALLER_RULES: dict[type[Any], Callable[[Actor], Filter]] = {
    **_portal_user_rules(),
    models.PortalUser: _partner_users,
    models.Contact: lambda a: sa.or_(
        models.Contact.id == a.contact_id,
        models.Contact.id.in_(
            sa.select(models.Order.contact_id).where(
                models.Order.organization_id == a.organization_id, _installer_orders(a)
            )
        ),
    ),
    models.Order: _installer_orders,
    models.Meter: lambda a: models.Meter.id.in_(_installer_meters(a)),
    models.Process: _shared_processes(_installer_processes),
    models.ProcessStep: _shared_steps(_installer_processes),
}


def visible(model: Any, actor: Actor) -> Filter:
    """The WHERE clause of the rows of `model` that `actor` may see."""
    if actor.role is Role.ANONYMOUS or actor.organization_id is None:
        return public_portals() if model is models.Portal else sa.false()
    tenant: Filter = model.organization_id == actor.organization_id
    if actor.is_staff:
        return tenant
    if actor.contact_id is None:
        # An unassigned portal user sees nothing of the CRM (GDPR: no known contact).
        rules = {k: v for k, v in _portal_user_rules().items() if k in PORTAL_ONLY}
    else:
        rules = CUSTOMER_RULES if actor.role is Role.CUSTOMER else INSTALLER_RULES
    rule = rules.get(model)
    if rule is None:
        return sa.false()
    return sa.and_(tenant, rule(actor))


# Children whose rule is exactly "the row it belongs to is visible", for every role:
# a meter is a customer's when its contract is (an installer's when an order of the
# partner names it, and installers see no contracts), a register and a reading when
# their meter is, and so a reading when its register is (the register is one of the
# reading's meter: the foreign key (register_id, meter_id) says so), a payment and a
# price when their contract is (installers see neither). Reached from a visible parent
# row through that foreign key, only the tenant is left to check.
# tests/http/test_query_plans.py checks the equivalence on the demo world.
IMPLIED_BY_PARENT: frozenset[tuple[type[Any], type[Any]]] = frozenset(
    {
        (models.Meter, models.Contract),
        (models.MeterRegister, models.Meter),
        (models.MeterReading, models.Meter),
        (models.MeterReading, models.MeterRegister),
        (models.Payment, models.Contract),
        (models.ContractPrice, models.Contract),
    }
)


def visible_below(model: Any, parent: Any, actor: Actor) -> Filter:
    """The rows of `model` that `actor` may see among those that belong to a row of
    `parent` the actor may see (the caller joins them by the foreign key)."""
    signed_in = actor.role is not Role.ANONYMOUS and actor.organization_id is not None
    if signed_in and (model, parent) in IMPLIED_BY_PARENT:
        tenant: Filter = model.organization_id == actor.organization_id
        return tenant
    return visible(model, actor)


PORTAL_ONLY = frozenset(
    {models.Portal, models.PortalVersion, models.PortalUser, models.PermissionGroup}
)


async def one_visible(
    db: AsyncSession,
    model: type[Row],
    row_id: uuid.UUID | None,
    actor: Actor,
    *,
    lock: bool = False,
) -> Row | None:
    """The row of `model` with `row_id` if `actor` may see it (locked for update if
    asked), else None: how services find what they are told to change."""
    table: Any = model
    statement = sa.select(model).where(table.id == row_id, visible(model, actor))
    return await db.scalar(statement.with_for_update() if lock else statement)


async def find_visible(
    db: AsyncSession,
    model: type[Row],
    row_id: uuid.UUID | None,
    actor: Actor,
    *,
    what: str,
    field: str,
    lock: bool = False,
) -> Row:
    """`one_visible`, for the row a service is told to change: a row the actor may not
    see is refused exactly like one that does not exist (NotFound naming the input)."""
    row = await one_visible(db, model, row_id, actor, lock=lock)
    if row is None:
        raise NotFound("not_found", field=field, parameters={"what": what})
    return row


# --- Statements compiled once per kind of caller --------------------------------------------


def symbolic(actor: Actor) -> Actor:
    """The actor with its ids as statement parameters (`actor_values` fills them in):
    a statement built for it serves every caller of the same `shape_of`."""

    def parameter(value: uuid.UUID | None, name: str) -> Any:
        return None if value is None else sa.bindparam(name, type_=sa.Uuid, required=False)

    group: Any = sa.bindparam("actor_group", type_=sa.Uuid, required=False)
    return replace(
        actor,
        organization_id=parameter(actor.organization_id, "actor_organization"),
        contact_id=parameter(actor.contact_id, "actor_contact"),
        subject_id=parameter(actor.subject_id, "actor_subject"),
        portal_id=parameter(actor.portal_id, "actor_portal"),
        permission_group_id=group,
    )


def actor_values(actor: Actor) -> Mapping[str, Any]:
    """The parameters of `symbolic`, for this actor."""
    return {
        "actor_organization": actor.organization_id,
        "actor_contact": actor.contact_id,
        "actor_subject": actor.subject_id,
        "actor_portal": actor.portal_id,
        "actor_group": actor.permission_group_id,
    }


def shape_of(actor: Actor) -> tuple[Any, ...]:
    """What a statement built for `symbolic(actor)` depends on: everything but the ids."""
    return (
        actor.role,
        actor.is_impersonated,
        actor.organization_id is None,
        actor.contact_id is None,
        actor.subject_id is None,
        actor.portal_id is None,
        actor.grants,
        actor.visibility,
    )


class PerShape:
    """Statements compiled once per kind of caller (`shape_of`), built by `build` from
    the symbolic actor: what a mutation runs on every request costs its execution, not
    its construction. Bounded: a few shapes per organization's permission groups."""

    def __init__(self, build: Callable[[Actor], Any], *, write: bool = False, size: int = 256):
        self.build = build
        self.write = write
        self.size = size
        self._compiled: dict[tuple[Any, ...], Prepared] = {}

    def of(self, actor: Actor) -> Prepared:
        key = shape_of(actor)
        found = self._compiled.get(key)
        if found is None:
            if len(self._compiled) >= self.size:
                self._compiled.clear()
            found = self._compiled[key] = Prepared(self.build(symbolic(actor)), write=self.write)
        return found

    async def fetchone(
        self, db: AsyncSession, actor: Actor, **values: Any
    ) -> dict[str, Any] | None:
        """The statement's row for `actor` with `values`, by column key, or None."""
        return await self.of(actor).fetchone(db, **actor_values(actor), **values)


# Columns a statement reads beside the row it locks (`locked_with`), built from the
# symbolic actor and the locked row's columns (a derived table's `.c`): labelled scalar
# subqueries, evaluated once the row is locked.
Facts = Callable[[Actor, Any], Sequence[ColumnElement[Any]]]

_LOCKED: dict[tuple[Any, bool, Facts | None], PerShape] = {}
# Whether the locked row is the version the statement's snapshot sees (`locked_with`).
_CURRENT = "locked_row_current"


class OneVisible:
    """A statement about one row the caller may see (`row_id`; the row's `id` among its
    columns), built by `build` from the symbolic actor and compiled once per kind of
    caller: alone, and behind a portal user's session check waiting to ride
    (gql/domain/session_check.py), as the first statement of a mutation's work."""

    def __init__(self, build: Callable[[Actor], sa.Select[Any]], *, write: bool = False):
        self.alone = PerShape(build, write=write)
        self.checked = PerShape(lambda actor: session_check.behind_check(build(actor)), write=write)

    async def fetchone(
        self, db: AsyncSession, actor: Actor, row_id: uuid.UUID, **values: Any
    ) -> dict[str, Any] | None:
        """The statement's row by column key, or None when no such row is visible.

        Raises:
            CheckSaidOtherwise: the riding check found the session ended or changed.
        """
        check = session_check.take(db)
        if check is None:
            return await self.alone.fetchone(db, actor, row_id=row_id, **values)
        prepared = self.checked.of(actor)
        row = await prepared.fetchrow(
            db, **actor_values(actor), **check.parameters(), row_id=row_id, **values
        )
        found = session_check.settled(check, row, prepared.keys)
        return None if found is None else dict(zip(found[1], found[0], strict=True))


def _lock(model: Any, symbolic_actor: Actor) -> sa.Select[Any]:
    return (
        sa.select(*sa.inspect(model).local_table.columns)
        .where(model.id == sa.bindparam("row_id", type_=sa.Uuid), visible(model, symbolic_actor))
        .with_for_update()
    )


def _lock_with_facts(
    model: Any, behind_check: bool, facts: Facts | None, symbolic_actor: Actor
) -> sa.Select[Any]:
    lock = _lock(model, symbolic_actor)
    if facts is None:
        return session_check.behind_check(lock) if behind_check else lock
    table = sa.inspect(model).local_table
    # The row's version (its creating transaction) as locked: FOR UPDATE returns the
    # newest committed version, also one committed after the statement's snapshot.
    lock = lock.add_columns(sa.literal_column(f"{table.name}.xmin").label("row_version"))
    seen = table.alias("seen")

    def beside(locked: Any) -> list[Any]:
        # The version the snapshot sees: another one means a transaction that changed
        # the row committed after the snapshot, and the facts may miss what it wrote.
        snapshot_version = (
            sa.select(sa.literal_column("seen.xmin"))
            .select_from(seen)
            .where(seen.c.id == locked.c.id)
            .scalar_subquery()
        )
        current = sa.func.coalesce(locked.c.row_version == snapshot_version, sa.false())
        return [*facts(symbolic_actor, locked), current.label(_CURRENT)]

    if behind_check:
        return session_check.behind_check(lock, beside, hidden=("row_version",))
    locked = lock.subquery("locked")
    shown = [column for column in locked.c if column.key != "row_version"]
    return sa.select(*shown, *beside(locked))


def _locking(model: Any, behind_check: bool, facts: Facts | None = None) -> PerShape:
    found = _LOCKED.get((model, behind_check, facts))
    if found is None:
        build = functools.partial(_lock_with_facts, model, behind_check, facts)
        found = _LOCKED[model, behind_check, facts] = PerShape(build, write=True)
    return found


async def locked_visible(
    db: AsyncSession, model: type[Row], row_id: uuid.UUID | None, actor: Actor
) -> Row | None:
    """`one_visible(..., lock=True)` as a statement compiled once per model and kind of
    caller, run on the driver: the row locked for update, as a transient instance (not
    in the session; its changes are written with `db.raw.update`), or None. With a
    session check waiting to ride (gql/domain/session_check.py) the check runs in the
    same statement, ahead of the lock.

    Raises:
        CheckSaidOtherwise: the riding check found the session ended or changed.
    """
    found = await locked_with(db, model, row_id, actor)
    return None if found is None else found[0]


async def locked_with(
    db: AsyncSession,
    model: type[Row],
    row_id: uuid.UUID | None,
    actor: Actor,
    facts: Facts | None = None,
    **values: Any,
) -> tuple[Row, dict[str, Any] | None] | None:
    """`locked_visible`, with `facts` (its parameters `values`) read in the same
    statement once the row is locked: the row, and the facts by column key. The facts
    are None when they may be stale: the statement's snapshot was taken before a
    transaction that changed the row committed (the lock waited for it, or it
    committed in between), and what that transaction wrote beside the row (a change
    a cadence counts) is not in the snapshot; the caller then reads them in a
    statement of its own, which sees it. Every change of a row's facts is made under
    its lock and changes the row (`db.raw.Writes.update` sets its update time at
    least), so the row's version tells. None when no such row is visible.

    Raises:
        CheckSaidOtherwise: the riding check found the session ended or changed.
    """
    if row_id is None:
        return None
    check = session_check.take(db)
    prepared = _locking(model, check is not None, facts).of(actor)
    given = {**actor_values(actor), **values, "row_id": row_id}
    if check is not None:
        given.update(check.parameters())
    row = await prepared.fetchrow(db, **given)
    keys = prepared.keys
    if check is not None:
        settled = session_check.settled(check, row, keys)
        if settled is None:
            return None
        row, keys = settled
    if row is None:
        return None
    width = len(sa.inspect(model).local_table.columns)  # the row's columns, then the facts
    instance = transient(model, dict(zip(keys[:width], row[:width], strict=True)))
    if facts is None:
        return instance, None
    found = dict(zip(keys[width:], row[width:], strict=True))
    return instance, found if found.pop(_CURRENT) else None


def transient(model: type[Row], found: Mapping[str, Any]) -> Row:
    """A transient instance of `model` from its table's columns by key (other keys of
    `found` ignored), built as a loaded row is (`db.raw.built`)."""
    attributes = column_attributes(model).by_column
    return built(
        model, {attributes[key]: value for key, value in found.items() if key in attributes}
    )
