"""What customers change themselves, checked by the portal's rules (`gql.domain.rules`)
and written with an audit event that is also the history the cadence rules count."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from db import models, raw
from db.portal_settings import Rules, settings_parts
from gql.auth.actor import Actor
from gql.domain import audit, rules
from gql.domain.contact_changes import request_change
from gql.domain.errors import NotFound, RuleViolation
from gql.domain.notifications import (
    Audience,
    Notifier,
    audience_columns,
    audience_of,
    customer_change,
)
from gql.domain.scope import PerShape, locked_with

INSTALLMENT_CHANGED = "contract.installment_changed"
INSTALLMENT_INTERVAL_CHANGED = "contract.installment_interval_changed"
PAYMENT_METHOD_CHANGED = "contract.payment_method_changed"
DUE_DAY_CHANGED = "contract.due_day_changed"
# The longest cadence period is 366 days or months; older history never counts.
HISTORY = timedelta(days=366 * 31)


class RulesPortal(Protocol):
    """What `rules_portal` chooses a portal by (a row, or a portal a query plan read)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def organization_id(self) -> uuid.UUID: ...
    @property
    def type(self) -> models.PortalType: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def published_settings(self) -> object | None: ...


P = TypeVar("P", bound=RulesPortal)


def rules_portal(actor: Actor, organization_id: uuid.UUID, portals: Sequence[P]) -> P | None:
    """The portal whose rules apply to a contract the actor sees: a portal user's own;
    for staff (who answer for the portal's customers), the organization's first
    published customer portal."""
    if actor.portal_id is not None:
        return next((p for p in portals if p.id == actor.portal_id), None)
    published = [
        portal
        for portal in portals
        if portal.organization_id == organization_id
        and portal.type is models.PortalType.CUSTOMER
        and portal.published_settings is not None
    ]
    return min(published, key=lambda portal: (portal.created_at, portal.id), default=None)


def published_rules(portal: models.Portal | None) -> tuple[Rules, frozenset[str]]:
    """The rules of the portal as published, and what it requires staff approval for.

    Raises:
        RuleViolation: no portal, or not published.
    """
    if portal is None or portal.published_settings is None:
        raise RuleViolation("portal_not_published")
    settings = portal.published_settings
    return settings.rules, frozenset(settings.approval_required_attributes)


Execute = Callable[[Executable], Awaitable[Result[Any]]]


@dataclass(frozen=True)
class ContractFacts:
    """What the rules need besides the contract row and the portal's settings: the
    changes its cadences count (newest first) and the overdue sum."""

    installment_changes: list[datetime]
    installment_interval_changes: list[datetime]
    payment_method_changes: list[datetime]
    overdue: Decimal


def _changes(action: str, contract_id: Any, organization_id: Any, now: datetime) -> Any:
    event = models.AuditEvent
    # An ARRAY of the rows, not an aggregate (json_text says why): in the order of the
    # entity's index, no sort; `{}` without changes.
    newest_first = (
        sa.select(event.created_at)
        .where(
            event.organization_id == organization_id,
            event.entity_id == contract_id,
            event.action == action,
            event.created_at > now - HISTORY,
        )
        .order_by(event.created_at.desc())
        .scalar_subquery()
    )
    return sa.func.array(newest_first, type_=postgresql.ARRAY(sa.DateTime(timezone=True)))


def installment_changes(contract_id: Any, organization_id: Any, now: Any) -> Any:
    """The installment changes the cadence counts, newest first, as one array (a scalar
    subquery for the contract `contract_id`, a column or a value)."""
    return _changes(INSTALLMENT_CHANGED, contract_id, organization_id, now)


def facts_columns(contract_id: Any, organization_id: Any, now: Any) -> list[Any]:
    """The columns `facts_of` reads for the contract `contract_id` (a column or a
    value): the cadences' history and the overdue sum, as scalar subqueries."""
    payment = models.Payment
    overdue = (
        sa.select(sa.func.coalesce(sa.func.sum(payment.amount), 0))
        .where(payment.contract_id == contract_id, payment.status == models.PaymentStatus.OVERDUE)
        .scalar_subquery()
    )
    return [
        _changes(INSTALLMENT_CHANGED, contract_id, organization_id, now).label(
            "installment_changes"
        ),
        _changes(INSTALLMENT_INTERVAL_CHANGED, contract_id, organization_id, now).label(
            "installment_interval_changes"
        ),
        _changes(PAYMENT_METHOD_CHANGED, contract_id, organization_id, now).label(
            "payment_method_changes"
        ),
        overdue.label("overdue"),
    ]


