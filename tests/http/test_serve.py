"""`portal serve` as a user starts it: a subprocess on a free port with a fresh data
directory and its own embedded PostgreSQL; the README's demo logins work over HTTP."""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator

import httpx
import pytest
from graphql import parse, validate
from typer.testing import CliRunner

from gql import cli
from gql.auth import passwords
from gql.dev_mail import mails_page
from gql.schema import schema
from tests.conftest import ROOT, ServerDirs
from tests.serve_helpers import (
    ReadmeLogin,
    Server,
    free_port,
    graphql,
    login,
    readme_logins,
    stop_served,
    wait_for_mail,
)


@pytest.fixture(scope="module")
def server(server_dirs: ServerDirs) -> Iterator[Server]:
    data_dir = server_dirs.new("serve") / "data"
    log = data_dir.parent / "serve.log"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["COLUMNS"] = "200"
    env["SMTP_PORT"] = str(free_port())  # the development mail sink
    command = [sys.executable, "-m", "gql.cli", "serve"]
    command += ["--port", str(port), "--data-dir", str(data_dir)]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            text=True,
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
    stop_served(process)


def test_it_answers_and_prints_the_url_and_the_logins(server: Server) -> None:
    assert graphql(server, "{ viewer { __typename } }") == {"viewer": {"__typename": "Viewer"}}
    output = server.output()
    assert f"{server.url}/graphql" in output
    for account in readme_logins():
        line = next((line for line in output.splitlines() if account.email in line), "")
        assert account.password in line
        assert account.portal_id is None or account.portal_id in line


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's tunables, /proc")
def test_it_runs_with_huge_pages_for_password_hashing_as_the_process_it_was_started_as(
    server: Server,
) -> None:
    """`portal serve` starts itself again with glibc's malloc asking for huge pages
    (passwords.environment_for_hashing); the pid its caller knows stays the server's.
    glibc, parsing the tunables at start, ends each one with a NUL in the process's own
    copy of the environment, so the variable is read back with its separators restored."""
    started = passwords.environment_for_hashing(os.environ) or os.environ
    environment = pathlib.Path(f"/proc/{server.process.pid}/environ").read_bytes()
    expected = f"GLIBC_TUNABLES={started['GLIBC_TUNABLES']}".encode()
    assert expected + b"\0" in environment.replace(b"\0glibc.", b":glibc.") + b"\0"


def test_the_readme_lists_every_demo_role() -> None:
    roles = {account.role for account in readme_logins()}
    assert roles == {"ADMIN", "AGENT", "CUSTOMER", "INSTALLER"}


@pytest.mark.parametrize("account", readme_logins(), ids=lambda account: account.email)
def test_every_readme_login_works(server: Server, account: ReadmeLogin) -> None:
    token = login(server, account)
    assert graphql(server, "{ viewer { role } }", token) == {"viewer": {"role": account.role}}


CONTRACTS = """
{ viewer {
    contact { displayName }
    contracts { edges { node { number contact { displayName }
      meters { edges { node { number readings(first: 20) { totalCount } } } } } } }
  }
  contacts(first: 100) { totalCount }
}
"""


def test_a_customer_reads_only_their_own_contracts_and_readings(server: Server) -> None:
    anna = next(a for a in readme_logins() if a.email == "anna.becker@example.org")
    data = graphql(server, CONTRACTS, login(server, anna))
    viewer = data["viewer"]
    assert isinstance(viewer, dict)
    assert viewer["contact"] == {"displayName": "Anna Becker"}
    contracts = [edge["node"] for edge in viewer["contracts"]["edges"]]
    assert len(contracts) == 3
    assert {c["contact"]["displayName"] for c in contracts} == {"Anna Becker"}
    meters = [m["node"] for c in contracts for m in c["meters"]["edges"]]
    assert [m["readings"]["totalCount"] for m in meters] == [12, 12, 24]  # HT/NT: 2 x 12
    assert data["contacts"] == {"totalCount": 1}


