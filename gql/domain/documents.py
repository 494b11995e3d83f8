"""Documents: files the utility provides and customers upload, stored outside the database.

The file lives behind `DocumentStorage` (gql/domain/storage.py): local files or an
S3-compatible bucket, as `DOCUMENTS_URL` says. Keys never come from what the user sends:
`<organization id>/<uuid>`.

What a file is, is sniffed from its first bytes (the `filetype` package, plus a small
table for executables it does not know), never taken from the client's file name or
Content-Type. Only PDF, PNG, JPEG, TIFF and HEIC are accepted; executables are refused
with their own reason.

The row and the file change together: `upload` stores the file as its last step (a
failure there rolls the row back), `undo_on_failure` removes a stored file whose
transaction does not commit, and `delete` leaves the file to be removed after the
commit. So a crash at any point leaves at worst a file without a row (never a row
without its file), and `reconcile` removes those. Downloads go through short-lived
signed links (`gql.auth.links`); the holder of a link is checked again against the
database when it is used.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import filetype
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind, Grant
from gql.auth.actor import Actor
from gql.domain import audit, portal_mail, portal_notices, sessions
from gql.domain.errors import DomainError, InvalidInput, NotFound, RuleViolation
from gql.domain.notifications import Notifier, customer_change
from gql.domain.scope import find_visible
from gql.domain.storage import CHUNK as CHUNK
from gql.domain.storage import DocumentStorage as DocumentStorage
from gql.domain.storage import LocalStorage as LocalStorage
from gql.domain.storage import StoredFile as StoredFile
from gql.domain.storage import StoredFileMissing as StoredFileMissing
from gql.domain.storage import storage_for as storage_for
from gql.domain.storage import storage_opened as storage_opened

log = structlog.get_logger(__name__)

UPLOADED = "document.uploaded"
DELETED = "document.deleted"
DOWNLOADED = "document.downloaded"

MIB = 1024 * 1024
# What `sniff` looks at; every signature it knows lies within the first bytes.
HEAD = 8192
NAME_LIMIT = 255
DEFAULT_NAME = "Dokument"

# The kinds customers may upload; invoices, contracts and offers come from the utility.
CUSTOMER_TYPES = frozenset(
    {models.DocumentType.LETTER, models.DocumentType.PROTOCOL, models.DocumentType.OTHER}
)


# --- What a file is --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    mime: str
    label: str
    # The first is the one a file name gets when it has none of them.
    extensions: tuple[str, ...]


ALLOWED: dict[str, FileType] = {
    kind.mime: kind
    for kind in (
        FileType("application/pdf", "PDF", ("pdf",)),
        FileType("image/png", "PNG image", ("png",)),
        FileType("image/jpeg", "JPEG image", ("jpg", "jpeg", "jpe", "jfif")),
        FileType("image/tiff", "TIFF image", ("tif", "tiff")),
        FileType("image/heic", "HEIC image", ("heic", "heif")),
    )
}
ALLOWED_LABELS = "PDF, PNG, JPEG, TIFF or HEIC"

EXECUTABLES: dict[str, str] = {
    "application/x-msdownload": "Windows program",
    "application/x-executable": "Linux program (ELF)",
    "application/x-mach-binary": "macOS program (Mach-O)",
    "text/x-shellscript": "script",
    "application/wasm": "WebAssembly program",
    "application/x-google-chrome-extension": "browser extension",
}

# Checked before `filetype`: executables it does not know (Mach-O, scripts) or knows only
# from a minimum length (ELF needs 53 bytes there; a truncated one is still a program).
_OWN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"\xfe\xed\xfa\xce", "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"\xce\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", "application/x-mach-binary"),  # universal binary (or Java class)
    (b"#!", "text/x-shellscript"),
)


class UploadRefused(DomainError):
    """The file itself is refused (not the rest of the input); nothing was stored."""

    code = "INVALID_INPUT"

    EMPTY_FILE = "EMPTY_FILE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    TYPE_NOT_ALLOWED = "TYPE_NOT_ALLOWED"
    EXECUTABLE = "EXECUTABLE"

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        detected_type: str | None = None,
        max_bytes: int | None = None,
    ) -> None:
        super().__init__(
            message,
            code=reason,
            field="file",
            parameters={"detectedType": detected_type, "maxBytes": max_bytes},
        )
        self.reason = reason
        self.detected_type = detected_type


def sniff(head: bytes) -> str | None:
    """The media type the bytes say they are, or None when nothing is recognised."""
    for signature, mime in _OWN_SIGNATURES:
        if head.startswith(signature):
            return mime
    guess = filetype.guess(bytes(head[:HEAD]))
    return None if guess is None else str(guess.mime)


def check_type(data: bytes) -> FileType:
    """The allowed type of `data`.

    Raises:
        UploadRefused: EXECUTABLE for programs and scripts, TYPE_NOT_ALLOWED for anything
            else that is not PDF, PNG, JPEG, TIFF or HEIC (with the detected type, if any).
    """
    mime = sniff(data[:HEAD])
    if mime in ALLOWED:
        return ALLOWED[mime]
    if mime in EXECUTABLES:
        raise UploadRefused(
            UploadRefused.EXECUTABLE,
            f"The file is a {EXECUTABLES[mime]} ({mime}), whatever its name says;"
            " programs are never accepted.",
            detected_type=mime,
        )
    what = f"a {mime} file" if mime else "of a type that is not recognised"
    raise UploadRefused(
        UploadRefused.TYPE_NOT_ALLOWED,
        f"Only {ALLOWED_LABELS} files can be uploaded; this one is {what}.",
        detected_type=mime,
    )


class Readable(Protocol):
    """An uploaded file as the web framework hands it over (read in chunks)."""

    async def read(self, size: int = -1, /) -> bytes: ...


async def read_limited(source: Readable, limit: int) -> bytes:
    """The whole upload, read in chunks and given up as soon as it passes `limit` bytes
    (so an oversized file is never held in memory whole).

    Raises:
        UploadRefused: FILE_TOO_LARGE past `limit`, EMPTY_FILE for no bytes at all.
    """
    data = bytearray()
    while chunk := await source.read(CHUNK):
        data += chunk
        if len(data) > limit:
            raise UploadRefused(
                UploadRefused.FILE_TOO_LARGE,
                f"A file may have at most {_size(limit)}.",
                max_bytes=limit,
            )
    if not data:
        raise UploadRefused(UploadRefused.EMPTY_FILE, "The file is empty.")
    return bytes(data)


def _size(limit: int) -> str:
    return f"{limit / MIB:g} MiB" if limit >= MIB else f"{limit} bytes"


# Recognised as a file name's extension (and replaced by the kind's own) rather than kept as
# part of the name: the allowed kinds' extensions and other common ones.
_ALL_EXTENSIONS = frozenset(ext for kind in ALLOWED.values() for ext in kind.extensions) | set(
    """
    exe com bat cmd scr msi dll sh js html htm svg
    zip doc docx xls xlsx txt gif webp bmp
    """.split()
)


def clean_file_name(raw: str | None, kind: FileType) -> str:
    """A file name fit to show and to offer for download: the last path part only, one
    line without control or direction-changing characters, at most 255 characters, and
    an extension that matches the sniffed type (`rechnung.pdf` that is a PNG becomes
    `rechnung.png`)."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char for char in name
    )
    name = " ".join(name.split()).strip(" .")
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if extension.lower() in kind.extensions:
        extension = extension.lower()
    else:
        if extension.lower() not in _ALL_EXTENSIONS:
            stem = name  # "Zählerstand 12.03" keeps its dot: not an extension
        extension = kind.extensions[0]
    stem = stem.strip(" .") or DEFAULT_NAME
    return stem[: NAME_LIMIT - len(extension) - 1].rstrip(" .") + "." + extension


