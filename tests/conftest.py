"""Test harness: a real PostgreSQL (throwaway unless DATABASE_URL is set), migrated and
seeded once with the demo world; every test runs in its own rolled-back transaction."""

from __future__ import annotations

import base64
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import sqlalchemy as sa
import strawberry
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from strawberry import relay

from db import demo, migrate, models
from db.embedded import EmbeddedPostgres
from db.session import Database, RequestSession, create_engine
from gql.app import create_app
from gql.auth.actor import ANONYMOUS, Actor, Role
from gql.auth.passwords import hash_password
from gql.auth.secrets import SecretBox
from gql.auth.tokens import TokenService, generate_key_set
from gql.context import Context
from gql.domain.storage import S3Storage, storage_for
from gql.schema import schema
from gql.settings import Settings, query_plans_compared, query_plans_enabled
from tests import figures, scheduling
from tests.oidc_provider import OidcProvider
from tests.smtp import SmtpServer, free_port

ROOT = Path(__file__).resolve().parent.parent

# `make test`'s second pass: the tests the fast path's switch can change.
pytest_plugins = ["tests.fast_path"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """What import and collection built (schema, models, SQLAlchemy's and Strawberry's
    structures, the test items: a quarter of a million objects) is left out of garbage
    collection, as a server process does (gql/app.py); and young collections run every
    10,000 allocations instead of 700. Both only spare the collector walking the same
    long-lived objects again and again: about two thirds of the suite's GC time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


class ServerDirs:
    """Fresh directories for the servers a test run starts (PostgreSQL, `portal serve`),
    under one directory of this process in /tmp.

    Not under pytest's `tmp_path_factory`: its base directory (/tmp/pytest-of-<user>) is
    made private (mode 0700) again by every pytest process that starts, xdist's workers
    and other runs on the machine included, and old numbered directories are removed: a
    PostgreSQL running as the unprivileged server user can then no longer reach its data
    directory, or loses it (a run on 2 xdist workers lost its servers this way)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def new(self, name: str) -> Path:
        """A new empty directory `<root>/<name>-<random>`."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.root))


@pytest.fixture(scope="session")
def server_dirs() -> Iterator[ServerDirs]:
    """The run's `ServerDirs`, removed at the end of the session (after the servers in
    them have stopped: their fixtures depend on this one, so they are torn down first)."""
    root = Path(tempfile.mkdtemp(prefix=f"portal-test-{os.getpid()}-"))
    try:
        yield ServerDirs(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(server_dirs: ServerDirs) -> Iterator[str]:
    """The server's URL: DATABASE_URL, or a throwaway embedded PostgreSQL."""
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    server = EmbeddedPostgres(server_dirs.new("postgres"), fast=True)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def replica_server(postgres_url: str, server_dirs: ServerDirs) -> Iterator[EmbeddedPostgres]:
    """A streaming replica (hot standby) of the throwaway PostgreSQL: a base backup of
    it (`pg_basebackup -R`), started. Its `replica_url(url)` names a database of the
    primary on the replica."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("a replica is started only of the harness's own PostgreSQL")
    primary_socket = Path(unquote(sa.make_url(postgres_url).query["host"]))  # type: ignore[arg-type]
    replica = EmbeddedPostgres.replica_of(primary_socket, server_dirs.new("replica"))
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()


def _with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    prefix = base.rsplit("/", 1)[0]
    return f"{prefix}/{name}" + (f"?{query}" if query else "")


async def _recreate_database(url: str, name: str) -> str:
    engine = create_engine(_with_database(url, "postgres"), pool_size=1)
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await autocommit.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return _with_database(url, name)


S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "portal-test",
    "AWS_SECRET_ACCESS_KEY": "portal-test-secret",
    "AWS_DEFAULT_REGION": "eu-central-1",
}


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 API on loopback: moto's server (PyPI `moto[server]`) in its own process,
    on a free port; the AWS_* credentials the storage finds are set for the session."""
    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    saved = {name: os.environ.get(name) for name in S3_CREDENTIALS}
    os.environ.update(S3_CREDENTIALS)
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{endpoint}/moto-api/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"moto_server did not come up: {log.read_text()}")
            time.sleep(0.1)
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def create_bucket(endpoint: str, bucket: str) -> None:
    """A new bucket on the S3 server (boto3: the synchronous SDK that aioboto3 wraps)."""
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="eu-central-1").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings of the whole run: the keys the seeded database's secrets are sealed
    with. Modules may override `test_settings` (e.g. the document storage), never these."""
    return Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("data"),
        jwt_keys=json.dumps(generate_key_set()),
        secret_keys=Fernet.generate_key().decode(),
        password_profile="test",
        # `make test` runs the tests that sent the view operations again with
        # QUERY_PLANS=off (tests/fast_path.py).
        query_plans=query_plans_enabled(),
        compare_plans=query_plans_compared(),
    )


@pytest.fixture(scope="session")
def test_settings(base_settings: Settings) -> Settings:
    return base_settings


@pytest.fixture(scope="module", params=["file", "s3"])
async def document_settings(
    request: pytest.FixtureRequest,
    base_settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Settings]:
    """The test settings with documents in a fresh directory, then in a fresh bucket of
    the local S3 server: a module whose `test_settings` returns this runs against both."""
    if request.param == "file":
        directory = tmp_path_factory.mktemp("documents")
        yield replace(base_settings, documents_url=directory.as_uri())
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"documents-{uuid.uuid4().hex[:12]}"
    create_bucket(endpoint, bucket)
    settings = replace(base_settings, documents_url=f"s3://{bucket}/portal?endpoint={endpoint}")
    yield settings
    storage = storage_for(settings)
    assert isinstance(storage, S3Storage)
    await storage.close()


async def seeded_database(postgres_url: str, name: str, settings: Settings | None = None) -> str:
    """A new database `name`, migrated to head and seeded with the demo world (with its
    identity provider when the `settings` give the keys to seal its secret)."""
    url = await _recreate_database(postgres_url, name)
    await migrate.upgrade_async(url)
    engine = create_engine(url, pool_size=1)
    async with AsyncSession(engine) as session, session.begin():
        await demo.load_demo(
            session,
            lambda password: hash_password(password, "test"),
            SecretBox.from_settings(settings).encrypt if settings else None,
        )
    await engine.dispose()
    return url


@pytest.fixture(scope="session")
async def database_url(postgres_url: str, base_settings: Settings) -> str:
    """The tests' database (each test runs in a transaction that is rolled back)."""
    return await seeded_database(postgres_url, f"portal_test_{os.getpid()}", base_settings)


