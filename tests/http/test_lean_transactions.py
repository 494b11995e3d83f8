"""A mutation's transaction on the driver (db.raw.LeanTransaction), as the served app
runs it: sessions of the pool's engine (the other tests' sessions are bound to their
rolled-back connection, which keeps the session's own transaction), on a database of
this module's own whose commits stay. A change locked and written on the driver, its dry
run, a refusal, and a change that waits for approval (written through the ORM in the same
transaction): each answers as usual, writes all or nothing, and puts its connection back
with no transaction left open."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db import models
from db.session import Database, create_engine
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.domain import self_service
from gql.settings import Settings
from tests.conftest import ACTORS, global_id, seeded_database
from tests.factories import customers_first_contract
from tests.http_helpers import CUSTOMERS, login, portal_gid, post

CHANGE = """mutation($input: ChangeInstallmentInput!) { changeInstallment(input: $input) {
  __typename ... on InstallmentChanged { contract { installmentAmount } }
  ... on ChangeRequested { changeRequest { status } } ... on Error { code } } }"""


@pytest.fixture(scope="module")
async def lean_url(postgres_url: str, base_settings: Settings) -> str:
    return await seeded_database(postgres_url, f"portal_lean_{os.getpid()}", base_settings)


@pytest.fixture
async def served(
    lean_url: str, test_settings: Settings, tokens: TokenService
) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    database = Database.from_url(lean_url, pool_size=2)
    app = create_app(test_settings, database, tokens)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
            yield client, database
    finally:
        await database.dispose()


@pytest.fixture
async def observer(lean_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(lean_url, pool_size=1)
    yield engine
    await engine.dispose()


async def facts(engine: AsyncEngine, contract_id: Any) -> tuple[Decimal, int, int, int]:
    """The contract's amount, its installment changes, change requests and open
    transactions of other connections."""
    async with AsyncSession(engine) as db:
        contract = await db.get_one(models.Contract, contract_id)
        changes = await db.scalar(
            sa.select(sa.func.count()).where(
                models.AuditEvent.entity_id == contract_id,
                models.AuditEvent.action == self_service.INSTALLMENT_CHANGED,
            )
        )
        requests = await db.scalar(
            sa.select(sa.func.count()).where(models.ChangeRequest.entity_id == contract_id)
        )
        open_ = await db.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND state LIKE 'idle in transaction%'"
            )
        )
        return contract.installment_amount, int(changes or 0), int(requests or 0), int(open_ or 0)


async def test_changes_on_the_driver_write_all_or_nothing_and_leave_no_transaction(
    served: tuple[httpx.AsyncClient, Database], observer: AsyncEngine
) -> None:
    client, database = served
    token = str(
        (await login(client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS)))[
            "accessToken"
        ]
    )
    async with AsyncSession(observer) as db:
        contract = await customers_first_contract(db)
    amount = contract.installment_amount
    given = {"contractId": global_id("Contract", contract.id)}

    async def change(value: Decimal, *, dry_run: bool) -> dict[str, Any]:
        response = await post(
            client, CHANGE, token, input={**given, "amount": str(value), "dryRun": dry_run}
        )
        body = response.json()
        assert "errors" not in body, body
        assert database.engine is not None
        assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        return dict(body["data"]["changeInstallment"])

    # Twice each: the document's first answer is the executor's, then the short way's.
    for _ in range(2):
        answer = await change(amount + 1, dry_run=True)
        assert answer["__typename"] == "InstallmentChanged", answer
        assert await facts(observer, contract.id) == (amount, 0, 0, 0)
        answer = await change(amount * 2, dry_run=False)
        assert answer == {"__typename": "InstallmentRefused", "code": "OUT_OF_RANGE"}
        assert await facts(observer, contract.id) == (amount, 0, 0, 0)

    # With approval required, a change request is written through the ORM, in the
    # transaction the contract's lock began on the driver.
    await require_approval(observer, [self_service.INSTALLMENT_APPROVAL])
    for dry_run in (True, False):
        answer = await change(amount + 1, dry_run=dry_run)
        assert answer["__typename"] == "ChangeRequested", answer
        assert await facts(observer, contract.id) == (amount, 0, 0 if dry_run else 1, 0)
    await require_approval(observer, [])

    answer = await change(amount + 1, dry_run=False)
    assert answer["__typename"] == "InstallmentChanged", answer
    assert await facts(observer, contract.id) == (amount + 1, 1, 1, 0)
    answer = await change(amount + 2, dry_run=False)
    assert answer == {"__typename": "InstallmentRefused", "code": "CADENCE_EXCEEDED"}
    assert await facts(observer, contract.id) == (amount + 1, 1, 1, 0)


async def require_approval(engine: AsyncEngine, attributes: list[str]) -> None:
    async with AsyncSession(engine) as db, db.begin():
        portal = await db.get_one(models.Portal, ACTORS["customer"].portal_id)
        assert portal.published_settings is not None
        portal.published_settings = portal.published_settings.model_copy(
            update={"approval_required_attributes": attributes}
        )