# --- Where files are kept ----------------------------------------------------------------------


def new_key(organization_id: uuid.UUID) -> str:
    """A fresh storage key in the organization's prefix; nothing of the user's file name."""
    return f"{organization_id}/{uuid.uuid4()}"


@dataclass
class TrackedStorage:
    """A storage that remembers what was put through it (see `undo_on_failure`)."""

    inner: DocumentStorage
    stored: list[str] = field(default_factory=list)

    async def put(self, key: str, data: bytes) -> None:
        await self.inner.put(key, data)
        self.stored.append(key)

    async def open(self, key: str) -> AsyncIterator[bytes]:
        return await self.inner.open(key)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def exists(self, key: str) -> bool:
        return await self.inner.exists(key)

    def files(self) -> AsyncIterator[StoredFile]:
        return self.inner.files()


@asynccontextmanager
async def undo_on_failure(storage: DocumentStorage) -> AsyncIterator[TrackedStorage]:
    """Wrap the transaction that stores files: if it fails (a commit included), the
    files stored in it are removed again, so no file is left without its row."""
    tracked = TrackedStorage(storage)
    try:
        yield tracked
    except BaseException:
        for key in tracked.stored:
            await remove_file(storage, key)
        raise


async def remove_file(storage: DocumentStorage, key: str) -> None:
    """Delete a file whose row is gone; a failure is logged (an orphan file is harmless,
    a failed request after the commit would not be)."""
    try:
        await storage.delete(key)
    except (OSError, ValueError):
        log.warning("document file not removed", key=key, exc_info=True)


