"""The admission to the password hash (gql/auth/passwords.py `Hashing`) through the ASGI
app on the real database: with every admission of the process taken (by
`Hashing.admission` itself, so deterministically, as by that many hashes running) and
no wait, a login is answered 503 SERVICE_UNAVAILABLE with Retry-After and counted,
while a read that hashes nothing is answered as ever; each of the nine mutations that
hash or check a password is refused the same way, and nothing else in the code reaches
the hash. Refusals that cost nothing: a new password that is the current one, and a
registration's or a link's password that breaks the rules, are answered before any hash
(and before the portal or the link is looked up). PASSWORD_ADMISSION_WAIT_SECONDS is
checked at startup."""

from __future__ import annotations

import ast
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import workloads
from gql import messages, unavailable
from gql.auth import passwords
from gql.auth.tokens import TokenService
from gql.domain import registration
from gql.settings import Settings, SettingsError
from tests.conftest import app_client, contact_id, global_id
from tests.http_helpers import CUSTOMERS, login, portal_gid, post, staff_token

ROOT = Path(__file__).resolve().parents[2]
ANNA = ("anna.becker@example.org", "Demo-Kunde-1")
ADMIN = ("admin@musterstadt.example", "Demo-Admin-1")
NEW_PASSWORD = "Zwei-Spatzen-am-Dach-7"
REFUSED = "portal_password_admissions_refused_total"


@contextlib.asynccontextmanager
async def every_admission_taken() -> AsyncIterator[None]:
    """Every admission of the event loop held, as by `ADMITTED` hashes running: taken
    through `Hashing.admission`, so no request can get one until the block ends."""
    holder = passwords.Hashing("test", wait=0)
    async with contextlib.AsyncExitStack() as held:
        for _ in range(passwords.ADMITTED):
            await held.enter_async_context(holder.admission())
        yield


@pytest.fixture
async def client(
    sessions: async_sessionmaker[AsyncSession], test_settings: Settings, tokens: TokenService
) -> AsyncIterator[httpx.AsyncClient]:
    """The app refusing at once a request that finds no admission free (a wait of 0)."""
    settings = replace(test_settings, password_admission_wait_seconds=0)
    async with app_client(settings, sessions, tokens) as client:
        yield client


