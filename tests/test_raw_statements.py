"""Statements run on the driver directly (db/raw.py): a session that has begun nothing
lends them no transaction - a connection comes from the pool for the one statement and
goes back at once - while a session in a transaction runs them inside it."""

from __future__ import annotations

import sqlalchemy as sa

from db.raw import Prepared
from db.session import Database

COUNT = Prepared(sa.select(sa.func.count()).select_from(sa.table("raw_statement_probe")))


async def test_a_statement_outside_a_transaction_borrows_a_connection_for_itself(
    database_url: str,
) -> None:
    database = Database.from_url(database_url, pool_size=1)
    assert database.engine is not None
    pool = database.engine.sync_engine.pool
    try:
        async with database.sessions() as session:
            row = await Prepared(sa.select(sa.literal(1, sa.Integer))).fetchrow(session)
            assert row == (1,)
            # Nothing begun, no connection held once the statement is done.
            assert not session.in_transaction()
            assert pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def test_a_statement_in_a_transaction_sees_its_writes(database_url: str) -> None:
    database = Database.from_url(database_url, pool_size=1)
    try:
        async with database.sessions() as session:
            await session.execute(sa.text("CREATE TEMPORARY TABLE raw_statement_probe (x int)"))
            await session.execute(sa.text("INSERT INTO raw_statement_probe VALUES (1), (2)"))
            # The pool's one connection is the transaction's: the statement runs there.
            assert await COUNT.fetchrow(session) == (2,)
            await session.rollback()
    finally:
        await database.dispose()