# --- Reconcile ---------------------------------------------------------------------------------

RECHECK_BATCH = 500


@dataclass
class Reconciled:
    """What `reconcile` found."""

    files: int = 0
    rows: int = 0
    # Files without a row, older than the grace: removed (unless a dry run).
    orphans: list[str] = field(default_factory=list)
    # Files without a row yet, younger than the grace: an upload may still commit.
    recent: list[str] = field(default_factory=list)
    # Rows whose file is not stored: (document id, key). Never caused by a crash of this
    # code (files are removed only after their row); a restore or a hand-made deletion.
    missing: list[tuple[uuid.UUID, str]] = field(default_factory=list)


async def reconcile(
    db: AsyncSession,
    storage: DocumentStorage,
    *,
    now: datetime,
    grace: timedelta,
    remove: bool = True,
) -> Reconciled:
    """Compare the stored files with the documents' rows and remove the files no row
    refers to (those a crash left: after an upload stored its file but before its
    commit, or after a deletion's commit but before its file was removed).

    Both sides are read in bytewise key order (the listing, and the rows sorted with
    COLLATE "C") and merged, so memory stays flat whatever their number. Each finding is
    checked again before it counts: an orphan must still have no row (and be older
    than `grace`, the longest an upload's transaction may take), a missing file must
    still be missing while its row still exists.
    """
    found = Reconciled()
    candidates: list[StoredFile] = []
    absent: list[str] = []
    rows = await db.stream_scalars(
        sa.select(models.Document.storage_key).order_by(models.Document.storage_key.collate("C"))
    )
    files = aiter(storage.files())
    stored = await anext(files, None)
    key = await anext(rows, None)
    matched: str | None = None
    while stored is not None or key is not None:
        if key is not None and key == matched:  # two rows of one file
            key = await anext(rows, None)
        elif key is None or (stored is not None and stored.key.encode() < key.encode()):
            assert stored is not None
            found.files += 1
            candidates.append(stored)
            stored = await anext(files, None)
        elif stored is None or key.encode() < stored.key.encode():
            found.rows += 1
            absent.append(key)
            key = await anext(rows, None)
        else:
            found.files += 1
            found.rows += 1
            matched = key
            stored, key = await anext(files, None), await anext(rows, None)
    await rows.close()

    for batch in _batches(candidates, RECHECK_BATCH):
        referenced = set(
            await db.scalars(
                sa.select(models.Document.storage_key).where(
                    models.Document.storage_key.in_([file.key for file in batch])
                )
            )
        )
        for file in batch:
            if file.key in referenced:
                continue
            if now - file.modified < grace:
                found.recent.append(file.key)
                continue
            if remove:
                await storage.delete(file.key)
            found.orphans.append(file.key)
            log.info("document file orphaned", key=file.key, removed=remove)

    for keys in _batches(absent, RECHECK_BATCH):
        stored_now = await asyncio.gather(*(_stored(storage, key) for key in keys))
        still = [key for key, there in zip(keys, stored_now, strict=True) if not there]
        if still:
            found.missing += [
                (row.id, row.storage_key)
                for row in await db.execute(
                    sa.select(models.Document.id, models.Document.storage_key)
                    .where(models.Document.storage_key.in_(still))
                    .order_by(models.Document.storage_key)
                )
            ]
    for document_id, key in found.missing:
        log.error("document file missing", document_id=str(document_id), key=key)
    return found