def test_a_person_registers_reads_the_mail_activates_and_logs_in(server: Server) -> None:
    """The README's story: register on the demo portal, open /dev/mails, follow the link."""
    portal = next(a.portal_id for a in readme_logins() if a.email == "anna.becker@example.org")
    answer = graphql(
        server,
        "mutation($input: RegisterInput!) { register(input: $input) { __typename } }",
        input={
            "portalId": portal,
            "email": "julia.richter@example.org",
            "password": "Zählerstand-2026!",
            "identifiers": [{"key": "contact.customer_number", "value": "K-100007"}],
            "acceptedTerms": True,
        },
    )
    assert answer == {"register": {"__typename": "RequestReceived"}}
    deadline = time.monotonic() + 30
    while True:  # the in-process worker delivers to the sink within a poll or two
        mails = httpx.get(f"{server.url}/dev/mails", timeout=5).json()
        if mails or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    [mail] = [m for m in mails if m["recipients"] == ["julia.richter@example.org"]]
    token = re.search(r"/activate\?token=([\w-]+)", mail["text"])
    assert token, mail["text"]
    # A browser gets the same mails as a page, the activation link clickable.
    page = httpx.get(f"{server.url}/dev/mails", headers={"accept": "text/html"}, timeout=5)
    assert page.headers["content-type"].startswith("text/html")
    link = r'<a href="[^"]*/activate\?token=' + re.escape(token.group(1)) + '"'
    assert re.search(link, page.text), page.text[:2000]
    assert html.escape(mail["subject"]) in page.text
    activated = graphql(
        server,
        "mutation($input: TokenInput!) { activateAccount(input: $input) {"
        " ... on AccountActivated { canLogIn } } }",
        input={"portalId": portal, "token": token.group(1)},
    )
    assert activated == {"activateAccount": {"canLogIn": True}}
    login(server, ReadmeLogin("CUSTOMER", "julia.richter@example.org", "Zählerstand-2026!", portal))


def test_the_mail_page_escapes_what_mails_contain() -> None:
    page = mails_page(
        [
            {
                "subject": "<script>alert(1)</script>",
                "recipients": ["a@example.org"],
                "sender": "x@example.org",
                "text": 'Klick: https://portal.example/activate?token=abc&x=1"><script>',
            }
        ]
    )
    assert "<script>" not in page
    assert '<a href="https://portal.example/activate?token=abc&amp;x=1">' in page


DOCUMENTS = """
{ viewer { contact { documents { edges { node { name mimeType isNew downloadUrl } } } } } }
"""


def test_a_customer_downloads_a_demo_invoice(server: Server) -> None:
    anna = next(a for a in readme_logins() if a.email == "anna.becker@example.org")
    token = login(server, anna)
    viewer = graphql(server, DOCUMENTS, token)["viewer"]
    assert isinstance(viewer, dict)
    [first, *_] = [edge["node"] for edge in viewer["contact"]["documents"]["edges"]]
    assert (first["mimeType"], first["isNew"]) == ("application/pdf", True)
    response = httpx.get(server.url + first["downloadUrl"], timeout=10)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"%PDF-")
    assert response.headers["content-type"] == "application/pdf"
    viewer = graphql(server, DOCUMENTS, token)["viewer"]
    assert isinstance(viewer, dict)
    opened = next(
        edge["node"]
        for edge in viewer["contact"]["documents"]["edges"]
        if edge["node"]["name"] == first["name"]
    )
    assert opened["isNew"] is False


def test_a_customer_logs_in_with_a_code_changes_her_email_and_closes_her_access(
    server: Server,
) -> None:
    """The demo portal end to end, as a person does it with the mail sink: Jonas (whom
    no later test needs) logs in without his password, moves to another address, and
    closes his access."""
    jonas = next(a for a in readme_logins() if a.email == "jonas.wolf@example.org")
    portal = jonas.portal_id
    options = graphql(
        server,
        "query($input: LoginOptionsInput!) { loginOptions(input: $input) { methods } }",
        input={"portalId": portal, "email": jonas.email},
    )
    assert options == {"loginOptions": {"methods": ["PASSWORD", "EMAIL_CODE"]}}
    requested = graphql(
        server,
        "mutation($input: PortalEmailInput!) { requestLoginCode(input: $input) { __typename } }",
        input={"portalId": portal, "email": jonas.email},
    )
    assert requested == {"requestLoginCode": {"__typename": "RequestReceived"}}
    code = wait_for_mail(server, jonas.email, r"\b(\d{6})\b").group(1)
    logged_in = graphql(
        server,
        "mutation($input: LoginWithCodeInput!) { loginWithCode(input: $input) {"
        " ... on LoggedIn { accessToken } ... on LoginError { code } } }",
        input={"portalId": portal, "email": jonas.email, "code": code},
    )["loginWithCode"]
    assert isinstance(logged_in, dict)
    token = str(logged_in["accessToken"])

    new = "jonas.neu@example.org"
    graphql(
        server,
        "mutation($input: RequestEmailChangeInput!) { requestEmailChange(input: $input) {"
        " ... on EmailChangeRequested { email } } }",
        token,
        input={"newEmail": new, "password": jonas.password},
    )
    link = wait_for_mail(server, new, r"/confirm-email\?token=([\w-]+)").group(1)
    confirmed = graphql(
        server,
        "mutation($input: ConfirmEmailChangeInput!) { confirmEmailChange(input: $input) {"
        " ... on EmailChangeConfirmed { email } } }",
        input={"token": link},
    )
    assert confirmed == {"confirmEmailChange": {"email": new}}
    wait_for_mail(server, jonas.email, r"j\*\*\*@example\.org")  # the notice

    token = login(server, ReadmeLogin("CUSTOMER", new, jonas.password, portal))
    deleted = graphql(
        server,
        "mutation($input: DeleteMyAccountInput!) { deleteMyAccount(input: $input) {"
        " ... on AccountDeleted { email } } }",
        token,
        input={"password": jonas.password},
    )
    assert deleted == {"deleteMyAccount": {"email": new}}
    wait_for_mail(server, new, r"gelöscht")


