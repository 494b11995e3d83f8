"""Queries on a real streaming replica (a hot standby the harness starts with
`pg_basebackup -R` from the throwaway PostgreSQL), through the ASGI app: what goes
there, a caller's own writes read back at once, a lagging or stopped replica skipped,
and a logout in force while the replica still holds the session."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from db.embedded import EmbeddedPostgres
from db.replica import POLL_SECONDS, PRIMARY_POSITION, ReplicaState
from db.session import Database
from gql.app import create_app
from gql.auth.tokens import TokenService
from gql.settings import Settings, SettingsError
from tests.conftest import contact_id, jwt_part, seeded_database
from tests.http_helpers import CUSTOMERS, login, portal_gid, post

ANNA = contact_id("musterstadt", "c00")
NAME = "{ viewer { contact { lastName } portalUser { language } } }"
LANGUAGE = """mutation($language: Line!) { updateLanguage(input: {language: $language}) {
  __typename ... on LanguageUpdated { language } } }"""


@pytest.fixture(scope="module")
async def replicated_url(postgres_url: str, replica_server: EmbeddedPostgres) -> str:
    """A seeded database of its own (committed rows: the replica sees only those)."""
    return await seeded_database(postgres_url, f"portal_replica_{os.getpid()}")


@dataclass
class Replicated:
    client: httpx.AsyncClient
    database: Database
    replica_server: EmbeddedPostgres
    primary_url: str

    async def primary(self, sql: str, **values: object) -> None:
        assert self.database.engine is not None
        async with self.database.engine.begin() as connection:
            await connection.execute(sa.text(sql), values)

    async def rename(self, last_name: str) -> None:
        """Anna's last name, changed on the primary (by someone else)."""
        await self.primary(
            "UPDATE contact SET last_name = :name WHERE id = :id", name=last_name, id=ANNA
        )

    async def on_replica(self, sql: str, **values: object) -> object:
        assert self.database.replica is not None
        async with self.database.replica.engine.connect() as connection:
            return (await connection.execute(sa.text(sql), values)).scalar()

    async def poll(self) -> None:
        assert self.database.replica is not None
        assert self.database.engine is not None
        await self.database.replica.poll(self.database.engine)

    async def caught_up(self) -> None:
        """Until the replica has replayed what the primary has written now. The primary
        flushes its WAL first (a commit with `synchronous_commit` on): the harness's
        server runs with it off, and records other than commits (a standby snapshot, say)
        may wait unflushed, so unsent, until the next flush, up to about 15 s later."""
        assert self.database.engine is not None
        assert self.database.replica is not None
        async with self.database.engine.begin() as connection:
            await connection.execute(sa.text("SET LOCAL synchronous_commit = on"))
            target = (await connection.execute(PRIMARY_POSITION)).scalar_one()
            await connection.execute(sa.text("SELECT pg_current_xact_id()"))
        deadline = time.monotonic() + 20
        while not (self.database.replica.state.replayed >= target and self.usable()):
            assert time.monotonic() < deadline, "the replica did not catch up"
            await asyncio.sleep(0.05)
            await self.poll()

    def max_lag(self, seconds: float) -> None:
        assert self.database.replica is not None
        self.database.replica.state.max_lag = seconds

    def usable(self) -> bool:
        assert self.database.replica is not None
        return self.database.replica.state.usable()

    async def anna(self) -> str:
        answer = await login(
            self.client, "anna.becker@example.org", "Demo-Kunde-1", portal_gid(CUSTOMERS)
        )
        return str(answer["accessToken"])

    async def viewer(self, token: str) -> dict[str, object]:
        response = await post(self.client, NAME, token)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return dict(body["data"]["viewer"])


@pytest.fixture
async def replicated(
    replicated_url: str,
    replica_server: EmbeddedPostgres,
    test_settings: Settings,
    tokens: TokenService,
) -> AsyncIterator[Replicated]:
    """The app on the primary with the replica (lag limit 2 s); the replica's watcher
    is driven by the tests (`poll`), so each step is deterministic."""
    database = Database.from_url(
        replicated_url,
        pool_size=4,
        replica_url=replica_server.replica_url(replicated_url),
        replica_max_lag=2,
    )
    app = create_app(test_settings, database, tokens)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as client:
        setup = Replicated(client, database, replica_server, replicated_url)
        await setup.rename("Becker")
        await setup.caught_up()
        try:
            yield setup
        finally:
            if replica_server._process is None:
                replica_server.start()
            await setup.on_replica("SELECT pg_wal_replay_resume()")
            await database.dispose()


async def test_queries_read_the_replica_and_a_callers_own_write_the_primary(
    replicated: Replicated,
) -> None:
    replicated.max_lag(30)  # this test is about a caller's writes, not about lag
    token = await replicated.anna()
    assert (await replicated.viewer(token))["contact"] == {"lastName": "Becker"}
    # The replica stops replaying; a change committed on the primary is not on it.
    await replicated.on_replica("SELECT pg_wal_replay_pause()")
    await replicated.rename("Becker-Neu")
    await replicated.poll()
    assert replicated.usable()  # behind, but within the lag limit
    # So the query was answered by the replica: the old name.
    assert (await replicated.viewer(token))["contact"] == {"lastName": "Becker"}
    # Anna writes: her next reads go to the primary (her language and the new name)
    # until the replica has replayed her write.
    changed = (await post(replicated.client, LANGUAGE, token, language="en")).json()
    assert changed["data"]["updateLanguage"] == {"__typename": "LanguageUpdated", "language": "en"}
    read = await replicated.viewer(token)
    assert read == {"contact": {"lastName": "Becker-Neu"}, "portalUser": {"language": "en"}}
    # Once the replica has caught up it answers her again, with her write.
    await replicated.on_replica("SELECT pg_wal_replay_resume()")
    await replicated.caught_up()
    await replicated.primary(
        "UPDATE portal_user SET language = 'de' WHERE contact_id = :id", id=ANNA
    )
    await replicated.on_replica("SELECT pg_wal_replay_pause()")
    await replicated.rename("Becker")
    await replicated.poll()
    read = await replicated.viewer(token)
    assert read["contact"] == {"lastName": "Becker-Neu"}  # the replica, behind again