async def _stored(storage: DocumentStorage, key: str) -> bool:
    try:
        return await storage.exists(key)
    except ValueError:  # a key no storage can hold: its file can not be there
        return False


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


# --- Upload and delete ---------------------------------------------------------------------------


async def upload(
    db: AsyncSession,
    actor: Actor,
    storage: DocumentStorage,
    *,
    data: bytes,
    file_name: str | None,
    type: models.DocumentType,
    contact_id: uuid.UUID | None,
    contract_id: uuid.UUID | None,
    order_id: uuid.UUID | None,
    origin: audit.Origin,
    notify: Notifier,
) -> models.Document:
    """Store an uploaded file as a document of a contact (and optionally of one of its
    contracts or orders). Customers upload for themselves, LETTER, PROTOCOL or OTHER;
    staff for any contact of their organization, any type. The file is stored last: if
    storing fails, the transaction fails with it and no row remains (wrap the
    transaction in `undo_on_failure` so that a failed commit removes the file).

    Args:
        data: the whole file (see `read_limited`).
        file_name: the name the client gave, cleaned by `clean_file_name`.

    Raises:
        UploadRefused: the file's type is not allowed.
        InvalidInput: staff named no contact; a customer chose a type they may not.
        NotFound: the contact, contract or order is not one the actor may see, or the
            contract or order is not the contact's.
    """
    kind = check_type(data)
    if actor.is_staff:
        if contact_id is None:
            raise InvalidInput("document_contact_required", field="contactId")
    else:
        contact_id = contact_id or actor.contact_id
        if type not in CUSTOMER_TYPES:
            allowed = ", ".join(sorted(CUSTOMER_TYPES))
            raise InvalidInput(
                "document_type_not_for_customers", field="type", parameters={"allowed": allowed}
            )
    contact = await find_visible(
        db, models.Contact, contact_id, actor, what="contact", field="contactId"
    )
    if contract_id is not None:
        contract = await find_visible(
            db, models.Contract, contract_id, actor, what="contract", field="contractId"
        )
        if contract.contact_id != contact.id:
            raise NotFound("contract_not_of_contact", field="contractId")
    if order_id is not None:
        order = await find_visible(db, models.Order, order_id, actor, what="order", field="orderId")
        if order.contact_id != contact.id:
            raise NotFound("order_not_of_contact", field="orderId")
    document = models.Document(
        id=uuid.uuid4(),
        organization_id=contact.organization_id,
        contact_id=contact.id,
        contract_id=contract_id,
        order_id=order_id,
        name=clean_file_name(file_name, kind),
        type=type,
        mime_type=kind.mime,
        size_bytes=len(data),
        storage_key=new_key(contact.organization_id),
        uploaded_by_id=actor.subject_id if actor.is_portal_user else None,
    )
    db.add(document)
    await db.flush()
    await customer_change(
        db,
        notify,
        actor,
        document,
        UPLOADED,
        origin,
        {
            "name": document.name,
            "mime_type": kind.mime,
            "size_bytes": len(data),
            "type": type.value,
        },
        details=[f"{document.name} ({type.value}, {kind.mime}, {_size(len(data))})"],
    )
    if actor.is_staff:
        await portal_notices.tell_contact(
            db,
            row=document,
            contact_id=contact.id,
            grant=Grant.DOCUMENT_READ,
            kind=EmailTemplateKind.NEW_DOCUMENT,
            sender=notify.sender,
            values=lambda portal: {
                "document": {"name": document.name},
                "documents_link": portal_mail.page_link(portal, "documents"),
            },
        )
    await storage.put(document.storage_key, data)
    return document


