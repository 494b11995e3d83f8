"""Concurrent changes of one contract's installment: the contract is locked before its
cadence history is read, so of changes sent at once the first counts for the others."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.session import create_engine
from gql.domain import notifications, rules, self_service
from gql.domain.audit import Origin
from gql.domain.notifications import Notifier
from tests.conftest import ACTORS
from tests.factories import customers_first_contract

NOTIFY = Notifier(sender="portal@example.org", staff_app_url="http://staff.example")


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that commit (the changes must see each other's commits); what they
    wrote is undone afterwards."""
    engine = create_engine(database_url, pool_size=4)
    makers = async_sessionmaker(engine, expire_on_commit=False)
    async with makers() as db:
        contract = await customers_first_contract(db)
        amount, started = contract.installment_amount, datetime.now(UTC)
    try:
        yield makers
    finally:
        async with makers() as db, db.begin():
            await db.execute(
                sa.update(models.Contract)
                .where(models.Contract.id == contract.id)
                .values(installment_amount=amount)
            )
            event = models.AuditEvent
            await db.execute(
                sa.delete(event).where(
                    event.entity_id == contract.id,
                    event.action == self_service.INSTALLMENT_CHANGED,
                    event.created_at >= started,
                )
            )
            outbox = models.OutboundEmail
            await db.execute(
                sa.delete(outbox).where(
                    outbox.kind == notifications.KIND, outbox.created_at >= started
                )
            )
        await engine.dispose()


async def _change(db: AsyncSession, contract_id: uuid.UUID, amount: Decimal) -> None:
    await self_service.change_installment(
        db,
        ACTORS["customer"],
        contract_id=contract_id,
        amount=amount,
        origin=Origin(),
        notify=NOTIFY,
        now=datetime.now(UTC),
    )


async def _change_alone(
    committed: async_sessionmaker[AsyncSession], contract_id: uuid.UUID, amount: Decimal
) -> str:
    """A change in a transaction of its own: "changed", or "refused" by the cadence."""
    try:
        async with committed() as db, db.begin():
            await _change(db, contract_id, amount)
    except rules.CadenceRefused:
        return "refused"
    return "changed"


async def test_concurrent_installment_changes_of_one_contract_count_each_other(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    async with committed() as db:
        contract = await customers_first_contract(db)
    # Different amounts: a change to the amount a committed one set is refused as no
    # change at all, before the cadence is asked.
    amounts = [contract.installment_amount + Decimal(step) for step in (1, 2, 3, 4)]

    results = await asyncio.gather(
        *(_change_alone(committed, contract.id, amount) for amount in amounts)
    )
    assert sorted(results) == ["changed", "refused", "refused", "refused"]
    async with committed() as db:
        changes = await db.scalar(
            sa.select(sa.func.count()).where(
                models.AuditEvent.entity_id == contract.id,
                models.AuditEvent.action == self_service.INSTALLMENT_CHANGED,
            )
        )
        assert (await customers_first_contract(db)).installment_amount in amounts
    assert changes == 1


async def test_a_change_waiting_for_the_lock_counts_the_change_it_waited_for(
    committed: async_sessionmaker[AsyncSession],
) -> None:
    """The second change reads the contract's facts in the statement that waits for its
    lock, with a snapshot taken before the first change committed: it must not decide
    on that snapshot's history (gql/domain/scope.py `locked_with`)."""
    async with committed() as db:
        contract = await customers_first_contract(db)
    first, second = (contract.installment_amount + Decimal(step) for step in (1, 2))

    async with committed() as db, db.begin():
        await _change(db, contract.id, first)  # locked and written, not yet committed
        later = asyncio.create_task(_change_alone(committed, contract.id, second))
        async with committed() as observer:
            for _ in range(500):
                blocked = await observer.scalar(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                )
                await observer.rollback()  # the next look at pg_stat_activity is a new one
                if blocked:
                    break
                await asyncio.sleep(0.01)
            assert blocked, "the second change never waited for the lock"
    assert await later == "refused"