def facts_of(row: Any) -> ContractFacts:
    return ContractFacts(
        installment_changes=list(row.installment_changes or ()),
        installment_interval_changes=list(row.installment_interval_changes or ()),
        payment_method_changes=list(row.payment_method_changes or ()),
        overdue=Decimal(row.overdue),
    )


async def contract_facts(
    execute: Execute, contracts: Sequence[models.Contract], now: datetime
) -> list[ContractFacts]:
    """The facts of many contracts in one statement (`facts_columns`): the mutations
    read them for one contract with their other facts (`_change`),
    `Contract.installmentRules` and its siblings for a page of them, so the check and
    the answer in advance count the same history."""
    contract = models.Contract
    rows = await execute(
        sa.select(contract.id, *facts_columns(contract.id, contract.organization_id, now)).where(
            contract.id.in_([row.id for row in contracts])
        )
    )
    found = {row.id: facts_of(row) for row in rows}
    return [found[row.id] for row in contracts]


@dataclass(frozen=True)
class Change:
    """A contract a customer changes, locked, with what its rules are checked against:
    the rules of the caller's portal as published, what that portal requires staff
    approval for, the contract's facts, and who is told (portal users' changes)."""

    contract: models.Contract
    rules: Rules
    approval: frozenset[str]
    facts: ContractFacts
    audience: Audience | None


def _change_columns(actor: Actor, contract_id: Any, organization_id: Any) -> list[Any]:
    """The columns of a `Change`'s facts for the contract `contract_id` of the
    organization `organization_id` (columns or parameters) at `facts_at` (a parameter:
    a riding session check has its own `now`), for `actor` (symbolic: built once per
    kind of caller, `scope.PerShape`)."""
    now = sa.bindparam("facts_at", type_=sa.DateTime(timezone=True))
    columns = [
        *facts_columns(contract_id, organization_id, now),
        _rules_and_approval(actor).label("published"),
    ]
    if actor.is_portal_user:
        columns += audience_columns(actor)
    return columns


def _facts_beside_lock(actor: Actor, locked: Any) -> list[Any]:
    """A `Change`'s facts read in the statement that locks the contract (`locked`)."""
    return _change_columns(actor, locked.c.id, locked.c.organization_id)


def _change_facts(actor: Actor) -> sa.Select[Any]:
    """A `Change`'s facts in a statement of their own, for the contract `contract_id`
    of the organization `organization_id` (parameters)."""
    contract_id = sa.bindparam("contract_id", type_=sa.Uuid)
    organization_id = sa.bindparam("organization_id", type_=sa.Uuid)
    return sa.select(*_change_columns(actor, contract_id, organization_id))


_CHANGE_FACTS = PerShape(_change_facts)


async def _change(
    db: AsyncSession, actor: Actor, contract_id: uuid.UUID | None, now: datetime
) -> Change:
    """The contract locked and its facts read in one statement (`scope.locked_with`),
    compiled once per kind of caller; the contract is a transient row (its change is
    written with `db.raw.Writes`). The facts must include what a concurrent change of
    the contract committed (the cadences count it): when the contract changed after
    that statement's snapshot (the lock waited for such a change), they are read again
    in a statement of their own, which sees it.

    Raises:
        NotFound: no such contract visible to the actor.
        RuleViolation: the caller's portal is missing or not published.
    """
    found = await locked_with(
        db, models.Contract, contract_id, actor, _facts_beside_lock, facts_at=now
    )
    if found is None:
        raise NotFound("not_found", field="contractId", parameters={"what": "contract"})
    contract, row = found
    if row is None:
        row = await _CHANGE_FACTS.fetchone(
            db,
            actor,
            contract_id=contract.id,
            organization_id=contract.organization_id,
            facts_at=now,
        )
        assert row is not None  # scalar subqueries alone: always one row
    published = _published(row["published"])
    if published is None:
        raise RuleViolation("portal_not_published")
    facts = SimpleNamespace(**row)
    return Change(
        contract=contract,
        rules=published[0],
        approval=published[1],
        facts=facts_of(facts),
        audience=audience_of(facts) if actor.is_portal_user else None,
    )


