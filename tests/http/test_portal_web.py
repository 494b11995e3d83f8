"""/portal/: the built page (with the local portal's domain filled in), its hashed
assets cached for a year, nothing outside web/dist/assets, and a hint when not built."""

from __future__ import annotations

from pathlib import Path

import httpx
from starlette.applications import Starlette

from gql import portal_web


def client(dist: Path, local_domain: str | None) -> httpx.AsyncClient:
    app = Starlette(routes=portal_web.routes(local_domain, dist=dist))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def build(dist: Path) -> None:
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        '<meta name="portal-local-domain" content="" /><script src="/portal/assets/a.js">'
    )
    (dist / "assets" / "a.js").write_text("console.log(1)")
    (dist.parent / "secret.js").write_text("no")


async def test_every_page_path_answers_the_page_with_the_local_domain(tmp_path: Path) -> None:
    build(tmp_path / "dist")
    async with client(tmp_path / "dist", "musterstadt.portale.example") as http:
        for path in ("/portal", "/portal/", "/portal/contracts/Q29udHJhY3Q6MQ=="):
            response = await http.get(path)
            assert response.status_code == 200
            assert 'content="musterstadt.portale.example"' in response.text
            assert response.headers["cache-control"] == "no-store"
            assert "default-src 'self'" in response.headers["content-security-policy"]


async def test_without_a_local_domain_the_page_asks_for_its_host(tmp_path: Path) -> None:
    build(tmp_path / "dist")
    async with client(tmp_path / "dist", None) as http:
        assert 'name="portal-local-domain" content=""' in (await http.get("/portal/")).text


async def test_assets_are_cached_and_nothing_else_is_served(tmp_path: Path) -> None:
    build(tmp_path / "dist")
    async with client(tmp_path / "dist", None) as http:
        asset = await http.get("/portal/assets/a.js")
        assert asset.status_code == 200
        assert asset.headers["content-type"].startswith("text/javascript")
        assert "immutable" in asset.headers["cache-control"]
        assert (await http.get("/portal/assets/missing.js")).status_code == 404
        # A path out of assets/ is a page path: the page answers, never the file.
        escape = await http.get("/portal/assets/..%2F..%2Fsecret.js")
        assert escape.text != "no"
        assert escape.headers["content-type"].startswith("text/html")


async def test_not_built_says_how_to_build(tmp_path: Path) -> None:
    async with client(tmp_path / "dist", None) as http:
        response = await http.get("/portal/")
        assert response.status_code == 404
        assert "make serve" in response.text
