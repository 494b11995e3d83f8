"""Where document files are kept: `DocumentStorage` (put, open, delete, exists, list by
key) and its two kinds, chosen by `DOCUMENTS_URL` (`storage_for`).

- `LocalStorage` (`file:///path`, or unset: `<data dir>/documents`): one machine only;
  what `make serve` uses.
- `S3Storage` (`s3://bucket/prefix?endpoint=...&region=...`): any S3-compatible object
  store (AWS S3, MinIO, Ceph RGW, the clouds' equivalents), so that every process on
  every machine reads the same files. Client: aioboto3, the asyncio wrapper of the AWS
  SDK (boto3/aiobotocore): the SDK's request signing, retries, credential chain (AWS_*
  variables, profiles, instance and pod roles) and managed multipart transfers, without
  blocking the event loop. (The MinIO SDK is synchronous: every call would need a thread.)

Keys are relative paths of plain segments (`<organization id>/<uuid>`); a storage never
takes one that could leave its root or prefix. Listing is in key order (bytewise), which
`documents.reconcile` merges with the rows in the same order.
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import re
import tempfile
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import parse_qs, urlsplit

from gql.domain.errors import NotFound
from gql.settings import Settings, SettingsError

CHUNK = 64 * 1024

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*")
KEY_LIMIT = 500


class StoredFileMissing(NotFound):
    pass


class StorageUnavailable(OSError):
    """The store could not be reached or refused the request (not: the file is missing).
    An OSError, like a local disk's failure, so callers handle both the same way."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    modified: datetime


