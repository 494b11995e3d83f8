"""What customers change themselves, checked by the portal's rules (`gql.domain.rules`)
and written with an audit event that is also the history the cadence rules count."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from db import models
from db.portal_settings import Rules
from gql.auth.actor import Actor
from gql.domain import audit, rules
from gql.domain.contact_changes import request_change
from gql.domain.errors import RuleViolation
from gql.domain.notifications import Notifier, customer_change
from gql.domain.scope import find_visible

INSTALLMENT_CHANGED = "contract.installment_changed"
INSTALLMENT_INTERVAL_CHANGED = "contract.installment_interval_changed"
PAYMENT_METHOD_CHANGED = "contract.payment_method_changed"
DUE_DAY_CHANGED = "contract.due_day_changed"
# The longest cadence period is 366 days or months; older history never counts.
HISTORY = timedelta(days=366 * 31)


async def _contract(
    db: AsyncSession, actor: Actor, contract_id: uuid.UUID | None
) -> models.Contract:
    return await find_visible(
        db, models.Contract, contract_id, actor, what="contract", field="contractId", lock=True
    )


def rules_portal(
    actor: Actor, organization_id: uuid.UUID, portals: Sequence[models.Portal]
) -> models.Portal | None:
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


async def _contract_and_rules(
    db: AsyncSession, actor: Actor, contract_id: uuid.UUID | None
) -> tuple[models.Contract, Rules, frozenset[str]]:
    """The caller's contract (locked), the rules of the portal it uses, as published,
    and what that portal requires staff approval for."""
    contract = await _contract(db, actor, contract_id)
    portal = await db.get(models.Portal, actor.portal_id)
    portal_rules, approval = published_rules(portal)
    return contract, portal_rules, approval


Execute = Callable[[Executable], Awaitable[Result[Any]]]


@dataclass(frozen=True)
class ContractFacts:
    """What the rules need besides the contract row and the portal's settings: the
    changes its cadences count (newest first) and the overdue sum."""

    installment_changes: list[datetime]
    installment_interval_changes: list[datetime]
    payment_method_changes: list[datetime]
    overdue: Decimal


async def contract_facts(
    execute: Execute, contracts: Sequence[models.Contract], now: datetime
) -> list[ContractFacts]:
    """The facts of many contracts in two statements: the mutations ask for one
    contract, `Contract.installmentRules` and its siblings for a page of them, so the
    check and the answer in advance count the same history."""
    ids = [contract.id for contract in contracts]
    event = models.AuditEvent
    changes: dict[tuple[uuid.UUID, str], list[datetime]] = defaultdict(list)
    rows = await execute(
        sa.select(event.entity_id, event.action, event.created_at)
        .where(
            event.organization_id.in_({contract.organization_id for contract in contracts}),
            event.entity_id.in_(ids),
            event.action.in_(
                (INSTALLMENT_CHANGED, INSTALLMENT_INTERVAL_CHANGED, PAYMENT_METHOD_CHANGED)
            ),
            event.created_at > now - HISTORY,
        )
        .order_by(event.created_at.desc())
    )
    for row in rows:
        changes[(row.entity_id, row.action)].append(row.created_at)
    payment = models.Payment
    sums = await execute(
        sa.select(payment.contract_id, sa.func.sum(payment.amount).label("total"))
        .where(payment.contract_id.in_(ids), payment.status == models.PaymentStatus.OVERDUE)
        .group_by(payment.contract_id)
    )
    overdue = {row.contract_id: Decimal(row.total) for row in sums}
    return [
        ContractFacts(
            installment_changes=changes[(contract.id, INSTALLMENT_CHANGED)],
            installment_interval_changes=changes[(contract.id, INSTALLMENT_INTERVAL_CHANGED)],
            payment_method_changes=changes[(contract.id, PAYMENT_METHOD_CHANGED)],
            overdue=overdue.get(contract.id, Decimal(0)),
        )
        for contract in contracts
    ]


async def _facts(db: AsyncSession, contract: models.Contract, now: datetime) -> ContractFacts:
    return (await contract_facts(db.execute, [contract], now))[0]


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
    contract, portal_rules, approval = await _contract_and_rules(db, actor, contract_id)
    new = rules.check_installment(
        contract.installment_amount,
        amount,
        portal_rules.installment,
        (await _facts(db, contract, now)).installment_changes,
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
    await customer_change(
        db,
        notify,
        actor,
        contract,
        INSTALLMENT_CHANGED,
        origin,
        {"from": str(contract.installment_amount), "to": str(new)},
        details=[f"{contract.number}: {contract.installment_amount} EUR -> {new} EUR"],
    )
    contract.installment_amount = new
    await db.flush()
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
    contract, portal_rules, approval = await _contract_and_rules(db, actor, contract_id)
    amount = rules.check_installment_interval(
        portal_rules.installment_interval,
        contract.installment_interval,
        interval,
        contract.installment_amount,
        (await _facts(db, contract, now)).installment_interval_changes,
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
    )
    contract.installment_interval = interval
    contract.installment_amount = amount
    await db.flush()
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
    contract, portal_rules, approval = await _contract_and_rules(db, actor, contract_id)
    details = rules.clean_payment_details(method, iban, account_holder, mandate_accepted)
    facts = await _facts(db, contract, now)
    rules.check_payment_method_change(
        portal_rules.payment_method, facts.overdue, facts.payment_method_changes, now
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
    )
    contract.payment_method = details.method
    contract.iban = details.iban
    contract.account_holder = details.account_holder
    await db.flush()
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
    contract, portal_rules, approval = await _contract_and_rules(db, actor, contract_id)
    new = rules.check_due_day_change(portal_rules.due_date, contract.due_day, due_day, now.date())
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
    await customer_change(
        db,
        notify,
        actor,
        contract,
        DUE_DAY_CHANGED,
        origin,
        {"from": contract.due_day, "to": new},
        details=[f"{contract.number}: {contract.due_day}. -> {new}."],
    )
    contract.due_day = new
    await db.flush()
    return contract