@functools.lru_cache(maxsize=64)
def _published(text: str | None) -> tuple[Rules, frozenset[str]] | None:
    """The portal's published rules and what it requires staff approval for
    (`_rules_and_approval`: their JSON text), parsed and the rules validated once per
    text: every change of a contract reads them, they change when a portal publishes.
    Rules are frozen, so one parsed value serves every request. None: not published."""
    if text is None:
        return None
    rules_document, approval = orjson.loads(text)
    if rules_document is None:
        return None
    return Rules.model_validate(rules_document), frozenset(approval or ())


def _rules_and_approval(actor: Actor) -> Any:
    """The rules and the approval-required attributes of the actor's portal as published,
    as the text of a JSON array of the two (SQL NULL: no such portal or not published),
    from one unpacking of its published settings (`settings_parts`: each `->` would
    detoast the document, about 5 kB, again); the rules alone
    are validated (`_published`), not every setting of the portal."""
    portal = models.Portal
    parts = settings_parts(
        portal.published_settings,
        "published_parts",
        rules=postgresql.JSONB,
        approval_required_attributes=postgresql.JSONB,
    )
    pair = sa.func.json_build_array(parts.c.rules, parts.c.approval_required_attributes)
    return (
        sa.select(sa.cast(pair, sa.Text))
        .select_from(sa.join(portal, parts, sa.true()))
        .where(portal.id == actor.portal_id)
        .scalar_subquery()
    )


# The attributes a portal may require staff approval for (settings `approvalRequiredAttributes`).
INSTALLMENT_APPROVAL = "contract.installment"
INSTALLMENT_INTERVAL_APPROVAL = "contract.installment_interval"
PAYMENT_METHOD_APPROVAL = "contract.payment_method"
IBAN_APPROVAL = "contract.iban"
DUE_DAY_APPROVAL = "contract.due_day"


def payment_method_needs_approval(approval: frozenset[str], iban_changes: bool) -> bool:
    return PAYMENT_METHOD_APPROVAL in approval or (IBAN_APPROVAL in approval and iban_changes)


