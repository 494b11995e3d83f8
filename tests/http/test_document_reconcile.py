"""Crashes between the database and the document storage, and `reconcile` after them.

A crash is simulated where it can happen: the storage "dies" at a point (after it stored
an upload's file, before it removes a deleted document's file, before it stores
anything); from then on every call to it fails, so nothing that would run after a real
crash (the undo of a failed upload) runs. Whatever the point, the state left is one
`reconcile` recovers: at worst a file without a row, never a row without its file.
Every test runs with local files and with the S3 bucket (`document_settings`, a
directory or bucket of this module alone); the seed's documents have rows but no files
there, so they are "missing" to every reconcile here. The CLI test runs
`portal documents reconcile` as the runbook (docs/operations.md) shows it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import models
from db.demo import demo_pdf
from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.domain import documents
from gql.domain.documents import DocumentStorage, LocalStorage, StoredFile
from gql.domain.storage import S3Storage
from gql.settings import Settings
from tests.conftest import ROOT, create_bucket, global_id
from tests.document_helpers import storage_of, stored_keys
from tests.http_helpers import login, portal_gid, post
from tests.smtp import free_port

PDF = demo_pdf("Zählerstand")
GRACE = timedelta(hours=1)
LATER = timedelta(hours=2)  # when the orphans of a crash just now are past the grace


@pytest.fixture(scope="module")
def test_settings(document_settings: Settings) -> Settings:
    return document_settings


@pytest.fixture(scope="module")
def tokens(test_settings: Settings) -> TokenService:
    return TokenService.from_settings(test_settings)


class Crash(Exception):
    """The process died here."""


@dataclass
class Dying:
    """The storage of a process that dies at `point`: "after put", "before put" or
    "before delete". After that every call fails as well."""

    inner: DocumentStorage
    point: str
    dead: bool = False

    def _check(self) -> None:
        if self.dead:
            raise Crash("the process is gone")

    def _die_at(self, point: str) -> None:
        if self.point == point:
            self.dead = True
            raise Crash(point)

    async def put(self, key: str, data: bytes) -> None:
        self._check()
        self._die_at("before put")
        await self.inner.put(key, data)
        self._die_at("after put")

    async def open(self, key: str) -> AsyncIterator[bytes]:
        self._check()
        return await self.inner.open(key)

    async def delete(self, key: str) -> None:
        self._check()
        self._die_at("before delete")
        await self.inner.delete(key)

    async def exists(self, key: str) -> bool:
        self._check()
        return await self.inner.exists(key)

    def files(self) -> AsyncIterator[StoredFile]:
        self._check()
        return self.inner.files()


UPLOAD = """mutation($input: UploadDocumentInput!) { uploadDocument(input: $input) {
  __typename ... on DocumentUploaded { document { id } } } }"""
DELETE = """mutation($id: ID!) { deleteDocument(input: {documentId: $id}) { __typename } }"""


async def anna(client: httpx.AsyncClient) -> str:
    result = await login(
        client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid("musterstadt-kunden")
    )
    return str(result["accessToken"])


async def upload(client: httpx.AsyncClient, bearer: str) -> httpx.Response:
    operations = {"query": UPLOAD, "variables": {"input": {"file": None, "type": "OTHER"}}}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": '{"0": ["variables.input.file"]}'},
        files={"0": ("scan.pdf", PDF, "application/pdf")},
        headers={"Authorization": f"Bearer {bearer}"},
    )


def app_client(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tokens: TokenService,
    storage: DocumentStorage,
) -> httpx.AsyncClient:
    app = create_app(settings, Database(sessions=sessions), tokens, storage=storage)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test")


async def reconcile(
    session: AsyncSession, settings: Settings, *, later: timedelta = LATER, remove: bool = True
) -> documents.Reconciled:
    return await documents.reconcile(
        session,
        storage_of(settings),
        now=datetime.now(UTC) + later,
        grace=GRACE,
        remove=remove,
    )


async def uploads_of_anna(session: AsyncSession) -> list[models.Document]:
    session.expire_all()
    return list(
        await session.scalars(
            sa.select(models.Document).where(
                models.Document.uploaded_by_id
                == sa.select(models.PortalUser.id)
                .where(models.PortalUser.email == "anna.becker@example.org")
                .scalar_subquery()
            )
        )
    )


# --- The crash points of an upload -----------------------------------------------------------


async def test_a_crash_after_storing_an_upload_before_the_commit_leaves_an_orphan(
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    before = await stored_keys(test_settings)
    dying = Dying(storage_of(test_settings), "after put")
    async with app_client(test_settings, sessions, tokens, dying) as client:
        response = await upload(client, await anna(client))
    assert response.json()["data"] == {"uploadDocument": None}  # the answer never came
    assert await uploads_of_anna(session) == []  # rolled back
    [orphan] = await stored_keys(test_settings) - before  # the undo could not run

    # Within the grace the file is kept: its upload might still be committing.
    found = await reconcile(session, test_settings, later=timedelta(0))
    assert (found.recent, found.orphans) == ([orphan], [])
    assert orphan in await stored_keys(test_settings)

    found = await reconcile(session, test_settings)
    assert (found.recent, found.orphans) == ([], [orphan])
    assert await stored_keys(test_settings) == before


async def test_a_crash_before_storing_an_upload_leaves_neither_row_nor_file(
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    before = await stored_keys(test_settings)
    dying = Dying(storage_of(test_settings), "before put")
    async with app_client(test_settings, sessions, tokens, dying) as client:
        response = await upload(client, await anna(client))
    assert response.json()["data"] == {"uploadDocument": None}
    assert await uploads_of_anna(session) == []
    assert await stored_keys(test_settings) == before
    found = await reconcile(session, test_settings)
    assert (found.orphans, found.recent) == ([], [])


# --- The crash points of a deletion ----------------------------------------------------------


async def test_a_crash_after_a_deletions_commit_leaves_an_orphan(
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    storage = storage_of(test_settings)
    async with app_client(test_settings, sessions, tokens, storage) as client:
        bearer = await anna(client)
        body = (await upload(client, bearer)).json()
        document_id = body["data"]["uploadDocument"]["document"]["id"]
    [row] = await uploads_of_anna(session)
    key = row.storage_key

    dying = Dying(storage, "before delete")
    async with app_client(test_settings, sessions, tokens, dying) as client:
        response = await post(client, DELETE, bearer, id=document_id)
    assert response.json()["data"] == {"deleteDocument": None}  # died after the commit
    assert await uploads_of_anna(session) == []  # the row is gone
    assert await storage.exists(key)  # its file not yet

    found = await reconcile(session, test_settings, remove=False)  # a dry run
    assert found.orphans == [key]
    assert await storage.exists(key)
    found = await reconcile(session, test_settings)
    assert found.orphans == [key]
    assert not await storage.exists(key)
    assert key not in {missing for _, missing in found.missing}


async def test_reconcile_keeps_every_file_with_a_row_and_reports_rows_without_one(
    session: AsyncSession, test_settings: Settings
) -> None:
    storage = storage_of(test_settings)
    rows = list(
        await session.scalars(sa.select(models.Document).order_by(models.Document.storage_key))
    )
    assert len(rows) >= 3
    *kept, lost = rows
    for row in kept:
        await storage.put(row.storage_key, PDF)
    try:
        found = await reconcile(session, test_settings)
        assert found.orphans == []
        assert found.missing == [(lost.id, lost.storage_key)]
        assert found.rows == len(rows)
        for row in kept:
            assert await storage.exists(row.storage_key)
    finally:
        for row in kept:
            await storage.delete(row.storage_key)


# --- The storage unreachable ------------------------------------------------------------------


async def test_a_download_while_the_bucket_is_unreachable_is_503_and_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    test_settings: Settings,
    tokens: TokenService,
) -> None:
    gone = S3Storage("documents", endpoint=f"http://127.0.0.1:{free_port()}")  # nobody there
    invoice = await session.scalar(
        sa.select(models.Document)
        .where(models.Document.uploaded_by_id.is_(None), models.Document.opened_at.is_(None))
        .limit(1)
    )
    assert invoice is not None
    async with app_client(test_settings, sessions, tokens, gone) as client:
        staff = await login(client, "agent@musterstadt.example", "Demo-Agent-1")
        node = await post(
            client,
            "query($id: ID!) { node(id: $id) { ... on Document { downloadUrl } } }",
            str(staff["accessToken"]),
            id=global_id("Document", invoice.id),
        )
        response = await client.get(node.json()["data"]["node"]["downloadUrl"])
    await gone.close()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert "unavailable" in response.text
    audited = await session.scalar(
        sa.select(sa.func.count())
        .select_from(models.AuditEvent)
        .where(
            models.AuditEvent.action == "document.downloaded",
            models.AuditEvent.entity_id == invoice.id,
        )
    )
    assert audited == 0


# --- The command, as the runbook runs it ---------------------------------------------------


def runbook_block(marker: str) -> str:
    """The sh block after `<!-- runbook: marker -->` in docs/operations.md."""
    text = (ROOT / "docs" / "operations.md").read_text()
    found = re.search(rf"<!-- runbook: {marker} -->\s*```sh\n(.*?)```", text, re.S)
    assert found, f"docs/operations.md has no runbook block {marker!r}"
    return found[1]


def test_the_runbooks_reconcile_removes_orphans_and_reports_missing_files(
    database_url: str, tmp_path: Path
) -> None:
    """`portal documents reconcile` against the seeded database (which it only reads) and
    a storage directory of its own: an old orphan is removed, a young one kept, each
    demo document's missing file reported, exit code 1."""
    root = tmp_path / "documents"
    storage = LocalStorage(root)
    old, young = f"{uuid.uuid4()}/{uuid.uuid4()}", f"{uuid.uuid4()}/{uuid.uuid4()}"
    for key in (old, young):
        path = storage.path(key)
        path.parent.mkdir(parents=True)
        path.write_bytes(PDF)
    two_hours_ago = time.time() - 7200
    os.utime(storage.path(old), (two_hours_ago, two_hours_ago))
    env = {
        **os.environ,
        "COLUMNS": "200",
        "DATABASE_URL": database_url,
        "DOCUMENTS_URL": root.as_uri(),
        "PORTAL_DATA_DIR": str(tmp_path / "data"),
    }
    block = runbook_block("reconcile")
    assert "portal documents reconcile" in block
    done = subprocess.run(
        ["/bin/bash", "-uo", "pipefail", "-c", block],  # the dry run exits 1 as well
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # files are missing
    assert f"orphan  {old}" in done.stdout
    assert re.search(r"1 orphaned files would be removed, 1 recent ones kept", done.stdout)
    assert young not in done.stdout
    assert not storage.path(old).exists()
    assert storage.path(young).exists()
    missing = re.findall(r"^missing (\S+) \(document ([0-9a-f-]+)\)$", done.stdout, re.M)
    assert missing
    assert re.search(r"1 orphaned files removed, 1 recent ones kept", done.stdout)


def test_the_command_closes_its_s3_client(
    database_url: str, s3_endpoint: str, tmp_path: Path
) -> None:
    """`portal documents reconcile` on an S3 storage (moto's server) ends with its
    client closed: aiohttp reports a client left open when the interpreter collects it
    ("Unclosed client session"), which the command printed at every run."""
    bucket = f"reconcile-{uuid.uuid4().hex[:12]}"
    create_bucket(s3_endpoint, bucket)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "portal"), "documents", "reconcile", "--dry-run"],
        env={
            **os.environ,
            "COLUMNS": "200",
            "DATABASE_URL": database_url,
            "DOCUMENTS_URL": f"s3://{bucket}/kept?endpoint={s3_endpoint}",
            "PORTAL_DATA_DIR": str(tmp_path / "data"),
            "PYTHONWARNINGS": "always::ResourceWarning",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]  # the demo's files are missing
    assert re.search(r"0 files, \d+ documents", done.stdout), done.stderr[-3000:]
    assert "Unclosed" not in done.stderr, done.stderr
