"""Structural cost of the busiest mutations: the statements one request runs, through the
ASGI app, counted on the test's connection (tests/statement_helpers.py) - an upper bound
that does not depend on the data, never a time.

Besides the session check, a mutation reads its rule facts in one statement after
locking the row it changes (so the facts include what a concurrent request committed),
then writes the row, the audit event and the outbox mail in the same transaction.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from argon2 import Parameters, PasswordHasher, extract_parameters
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db import models
from db.models.crm import UPDATED_IN_PLACE_FILLFACTOR
from gql.auth import passwords
from gql.settings import Settings
from tests import factories
from tests.conftest import ACTORS, global_id
from tests.factories import customers_first_contract
from tests.http_helpers import CUSTOMERS, LOGIN, login, portal_gid, post
from tests.meter_helpers import SUBMIT, anna_meter, plausible_value
from tests.statement_helpers import counting_statements, settings_reads

CHANGE = """mutation($input: ChangeInstallmentInput!) { changeInstallment(input: $input) {
  __typename ... on InstallmentChanged { contract { installmentAmount } } } }"""
# Transaction control (the test's savepoints stand for the server's BEGIN/COMMIT).
CONTROL = re.compile(r"^\s*(SAVEPOINT|RELEASE|BEGIN|COMMIT|ROLLBACK)\b", re.IGNORECASE)
ANNA = ("anna.becker@example.org", "Demo-Kunde-1")


def work(statements: list[str]) -> list[str]:
    return [s for s in statements if not CONTROL.match(s)]


def writes(statements: list[str], table: str) -> int:
    """The writes of `table`, also those in a statement's data-modifying WITH clauses."""
    return sum(len(re.findall(rf"\b(?:INSERT INTO|UPDATE) {table}\b", s)) for s in statements)


