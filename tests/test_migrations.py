"""The migrations create exactly the models, and can be undone."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from db import migrate, models
from db.session import create_engine


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, models.Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


async def test_migrations_upgrade_matches_models_and_downgrade_to_base(
    scratch_database_url: str,
) -> None:
    url = scratch_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
            assert await connection.run_sync(_tables) == set(models.Base.metadata.tables) | {
                "alembic_version"
            }

        await asyncio.to_thread(migrate.downgrade, url, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"}

        # And up again: the downgrade left nothing behind that blocks a fresh upgrade.
        await asyncio.to_thread(migrate.upgrade, url)
        async with engine.connect() as connection:
            assert await connection.run_sync(_diff) == []
    finally:
        await engine.dispose()
