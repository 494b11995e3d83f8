"""GraphiQL works without internet: the page a browser gets at /graphql loads nothing
from another host, and every file it loads is served here with the bytes its
subresource-integrity hash names (`make test` installs them with npm ci, as `make
serve` does). Production has no IDE and no files."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx

from gql import graphiql

BROWSER = {"accept": "text/html,application/xhtml+xml"}
LOADED = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"[^>]*?>', re.S)


def _integrity(tag_text: str, address: str) -> str | None:
    tag = next(t for t in re.findall(r"<(?:script|link)\b[^>]*>", tag_text, re.S) if address in t)
    found = re.search(r'integrity="sha384-([^"]+)"', tag)
    return found[1] if found else None


async def test_the_ide_loads_every_file_from_this_server(client: httpx.AsyncClient) -> None:
    assert graphiql.installed(), "run make test (it installs tools/graphiql with npm ci)"
    page = await client.get("/graphql", headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    addresses = [a for a in LOADED.findall(page.text) if not a.startswith("data:")]
    assert len(addresses) == len(graphiql.ASSETS)
    assert [a for a in addresses if not a.startswith(graphiql.PREFIX)] == []
    assert "unpkg" not in page.text
    assert "Cookies." not in page.text
    for address in addresses:
        served = await client.get(address)
        assert served.status_code == 200, address
        assert served.headers["content-type"].startswith(("text/javascript", "text/css"))
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert _integrity(page.text, address) == digest, address


async def test_only_the_ides_files_are_served(client: httpx.AsyncClient) -> None:
    for name in ("package.json", "..%2F..%2Fpackage.json", "react%2Findex.js", "x.js"):
        assert (await client.get(graphiql.PREFIX + name)).status_code == 404, name


async def test_production_has_neither_ide_nor_files(production_client: httpx.AsyncClient) -> None:
    page = await production_client.get("/graphql", headers=BROWSER)
    assert page.status_code in (400, 404, 405)
    assert "graphiql" not in page.text.lower()
    assert (await production_client.get(graphiql.PREFIX + "graphiql.min.js")).status_code == 404
