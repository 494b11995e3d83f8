"""CLI commands as a user runs them: subprocesses against a fresh database of their own."""

from __future__ import annotations

import os
import re
import subprocess
import sys

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


def portal_cli(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "200", "PASSWORD_PROFILE": "test"}
    done = subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_invite_contacts_twice_invites_each_contact_once(fresh_url: str) -> None:
    first = portal_cli(
        "invite-contacts",
        "musterstadt.portale.example",
        "--batch",
        "3",
        "--database-url",
        fresh_url,
    )
    invited = int(re.search(r"(\d+) invited", first).group(1))  # type: ignore[union-attr]
    assert invited > 3
    second = portal_cli(
        "invite-contacts", "musterstadt.portale.example", "--database-url", fresh_url
    )
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
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "gql.cli", "invite-contacts", "nirgendwo.example",
         "--database-url", fresh_url],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "no portal 'nirgendwo.example'" in done.stderr + done.stdout
