"""Lockout per (account, address) and per account, the address flood guard, the client
address behind trusted proxies, and password/code checks outside `login` under the same
lockout: over HTTP, with the client address set on the ASGI transport."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import demo, models
from db.session import Database, create_engine
from gql.app import create_app
from gql.auth import passwords
from gql.auth.tokens import TokenService
from gql.client_address import decide
from gql.domain import audit, authentication, documents, throttle
from gql.settings import Settings, SettingsError
from tests.conftest import ACTORS, global_id
from tests.http_helpers import CUSTOMERS, login, portal_gid, post

ANNA = ("anna.becker@example.org", "Demo-Kunde-1")
OFFICE = "203.0.113.5"
PROXY = "10.0.0.1"


@pytest.fixture
async def at(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """`at(address, **settings)`: an HTTP client whose TCP peer is `address`, on an app
    with those settings changed (one app per settings), on the test's transaction."""
    apps: dict[tuple[tuple[str, Any], ...], Any] = {}
    async with AsyncExitStack() as stack:

        def client(address: str, **changes: Any) -> httpx.AsyncClient:
            key = tuple(sorted(changes.items()))
            if key not in apps:
                settings = replace(test_settings, **changes)
                apps[key] = create_app(settings, Database(sessions=sessions), tokens)
            transport = httpx.ASGITransport(app=apps[key], client=(address, 40000))
            opened = httpx.AsyncClient(transport=transport, base_url="http://portal.test")
            stack.push_async_callback(opened.aclose)
            return opened

        yield client


async def anna_logs_in(client: httpx.AsyncClient, password: str = ANNA[1]) -> str:
    return str((await login(client, ANNA[0], password, portal_gid(CUSTOMERS)))["__typename"])


def gid(login: demo.DemoLogin) -> str | None:
    return portal_gid(login.portal) if login.portal else None


# --- The office behind one address ---------------------------------------------------------


async def test_an_office_behind_one_address_is_not_locked_by_its_colleagues(
    at: Callable[..., httpx.AsyncClient],
) -> None:
    """Everyone of a utility's office (staff and portal users of several portals) behind
    one address: one person hammering their account, everyone else mistyping a few
    times, and email typos - more failures than a per-address limit would allow - and
    every colleague still logs in, and the hammering one from home."""
    office = at(OFFICE)
    for _ in range(30):
        assert await anna_logs_in(office, "falsch") == "LoginError"
    colleagues = [account for account in demo.LOGINS if account.email != ANNA[0]]
    for account in colleagues:
        for attempt in range(4):  # one short of the pair's limit
            result = await login(office, account.email, f"typo-{attempt}", gid(account))
            assert result["code"] == "INVALID_CREDENTIALS"
    for n in range(10):
        await login(office, f"anna.beker{n}@example.org", ANNA[1], portal_gid(CUSTOMERS))
    for account in colleagues:
        result = await login(office, account.email, account.password, gid(account))
        assert result["__typename"] == "LoggedIn", account.email
    # Anna's own lock holds only at the office.
    assert await anna_logs_in(office) == "LoginError"
    assert await anna_logs_in(at("198.51.100.20")) == "LoggedIn"


