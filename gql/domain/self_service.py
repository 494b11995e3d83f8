"""What customers change themselves, checked by the portal's rules (`gql.domain.rules`)
and written with an audit event that is also the history the cadence rules count."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import Rules
from gql.auth.actor import Actor
from gql.domain import audit, rules
from gql.domain.contact_changes import request_change
from gql.domain.errors import RuleViolation
from gql.domain.notifications import Notifier, customer_change
from gql.domain.scope import find_visible

INSTALLMENT_CHANGED = "contract.installment_changed"
# The longest cadence period is 366 days or months; older history never counts.
HISTORY = timedelta(days=366 * 31)


async def _contract(
    db: AsyncSession, actor: Actor, contract_id: uuid.UUID | None
) -> models.Contract:
    return await find_visible(
        db, models.Contract, contract_id, actor, what="contract", field="contractId", lock=True
    )


async def _contract_and_rules(
    db: AsyncSession, actor: Actor, contract_id: uuid.UUID | None
) -> tuple[models.Contract, Rules, frozenset[str]]:
    """The caller's contract (locked), the rules of the portal it uses, as published,
    and what that portal requires staff approval for."""
    contract = await _contract(db, actor, contract_id)
    portal = await db.get(models.Portal, actor.portal_id)
    if portal is None or portal.published_settings is None:
        raise RuleViolation("The portal is not published.")
    settings = portal.published_settings
    return contract, settings.rules, frozenset(settings.approval_required_attributes)


async def history(
    db: AsyncSession, contract: models.Contract, action: str, now: datetime
) -> list[datetime]:
    """When customers (or staff acting as them) made this kind of change, newest first."""
    event = models.AuditEvent
    rows = await db.scalars(
        sa.select(event.created_at)
        .where(
            event.organization_id == contract.organization_id,
            event.entity_id == contract.id,
            event.action == action,
            event.created_at > now - HISTORY,
        )
        .order_by(event.created_at.desc())
    )
    return list(rows.all())


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
        await history(db, contract, INSTALLMENT_CHANGED, now),
        now,
    )
    if "contract.installment" in approval:
        return await request_change(
            db,
            actor,
            contract,
            "contract.installment",
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


PAYMENT_METHOD_CHANGED = "contract.payment_method_changed"
DUE_DAY_CHANGED = "contract.due_day_changed"


async def overdue_amount(db: AsyncSession, contract: models.Contract) -> Decimal:
    payment = models.Payment
    total = await db.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(payment.amount), 0)).where(
            payment.contract_id == contract.id, payment.status == models.PaymentStatus.OVERDUE
        )
    )
    return Decimal(total or 0)


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
    rules.check_payment_method_change(
        portal_rules.payment_method,
        await overdue_amount(db, contract),
        await history(db, contract, PAYMENT_METHOD_CHANGED, now),
        now,
    )
    iban_changes = details.iban != contract.iban
    if "contract.payment_method" in approval or ("contract.iban" in approval and iban_changes):
        return await request_change(
            db,
            actor,
            contract,
            "contract.payment_method",
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
    if "contract.due_day" in approval:
        return await request_change(
            db,
            actor,
            contract,
            "contract.due_day",
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
