"""`portal serve --workers 2` with PROMETHEUS_MULTIPROC_DIR and documents in the local S3
server: whichever worker answers a scrape, `/metrics` shows the sum of both; the demo's
files were stored in the bucket at start and come back through a download link."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, ServerDirs, create_bucket
from tests.serve_helpers import stop_served
from tests.smtp import free_port

ANNA = {
    "email": "anna.becker@example.org",
    "password": "Demo-Kunde-1",
    "portalId": "UG9ydGFsOmZhYTViNTZjLTlhYzEtNWIwNC1iNDgwLWI0NDdkZGU3N2Q5Nw==",
}
LOGIN = (
    "mutation SignIn($input: LoginInput!) {"
    " login(input: $input) { ... on LoggedIn { accessToken } } }"
)
DASHBOARD = "query Dashboard { viewer { contracts { edges { node { number } } } } }"
DOCUMENTS = (
    "query Documents { viewer { contact { documents { edges { node { downloadUrl } } } } } }"
)
REQUESTS = 30


@pytest.fixture(scope="module")
def served(server_dirs: ServerDirs, s3_endpoint: str) -> Iterator[tuple[str, Path]]:
    base = server_dirs.new("workers")
    metrics_dir = base / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # an earlier run's: removed at start
    bucket = f"served-{uuid.uuid4().hex[:12]}"
    create_bucket(s3_endpoint, bucket)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        COLUMNS="200",
        SMTP_PORT=str(free_port()),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        DOCUMENTS_URL=f"s3://{bucket}/served?endpoint={s3_endpoint}",
        PASSWORD_PROFILE="test",
    )
    log = base / "serve.log"
    command = [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(base / "data"), "--workers", "2"]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            pytest.fail(f"portal serve exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"portal serve did not come up:\n{log.read_text()}")
        time.sleep(0.25)
    try:
        yield url, metrics_dir
    finally:
        stop_served(process, timeout=60)


def graphql(
    url: str, query: str, token: str | None = None, **variables: object
) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
    ).json()
    assert "errors" not in body, body
    return dict(body["data"])


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_every_scrape_adds_up_both_workers_and_documents_come_from_the_bucket(
    served: tuple[str, Path],
) -> None:
    url, metrics_dir = served
    login = graphql(url, LOGIN, input=ANNA)["login"]
    assert isinstance(login, dict)
    token = str(login["accessToken"])
    for _ in range(REQUESTS):
        graphql(url, DASHBOARD, token)

    viewer = graphql(url, DOCUMENTS, token)["viewer"]
    assert isinstance(viewer, dict)
    link = viewer["contact"]["documents"]["edges"][0]["node"]["downloadUrl"]
    download = httpx.get(url + link, timeout=30)
    assert download.status_code == 200, download.text
    assert download.content.startswith(b"%PDF-")  # stored in the bucket by the demo load

    pids = {
        match[1]
        for path in metrics_dir.glob("*.db")
        if (match := re.search(r"_(\d+)\.db$", path.name))
    }
    assert "1" not in pids  # the stale file is gone
    assert len(pids) >= 2, sorted(path.name for path in metrics_dir.iterdir())
    for _ in range(6):  # any worker may answer; each answer must have the sum
        samples = scrape(url)
        dashboards = sum(
            count
            for (name, labels), count in samples.items()
            if name == "portal_graphql_requests_total" and ("operation", "Dashboard") in labels
        )
        assert dashboards == REQUESTS
        key = ("portal_logins_total", (("outcome", "succeeded"), ("step", "password")))
        assert samples[key] == 1
        assert samples[("portal_sql_statements_total", ())] > REQUESTS
        assert ("portal_db_pool_connections_in_use", (("pool", "primary"),)) in samples
        assert ("portal_outbox_pending", ()) in samples
        assert ("portal_outbox_oldest_pending_age_seconds", ()) in samples
