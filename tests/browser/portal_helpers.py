"""What the browser tests share: the served instance and the README's demo logins (from
tests/serve_helpers.py, shared with tests/http/test_serve.py), a browser profile, logging
in on the page, a call to the API and the accessibility check."""

import time
from typing import Any

import httpx
import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, expect

from gql.domain.two_factor import TOTP_WINDOW
from tests.conftest import ROOT
from tests.serve_helpers import (
    ReadmeLogin,
    Server,
    free_port,
    login,
    readme_logins,
    wait_for_mail,
)

__all__ = [
    "ANNA",
    "JONAS",
    "Authenticator",
    "ReadmeLogin",
    "Server",
    "account",
    "api",
    "free_port",
    "log_in",
    "login",
    "new_context",
    "readme_logins",
    "registered",
    "serious_violations",
    "wait_for_mail",
]

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


def account(email: str) -> ReadmeLogin:
    return next(each for each in readme_logins() if each.email == email)


ANNA = account("anna.becker@example.org")
JONAS = account("jonas.wolf@example.org")


def api(server: Server, token: str, query: str, **variables: object) -> dict[str, object]:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "de"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def log_in(page: Page, who: ReadmeLogin = ANNA) -> None:
    page.goto("/portal/")
    page.get_by_label("E-Mail-Adresse").fill(who.email)
    page.get_by_label("Passwort").fill(who.password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()


def serious_violations(page: Page) -> list[dict[str, object]]:
    page.add_script_tag(path=AXE)
    result = page.evaluate("async () => (await axe.run()).violations")
    return [
        {"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


# The demo's logo and tile pictures live on the utility's site, whose `.example` host
# does not exist: the browser gets this picture for them instead of a DNS error.
PICTURE = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    '<rect width="120" height="40" fill="#0b5cad"/></svg>'
)


def new_context(browser: Browser, server: Server, **options: Any) -> BrowserContext:
    """A fresh browser profile (no token, German unless `locale` says otherwise)."""
    options.setdefault("locale", "de-DE")
    made = browser.new_context(base_url=server.url, **options)
    made.set_default_timeout(15000)
    made.route(
        "https://*.example/**",
        lambda route: route.fulfill(body=PICTURE, content_type="image/svg+xml"),
    )
    return made


def registered(server: Server, who: ReadmeLogin, customer_number: str) -> ReadmeLogin:
    """A demo contact without an access (db/demo.py), registered with her customer number
    and activated through the API and the mail sink: a login of her own, for a test that
    changes what it shares with no other."""
    answer = httpx.post(
        f"{server.url}/graphql",
        json={
            "query": "mutation($input: RegisterInput!) { register(input: $input) { __typename } }",
            "variables": {
                "input": {
                    "portalId": who.portal_id,
                    "email": who.email,
                    "password": who.password,
                    "identifiers": [{"key": "contact.customer_number", "value": customer_number}],
                    "acceptedTerms": True,
                }
            },
        },
        timeout=30,
    ).json()
    assert answer == {"data": {"register": {"__typename": "RequestReceived"}}}, answer
    token = wait_for_mail(server, who.email, r"/activate\?token=([\w-]+)").group(1)
    activated = httpx.post(
        f"{server.url}/graphql",
        json={
            "query": "mutation($input: TokenInput!) { activateAccount(input: $input) {"
            " ... on AccountActivated { canLogIn } } }",
            "variables": {"input": {"portalId": who.portal_id, "token": token}},
        },
        timeout=30,
    ).json()
    assert activated == {"data": {"activateAccount": {"canLogIn": True}}}, activated
    return who


class Authenticator:
    """The authenticator app of a test: a code of its own time step each time, never one
    the API has accepted before (it refuses a replay, gql/domain/two_factor.py).

    The API accepts the current step +/- TOTP_WINDOW, so a test uses the oldest step
    still accepted, then the next one, and so on: three codes in a row without waiting
    for the clock. A code is valid only while the step it belongs to is within the
    window; near a step's end (MARGIN seconds) the next step counts as current, so a code
    does not expire between the page and the API. Only a test that has used up the steps
    ahead of the clock waits for the next one."""

    MARGIN = 3.0

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last: int | None = None

    def code(self) -> str:
        while True:
            now = time.time()
            current = int(now // self.totp.interval)
            left = self.totp.interval - now % self.totp.interval
            safe = current + 1 if left < self.MARGIN else current
            step = safe - TOTP_WINDOW
            if self.last is not None:
                step = max(step, self.last + 1)
            if step <= current + TOTP_WINDOW:
                self.last = step
                return self.totp.generate_otp(step)
            time.sleep(left + 0.1)

    def wrong(self) -> str:
        """Six digits that are no code the API accepts now."""
        now = int(time.time() // self.totp.interval)
        accepted = {
            self.totp.generate_otp(step)
            for step in range(now - TOTP_WINDOW - 1, now + TOTP_WINDOW + 2)
        }
        return next(digit * 6 for digit in "0123" if digit * 6 not in accepted)
