"""`GET /documents/<id>?...&sig=..`: the file behind a signed download link.

The link is the authorization (browsers follow it without the bearer token): its
signature and expiry are checked before anything else, and the holder it names is
checked against the database again (still active, still allowed to read the document,
the session the link was issued in still valid).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import quote

import structlog
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from gql.auth.links import LinkRefused, links_for
from gql.client_address import client_address
from gql.domain import audit, documents
from gql.domain.errors import NotFound
from gql.domain.storage import StorageUnavailable
from gql.settings import Settings

log = structlog.get_logger(__name__)

PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the real one (RFC 6266 / 8187)."""
    fallback = "".join(
        char if char.isascii() and char.isprintable() and char not in '"\\' else "_"
        for char in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _refusal(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status, headers=PRIVATE)


def download_endpoint(
    settings: Settings, storage: documents.DocumentStorage
) -> Callable[[Request], Awaitable[Response]]:
    async def download(request: Request) -> Response:
        if request.method != "GET":
            return _refusal(405, "Use GET.")
        now = datetime.now(UTC)
        try:
            link = links_for(settings).verify(
                request.path_params["document_id"], request.query_params, now
            )
        except LinkRefused as refused:  # decided without the database
            return _refusal(refused.status, str(refused))
        db = request.state.session()
        try:
            found = await documents.download(
                db,
                storage,
                document_id=link.document_id,
                holder=link.holder,
                origin=audit.Origin(
                    client_address(request, settings), request.headers.get("user-agent")
                ),
                now=now,
            )
        except NotFound:
            await db.rollback()
            return _refusal(404, "This document is not available.")
        except StorageUnavailable:
            await db.rollback()
            log.warning("documents.storage_unavailable", exc_info=True)
            response = _refusal(503, "The document storage is unavailable. Try again shortly.")
            response.headers["Retry-After"] = "5"
            return response
        await db.commit()
        return StreamingResponse(
            found.chunks,
            media_type=found.document.mime_type,
            headers={
                **PRIVATE,
                "Content-Disposition": content_disposition(found.document.name),
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Referrer-Policy": "no-referrer",
            },
        )

    return download
