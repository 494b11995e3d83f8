"""The migrations create exactly the models, and can be undone."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from db import demo, migrate, models
from db.session import create_engine
from gql.auth.passwords import hash_password


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


@pytest.mark.parametrize(
    ("before", "new_kinds"),
    [
        ("0011", ("LOGIN_CODE", "EMAIL_CHANGE", "EMAIL_CHANGED", "ACCOUNT_DELETED")),
        ("0015", ("STAFF_NOTIFICATION", "NEW_OFFER")),
    ],
    ids=["0012_identity", "0016_offermail"],
)
async def test_existing_portals_get_the_new_templates_in_their_languages(
    scratch_database_url: str, before: str, new_kinds: tuple[str, ...]
) -> None:
    """A migration adding template kinds on a database with portals (the demo's, taken
    back to the revision before): every portal gets the new kinds in each language it
    has templates in, and the downgrade removes exactly those."""
    url = scratch_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, pool_size=1)
    per_portal = sa.text(
        "SELECT portal_id, count(*) FROM email_template WHERE kind IN :kinds GROUP BY portal_id"
    ).bindparams(sa.bindparam("kinds", new_kinds, expanding=True))
    languages = sa.text(
        "SELECT portal_id, count(DISTINCT language) FROM email_template GROUP BY portal_id"
    )
    try:
        async with AsyncSession(engine) as session, session.begin():
            await demo.load_demo(session, lambda password: hash_password(password, "test"))
        await asyncio.to_thread(migrate.downgrade, url, before)
        async with engine.connect() as connection:
            assert (await connection.execute(per_portal)).all() == []
            spoken = {row[0]: row[1] for row in await connection.execute(languages)}
        assert spoken
        await asyncio.to_thread(migrate.upgrade, url)
        async with engine.connect() as connection:
            added = {row[0]: row[1] for row in await connection.execute(per_portal)}
        assert added == {portal: count * len(new_kinds) for portal, count in spoken.items()}
    finally:
        # Empty again for the other test (older revisions' downgrades do not take the
        # demo's data back, nor need to).
        async with engine.begin() as connection:
            await connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            await connection.execute(sa.text("CREATE SCHEMA public"))
        await engine.dispose()


async def test_the_offer_mails_link_to_the_offers_page_after_0018(
    scratch_database_url: str,
) -> None:
    """0018 renames `login_link` to `offers_link` in every NEW_OFFER template, the
    defaults and one staff edited; the downgrade renames it back."""
    url = scratch_database_url
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url, pool_size=1)
    texts = sa.text(
        "SELECT portal_id, language, body_text, body_html FROM email_template"
        " WHERE kind = 'NEW_OFFER'"
    )
    edited = "Ihr Angebot wartet: {{ login_link }}"
    try:
        async with AsyncSession(engine) as session, session.begin():
            await demo.load_demo(session, lambda password: hash_password(password, "test"))
        await asyncio.to_thread(migrate.downgrade, url, "0017")
        async with engine.begin() as connection:
            rows = (await connection.execute(texts)).all()
            assert rows
            for row in rows:
                assert "{{ login_link }}" in row.body_text
                assert "offers_link" not in row.body_text + row.body_html
            mine = rows[0]
            await connection.execute(
                sa.text(
                    "UPDATE email_template SET body_text = :text WHERE kind = 'NEW_OFFER'"
                    " AND portal_id = :portal AND language = :language"
                ).bindparams(text=edited, portal=mine.portal_id, language=mine.language)
            )
        await asyncio.to_thread(migrate.upgrade, url)
        async with engine.connect() as connection:
            after = {(r.portal_id, r.language): r for r in await connection.execute(texts)}
        assert after[mine.portal_id, mine.language].body_text == (
            "Ihr Angebot wartet: {{ offers_link }}"
        )
        for row in after.values():
            assert "{{ offers_link }}" in row.body_text
            assert "login_link" not in row.body_text + row.body_html
    finally:
        async with engine.begin() as connection:
            await connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            await connection.execute(sa.text("CREATE SCHEMA public"))
        await engine.dispose()


async def test_migrated_tables_have_the_storage_parameters_the_models_declare(
    session: AsyncSession,
) -> None:
    """Storage parameters (`postgresql_with`, such as the contract's fill factor) are not
    compared by alembic's autogenerate: each table's are read back after the migrations."""
    declared = {
        table.name: {
            f"{name}={value}"
            for name, value in (table.dialect_options["postgresql"]["with"] or {}).items()
        }
        for table in models.Base.metadata.tables.values()
    }
    rows = await session.execute(
        sa.text(
            "SELECT relname, coalesce(reloptions, '{}') FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        )
    )
    stored = {name: set(options) for name, options in rows}
    assert {name: stored[name] for name in declared} == declared
    assert declared["contract"] == declared["meter"] == {"fillfactor=90"}
    assert declared["portal"] == {"toast_tuple_target=8160"}


async def test_migrated_indexes_include_the_columns_the_models_declare(
    session: AsyncSession,
) -> None:
    """An index's included columns (`postgresql_include`, such as the columns beside a
    meter's readings' keys) are not compared by alembic's autogenerate: each index's
    non-key columns are read back after the migrations."""
    declared = {
        str(index.name): list(index.dialect_options["postgresql"]["include"] or [])
        for table in models.Base.metadata.tables.values()
        for index in table.indexes
    }
    rows = await session.execute(
        sa.text(
            "SELECT c.relname, array_agg(a.attname ORDER BY k.n) FILTER (WHERE k.n > i.indnkeyatts)"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            " LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE c.relnamespace = 'public'::regnamespace GROUP BY c.relname"
        )
    )
    stored = {name: included or [] for name, included in rows}
    assert {name: stored[name] for name in declared} == declared
    assert declared["ix_meter_reading_meter_id_read_at_id"] == ["organization_id", "value"]


async def test_migrated_columns_have_the_storage_the_models_declare(session: AsyncSession) -> None:
    """A column's storage (`info["storage"]`, such as the published settings kept in the
    portal's row) is not compared by alembic's autogenerate either: read back here."""
    codes = {"plain": "p", "external": "e", "extended": "x", "main": "m"}
    declared = {
        (table.name, column.name): codes[column.info["storage"]]
        for table in models.Base.metadata.tables.values()
        for column in table.columns
        if "storage" in column.info
    }
    rows = await session.execute(
        sa.text(
            "SELECT c.relname, a.attname, a.attstorage::text FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid"
            " WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        )
    )
    stored = {(table, column): storage for table, column, storage in rows}
    assert {key: stored[key] for key in declared} == declared
    assert declared == {("portal", "published_settings"): "m"}


async def test_enum_columns_hold_only_their_members_names(session: AsyncSession) -> None:
    """An enum column (db.base.enum_column: a VARCHAR) is limited to its members' names
    by a CHECK constraint, which alembic's autogenerate does not compare: read back here.
    A query plan writes such a value into its JSON between quotes, unescaped
    (gql/query_plans._leaf, gql/json_text.Quoted)."""
    rows = await session.execute(
        sa.text(
            "SELECT c.relname, pg_get_constraintdef(k.oid) FROM pg_constraint k"
            " JOIN pg_class c ON c.oid = k.conrelid"
            " WHERE k.contype = 'c' AND c.relnamespace = 'public'::regnamespace"
        )
    )
    checks: dict[str, list[str]] = {}
    for table, definition in rows:
        checks.setdefault(table, []).append(definition)
    enums = [
        (table.name, column.name, column.type.enums)
        for table in models.Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, sa.Enum)
    ]
    assert enums
    for table, column, members in enums:
        assert any(
            f"({column})::text = ANY" in definition
            and all(f"'{member}'" in definition for member in members)
            for definition in checks.get(table, [])
        ), f"{table}.{column} is not limited to its members"
