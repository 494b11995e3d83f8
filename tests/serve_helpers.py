"""`portal serve` as its users reach it, shared by tests/http/test_serve.py (which starts
it) and the browser tests (tests/browser/conftest.py starts their own): the README's demo
logins, a free port, the running instance, a GraphQL call and a login over HTTP, and the
development mail sink's mails."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT


@dataclass(frozen=True)
class ReadmeLogin:
    role: str
    email: str
    password: str
    portal_id: str | None


def readme_logins() -> list[ReadmeLogin]:
    """The rows of the table under '## Demo logins' in README.md."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Demo logins", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert header == ["role", "email", "password", "portalId"]
    logins = []
    for row in rows[1:]:
        role, email, password, portal = (cell.strip() for cell in row.strip("|").split("|"))
        logins.append(ReadmeLogin(role, email, password, portal or None))
    return logins


def stop_served(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Stops a started `portal serve` as its operator would: SIGTERM, on which granian
    stops its workers and the server its embedded PostgreSQL, so nothing of the run is
    left behind (a SIGKILL of the server alone leaves its workers running); a kill only
    when it has not stopped within `timeout` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text()


def graphql(
    server: Server, query: str, token: str | None = None, **variables: object
) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def login(server: Server, account: ReadmeLogin) -> str:
    data = graphql(
        server,
        "mutation($input: LoginInput!) { login(input: $input) {"
        " ... on LoggedIn { accessToken } ... on LoginError { code message } } }",
        input={"email": account.email, "password": account.password, "portalId": account.portal_id},
    )
    result = data["login"]
    assert isinstance(result, dict)
    assert "accessToken" in result, (account.email, result)
    return str(result["accessToken"])


def wait_for_mail(server: Server, to: str, pattern: str) -> re.Match[str]:
    """A match of `pattern` in a mail to `to` (newest first), from the served instance's
    sink (its in-process worker delivers within a poll or two)."""
    deadline = time.monotonic() + 30
    while True:
        mails = httpx.get(f"{server.url}/dev/mails", timeout=5).json()
        received = [m for m in mails if m["recipients"] == [to]]
        for mail in received:
            if found := re.search(pattern, mail["text"]):
                return found
        assert time.monotonic() < deadline, [m["subject"] for m in mails]
        time.sleep(0.25)
