"""The runbook's backup and restore (docs/operations.md, the block after `<!-- runbook:
backup -->`) as written, against a seeded database of the throwaway PostgreSQL: the
restored database holds the same rows at the same migration."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from db.embedded import find_bin_dir
from db.session import create_engine
from tests.conftest import ROOT, seeded_database

COUNTED = ("contact", "contract", "meter_reading", "portal_user", "auth_session", "audit_event")


def runbook_block(marker: str) -> str:
    text = (ROOT / "docs" / "operations.md").read_text()
    found = re.search(rf"<!-- runbook: {marker} -->\n```sh\n(.*?)```", text, re.S)
    assert found, f"docs/operations.md has no sh block after <!-- runbook: {marker} -->"
    return found[1]


async def counts(url: str) -> dict[str, object]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            found: dict[str, object] = {
                table: (await connection.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar()  # noqa: S608 - fixed names
                for table in COUNTED
            }
            found["alembic"] = (
                await connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            ).scalar()
            return found
    finally:
        await engine.dispose()


async def test_the_runbooks_backup_restores_the_same_database(
    postgres_url: str, tmp_path: Path
) -> None:
    if os.environ.get("DATABASE_URL"):
        pytest.skip("runs against the harness's own PostgreSQL")
    name = f"portal_backup_{os.getpid()}"
    url = await seeded_database(postgres_url, name)
    restored_url = url.replace(f"/{name}?", f"/{name}_restored?")
    engine = create_engine(url.replace(f"/{name}?", "/postgres?"), pool_size=1)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}_restored"'))
    await engine.dispose()
    socket = unquote(str(sa.make_url(url).query["host"]))
    done = await asyncio.to_thread(
        subprocess.run,
        ["/bin/bash", "-euo", "pipefail", "-c", runbook_block("backup")],
        env={
            "PATH": f"{find_bin_dir()}:{os.environ.get('PATH', '')}",
            "PGHOST": socket,
            "PGUSER": "portal",
            "PGDATABASE": name,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    before, after = await counts(url), await counts(restored_url)
    assert after == before
    assert done.stdout.strip() == before["alembic"]
    assert all(before[table] for table in ("contact", "contract", "meter_reading"))
