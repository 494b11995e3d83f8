"""CLI commands as a user runs them, against a fresh database of their own: in process
through the `portal` entry point's Typer app (typer's CliRunner: the arguments parsed,
the output and the exit code as a terminal gets them). `python -m gql.cli` as a process
of its own is started by tests/http/test_serve.py (`portal serve`)."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from db import models
from db.session import create_engine
from gql import cli
from tests.conftest import seeded_database


@pytest.fixture(scope="module")
async def fresh_url(postgres_url: str) -> str:
    """A database of these tests alone: the CLI commits."""
    return await seeded_database(postgres_url, f"portal_cli_{os.getpid()}")


MUSTERSTADT = "musterstadt.portale.example"


@dataclass(frozen=True)
class Done:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, **env: str) -> Done:
    """`portal *args`, with `env` on top of this process's environment."""
    result = CliRunner().invoke(cli.app, list(args), env={"COLUMNS": "200", **env})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def portal_cli(*args: str) -> str:
    done = run_cli(*args, PASSWORD_PROFILE="test")
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_invite_contacts_twice_invites_each_contact_once(fresh_url: str) -> None:
    first = portal_cli("invite-contacts", MUSTERSTADT, "--batch", "3", "--database-url", fresh_url)
    invited = int(re.search(r"(\d+) invited", first).group(1))  # type: ignore[union-attr]
    assert invited > 3
    second = portal_cli("invite-contacts", MUSTERSTADT, "--database-url", fresh_url)
    assert "0 invited" in second

    recipients = asyncio.run(invitation_recipients(fresh_url))
    assert len(recipients) == len(set(recipients)) == invited


async def invitation_recipients(url: str) -> list[str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as session:
            return list(
                await session.scalars(
                    sa.select(models.OutboundEmail.recipient).where(
                        models.OutboundEmail.kind == "invitation"
                    )
                )
            )
    finally:
        await engine.dispose()


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