async def test_failures_from_one_address_lock_only_that_pair_many_addresses_the_account(
    at: Callable[..., httpx.AsyncClient], test_settings: Settings
) -> None:
    attacker = at("198.51.100.66")
    for _ in range(test_settings.max_login_failures):
        assert await anna_logs_in(attacker, "Sommer2026!") == "LoginError"
    # The right password from the attacker's address: refused, like a wrong one.
    assert await anna_logs_in(attacker) == "LoginError"
    # Anna from home is not locked out, and her login clears only her own pair.
    assert await anna_logs_in(at("192.0.2.10")) == "LoggedIn"
    assert await anna_logs_in(attacker) == "LoginError"

    # Guesses spread over many addresses: the account locks everywhere.
    per_address = test_settings.max_login_failures
    for n in range(test_settings.max_account_failures // per_address):
        guesser = at(f"198.51.100.{100 + n}")
        for _ in range(per_address):
            assert await anna_logs_in(guesser, "Winter2026!") == "LoginError"
    assert await anna_logs_in(at("192.0.2.10")) == "LoginError"
    assert await anna_logs_in(at("192.0.2.11")) == "LoginError"


async def test_an_ipv6_client_is_its_64_network(
    at: Callable[..., httpx.AsyncClient], test_settings: Settings
) -> None:
    """A subscriber's /64 offers 2^64 addresses: a new one per guess must not escape the
    pair's lock; a neighbouring /64 is someone else."""
    for n in range(test_settings.max_login_failures):
        assert await anna_logs_in(at(f"2001:db8:1:2::{n + 1:x}"), "Sommer2026!") == "LoginError"
    assert await anna_logs_in(at("2001:db8:1:2:ffff::99")) == "LoginError"
    assert await anna_logs_in(at("2001:db8:1:3::1")) == "LoggedIn"


async def test_an_address_flooding_many_accounts_is_refused_everywhere_else_not(
    at: Callable[..., httpx.AsyncClient],
) -> None:
    flood = 25
    sprayer = at("198.51.100.99", address_flood_failures=flood)
    for n in range(flood):
        result = await login(sprayer, f"user{n}@example.org", "Sommer2026!", portal_gid(CUSTOMERS))
        assert result["code"] == "INVALID_CREDENTIALS"
    # No account reached a limit, yet the address is refused: also Anna's right password.
    assert await anna_logs_in(sprayer) == "LoginError"
    assert await anna_logs_in(at("198.51.100.98", address_flood_failures=flood)) == "LoggedIn"


# --- The client address behind proxies -----------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.5", [], (), "203.0.113.5"),
        # An untrusted peer's header is ignored, whatever it says.
        ("203.0.113.5", ["10.0.0.1"], (), "203.0.113.5"),
        ("203.0.113.5", ["198.51.100.7"], ("10.0.0.0/8",), "203.0.113.5"),
        # A trusted peer: the right-most address that is no trusted proxy.
        ("10.0.0.1", ["198.51.100.7"], ("10.0.0.0/8",), "198.51.100.7"),
        ("10.0.0.1", ["1.2.3.4, 10.9.9.9, 198.51.100.7"], ("10.0.0.0/8",), "198.51.100.7"),
        ("10.0.0.1", ["1.2.3.4, 198.51.100.7, 10.0.0.2"], ("10.0.0.0/8",), "198.51.100.7"),
        # Several headers are one list, in order.
        ("10.0.0.1", ["1.2.3.4", "198.51.100.7"], ("10.0.0.0/8",), "198.51.100.7"),
        # A spoofed trusted address to the left is not believed past the client.
        ("10.0.0.1", ["10.0.0.3, 198.51.100.7"], ("10.0.0.0/8",), "198.51.100.7"),
        # Every hop trusted: the left-most one is where the request came from.
        ("10.0.0.1", ["10.0.0.3, 10.0.0.2"], ("10.0.0.0/8",), "10.0.0.3"),
        # No header from a trusted peer, or garbage where the client should be.
        ("10.0.0.1", [], ("10.0.0.0/8",), "10.0.0.1"),
        ("10.0.0.1", ["198.51.100.7, not-an-ip"], ("10.0.0.0/8",), "10.0.0.1"),
        ("10.0.0.1", ["198.51.100.7:5555"], ("10.0.0.0/8",), "10.0.0.1"),
        # IPv6, and IPv4 clients of a dual-stack socket.
        ("2001:db8::1", ["2001:0db8:0:0::7"], ("2001:db8::/64",), "2001:db8::7"),
        ("::ffff:203.0.113.5", [], (), "203.0.113.5"),
        ("10.0.0.1", ["::ffff:198.51.100.7"], ("10.0.0.1",), "198.51.100.7"),
        (None, ["198.51.100.7"], ("10.0.0.0/8",), None),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    peer: str | None, forwarded: list[str], trusted: tuple[str, ...], client: str | None
) -> None:
    assert decide(peer, forwarded, trusted) == client


