"""The reference customer portal (web/, a Vite build in web/dist) at `/portal/`, in
every environment once it is built (`make serve` and `make test` build it). It uses
only the public API; the one thing the server adds is, for a host no portal has (the
development server on 127.0.0.1), the domain of the portal the page shows instead
(`PORTAL_LOCAL_DOMAIN`; `portal serve` with demo data sets the demo customer portal)."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

PREFIX = "/portal"
DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
# The placeholder in web/index.html that the server fills with PORTAL_LOCAL_DOMAIN.
LOCAL_DOMAIN_MARK = 'name="portal-local-domain" content=""'
# The page loads its own bundle only; logos may come from the utility's own site.
CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self';"
    " frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}


def built(dist: Path = DIST) -> bool:
    return (dist / "index.html").is_file()


def routes(local_domain: str | None, dist: Path = DIST) -> list[BaseRoute]:
    """`/portal/assets/<file>` (hashed names: cached for a year) and the page itself for
    every other path under `/portal/` (the page routes in the browser)."""

    def page(request: Request) -> Response:
        index = dist / "index.html"
        if not index.is_file():
            return PlainTextResponse(
                "The portal is not built: run `make serve` (npm ci and build in web/).",
                status_code=404,
            )
        text = index.read_text("utf-8")
        if local_domain:
            text = text.replace(
                LOCAL_DOMAIN_MARK,
                f'name="portal-local-domain" content="{html.escape(local_domain)}"',
            )
        return HTMLResponse(
            text, headers={"content-security-policy": CSP, "cache-control": "no-store"}
        )

    def asset(request: Request) -> Response:
        name = request.path_params["name"]
        path = (dist / "assets" / name).resolve()
        if (
            "/" in name
            or path.parent != (dist / "assets").resolve()
            or not path.is_file()
            or path.suffix not in MEDIA_TYPES
        ):
            return PlainTextResponse("Not found", status_code=404)
        return FileResponse(
            path,
            media_type=MEDIA_TYPES[path.suffix],
            headers={"cache-control": "public, max-age=31536000, immutable"},
        )

    return [
        Route(PREFIX + "/assets/{name}", asset, methods=["GET"]),
        Route(PREFIX, page, methods=["GET"]),
        Route(PREFIX + "/{path:path}", page, methods=["GET"]),
    ]
