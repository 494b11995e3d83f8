"""The first steps of every request: what it may be (size, uploads only with a token)
and what every answer carries (security headers). Nothing here reads the database."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _refusal(status: int, code: str, message: str) -> JSONResponse:
    """A request refused before it reaches GraphQL, answered in GraphQL's error shape."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class SecurityHeaders:
    """Headers every answer carries unless the route set its own: nothing is sniffed,
    framed, cached or referred, and the API's answers may run no content (CSP). In
    production HSTS too (TLS ends in front of the app). GraphiQL, a development page
    loading its scripts, gets no CSP."""

    def __init__(self, app: ASGIApp, production: bool) -> None:
        self.app = app
        common = {
            b"x-content-type-options": b"nosniff",
            b"x-frame-options": b"DENY",
            b"referrer-policy": b"no-referrer",
            b"cache-control": b"no-store",
        }
        if production:
            common[b"strict-transport-security"] = b"max-age=63072000; includeSubDomains"
        csp = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
        # What an HTML page gets, and every other answer (in this order).
        self.for_html = list(common.items())
        self.for_others = [*self.for_html, csp]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present: set[bytes] = set()
                html = False
                for name, value in headers:
                    name = name.lower()
                    present.add(name)
                    html = html or (name == b"content-type" and value.startswith(b"text/html"))
                extra = self.for_html if html else self.for_others
                headers += [(n, v) for n, v in extra if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before they are parsed: the
    multipart parser would otherwise spool any upload, however large, to disk."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) > self.limit:
                await self._too_large(scope, receive, send)
                return
            if b"transfer-encoding" not in headers:
                # The body is framed by its length (HTTP/1.1): the server reads no more
                # than that, so there is nothing to count.
                await self.app(scope, receive, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request is larger than {self.limit} bytes."
        response = _refusal(413, "PAYLOAD_TOO_LARGE", message)
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class MultipartNeedsToken:
    """A multipart POST is a "simple" request a cross-site form can send without a
    CORS preflight; every upload mutation needs a logged-in user anyway, so a multipart
    request without an `Authorization` header is refused before it is parsed (JSON
    and other content types are left to the GraphQL view, which accepts only JSON)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            multipart = headers.get(b"content-type", b"").startswith(b"multipart/")
            if multipart and b"authorization" not in headers:
                message = "Uploads need an Authorization header."
                response = _refusal(401, "UNAUTHENTICATED", message)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