async def refusals(client: httpx.AsyncClient) -> float:
    """`portal_password_admissions_refused_total` as `/metrics` shows it."""
    text = (await client.get("/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == REFUSED
    )


async def customer_token(client: httpx.AsyncClient) -> str:
    answer = await login(client, *ANNA, portal=portal_gid(CUSTOMERS))
    assert answer["__typename"] == "LoggedIn", answer
    return str(answer["accessToken"])


def assert_unavailable(response: httpx.Response) -> None:
    """503 with Retry-After and SERVICE_UNAVAILABLE, the answer of a database that can
    not serve the request (gql/unavailable.py)."""
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == str(unavailable.RETRY_AFTER_SECONDS)
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == [unavailable.CODE]
    assert errors[0]["message"] == unavailable.MESSAGE


def mutation(name: str, input_type: str) -> str:
    return (
        f"mutation Call($input: {input_type}!) {{ {name}(input: $input) {{ __typename"
        " ... on Error { code field } } }"
    )


async def test_a_login_without_an_admission_is_answered_503_and_other_requests_are_not(
    client: httpx.AsyncClient,
) -> None:
    """Every admission taken: a login is refused at once (503, Retry-After, counted),
    the customer's dashboard, which hashes nothing, is answered with its data; once an
    admission is free the login is answered again."""
    token = await customer_token(client)
    before = await refusals(client)
    async with every_admission_taken():
        refused = await post(
            client,
            mutation("login", "LoginInput"),
            input={"email": ANNA[0], "password": ANNA[1], "portalId": portal_gid(CUSTOMERS)},
        )
        dashboard = await post(client, workloads.DASHBOARD, token)
    assert_unavailable(refused)
    assert await refusals(client) - before == 1
    assert dashboard.status_code == 200, dashboard.text
    body = dashboard.json()
    assert "errors" not in body, body
    assert body["data"]["viewer"]["contracts"]["edges"]
    assert await customer_token(client)


@dataclass(frozen=True)
class HashingPath:
    """A mutation that hashes or checks a password, as a caller sends it."""

    input_type: str
    input: dict[str, Any]
    caller: str | None = None  # "customer" (Anna) or "admin"; None: anonymous


CUSTOMER_PORTAL = portal_gid(CUSTOMERS)
# Every request path to the hash, by mutation: `test_nothing_else_reaches_the_hash`
# keeps this the whole list.
PATHS = {
    "login": HashingPath(
        "LoginInput", {"email": ANNA[0], "password": ANNA[1], "portalId": CUSTOMER_PORTAL}
    ),
    "register": HashingPath(
        "RegisterInput",
        {"portalId": CUSTOMER_PORTAL, "email": "admitted@example.org", "password": NEW_PASSWORD},
    ),
    "resetPassword": HashingPath(
        "TokenPasswordInput",
        {"portalId": CUSTOMER_PORTAL, "token": "no-such-link", "password": NEW_PASSWORD},
    ),
    "acceptInvitation": HashingPath(
        "TokenPasswordInput",
        {"portalId": CUSTOMER_PORTAL, "token": "no-such-link", "password": NEW_PASSWORD},
    ),
    "acceptStaffInvitation": HashingPath(
        "AcceptStaffInvitationInput", {"token": "no-such-link", "password": NEW_PASSWORD}
    ),
    "setPortalUserPassword": HashingPath(
        "SetPortalUserPasswordInput",
        {
            "portalId": CUSTOMER_PORTAL,
            "contactId": global_id("Contact", contact_id("musterstadt", "c00")),
            "password": NEW_PASSWORD,
        },
        caller="admin",
    ),
    "changePassword": HashingPath(
        "ChangePasswordInput",
        {"currentPassword": ANNA[1], "newPassword": NEW_PASSWORD},
        caller="customer",
    ),
    "deleteMyAccount": HashingPath("DeleteMyAccountInput", {"password": ANNA[1]}, "customer"),
    "requestEmailChange": HashingPath(
        "RequestEmailChangeInput",
        {"newEmail": "anna.elsewhere@example.org", "password": ANNA[1]},
        caller="customer",
    ),
}


@pytest.mark.parametrize("name", sorted(PATHS))
async def test_every_path_to_the_hash_takes_an_admission(
    client: httpx.AsyncClient, name: str
) -> None:
    """With every admission taken, each mutation that hashes or checks a password is
    refused (503) before it hashes: none reaches the executor another way."""
    path = PATHS[name]
    token = None
    if path.caller == "customer":
        token = await customer_token(client)
    elif path.caller == "admin":
        token = await staff_token(client, *ADMIN)
    before = await refusals(client)
    async with every_admission_taken():
        response = await post(client, mutation(name, path.input_type), token, input=path.input)
    assert_unavailable(response)
    assert await refusals(client) - before == 1


# The domain's functions that take an admission or compute with one, and the mutation
# each serves (None: a step of the others).
REACHING = {
    "authentication.login": "login",
    "authentication.check_password": None,
    "registration.register": "register",
    "registration.reset_password": "resetPassword",
    "portal_access.accept_invitation": "acceptInvitation",
    "staff.accept_invitation": "acceptStaffInvitation",
    "portal_access.set_password": "setPortalUserPassword",
    "account.change_password": "changePassword",
    "account.delete_my_account": "deleteMyAccount",
    "email_change.request_email_change": "requestEmailChange",
    "email_change.checked_password": None,
    "password_policy.checked_and_hashed": None,
}
# What computes a hash without an admission: only gql/auth/passwords.py may use these
# (and the CLI, which hashes a password given on its command line, outside any request);
# an `Admitted` is made only by `Hashing.admission`.
UNADMITTED = {"hash_password", "verify_password", "verify_and_rehash", "_EXECUTOR"}


def _names(tree: ast.AST) -> set[str]:
    return {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute)
    }