async def change_installment(
    db: AsyncSession,
    actor: Actor,
    *,
    contract_id: uuid.UUID | None,
    amount: Decimal,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> models.Contract | models.ChangeRequest:
    change = await _change(db, actor, contract_id, now)
    contract, approval = change.contract, change.approval
    new = rules.check_installment(
        contract.installment_amount,
        amount,
        change.rules.installment,
        change.facts.installment_changes,
        now,
    )
    if INSTALLMENT_APPROVAL in approval:
        return await request_change(
            db,
            actor,
            contract,
            INSTALLMENT_APPROVAL,
            {"installment_amount": new},
            origin=origin,
            notify=notify,
            field="amount",
        )
    # One statement: the contract, the audit event and the mails.
    writes = raw.Writes().update(contract, installment_amount=new)
    await customer_change(
        db,
        notify,
        actor,
        contract,
        INSTALLMENT_CHANGED,
        origin,
        {"from": str(contract.installment_amount), "to": str(new)},
        details=[f"{contract.number}: {contract.installment_amount} EUR -> {new} EUR"],
        audience=change.audience,
        writes=writes,
    )
    await writes.run(db)
    return contract


async def change_installment_interval(
    db: AsyncSession,
    actor: Actor,
    *,
    contract_id: uuid.UUID | None,
    interval: models.InstallmentInterval,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> models.Contract | models.ChangeRequest:
    """Change how often the installment is due, within the portal's
    `rules.installment_interval` (allowed intervals, cadence); the amount follows so
    that the year's sum stays the same (`rules.amount_for_interval`)."""
    change = await _change(db, actor, contract_id, now)
    contract, approval = change.contract, change.approval
    amount = rules.check_installment_interval(
        change.rules.installment_interval,
        contract.installment_interval,
        interval,
        contract.installment_amount,
        change.facts.installment_interval_changes,
        now,
    )
    if INSTALLMENT_INTERVAL_APPROVAL in approval:
        return await request_change(
            db,
            actor,
            contract,
            INSTALLMENT_INTERVAL_APPROVAL,
            {"installment_interval": interval, "installment_amount": amount},
            origin=origin,
            notify=notify,
            field="interval",
        )
    # One statement: the contract, the audit event and the mails.
    writes = raw.Writes().update(contract, installment_interval=interval, installment_amount=amount)
    await customer_change(
        db,
        notify,
        actor,
        contract,
        INSTALLMENT_INTERVAL_CHANGED,
        origin,
        {
            "from": contract.installment_interval.value,
            "to": interval.value,
            "amount_from": str(contract.installment_amount),
            "amount_to": str(amount),
        },
        details=[
            f"{contract.number}: {contract.installment_interval.value}"
            f" {contract.installment_amount} EUR -> {interval.value} {amount} EUR"
        ],
        audience=change.audience,
        writes=writes,
    )
    await writes.run(db)
    return contract


async def change_payment_method(
    db: AsyncSession,
    actor: Actor,
    *,
    contract_id: uuid.UUID | None,
    method: models.PaymentMethod,
    iban: str | None,
    account_holder: str | None,
    mandate_accepted: bool,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> models.Contract | models.ChangeRequest:
    change = await _change(db, actor, contract_id, now)
    contract, approval, facts = change.contract, change.approval, change.facts
    details = rules.clean_payment_details(method, iban, account_holder, mandate_accepted)
    rules.check_payment_method_change(
        change.rules.payment_method, facts.overdue, facts.payment_method_changes, now
    )
    if payment_method_needs_approval(approval, details.iban != contract.iban):
        return await request_change(
            db,
            actor,
            contract,
            PAYMENT_METHOD_APPROVAL,
            {
                "payment_method": details.method,
                "iban": details.iban,
                "account_holder": details.account_holder,
            },
            origin=origin,
            notify=notify,
            field="method",
        )
    # One statement: the contract, the audit event and the mails.
    writes = raw.Writes().update(
        contract,
        payment_method=details.method,
        iban=details.iban,
        account_holder=details.account_holder,
    )
    await customer_change(
        db,
        notify,
        actor,
        contract,
        PAYMENT_METHOD_CHANGED,
        origin,
        {
            "from": contract.payment_method.value,
            "to": method.value,
            "iban_last4": details.iban[-4:] if details.iban else None,
            "mandate_accepted_at": now.isoformat() if details.iban else None,
        },
        details=[
            f"{contract.number}: {contract.payment_method.value} -> {method.value}"
            + (f" (IBAN ...{details.iban[-4:]})" if details.iban else "")
        ],
        audience=change.audience,
        writes=writes,
    )
    await writes.run(db)
    return contract


async def change_due_day(
    db: AsyncSession,
    actor: Actor,
    *,
    contract_id: uuid.UUID | None,
    due_day: int,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> models.Contract | models.ChangeRequest:
    change = await _change(db, actor, contract_id, now)
    contract, approval = change.contract, change.approval
    new = rules.check_due_day_change(change.rules.due_date, contract.due_day, due_day, now.date())
    if DUE_DAY_APPROVAL in approval:
        return await request_change(
            db,
            actor,
            contract,
            DUE_DAY_APPROVAL,
            {"due_day": new},
            origin=origin,
            notify=notify,
            field="dueDay",
        )
    # One statement: the contract, the audit event and the mails.
    writes = raw.Writes().update(contract, due_day=new)
    await customer_change(
        db,
        notify,
        actor,
        contract,
        DUE_DAY_CHANGED,
        origin,
        {"from": contract.due_day, "to": new},
        details=[f"{contract.number}: {contract.due_day}. -> {new}."],
        audience=change.audience,
        writes=writes,
    )
    await writes.run(db)
    return contract