class DocumentStorage(Protocol):
    """Where document files are kept, by key."""

    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` whole or not at all (replacing what was there)."""

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks; raises `StoredFileMissing` before the first."""

    async def delete(self, key: str) -> None:
        """Remove the file; a missing one is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether a file is stored under `key`."""

    def files(self) -> AsyncIterator[StoredFile]:
        """Every stored file, in bytewise order of the keys."""


def check_key(key: str) -> str:
    if len(key) > KEY_LIMIT or not KEY.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


# --- Local files -------------------------------------------------------------------------------


class LocalStorage:
    """Files under `root`, one per key; written to a temporary file and renamed, so a
    reader never sees half a file and a crash leaves no partial one under the key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file of `key`, which must be a relative path of plain segments (no `..`,
        no leading `/` or `.`) that stays inside `root`."""
        check_key(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ValueError(f"not a storage key: {key!r}")
        return path

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self.path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError as exc:
            raise StoredFileMissing("The file of this document is missing.") from exc
        return _chunks(handle)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def files(self) -> AsyncIterator[StoredFile]:
        for stored in await asyncio.to_thread(self._listing):
            yield stored

    def _listing(self) -> list[StoredFile]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            # Skips the temporary files of writes in progress (".incoming-...").
            if path.is_file() and KEY.fullmatch(key):
                modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                found.append(StoredFile(key, modified))
        return sorted(found, key=lambda stored: stored.key.encode())


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


# --- S3-compatible object storage ----------------------------------------------------------------

# Uploads above this go in parts of this size (S3's smallest part is 5 MiB), so no request
# carries a whole large file and a failed part is retried alone.
PART_BYTES = 5 * 1024 * 1024


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


class S3Storage:
    """Objects `<prefix>/<key>` in `bucket`, through aioboto3. One client per event loop
    (a process's server has one), kept with its connection pool until `close`: making a
    client costs far more than a request (~0.25 s against ~0.04 s on the build machine)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str | None = None,
        path_style: bool | None = None,
    ) -> None:
        # Imported here: the SDK takes seconds to import, which every process and CLI
        # command would pay without a bucket configured.
        import aioboto3
        from aiobotocore.config import AioConfig
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        self._failed: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
        self._refused: type[Exception] = ClientError
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint
        self._session = aioboto3.Session()
        # MinIO and Ceph are addressed by path (no DNS name per bucket); AWS by host.
        style = "path" if (path_style if path_style is not None else endpoint) else "auto"
        self._client_options: dict[str, Any] = {
            "endpoint_url": endpoint,
            "region_name": region,
            "config": AioConfig(
                s3={"addressing_style": style},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        }
        self._clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[AsyncExitStack, Any]
        ] = weakref.WeakKeyDictionary()
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._transfer = TransferConfig(
            multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES
        )

    async def _s3(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            lock = self._locks.setdefault(loop, asyncio.Lock())
            async with lock:
                if loop not in self._clients:  # another task may have made it meanwhile
                    stack = AsyncExitStack()
                    client = self._session.client("s3", **self._client_options)
                    self._clients[loop] = (stack, await stack.enter_async_context(client))
        return self._clients[loop][1]

    async def close(self) -> None:
        """Close this event loop's client and its connections (at shutdown)."""
        entry = self._clients.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[0].aclose()

    def object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, data: bytes) -> None:
        target = self.object_key(key)
        try:
            s3 = await self._s3()
            await s3.upload_fileobj(io.BytesIO(data), self.bucket, target, Config=self._transfer)
        except self._failed as exc:
            raise StorageUnavailable(f"storing {key!r} failed: {exc}") from exc

    async def open(self, key: str) -> AsyncIterator[bytes]:
        target = self.object_key(key)
        try:
            s3 = await self._s3()
            response = await s3.get_object(Bucket=self.bucket, Key=target)
        except self._refused as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise StoredFileMissing("The file of this document is missing.") from exc
            raise StorageUnavailable(f"reading {key!r} failed: {exc}") from exc
        except self._failed as exc:
            raise StorageUnavailable(f"reading {key!r} failed: {exc}") from exc
        return _body_chunks(response["Body"])

    async def delete(self, key: str) -> None:
        target = self.object_key(key)
        try:
            await (await self._s3()).delete_object(Bucket=self.bucket, Key=target)
        except self._failed as exc:
            raise StorageUnavailable(f"deleting {key!r} failed: {exc}") from exc

    async def exists(self, key: str) -> bool:
        target = self.object_key(key)
        try:
            await (await self._s3()).head_object(Bucket=self.bucket, Key=target)
        except self._refused as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageUnavailable(f"checking {key!r} failed: {exc}") from exc
        except self._failed as exc:
            raise StorageUnavailable(f"checking {key!r} failed: {exc}") from exc
        return True

    async def files(self) -> AsyncIterator[StoredFile]:
        """ListObjectsV2 pages (S3 lists in UTF-8 binary key order)."""
        start = f"{self.prefix}/" if self.prefix else ""
        try:
            s3 = await self._s3()
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
            async for page in pages:
                for item in page.get("Contents", ()):
                    key = str(item["Key"])[len(start) :]
                    if KEY.fullmatch(key):  # anything else is not ours
                        yield StoredFile(key, item["LastModified"])
        except self._failed as exc:
            raise StorageUnavailable(f"listing the bucket failed: {exc}") from exc


async def _body_chunks(body: Any) -> AsyncIterator[bytes]:
    """The object's bytes as they arrive; the connection goes back to the client's pool
    when the stream ends or its reader goes away."""
    try:
        async for chunk in body.iter_chunks(CHUNK):
            yield chunk
    finally:
        body.close()


def from_url(url: str) -> DocumentStorage:
    """The storage `DOCUMENTS_URL` names.

    Raises:
        SettingsError: not a file:// or s3:// URL, or an s3:// URL without a bucket.
    """
    parts = urlsplit(url)
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise SettingsError("DOCUMENTS_URL file:// needs an absolute path (file:///srv/docs)")
        return LocalStorage(Path(parts.path))
    if parts.scheme == "s3":
        if not parts.netloc:
            raise SettingsError("DOCUMENTS_URL s3:// needs a bucket (s3://bucket/prefix)")
        unknown = set(options) - {"endpoint", "region", "path_style"}
        if unknown:
            raise SettingsError(f"DOCUMENTS_URL: unknown options {sorted(unknown)}")
        path_style = options.get("path_style")
        return S3Storage(
            parts.netloc,
            parts.path,
            endpoint=options.get("endpoint"),
            region=options.get("region"),
            path_style=None if path_style is None else path_style.lower() in ("1", "true"),
        )
    raise SettingsError("DOCUMENTS_URL must be a file:// or s3:// URL")


@functools.cache
def storage_for(settings: Settings) -> DocumentStorage:
    """The storage the settings configure (`DOCUMENTS_URL`; unset: local files under
    `<data dir>/documents`)."""
    if settings.documents_url is None:
        return LocalStorage(settings.data_dir / "documents")
    return from_url(settings.documents_url)


async def release(storage: DocumentStorage) -> None:
    """Close what the storage holds open on this event loop (an S3 client and its
    connections; local files hold nothing). aiohttp reports a client left open as an
    "Unclosed client session" when its loop ends."""
    if isinstance(storage, S3Storage):
        await storage.close()


@asynccontextmanager
async def storage_opened(settings: Settings) -> AsyncIterator[DocumentStorage]:
    """The storage the settings configure, for work on one event loop (a command),
    released however the work ends."""
    storage = storage_for(settings)
    try:
        yield storage
    finally:
        await release(storage)