@pytest.fixture(scope="session")
async def scratch_database_url(postgres_url: str) -> str:
    """An empty database for the migration tests."""
    return await _recreate_database(postgres_url, f"portal_migrations_{os.getpid()}")


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions joined to the test's transaction: their commits are savepoints."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        yield session


@pytest.fixture(scope="session")
def tokens(test_settings: Settings) -> TokenService:
    return TokenService.from_settings(test_settings)


@asynccontextmanager
async def app_client(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, Database(sessions=sessions), tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        yield client


@pytest.fixture
async def client(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP through the real ASGI app, on the test's transaction."""
    async with app_client(test_settings, sessions, tokens) as client:
        yield client


@pytest.fixture
async def production_client(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    """The same in production settings (masked errors, no IDE, no suggestions)."""
    production = replace(test_settings, environment="production")
    async with app_client(production, sessions, tokens) as client:
        yield client


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a free loopback port, for the length of one test."""
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """A real OpenID provider (oidc-provider-mock, its own process) on a free loopback
    port, for the whole run."""
    provider = OidcProvider()
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
async def agent(client: httpx.AsyncClient) -> str:
    """An access token of Musterstadt's agent, logged in over HTTP."""
    # Imported here: tests.http_helpers imports this module's demo-world names.
    from tests.http_helpers import staff_token

    return await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")


# --- The demo world's actors -------------------------------------------------------------

MUSTERSTADT = demo.demo_id("org:musterstadt")
NACHBARSTADT = demo.demo_id("org:nachbarstadt")
CUSTOMER_PORTAL = demo.demo_id("portal:musterstadt-kunden")
INSTALLER_PORTAL = demo.demo_id("portal:musterstadt-partner")
NACHBAR_PORTAL = demo.demo_id("portal:nachbarstadt-kunden")


@contextmanager
def counting_statements(connection: AsyncConnection) -> Iterator[list[str]]:
    """The SQL of every statement run on `connection` inside the block."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sync = connection.sync_connection
    assert sync is not None
    sa.event.listen(sync, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(sync, "before_cursor_execute", record)


def contact_id(org: str, key: str) -> uuid.UUID:
    return demo.demo_id(f"contact:{org}:{key}")


def portal_user_id(portal: uuid.UUID, email: str) -> uuid.UUID:
    return demo.demo_id(f"portal-user:{portal}:{email}")


def portal_actor(
    role: Role,
    org: uuid.UUID,
    portal: str,
    email: str,
    contact: uuid.UUID,
    group: str = "default",
) -> Actor:
    """A portal user of the demo world with the grants of its permission group (its
    portal's default group, or the demo installer's partner-admin group with every grant
    of installer portals), as `sessions.authorize` completes it for every request."""
    portal_id = demo.demo_id(f"portal:{portal}")
    portal_type = (
        models.PortalType.CUSTOMER if role is Role.CUSTOMER else models.PortalType.INSTALLER
    )
    return Actor(
        role,
        org,
        portal_user_id(portal_id, email),
        portal_id,
        contact,
        permission_group_id=demo.demo_id(f"group:{portal}:{group}"),
        grants=frozenset(
            models.default_grants(portal_type)
            if group == "default"
            else models.GRANTS_BY_PORTAL_TYPE[portal_type]
        ),
    )


ACTORS: dict[str, Actor] = {
    "admin": Actor(Role.ADMIN, MUSTERSTADT, demo.demo_id("staff:admin@musterstadt.example")),
    "agent": Actor(Role.AGENT, MUSTERSTADT, demo.demo_id("staff:agent@musterstadt.example")),
    "customer": portal_actor(
        Role.CUSTOMER,
        MUSTERSTADT,
        "musterstadt-kunden",
        "anna.becker@example.org",
        contact_id("musterstadt", "c00"),
    ),
    "other_customer": portal_actor(
        Role.CUSTOMER,
        MUSTERSTADT,
        "musterstadt-kunden",
        "jonas.wolf@example.org",
        contact_id("musterstadt", "c01"),
    ),
    "installer": portal_actor(
        Role.INSTALLER,
        MUSTERSTADT,
        "musterstadt-partner",
        "montage@elektro-schmidt.example",
        contact_id("musterstadt", "partner-elektro-schmidt"),
        group="partner-admin",
    ),
    "anonymous": ANONYMOUS,
    "other_admin": Actor(
        Role.ADMIN, NACHBARSTADT, demo.demo_id("staff:admin@nachbarstadt.example")
    ),
    "other_org_customer": portal_actor(
        Role.CUSTOMER,
        NACHBARSTADT,
        "nachbarstadt-kunden",
        "lena.fischer@example.org",
        contact_id("nachbarstadt", "c00"),
    ),
}


class GraphQLClient:
    """Runs operations through `schema.execute` as a given actor, on the test session."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        tokens: TokenService,
        schema: strawberry.Schema = schema,
    ) -> None:
        self.session = session
        self.settings = settings
        self.tokens = tokens
        self.schema = schema

    async def __call__(
        self, query: str, actor: Actor | str = ANONYMOUS, **variables: Any
    ) -> tuple[dict[str, Any] | None, list[Any]]:
        if isinstance(actor, str):
            actor = ACTORS[actor]
        context = Context(
            sessions=RequestSession.given(self.session),
            actor=actor,
            settings=self.settings,
            tokens=self.tokens,
        )
        result = await self.schema.execute(query, variable_values=variables, context_value=context)
        return result.data, list(result.errors or [])


@pytest.fixture
def gql(session: AsyncSession, test_settings: Settings, tokens: TokenService) -> GraphQLClient:
    return GraphQLClient(session, test_settings, tokens)


def global_id(type_name: str, row_id: uuid.UUID) -> str:
    return relay.to_base64(type_name, row_id)


def jwt_part(token: str, index: int) -> dict[str, Any]:
    """The decoded header (0) or claims (1) of a JWT, unverified."""
    segment = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


# --- pytest-xdist: the scheduler and the figures the workers measured ---------------------


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile` (as `make test` runs): the costliest modules first
    (tests/scheduling.py). Any other mode: xdist's own scheduler."""
    if config.getoption("dist") != "loadfile":
        return None
    return scheduling.LongestFirstScheduling(config, log)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault, soak and sweep tests' figures, when xdist's workers measured them."""
    figures.summary(terminalreporter)
