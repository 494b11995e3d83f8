"""GraphiQL without internet (development only). Strawberry's page loads React,
GraphiQL and its explorer plugin from a CDN, so on a machine without internet the IDE
stays blank. Here the same page loads the same files (the same versions, checked by
the page's own subresource-integrity hashes) from `tools/graphiql/node_modules`, which
`make serve` installs with `npm ci`; they are served under `/graphiql/<name>`."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

PREFIX = "/graphiql/"
NODE_MODULES = Path(__file__).resolve().parent.parent / "tools" / "graphiql" / "node_modules"
# Name under /graphiql/ -> file under node_modules; the CDN addresses they replace.
ASSETS = {
    "react.production.min.js": "react/umd/react.production.min.js",
    "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
    "graphiql.min.js": "graphiql/graphiql.min.js",
    "graphiql.min.css": "graphiql/graphiql.min.css",
    "explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
    "explorer.css": "@graphiql/plugin-explorer/dist/style.css",
}
CDN = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
        "react-dom.production.min.js"
    ),
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql.min.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "explorer.umd.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "explorer.css",
}
# js-cookie only read Django's CSRF cookie; this API takes bearer tokens, no cookies.
COOKIE_SCRIPT = re.compile(r"<script[^>]*js-cookie[^>]*>\s*</script>", re.S)
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


def installed() -> bool:
    return all((NODE_MODULES / path).is_file() for path in ASSETS.values())


@cache
def page() -> str:
    """Strawberry's GraphiQL page, every file from this server."""
    html = (resources.files("strawberry") / "static" / "graphiql.html").read_text("utf-8")
    for address, name in CDN.items():
        if address not in html:
            raise RuntimeError(f"Strawberry's GraphiQL page no longer loads {address}")
        html = html.replace(address, PREFIX + name)
    html = COOKIE_SCRIPT.sub("", html).replace('Cookies.get("csrftoken")', "null")
    if "https://unpkg.com" in html:
        raise RuntimeError("Strawberry's GraphiQL page loads a file not served here")
    return html


async def asset(request: Request) -> Response:
    path = ASSETS.get(request.path_params["name"])
    if path is None:
        return PlainTextResponse("Not found", status_code=404)
    if not (NODE_MODULES / path).is_file():
        return PlainTextResponse(
            "GraphiQL's files are not installed: run `make serve` (npm ci in tools/graphiql).",
            status_code=404,
        )
    return FileResponse(
        NODE_MODULES / path,
        media_type=MEDIA_TYPES[Path(path).suffix],
        headers={"cache-control": "public, max-age=86400"},
    )