async def test_a_replica_behind_the_lag_limit_is_skipped(replicated: Replicated) -> None:
    token = await replicated.anna()
    await replicated.on_replica("SELECT pg_wal_replay_pause()")
    await replicated.rename("Becker-Alt")
    await replicated.poll()
    assert replicated.usable()
    assert (await replicated.viewer(token))["contact"] == {"lastName": "Becker"}
    await asyncio.sleep(2.2)  # the limit is 2 s
    await replicated.poll()
    assert not replicated.usable()
    # The primary answers, with the change the replica has not replayed.
    assert (await replicated.viewer(token))["contact"] == {"lastName": "Becker-Alt"}
    await replicated.on_replica("SELECT pg_wal_replay_resume()")
    await replicated.caught_up()
    assert replicated.usable()


async def test_a_replica_that_is_down_is_skipped_without_a_failed_request(
    replicated: Replicated,
) -> None:
    token = await replicated.anna()
    await replicated.viewer(token)
    replicated.replica_server.stop()
    # The watcher has not noticed yet: the request meets the replica gone and the
    # primary answers it; from then on the replica is skipped.
    assert replicated.usable()
    assert (await replicated.viewer(token))["contact"] == {"lastName": "Becker"}
    assert not replicated.usable()
    await replicated.poll()
    assert not replicated.usable()
    for _ in range(5):
        assert (await replicated.viewer(token))["contact"] == {"lastName": "Becker"}
    replicated.replica_server.start()
    await replicated.caught_up()
    assert replicated.usable()


async def test_a_logout_is_in_force_while_the_replica_still_holds_the_session(
    replicated: Replicated,
) -> None:
    replicated.max_lag(30)
    token = await replicated.anna()
    await replicated.viewer(token)
    await replicated.caught_up()  # the replica holds her new session
    await replicated.on_replica("SELECT pg_wal_replay_pause()")
    done = (await post(replicated.client, "mutation { logout { revokedSessions } }", token)).json()
    assert done["data"]["logout"] == {"revokedSessions": 1}
    await replicated.poll()
    assert replicated.usable()
    sid = jwt_part(token, 1)["sid"]
    still = await replicated.on_replica(
        "SELECT revoked_at IS NULL FROM auth_session WHERE id = :id", id=sid
    )
    assert still is True  # the replica has not seen the logout
    refused = await post(replicated.client, NAME, token)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_replica_a_moment_behind_a_primary_that_writes_steadily_is_caught_up() -> None:
    """The primary writes between every poll's two questions, so the replica never holds
    what the primary had written at the start of the same poll; it holds what it had
    written a poll earlier, and that moment is how far behind it is: usable, its lag
    one poll (not stale forever, as comparing each poll with itself alone judged it)."""
    state = ReplicaState(max_lag=2)
    for poll in range(1, 50):
        at = poll * POLL_SECONDS
        state.observed(at, primary=1000 * poll, replayed=1000 * (poll - 1) + 10)
        if poll > 1:
            assert state.caught_up_at == pytest.approx(at - POLL_SECONDS)
            assert state.lag(at) == pytest.approx(POLL_SECONDS)


def test_a_replica_holds_no_moment_whose_writes_it_has_not_replayed() -> None:
    """Replay paused: the moment it caught up stays the last one it had replayed, the lag
    grows past the limit (the primary answers), and once it replays again the newest
    moment it holds counts; moments older than the limit are not kept."""
    state = ReplicaState(max_lag=2)
    state.observed(0.0, primary=100, replayed=100)
    for poll in range(1, 40):  # 7.8 s of writes the replica does not replay
        state.observed(poll * POLL_SECONDS, primary=100 + poll, replayed=100)
    assert state.caught_up_at == 0.0
    assert state.lag(39 * POLL_SECONDS) > state.max_lag
    assert len(state._pending) <= 2 / POLL_SECONDS + 1
    state.observed(8.0, primary=200, replayed=135)  # replayed up to the poll at 7.0 s
    assert state.caught_up_at == pytest.approx(35 * POLL_SECONDS)
    state.observed(8.2, primary=200, replayed=200)
    assert state.caught_up_at == 8.2


@pytest.mark.parametrize("seconds", ["0", "3601", "soon"])
def test_a_replica_lag_limit_out_of_range_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, seconds: str
) -> None:
    monkeypatch.setenv("REPLICA_MAX_LAG_SECONDS", seconds)
    with pytest.raises(SettingsError, match="REPLICA_MAX_LAG_SECONDS"):
        Settings.from_env()


def test_the_replica_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgresql+asyncpg://portal@replica/portal")
    monkeypatch.setenv("REPLICA_MAX_LAG_SECONDS", "12")
    settings = Settings.from_env()
    assert settings.database_replica_url == "postgresql+asyncpg://portal@replica/portal"
    assert settings.replica_max_lag_seconds == 12
