"""CLI commands as a user runs them: subprocesses against a fresh database of their own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.session import create_engine
from tests.conftest import ROOT, seeded_database


@pytest.fixture(scope="module")
async def fresh_url(postgres_url: str) -> str:
    """A database of these tests alone: the CLI commits."""
    return await seeded_database(postgres_url, f"portal_cli_{os.getpid()}")


MUSTERSTADT = "musterstadt.portale.example"


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m gql.cli *args`, with `env` on top of this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=120,
        check=False,
    )


def portal_cli(*args: str) -> str:
    done = run_cli(*args, PASSWORD_PROFILE="test")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_invite_contacts_twice_invites_each_contact_once(fresh_url: str) -> None:
    first = portal_cli("invite-contacts", MUSTERSTADT, "--batch", "3", "--database-url", fresh_url)
    invited = int(re.search(r"(\d+) invited", first).group(1))  # type: ignore[union-attr]
    assert invited > 3
    second = portal_cli("invite-contacts", MUSTERSTADT, "--database-url", fresh_url)
    assert "0 invited" in second

    engine = create_engine(fresh_url, pool_size=1)
    try:
        async with AsyncSession(engine) as session:
            recipients = (
                await session.scalars(
                    sa.select(models.OutboundEmail.recipient).where(
                        models.OutboundEmail.kind == "invitation"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert len(recipients) == len(set(recipients)) == invited


def test_an_unknown_portal_is_a_clear_error(fresh_url: str) -> None:
    done = run_cli("invite-contacts", "nirgendwo.example", "--database-url", fresh_url)
    assert done.returncode == 2
    assert "no portal 'nirgendwo.example'" in done.stderr + done.stdout


def test_users_export_then_import_round_trip(fresh_url: str, tmp_path: Any) -> None:
    exported = tmp_path / "users.csv"
    database = ("--database-url", fresh_url)
    out = portal_cli(
        "users", "export", "--portal", MUSTERSTADT, "--output", str(exported), *database
    )
    assert "portal users written" in out
    assert exported.read_text().startswith("email,language,")
    again = portal_cli("users", "import", str(exported), "--portal", MUSTERSTADT, *database)
    assert "0 created" in again
    assert "0 updated" in again


def test_users_import_reports_bad_lines(fresh_url: str, tmp_path: Any) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("email,language\nkein-email,de\nok@example.org,fr\n")
    database = ("--database-url", fresh_url)
    done = run_cli("users", "import", str(bad), "--portal", MUSTERSTADT, *database)
    assert done.returncode == 1
    assert "line 2, email" in done.stdout
    assert "line 3, language" in done.stdout
