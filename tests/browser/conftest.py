"""The reference portal (web/) in Chromium: one `portal serve` (embedded PostgreSQL,
demo data, mail sink) for the package and one browser per module. Chromium is Debian's
package (`make test` / .ci/run install it); Playwright's own browsers are never
downloaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from gql import portal_web
from tests.browser.portal_helpers import Server, free_port, new_context
from tests.conftest import ROOT, ServerDirs
from tests.serve_helpers import stop_served

CHROMIUM = os.environ.get("CHROMIUM", "chromium")


# Package scope: started once for the package's modules (tests/scheduling.py gives them to
# one xdist worker together) and stopped when they are done, not held to the session's end.
@pytest.fixture(scope="package")
def portal_server(server_dirs: ServerDirs) -> Iterator[Server]:
    if not portal_web.built():
        pytest.fail("web/dist is missing: `make test` builds the portal (npm ci, npm run build)")
    data_dir = server_dirs.new("portal") / "data"
    log = data_dir.parent / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PORTAL_LOCAL_DOMAIN")}
    env["SMTP_PORT"] = str(free_port())
    # The demo's passwords hashed with argon2's cheapest parameters (gql/auth/passwords.py;
    # production refuses them), as the in-process tests do: these tests are about the
    # pages, and every login through them would otherwise cost a full hash.
    env["PASSWORD_PROFILE"] = "test"
    command = [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir)]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True
        )
    running = Server(process, f"http://127.0.0.1:{port}", data_dir, log)
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"portal serve exited:\n{running.output()}")
        try:
            if httpx.get(f"{running.url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"portal serve did not come up:\n{running.output()}")
        time.sleep(0.25)
    yield running
    # SIGTERM: the server stops its PostgreSQL before it exits, so nothing of this run
    # is left to disturb the next one in the same folder.
    stop_served(process)


# Module scope: Playwright's sync API keeps an event loop of its own running, which
# must end before pytest-asyncio's session loop is closed.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which(CHROMIUM)
    if executable is None:
        pytest.fail("Chromium is missing: apt-get install chromium (make test does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser, portal_server: Server) -> Iterator[BrowserContext]:
    made = new_context(browser, portal_server)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page whose console must stay free of errors (checked after the test)."""
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    assert errors == [], errors


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests put their screenshots: docs/screenshots with
    PORTAL_SCREENSHOTS=docs (the ones the README links), else a temporary folder."""
    if os.environ.get("PORTAL_SCREENSHOTS") == "docs":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(exist_ok=True)
        return target
    return tmp_path_factory.mktemp("screenshots")