async def _forwarded_login(
    client: httpx.AsyncClient, forwarded_for: str, password: str = ANNA[1]
) -> str:
    payload = {"email": ANNA[0], "password": password, "portalId": portal_gid(CUSTOMERS)}
    query = "mutation($input: LoginInput!) { login(input: $input) { __typename } }"
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": {"input": payload}},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return str(response.json()["data"]["login"]["__typename"])


async def _last_login_address(session: AsyncSession) -> str | None:
    address = await session.scalar(
        sa.select(models.AuditEvent.ip_address)
        .where(models.AuditEvent.action == "login.succeeded")
        .order_by(models.AuditEvent.created_at.desc())
        .limit(1)
    )
    return None if address is None else str(address)


async def test_x_forwarded_for_from_an_untrusted_peer_changes_nothing(
    at: Callable[..., httpx.AsyncClient], session: AsyncSession, test_settings: Settings
) -> None:
    attacker = at("198.51.100.66")
    # A new made-up address each time does not escape the pair's lock.
    for n in range(test_settings.max_login_failures):
        assert await _forwarded_login(attacker, f"192.0.2.{n}", "Sommer2026!") == "LoginError"
    assert await _forwarded_login(attacker, "192.0.2.200") == "LoginError"
    # Nor does it go into the audit log.
    assert await _forwarded_login(at(OFFICE), "192.0.2.201") == "LoggedIn"
    assert await _last_login_address(session) == OFFICE


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(
    at: Callable[..., httpx.AsyncClient], session: AsyncSession, test_settings: Settings
) -> None:
    proxy = at(PROXY, trusted_proxies=("10.0.0.0/8",))
    # The attacker behind the proxy, with a spoofed entry of its own to the left.
    for n in range(test_settings.max_login_failures):
        spoofed = f"192.0.2.{n}, 198.51.100.66"
        assert await _forwarded_login(proxy, spoofed, "Sommer2026!") == "LoginError"
    assert await _forwarded_login(proxy, "192.0.2.9, 198.51.100.66") == "LoginError"
    # Anna behind the same proxy (through a second, trusted one) is not locked out.
    assert await _forwarded_login(proxy, "198.51.100.7, 10.0.0.2") == "LoggedIn"
    assert await _last_login_address(session) == "198.51.100.7"


async def test_rate_limits_count_the_client_behind_a_trusted_proxy(
    at: Callable[..., httpx.AsyncClient],
) -> None:
    proxy = at(PROXY, trusted_proxies=("10.0.0.0/8",))
    query = """mutation($input: PortalEmailInput!) { requestPasswordReset(input: $input) {
      __typename ... on MutationError { code } } }"""

    async def reset(forwarded_for: str, n: int) -> dict[str, Any]:
        variables = {"input": {"portalId": portal_gid(CUSTOMERS), "email": f"x{n}@example.org"}}
        response = await proxy.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return dict(response.json()["data"]["requestPasswordReset"])

    for n in range(20):  # MAIL_REQUESTS_PER_ADDRESS
        assert (await reset("198.51.100.66", n))["__typename"] == "RequestReceived"
    assert (await reset("198.51.100.66", 20)) == {
        "__typename": "MutationError",
        "code": "RATE_LIMITED",
    }
    assert (await reset("198.51.100.7", 21))["__typename"] == "RequestReceived"


