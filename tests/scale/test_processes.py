"""Many processes, one truth: `portal serve --workers 2` and a second `portal serve`
on the same database (and its streaming replica for queries), with documents in one
bucket of a local S3 server, real HTTP over loopback. A document stored by one process
is served by the other.
Whatever one process is told is in force on the other at once: a logout, a
deactivation, a new permission group, the end of an impersonation; a login lockout is
counted across both; a persisted query one learnt the other knows; a caller reads its
own write on the other process right after it."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from db.demo import demo_pdf
from db.embedded import EmbeddedPostgres
from db.session import create_engine
from gql.persisted_queries import sha256
from gql.settings import Settings
from tests.conftest import ACTORS, ServerDirs, create_bucket, global_id, seeded_database
from tests.scale.servers import Served, serve

CUSTOMERS = global_id("Portal", ACTORS["customer"].portal_id)  # type: ignore[arg-type]
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on LoggedIn { accessToken } ... on LoginError { code } } }"""
VIEWER = "{ viewer { role contracts { edges { node { number } } } } }"
LANGUAGE = "{ viewer { portalUser { language } } }"


@pytest.fixture(scope="module")
async def shared_url(postgres_url: str) -> str:
    return await seeded_database(postgres_url, f"portal_processes_{os.getpid()}")


@dataclass
class Cluster:
    a: Served  # portal serve --workers 2
    b: Served  # a second portal serve

    @property
    def both(self) -> tuple[Served, Served]:
        return self.a, self.b


@pytest.fixture(scope="module")
def cluster(
    shared_url: str,
    replica_server: EmbeddedPostgres,
    s3_endpoint: str,
    test_settings: Settings,
    server_dirs: ServerDirs,
) -> Iterator[Cluster]:
    """Two deployments' worth of processes: the settings that must agree (database,
    replica, document bucket, keys) the same on both."""
    assert test_settings.jwt_keys is not None
    assert test_settings.secret_keys is not None
    bucket = f"cluster-{os.getpid()}"
    create_bucket(s3_endpoint, bucket)
    environment = {
        "DATABASE_URL": shared_url,
        "DATABASE_REPLICA_URL": replica_server.replica_url(shared_url),
        "DOCUMENTS_URL": f"s3://{bucket}/portal?endpoint={s3_endpoint}",
        "JWT_KEYS": test_settings.jwt_keys,
        "SECRET_KEYS": test_settings.secret_keys,
        "PASSWORD_PROFILE": "test",
    }
    root = server_dirs.new("processes")
    a = serve(root / "a", environment, workers=2)
    try:
        b = serve(root / "b", environment)
    except BaseException:
        a.stop()
        raise
    yield Cluster(a, b)
    a.stop()
    b.stop()