# Last: it stops the module's server.
# --- The docs' code blocks, against this served instance ----------------------------------

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(\w*)\n(.*?)```", re.S)


def doc_blocks(language: str) -> list[tuple[str, str]]:
    return [
        (f"{path.relative_to(ROOT)}#{n}", match[2])
        for path in DOCS
        for n, match in enumerate(BLOCK.finditer(path.read_text()))
        if match[1] == language
    ]


def shell_commands() -> list[tuple[str, str]]:
    """Every command the docs name: the lines of their sh blocks and the inline
    `make ...` and `portal ...` of their text."""
    found = []
    for path in DOCS:
        text = path.read_text()
        for match in BLOCK.finditer(text):
            if match[1] == "sh":
                found += [(str(path.relative_to(ROOT)), line) for line in match[2].splitlines()]
        prose = BLOCK.sub("", text)
        found += [
            (str(path.relative_to(ROOT)), span)
            for span in re.findall(r"`((?:make|portal) [^`]+)`", prose)
        ]
    return found


def test_every_make_target_and_portal_command_the_docs_name_exists() -> None:
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["portal"] == "gql.cli:app"
    checked = 0
    for where, command in shell_commands():
        words = command.split()
        if not words or words[0] not in ("make", "portal"):
            continue
        checked += 1
        if words[0] == "make":
            assert words[1] in targets, (where, command)
        else:
            sub = [w for w in words[1:] if not w.startswith("-")][:1]
            assert sub, (where, command)
            # In process: the `portal` entry point is this Typer app (pyproject.toml), and
            # `--help` starts nothing; the server's own start is the fixture's above.
            done = CliRunner().invoke(cli.app, [sub[0], "--help"])
            assert done.exit_code == 0, (where, command, done.output[-500:])
    assert checked >= 10


# Blocks that talk to the API (curl); the others name make targets, checked above.
API_BLOCKS = [(where, block) for where, block in doc_blocks("sh") if "curl" in block]
# Operations (SDL excerpts are the architecture walkthrough's, run by
# tests/test_architecture_doc.py).
OPERATIONS = [
    (where, block)
    for where, block in doc_blocks("graphql")
    if block.lstrip().startswith(("query", "mutation", "{"))
]


def test_the_docs_have_api_blocks_and_operations() -> None:
    assert API_BLOCKS
    assert OPERATIONS


@pytest.mark.parametrize(("where", "block"), API_BLOCKS)
def test_the_docs_shell_blocks_run(server: Server, where: str, block: str) -> None:
    """They run as written against this server, with its address as `API`."""
    done = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", block],
        env={**os.environ, "API": f"{server.url}/graphql"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (where, done.stderr)
    body = json.loads(done.stdout)
    assert "errors" not in body, (where, body)
    assert body["data"], (where, body)


@pytest.mark.parametrize(("where", "block"), OPERATIONS)
def test_the_docs_operations_are_valid(where: str, block: str) -> None:
    assert validate(schema._schema, parse(block)) == [], where


def _workers(server: Server) -> set[int]:
    """The server's worker processes: its children that are not PostgreSQL."""
    children = pathlib.Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = {int(pid) for pid in children.read_text().split()}
    return {
        pid for pid in pids if b"postgres" not in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
    }


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
def test_a_worker_that_crashes_is_started_again(server: Server) -> None:
    [worker] = _workers(server)
    os.kill(worker, signal.SIGSEGV)  # as a crash in native code ends it
    deadline = time.monotonic() + 60
    while not (_workers(server) - {worker}):
        assert time.monotonic() < deadline, f"no new worker:\n{server.output()}"
        time.sleep(0.25)
    while True:
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"no answer after the crash:\n{server.output()}"
        time.sleep(0.25)
    assert graphql(server, "{ viewer { __typename } }") == {"viewer": {"__typename": "Viewer"}}


def test_sigterm_stops_the_server_and_its_postgres(server: Server) -> None:
    pid_file = server.data_dir / "pg" / "postmaster.pid"
    postgres_pid = int(pid_file.read_text().split("\n", 1)[0])
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=60) != -signal.SIGKILL
    assert not pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(postgres_pid, 0)
    assert "Embedded PostgreSQL stopped." in server.output()
    assert re.search(r"Shutting down", server.output())