def _unadmitted(tree: ast.AST) -> set[str]:
    """The module's uses of what computes without an admission: `passwords.<name>`, its
    import by name, or an `Admitted` made."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "gql.auth.passwords":
            found |= {alias.name for alias in node.names} & (UNADMITTED | {"Admitted"})
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "passwords"
            and node.attr in UNADMITTED
        ):
            found.add(node.attr)
        elif isinstance(node, ast.Call) and "Admitted" in _names(node.func):
            found.add("Admitted")
    return found


def test_nothing_else_reaches_the_hash() -> None:
    """The computations are reached only through `Hashing` (nothing outside passwords.py
    names what computes without an admission), and the domain functions that use it are
    the ones above, whose mutations `PATHS` tries."""
    unadmitted = {
        str(path.relative_to(ROOT)): sorted(_unadmitted(ast.parse(path.read_text())))
        for path in (ROOT / "gql").rglob("*.py")
        if path.name not in ("passwords.py", "cli.py")
    }
    assert {path: names for path, names in unadmitted.items() if names} == {}
    reaching = set()
    for path in (ROOT / "gql" / "domain").glob("*.py"):
        for node in ast.parse(path.read_text()).body:
            uses = {"hashing", "hasher", "checked_and_hashed"}
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and uses & _names(node):
                reaching.add(f"{path.stem}.{node.name}")
    assert reaching == set(REACHING)
    assert {name for name in REACHING.values() if name} == set(PATHS)


async def test_a_new_password_that_is_the_current_one_is_refused_before_any_hash(
    client: httpx.AsyncClient,
) -> None:
    """`password_unchanged` is told from the two fields alone: answered with every
    admission taken, so without a hash, in the caller's language (Anna's: German)."""
    token = await customer_token(client)
    query = (
        "mutation($input: ChangePasswordInput!) { changePassword(input: $input)"
        " { __typename ... on Error { code field message } } }"
    )
    same = {"currentPassword": ANNA[1], "newPassword": ANNA[1]}
    async with every_admission_taken():
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": {"input": same}},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["changePassword"] == {
        "__typename": "MutationError",
        "code": "INVALID_INPUT",
        "field": "newPassword",
        "message": messages.specific("password_unchanged", "de", {}),
    }


@pytest.mark.parametrize("name", ["register", "resetPassword", "acceptInvitation"])
async def test_a_password_that_breaks_the_rules_costs_no_lookup_and_no_hash(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The rules are checked first: with every admission taken the answer is the rule's
    refusal, not 503, and neither the portal nor the link was looked up."""
    looked_up: list[str] = []

    async def portal(*_: object, **__: object) -> Any:
        looked_up.append("portal")
        raise AssertionError("the portal was looked up")

    async def link(*_: object, **__: object) -> Any:
        looked_up.append("link")
        raise AssertionError("the link was looked up")

    monkeypatch.setattr(registration, "active_portal", portal)
    monkeypatch.setattr(registration, "redeem", link)
    monkeypatch.setattr("gql.domain.portal_access.redeem", link)
    path = PATHS[name]
    async with every_admission_taken():
        response = await post(
            client,
            mutation(name, path.input_type),
            input={**path.input, "password": "kurz"},
        )
    assert response.status_code == 200, response.text
    answer = response.json()["data"][name]
    assert answer == {"__typename": "MutationError", "code": "INVALID_INPUT", "field": "password"}
    assert looked_up == []


@pytest.mark.parametrize("value", ["-1", "61", "five"])
def test_the_admission_wait_is_checked_at_startup(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PASSWORD_ADMISSION_WAIT_SECONDS", value)
    with pytest.raises(SettingsError, match="PASSWORD_ADMISSION_WAIT_SECONDS"):
        Settings.from_env()


@pytest.mark.parametrize(("value", "wait"), [(None, 5), ("0", 0), ("60", 60)])
def test_the_admission_wait_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, wait: int
) -> None:
    if value is None:
        monkeypatch.delenv("PASSWORD_ADMISSION_WAIT_SECONDS", raising=False)
    else:
        monkeypatch.setenv("PASSWORD_ADMISSION_WAIT_SECONDS", value)
    settings = Settings.from_env()
    assert settings.password_admission_wait_seconds == wait
    assert passwords.Hashing.from_settings(settings).wait == wait