async def delete(
    db: AsyncSession,
    actor: Actor,
    *,
    document_id: uuid.UUID | None,
    origin: audit.Origin,
    notify: Notifier,
) -> models.Document:
    """Delete a document's row; the caller removes its file after the commit
    (`remove_file`), so a failed transaction never loses a file.

    Staff delete any document of their organization; customers only those they uploaded
    themselves.

    Raises:
        NotFound: not a document the actor may see.
        RuleViolation: a customer tried to delete a document of the utility (or of
            another portal user of the same contact).
    """
    document = await find_visible(
        db, models.Document, document_id, actor, what="document", field="documentId", lock=True
    )
    if not actor.is_staff and document.uploaded_by_id != actor.subject_id:
        raise RuleViolation("document_not_own_upload", field="documentId")
    await customer_change(
        db,
        notify,
        actor,
        document,
        DELETED,
        origin,
        {"name": document.name, "type": document.type.value},
        details=[f"{document.name} ({document.type.value})"],
    )
    await db.delete(document)
    await db.flush()
    return document


def is_new(document: models.Document) -> bool:
    """New to the customer (the rule: `models.Document.is_new`)."""
    return bool(document.is_new)


# --- Download ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Whom a download link was issued to: a portal user (with the staff member
    impersonating them, if one was), or a staff user; and in which session, since a link
    works only as long as that session does (a logout, an ended impersonation or a
    portal user moved to another contact end it too)."""

    portal_user_id: uuid.UUID | None = None
    staff_user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None


def holder_of(actor: Actor) -> Holder | None:
    """The holder of the links `actor` is given; None for actors that can not hold one
    (anonymous callers, jobs without a user)."""
    if actor.subject_id is None:
        return None
    if actor.is_staff:
        return Holder(staff_user_id=actor.subject_id, session_id=actor.session_id)
    if actor.is_portal_user:
        return Holder(
            portal_user_id=actor.subject_id,
            staff_user_id=actor.impersonator_id,
            session_id=actor.session_id,
        )
    return None


async def actor_of(db: AsyncSession, holder: Holder, now: datetime) -> Actor | None:
    """The holder as an actor with what they may do now, or None when they may not act:
    the account may act (sessions.account_actor, the same rule as a refresh's), and the
    session the link was issued in is still valid, the same check as a bearer token's
    (sessions.authorize), which also loads the grants of a portal user's group."""
    if holder.session_id is None:
        return None
    impersonated = holder.portal_user_id is not None
    actor = await sessions.account_actor(
        db,
        staff_user_id=None if impersonated else holder.staff_user_id,
        portal_user_id=holder.portal_user_id,
        impersonator_id=holder.staff_user_id if impersonated else None,
    )
    if actor is None:
        return None
    return await sessions.authorize(db, replace(actor, session_id=holder.session_id), now)


@dataclass(frozen=True)
class Download:
    document: models.Document
    chunks: AsyncIterator[bytes]


async def download(
    db: AsyncSession,
    storage: DocumentStorage,
    *,
    document_id: uuid.UUID,
    holder: Holder,
    origin: audit.Origin,
    now: datetime,
) -> Download:
    """The file of a verified download link, if its holder may still read the document;
    a portal user's first download marks it opened (not one by impersonating staff).

    Raises:
        NotFound: the holder may no longer act or read it, it was deleted, or its file is
            missing.
    """
    actor = await actor_of(db, holder, now)
    if actor is None or not actor.may(Grant.DOCUMENT_READ):
        raise NotFound("document_not_found", field="documentId")
    document = await find_visible(
        db, models.Document, document_id, actor, what="document", field="documentId", lock=True
    )
    chunks = await storage.open(document.storage_key)
    first = actor.is_portal_user and not actor.is_impersonated and document.opened_at is None
    if first:
        document.opened_at = now
    audit.about(db, actor, document, DOWNLOADED, origin, {"first_opened": first})
    await db.flush()
    return Download(document, chunks)