async def test_a_download_is_audited_with_the_client_behind_a_trusted_proxy(
    at: Callable[..., httpx.AsyncClient], session: AsyncSession, test_settings: Settings
) -> None:
    document = await session.scalar(
        sa.select(models.Document)
        .where(models.Document.contact_id == ACTORS["customer"].contact_id)
        .limit(1)
    )
    assert document is not None
    await documents.storage_for(test_settings).put(document.storage_key, b"%PDF-1.4 test")
    proxy = at(PROXY, trusted_proxies=("10.0.0.0/8",))
    token = (await login(proxy, *ANNA, portal_gid(CUSTOMERS)))["accessToken"]
    query = "query($id: ID!) { node(id: $id) { ... on Document { downloadUrl } } }"
    found = await post(proxy, query, token, id=global_id("Document", document.id))
    url = found.json()["data"]["node"]["downloadUrl"]
    response = await proxy.get(url, headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.7"})
    assert response.status_code == 200, response.text
    address = await session.scalar(
        sa.select(models.AuditEvent.ip_address).where(
            models.AuditEvent.action == "document.downloaded",
            models.AuditEvent.entity_id == document.id,
        )
    )
    assert str(address) == "198.51.100.7"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "10.0.0.1/8"),  # host bits beside a prefix: a typo
        ("TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
        ("MAX_ACCOUNT_FAILURES", "4"),  # below MAX_LOGIN_FAILURES
        ("MAX_ACCOUNT_FAILURES", "101"),
        ("MAX_LOGIN_FAILURES", "0"),
        ("ADDRESS_FLOOD_FAILURES", "19"),  # below MAX_ACCOUNT_FAILURES
        ("ADDRESS_FLOOD_WINDOW_SECONDS", "10"),
        ("LOCKOUT_WAIT_SECONDS", "0"),
        ("MAX_ADDRESS_FAILURES", "20"),  # replaced; its old meaning must not linger
    ],
)
def test_lockout_and_proxy_settings_are_checked_at_startup(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError):
        Settings.from_env()


def test_trusted_proxies_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32,192.0.2.1")
    settings = Settings.from_env()
    assert settings.trusted_proxies == ("10.0.0.0/8", "2001:db8::/32", "192.0.2.1")
    assert Settings.from_env().address_flood_failures >= 100  # a flood guard, not a lockout


# --- Password and code checks outside login ------------------------------------------------

CHANGE_PASSWORD = """mutation($current: Line!) {
  changePassword(input: {currentPassword: $current, newPassword: "Neues-Passwort-2026"}) {
    __typename ... on MutationError { code field } } }"""
DISABLE = """mutation($code: Line!) { disableTotp(input: {code: $code}) {
  __typename ... on TwoFactorError { code } } }"""
REGENERATE = """mutation($code: Line!) { regenerateRecoveryCodes(input: {code: $code}) {
  __typename ... on TwoFactorError { code } } }"""
ENROLL = "mutation { enrollTotp(input: {}) { ... on TotpEnrollment { secret } } }"
CONFIRM = """mutation($c: Line!) { confirmTotp(input: {code: $c}) {
  ... on TotpConfirmed { recoveryCodes } } }"""
VERIFY = """mutation($t: Line!, $c: Line!) { verifyTwoFactor(input: {mfaToken: $t, code: $c}) {
  ... on LoggedIn { accessToken } } }"""