def writing(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\b(?:INSERT INTO|UPDATE) \w+", s)]


def check_room_for_updates(statements: list[str]) -> None:
    """Every table whose rows the statements update in place is stored with room on its
    pages (db/models/crm.py UPDATED_IN_PLACE_FILLFACTOR), so that the new versions of a
    busy mutation's rows stay heap-only and no index gets an entry per request."""
    updated = {table for s in statements for table in re.findall(r"\bUPDATE (\w+) SET\b", s)}
    assert updated, statements
    tables = models.Base.metadata.tables
    room = {
        table: (tables[table].dialect_options["postgresql"]["with"] or {}).get("fillfactor")
        for table in updated
    }
    assert room == dict.fromkeys(updated, UPDATED_IN_PLACE_FILLFACTOR), room


async def anna_token(client: httpx.AsyncClient) -> str:
    """Anna's token, its session known to the app (a first request checked it): a
    mutation's session check then rides the statement that locks its row."""
    result = await login(client, *ANNA, portal_gid(CUSTOMERS))
    token = str(result["accessToken"])
    assert (await post(client, "{ viewer { role } }", token)).json()["data"]["viewer"]
    return token


async def known_document(
    client: httpx.AsyncClient, document: str, token: str, given: dict[str, Any]
) -> None:
    """`document` answered once (a dry run): with query plans on, the mutation takes the
    short way from then on (gql/http/short_mutations.py), and that is what is counted."""
    response = await post(client, document, token, input=given)
    assert "errors" not in response.json(), response.text


def budget(settings: Settings) -> int:
    """Three work statements: the session check rides the lock (gql/domain/session_check.py);
    four with query plans off, which turns that off too (the check runs alone)."""
    return 3 if settings.query_plans else 4


def check_rides_the_lock(ran: list[str], settings: Settings) -> None:
    first = ran[0]
    rides = "FROM auth_session" in first and "FOR UPDATE" in first
    assert rides == settings.query_plans, first


def deletes(statements: list[str], table: str) -> int:
    """The deletes of `table`, also those in a statement's data-modifying WITH clauses."""
    return sum(len(re.findall(rf"\bDELETE FROM {table}\b", s)) for s in statements)


async def test_login_runs_three_statements(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    """The wait for the account's other checks (the lockout's advisory lock), then the
    account with its TOTP state, the lockout's lock and counters and the address's flood
    counter in one, then one statement writing the session, its refresh token, the last
    login and the audit event (no counters to clear: none on record). It was 10, then
    7, then 6."""
    credentials = {"email": ANNA[0], "password": ANNA[1], "portalId": portal_gid(CUSTOMERS)}
    with counting_statements(connection) as statements:
        response = await post(client, LOGIN, input=credentials)
    assert response.json()["data"]["login"]["__typename"] == "LoggedIn"
    ran = work(statements)
    assert len(ran) == 3, ran
    assert len(writing(ran)) == 1, ran
    for table in ("auth_session", "refresh_token", "portal_user", "audit_event"):
        assert writes(ran, table) == 1, (table, ran)
    assert deletes(ran, "login_throttle") == 0, ran


async def test_login_after_a_failure_clears_the_counters(
    client: httpx.AsyncClient, connection: AsyncConnection, session: AsyncSession
) -> None:
    """With failures on record the login deletes them in its one writing statement."""
    wrong = await login(client, ANNA[0], "not-the-password", portal_gid(CUSTOMERS))
    assert wrong["__typename"] == "LoginError"
    credentials = {"email": ANNA[0], "password": ANNA[1], "portalId": portal_gid(CUSTOMERS)}
    with counting_statements(connection) as statements:
        response = await post(client, LOGIN, input=credentials)
    assert response.json()["data"]["login"]["__typename"] == "LoggedIn"
    ran = work(statements)
    assert len(ran) == 3, ran
    assert len(writing(ran)) == 1, ran
    assert deletes(ran, "login_throttle") == 1, ran
    throttle = models.LoginThrottle
    left = await session.scalar(sa.select(sa.func.count()).where(throttle.key.like(f"%{ANNA[0]}")))
    assert left == 0


async def test_submit_meter_reading_runs_two_statements(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    test_settings: Settings,
) -> None:
    """The session check with the meter and the facts (client key, registers, readings,
    contract period, approval, recipients, contact) in one statement, no lock; then the
    reading, the audit event and the mail to the agent the demo portal notifies in one
    statement, guarded by the meter's version (db.raw.Writes.unless_changed: the meter
    touched, the rows inserted only if it matched), a transaction of its own on the
    server (no BEGIN and COMMIT). It was 13, then 6, then 4, then 3."""
    token = await anna_token(client)
    meter, last = await anna_meter(session)
    value = await plausible_value(session, meter, last)
    given = {"meterId": global_id("Meter", meter), "value": value, "clientKey": "count-1"}
    await known_document(client, SUBMIT, token, {**given, "dryRun": True})
    with counting_statements(connection) as statements:
        response = await post(client, SUBMIT, token, input=given)
    body: Any = response.json()
    assert body["data"]["submitMeterReading"]["__typename"] == "MeterReadingSubmitted", body
    ran = work(statements)
    assert len(ran) <= budget(test_settings) - 1, ran
    first = ran[0]  # the check alone first with query plans off (it then rides nothing)
    rides = "FROM auth_session" in first and "AS locked ON true" in first
    assert rides == test_settings.query_plans, first
    assert not [statement for statement in ran if "FOR UPDATE" in statement], ran
    # The portal's settings unpacked once for the approval and the audience (it was four
    # times); a login token's riding check reads none (sessions.valid_as: the read of
    # `impersonation_writes` is an impersonation's only).
    assert settings_reads(ran[-2]) == 1, ran[-2]
    assert len(writing(ran)) == 1, ran
    for table in ("meter_reading", "audit_event", "email_outbox", "meter"):
        assert writes(ran, table) == 1, (table, ran)
    assert "xmin" in writing(ran)[0], ran
    check_room_for_updates(ran)


async def test_change_installment_runs_two_statements(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    test_settings: Settings,
) -> None:
    """The session check with the contract locked and the facts (the portal's published
    rules and approvals, the cadence history, the overdue sum, recipients, contact) in one
    statement (scope.locked_with), then the contract, the audit event and the mail in one
    statement (db.raw.Writes); a dry run runs the same two. It was 11, then 6, then 4,
    then 3. With query plans off the session check runs alone first."""
    token = await anna_token(client)
    contract = await customers_first_contract(session)
    amount = str(contract.installment_amount + Decimal(1))
    given = {"contractId": global_id("Contract", contract.id), "amount": amount}
    await known_document(client, CHANGE, token, {**given, "dryRun": True})
    for dry_run in (True, False):
        with counting_statements(connection) as statements:
            response = await post(client, CHANGE, token, input={**given, "dryRun": dry_run})
        body: Any = response.json()
        assert body["data"]["changeInstallment"]["__typename"] == "InstallmentChanged", body
        ran = work(statements)
        assert len(ran) == budget(test_settings) - 1, ran
        check_rides_the_lock(ran, test_settings)
        assert "FOR UPDATE" in ran[-2], ran
        assert "audit_event.created_at" in ran[-2], ran  # the cadence history
        # The portal's settings: the published ones unpacked once for the rules and the
        # approvals (it was twice), the live ones once for the audience; a login token's
        # riding session check reads none.
        assert settings_reads(ran[-2]) == 2, ran[-2]
        assert len(writing(ran)) == 1, ran
        assert writes(ran, "contract") == 1, ran
        assert writes(ran, "audit_event") == 1, ran
        assert writes(ran, "email_outbox") == 1, ran
        check_room_for_updates(ran)


@pytest.fixture
def computations(monkeypatch: pytest.MonkeyPatch) -> list[Parameters]:
    """The argon2 computations made from now on (gql/auth/passwords.py), by parameters."""
    made: list[Parameters] = []
    compute = passwords._compute

    def counted(parameters: Parameters, password: bytes, salt: bytes) -> bytes:
        made.append(parameters)
        return compute(parameters, password, salt)

    monkeypatch.setattr(passwords, "_compute", counted)
    return made


@pytest.mark.parametrize(
    ("email", "password", "answer"),
    [
        (ANNA[0], ANNA[1], "LoggedIn"),
        (ANNA[0], "not-the-password", "LoginError"),
        ("niemand@example.org", ANNA[1], "LoginError"),  # the dummy hash, never computed
    ],
    ids=["right", "wrong", "unknown"],
)
async def test_login_computes_argon2_once(
    client: httpx.AsyncClient,
    computations: list[Parameters],
    email: str,
    password: str,
    answer: str,
) -> None:
    """One argon2 computation whatever the outcome: no rehash of a hash with the
    profile's parameters, no second hash of a token or a dummy for a known account."""
    result = await login(client, email, password, portal_gid(CUSTOMERS))
    assert result["__typename"] == answer
    assert len(computations) == 1, computations


async def test_locked_login_computes_argon2_once(
    client: httpx.AsyncClient, computations: list[Parameters], test_settings: Settings
) -> None:
    """A lock refuses (even the right password) without checking the password, and
    hashes once all the same."""
    for _ in range(test_settings.max_login_failures):
        await login(client, ANNA[0], "not-the-password", portal_gid(CUSTOMERS))
    computations.clear()
    result = await login(client, *ANNA, portal_gid(CUSTOMERS))
    assert result["__typename"] == "LoginError"
    assert len(computations) == 1, computations


async def test_login_with_a_hash_of_other_parameters_stores_the_profiles(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    session: AsyncSession,
    computations: list[Parameters],
    test_settings: Settings,
) -> None:
    """argon2-cffi's `check_needs_rehash`: a right password whose stored hash has other
    parameters than the profile's is hashed again with the profile's and stored in the
    login's one writing statement (still three); the next login checks the new hash
    and computes once."""
    profile = passwords.PROFILES[test_settings.password_profile]
    older = PasswordHasher.from_parameters(factories.OLDER_PASSWORD_PARAMETERS)
    anna = ACTORS["customer"].subject_id
    user = await session.get_one(models.PortalUser, anna)
    user.password_hash = older.hash(ANNA[1])
    await session.flush()
    with counting_statements(connection) as statements:
        result = await login(client, *ANNA, portal_gid(CUSTOMERS))
    assert result["__typename"] == "LoggedIn"
    assert computations == [factories.OLDER_PASSWORD_PARAMETERS, profile]
    ran = work(statements)
    assert len(ran) == 3, ran
    assert len(writing(ran)) == 1, ran
    assert writes(ran, "portal_user") == 1, ran
    column = models.PortalUser.password_hash
    stored = await session.scalar(sa.select(column).where(models.PortalUser.id == anna))
    assert stored is not None
    assert extract_parameters(stored) == profile
    assert PasswordHasher.from_parameters(profile).verify(stored, ANNA[1])
    computations.clear()
    again = await login(client, *ANNA, portal_gid(CUSTOMERS))
    assert again["__typename"] == "LoggedIn"
    assert computations == [profile]
    assert await session.scalar(sa.select(column).where(models.PortalUser.id == anna)) == stored