def post(server: Served, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    """A new connection per request, so `--workers 2` spreads them over its workers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers=headers,
        timeout=30,
    )


def data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def log_in(server: Served, email: str, password: str, portal: str | None = CUSTOMERS) -> str:
    credentials = {"email": email, "password": password}
    if portal is not None:
        credentials["portalId"] = portal
    answer = data(post(server, LOGIN, input=credentials))["login"]
    assert answer["__typename"] == "LoggedIn", answer
    return str(answer["accessToken"])


def refused(response: httpx.Response) -> bool:
    return (
        response.status_code == 401
        and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    )


UPLOAD = """mutation($input: UploadDocumentInput!) { uploadDocument(input: $input) {
  __typename ... on DocumentUploaded { document { id } } } }"""
LINK = """query($id: ID!) { node(id: $id) { ... on Document { name downloadUrl } } }"""


def test_a_document_uploaded_on_one_process_is_downloaded_from_the_other(
    cluster: Cluster,
) -> None:
    """Documents live in the shared bucket: one process stores the file, the other
    (reading the row from the replica or, right after the write, the primary) serves it."""
    token = log_in(cluster.a, "anna.becker@example.org", "Demo-Kunde-1")
    content = demo_pdf("Zwischen zwei Prozessen")
    operations = {"query": UPLOAD, "variables": {"input": {"file": None, "type": "LETTER"}}}
    uploaded = httpx.post(
        f"{cluster.a.url}/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("brief.pdf", content, "application/pdf")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    document = data(uploaded)["uploadDocument"]["document"]
    found = data(post(cluster.b, LINK, token, id=document["id"]))["node"]
    assert found is not None  # its own write, read right after it on the other process
    download = httpx.get(cluster.b.url + found["downloadUrl"], timeout=30)
    assert download.status_code == 200, download.text
    assert download.content == content


def test_a_logout_on_one_process_is_in_force_on_the_other_at_once(cluster: Cluster) -> None:
    token = log_in(cluster.b, "anna.becker@example.org", "Demo-Kunde-1")
    for server in cluster.both:
        assert data(post(server, VIEWER, token))["viewer"]["role"] == "CUSTOMER"
    assert data(post(cluster.a, "mutation { logout { revokedSessions } }", token)) == {
        "logout": {"revokedSessions": 1}
    }
    for server in (cluster.b, cluster.a, cluster.a, cluster.a, cluster.b):  # both workers of a
        assert refused(post(server, VIEWER, token))


def test_a_deactivation_on_one_process_is_in_force_on_the_other(cluster: Cluster) -> None:
    jonas = log_in(cluster.b, "jonas.wolf@example.org", "Demo-Kunde-2")
    assert data(post(cluster.b, VIEWER, jonas))["viewer"]["role"] == "CUSTOMER"
    admin = log_in(cluster.a, "admin@musterstadt.example", "Demo-Admin-1", portal=None)
    user = global_id("PortalUser", ACTORS["other_customer"].subject_id)  # type: ignore[arg-type]
    try:
        done = data(
            post(
                cluster.a,
                "mutation($input: PortalUserIdInput!) { deactivatePortalUser(input: $input) {"
                " __typename } }",
                admin,
                input={"id": user},
            )
        )
        assert done["deactivatePortalUser"]["__typename"] == "PortalUserPayload"
        assert refused(post(cluster.b, VIEWER, jonas))
        assert refused(post(cluster.a, VIEWER, jonas))
    finally:
        data(
            post(
                cluster.b,
                "mutation($input: PortalUserIdInput!) { activatePortalUser(input: $input) {"
                " __typename } }",
                admin,
                input={"id": user},
            )
        )


def test_a_permission_group_change_on_one_process_is_in_force_on_the_other(
    cluster: Cluster,
) -> None:
    anna = log_in(cluster.b, "anna.becker@example.org", "Demo-Kunde-1")
    contracts = data(post(cluster.b, VIEWER, anna))["viewer"]["contracts"]["edges"]
    assert contracts  # her contracts, from the plan the executor's answer made
    admin = log_in(cluster.a, "admin@musterstadt.example", "Demo-Admin-1", portal=None)
    created = data(
        post(
            cluster.a,
            "mutation($input: CreatePermissionGroupInput!) { createPermissionGroup(input: $input)"
            " { ... on PermissionGroupPayload { permissionGroup { id } } } }",
            admin,
            input={"portalId": CUSTOMERS, "name": "Nur Zähler", "grants": ["METER_READ"]},
        )
    )
    group = created["createPermissionGroup"]["permissionGroup"]["id"]
    move = (
        "mutation($input: SetPortalUserPermissionGroupInput!) {"
        " setPortalUserPermissionGroup(input: $input) { __typename } }"
    )
    user = global_id("PortalUser", ACTORS["customer"].subject_id)  # type: ignore[arg-type]
    default = global_id("PermissionGroup", ACTORS["customer"].permission_group_id)  # type: ignore[arg-type]
    try:
        moved = post(
            cluster.a, move, admin, input={"portalUserId": user, "permissionGroupId": group}
        )
        assert data(moved)["setPortalUserPermissionGroup"]["__typename"] == "PortalUserPayload"
        for server in (cluster.b, cluster.a, cluster.a):
            body = post(server, VIEWER, anna).json()
            assert body["data"]["viewer"]["contracts"] is None, body
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert body["errors"][0]["extensions"]["grant"] == "contract:read"
    finally:
        post(cluster.a, move, admin, input={"portalUserId": user, "permissionGroupId": default})
    assert data(post(cluster.b, VIEWER, anna))["viewer"]["contracts"]["edges"] == contracts


def test_a_login_lockout_is_counted_across_both_processes(cluster: Cluster) -> None:
    """Five failures in a row lock the account for this address (MAX_LOGIN_FAILURES),
    wherever they were counted; then even the right password is refused on both."""
    email, partner = (
        "montage@elektro-schmidt.example",
        global_id(
            "Portal",
            ACTORS["installer"].portal_id,  # type: ignore[arg-type]
        ),
    )
    wrong = {"email": email, "password": "Falsch-123", "portalId": partner}
    for server in (cluster.a, cluster.b, cluster.a, cluster.b, cluster.a):
        answer = data(post(server, LOGIN, input=wrong))["login"]
        assert answer == {"__typename": "LoginError", "code": "INVALID_CREDENTIALS"}
    right = {**wrong, "password": "Demo-Installer-1"}
    for server in cluster.both:
        assert data(post(server, LOGIN, input=right))["login"]["__typename"] == "LoginError"


def test_an_impersonation_ended_on_one_process_is_refused_on_the_other(cluster: Cluster) -> None:
    agent = log_in(cluster.a, "agent@musterstadt.example", "Demo-Agent-1", portal=None)
    user = global_id("PortalUser", ACTORS["customer"].subject_id)  # type: ignore[arg-type]
    started = data(
        post(
            cluster.a,
            "mutation($id: ID!, $reason: Line!) { impersonatePortalUser(input:"
            " {portalUserId: $id, reason: $reason}) { ... on Impersonation { accessToken } } }",
            agent,
            id=user,
            reason="Ticket 4712",
        )
    )
    token = started["impersonatePortalUser"]["accessToken"]
    assert data(post(cluster.b, VIEWER, token))["viewer"]["role"] == "CUSTOMER"
    data(post(cluster.b, "mutation { logout { revokedSessions } }", agent))
    assert refused(post(cluster.a, VIEWER, token))
    assert refused(post(cluster.b, VIEWER, token))


def test_a_persisted_query_one_process_learnt_the_other_knows(cluster: Cluster) -> None:
    token = log_in(cluster.a, "anna.becker@example.org", "Demo-Kunde-1")
    query = "query Roles { viewer { role } }"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}

    def send(server: Served, text: str | None) -> dict[str, Any]:
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": text, "extensions": persisted},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        return dict(response.json())

    unknown = send(cluster.b, None)
    assert unknown["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert send(cluster.a, query) == {"data": {"viewer": {"role": "CUSTOMER"}}}
    for server in (cluster.b, cluster.a, cluster.a):
        assert send(server, None) == {"data": {"viewer": {"role": "CUSTOMER"}}}


def test_a_caller_reads_its_own_write_on_the_other_process(cluster: Cluster) -> None:
    token = log_in(cluster.a, "lena.fischer@example.org", "Demo-Kunde-3", portal=_nachbar())
    for language in ("en", "de", "en", "de"):
        writer, reader = (cluster.a, cluster.b) if language == "en" else (cluster.b, cluster.a)
        done = data(
            post(
                writer,
                "mutation($l: Line!) { updateLanguage(input: {language: $l}) { __typename } }",
                token,
                l=language,
            )
        )
        assert done["updateLanguage"]["__typename"] == "LanguageUpdated"
        assert data(post(reader, LANGUAGE, token))["viewer"]["portalUser"] == {"language": language}


def _nachbar() -> str:
    return global_id("Portal", ACTORS["other_org_customer"].portal_id)  # type: ignore[arg-type]


async def test_the_processes_answer_queries_from_the_replica(
    cluster: Cluster, shared_url: str, replica_server: EmbeddedPostgres
) -> None:
    """The replica is in use, not skipped: its own statistics count the contracts the
    processes read there (the watcher reads no table)."""
    engine = create_engine(replica_server.replica_url(shared_url), pool_size=1)
    scans = sa.text(
        "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables"
        " WHERE relname = 'contract'"
    )
    try:
        async with engine.connect() as connection:
            before = (await connection.execute(scans)).scalar_one()
        token = log_in(cluster.a, "anna.becker@example.org", "Demo-Kunde-1")
        for _ in range(5):
            for server in cluster.both:
                assert data(post(server, VIEWER, token))["viewer"]["role"] == "CUSTOMER"
        deadline = time.monotonic() + 15  # statistics reach the view within a second or so
        while True:
            async with engine.connect() as connection:
                after = (await connection.execute(scans)).scalar_one()
            if after > before or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert after > before
    finally:
        await engine.dispose()


async def test_a_mail_rate_limit_is_counted_across_both_processes(
    cluster: Cluster, shared_url: str
) -> None:
    """Password resets per email and hour (MAIL_REQUESTS_PER_EMAIL, 3): five requests,
    alternating between the processes, queue three; the answer is the same each time."""
    email = "jonas.wolf@example.org"
    reset = (
        "mutation($input: PortalEmailInput!) { requestPasswordReset(input: $input) { __typename } }"
    )
    for server in (cluster.a, cluster.b, cluster.a, cluster.b, cluster.a):
        answer = data(post(server, reset, input={"portalId": CUSTOMERS, "email": email}))
        assert answer["requestPasswordReset"] == {"__typename": "RequestReceived"}
    engine = create_engine(shared_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            queued = await connection.execute(
                sa.text("SELECT count(*) FROM account_request WHERE email = :email"),
                {"email": email},
            )
            assert queued.scalar_one() == 3
    finally:
        await engine.dispose()