async def _token_with_totp(client: httpx.AsyncClient) -> tuple[str, pyotp.TOTP, list[str]]:
    """Anna with TOTP set up, logged in with both factors (the code of the next step is
    still unused)."""
    first = await login(client, *ANNA, portal_gid(CUSTOMERS))
    token = first["accessToken"]
    secret = (await post(client, ENROLL, token)).json()["data"]["enrollTotp"]["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = await post(client, CONFIRM, token, c=totp.at(time.time() - 30))
    codes = confirmed.json()["data"]["confirmTotp"]["recoveryCodes"]
    mfa = (await login(client, *ANNA, portal_gid(CUSTOMERS)))["mfaToken"]
    done = await post(client, VERIFY, t=mfa, c=totp.now())
    return done.json()["data"]["verifyTwoFactor"]["accessToken"], totp, codes


def _answer(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body
    return dict(next(iter(body["data"].values())))


@pytest.mark.parametrize("check", ["changePassword", "disableTotp", "regenerateRecoveryCodes"])
async def test_guesses_with_a_stolen_token_count_and_lock(
    at: Callable[..., httpx.AsyncClient], test_settings: Settings, check: str
) -> None:
    """Someone holding Anna's access token guesses her password or a code: each guess
    counts towards the lockout, which then refuses even the right answer, and the
    attacker's address may not log in as Anna either."""
    thief = at("198.51.100.66")
    if check == "changePassword":
        token = (await login(thief, *ANNA, portal_gid(CUSTOMERS)))["accessToken"]
        query, wrong = CHANGE_PASSWORD, {"current": "Sommer2026!"}
        right = {"current": ANNA[1]}
        refused = {"__typename": "MutationError", "code": "INVALID_INPUT"}
        locked = {"__typename": "MutationError", "code": "RATE_LIMITED"}
    else:
        token, totp, codes = await _token_with_totp(thief)
        query, wrong = (DISABLE if check == "disableTotp" else REGENERATE), {"code": "000000"}
        right = {"code": codes[0] if check == "disableTotp" else totp.at(time.time() + 30)}
        refused = {"__typename": "TwoFactorError", "code": "INVALID_CODE"}
        locked = {"__typename": "TwoFactorError", "code": "RATE_LIMITED"}
    for _ in range(test_settings.max_login_failures):
        answer = _answer(await post(thief, query, token, **wrong))
        assert {k: answer[k] for k in refused} == refused
    answer = _answer(await post(thief, query, token, **right))
    assert {k: answer[k] for k in locked} == locked
    assert await anna_logs_in(thief) == "LoginError"


async def test_a_burst_of_concurrent_guesses_gets_no_more_checks_than_the_limit(
    engine: AsyncEngine, test_settings: Settings
) -> None:
    """Eight guesses at once, each on its own connection and committed: only as many
    are checked as the pair's limit allows; the others find it locked. (Without the
    per-account serialization more pass the lock check than failures are counted.)"""
    policy = authentication.identity_config(test_settings).lockout
    email = f"burst-{uuid.uuid4()}@example.org"
    keys = throttle.Keys.of(email, None, "198.51.100.66")
    checked = 0

    async def check() -> bool:
        nonlocal checked
        checked += 1
        await asyncio.sleep(0.05)  # a password hash takes a while
        return False

    async def guess() -> throttle.Checked:
        async with AsyncSession(engine) as session, session.begin():
            return await throttle.guarded(session, policy, keys, check, datetime.now(UTC))

    try:
        answers = await asyncio.gather(*(guess() for _ in range(8)))
    finally:
        async with AsyncSession(engine) as session, session.begin():
            counters = models.LoginThrottle.key.in_([keys.account, keys.pair])
            await session.execute(sa.delete(models.LoginThrottle).where(counters))
            await session.execute(
                sa.delete(models.RateCounter).where(models.RateCounter.key == keys.flood)
            )
    assert checked == policy.max_failures
    assert sum(answer.locked for answer in answers) == 8 - policy.max_failures


class GatedLogins:
    """Logins of unknown emails (refused after their hash, as every login's hash), each in
    its own committed transaction on `engine`, whose hashes wait at a gate until it opens:
    which passwords reached it (`reached`), and the connections they hold (`held`)."""

    def __init__(self, engine: AsyncEngine, config: authentication.IdentityConfig) -> None:
        self.engine, self.config = engine, config
        self.storm = f"storm-{uuid.uuid4()}"
        self.gate, self.reached = threading.Event(), queue.Queue[str]()
        self.held = self.peak = 0
        self.all_admitted = asyncio.Event()  # `passwords.ADMITTED` connections held
        self.tasks: list[asyncio.Task[authentication.LoginOutcome]] = []

    def checked_out(self, *_: object) -> None:
        self.held += 1
        self.peak = max(self.peak, self.held)
        if self.held == passwords.ADMITTED:
            self.all_admitted.set()

    def checked_in(self, *_: object) -> None:
        self.held -= 1

    def start(self, email: str, password: str) -> None:
        async def log_in() -> authentication.LoginOutcome:
            async with AsyncSession(self.engine) as db, db.begin():
                return await authentication.login(
                    db,
                    self.config,
                    email=f"{self.storm}-{email}@example.org",
                    password=password,
                    portal_id=None,
                    origin=audit.Origin(),
                    now=datetime.now(UTC),
                )

        self.tasks.append(asyncio.create_task(log_in()))

    async def at_the_gate(self) -> set[str]:
        """The passwords of the hashes the executor's threads hold at the gate."""
        waiting = [asyncio.to_thread(self.reached.get, True, 10) for _ in range(passwords.WORKERS)]
        return set(await asyncio.gather(*waiting))

    async def answers(self) -> list[authentication.LoginOutcome]:
        self.gate.set()
        return await asyncio.gather(*self.tasks)


@pytest.fixture
async def gated(
    database_url: str, test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[GatedLogins]:
    """`GatedLogins` on a pool two connections larger than the admission to the hash;
    the logins beyond it wait for their admission as long as the settings allow (they
    wait for the gate, not for hashes)."""
    engine = create_engine(database_url, pool_size=passwords.ADMITTED + 2)
    settings = replace(test_settings, password_admission_wait_seconds=60)
    logins = GatedLogins(engine, authentication.identity_config(settings))
    sa.event.listen(engine.sync_engine.pool, "checkout", logins.checked_out)
    sa.event.listen(engine.sync_engine.pool, "checkin", logins.checked_in)
    check = passwords.verify_and_rehash

    def held_at_the_gate(stored: str | None, password: str, *args: Any, **kwargs: Any) -> Any:
        logins.reached.put(password)
        logins.gate.wait(30)
        return check(stored, password, *args, **kwargs)

    monkeypatch.setattr(passwords, "verify_and_rehash", held_at_the_gate)
    try:
        yield logins
    finally:
        logins.gate.set()
        await asyncio.gather(*logins.tasks, return_exceptions=True)
        async with AsyncSession(engine) as db, db.begin():
            counters = models.LoginThrottle.key.contains(logins.storm)
            await db.execute(sa.delete(models.LoginThrottle).where(counters))
        await engine.dispose()


async def test_a_login_storm_leaves_the_pool_to_other_requests(gated: GatedLogins) -> None:
    """Three times as many logins at once as are admitted to the hash: while their
    hashes wait, the logins hold `passwords.ADMITTED` connections (those admitted, with
    their account's lock), the others wait without one, and another request gets a
    connection at once. Then every login is answered."""
    storm = 3 * passwords.ADMITTED
    for index in range(storm):
        gated.start(str(index), f"guess-{index}")
    assert len(await gated.at_the_gate()) == passwords.WORKERS
    # The admitted logins beyond the executor's threads take their connections and queue.
    await asyncio.wait_for(gated.all_admitted.wait(), 10)
    async with AsyncSession(gated.engine) as other:
        assert await other.scalar(sa.select(sa.literal(1))) == 1
    assert gated.peak == passwords.ADMITTED + 1  # the logins' and the other request's
    assert await gated.answers() == [authentication.Refused()] * storm


async def test_a_burst_at_one_account_leaves_the_hash_to_other_accounts(
    gated: GatedLogins,
) -> None:
    """Guesses at one account, more than are admitted to the hash, then a login of
    another account: the guesses wait for the account's turn in the process without a
    connection or an admission, so the other login hashes beside the first guess."""
    burst = 2 * passwords.ADMITTED
    for index in range(burst):
        gated.start("guessed", f"guess-{index}")
    gated.start("other", "other")
    assert await gated.at_the_gate() == {"guess-0", "other"}
    assert gated.held == 2
    assert await gated.answers() == [authentication.Refused()] * (burst + 1)
    assert not throttle._TURNS._locks  # no turn kept for an account without checks
