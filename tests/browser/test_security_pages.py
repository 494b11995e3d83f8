"""The security and changes pages of the reference portal in Chromium: TOTP set up from
the QR page's secret, recovery codes shown once, another device's session ended,
logging out everywhere, Anna's offer accepted.

They share `portal serve` with tests/browser/test_portal.py, so they leave its demo
logins as they found them: Jonas sets TOTP up and turns it off again (with a recovery
code), sessions are told apart by a user agent of this run, and only this module
answers Anna's offer (the one order of the demo that is an offer)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.portal_helpers import (
    ANNA,
    JONAS,
    Authenticator,
    ReadmeLogin,
    Server,
    api,
    log_in,
    login,
    new_context,
    readme_logins,
    registered,
    serious_violations,
)

SECURITY = "/portal/security"
CHANGES = "/portal/changes"


@contextmanager
def profile(browser: Browser, server: Server, **options: object) -> Iterator[Page]:
    """A page in a browser profile of its own (`new_context` options, e.g. a user agent)."""
    context: BrowserContext = new_context(browser, server, **options)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_totp_set_up_on_the_security_page_guards_the_next_login(
    browser: Browser, portal_server: Server, screenshots: Path
) -> None:
    # axe is injected as a script: this profile ignores the page's CSP for it.
    with profile(browser, portal_server, bypass_csp=True) as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, JONAS)
        page.get_by_role("link", name="Sicherheit").click()
        expect(page.get_by_role("heading", name="Sicherheit", level=1)).to_be_visible()
        found = {"security": serious_violations(page)}
        page.get_by_role("button", name="Authenticator-App einrichten").click()
        expect(page.get_by_role("img", name="QR-Code für die Authenticator-App")).to_be_visible()
        secret = page.get_by_test_id("totp-secret").inner_text()
        found["security-qr"] = serious_violations(page)
        page.screenshot(path=screenshots / "security.png", full_page=True)
        app = Authenticator(secret)
        field = page.get_by_label("Code aus der App")

        # A wrong code: the API's German message at the code field.
        field.fill(app.wrong())
        page.get_by_role("button", name="Aktivieren").click()
        expect(field).to_have_attribute("aria-invalid", "true")
        message = page.locator(f"#{field.get_attribute('aria-describedby')}")
        expect(message).to_contain_text("Code")

        field.fill(app.code())
        page.get_by_role("button", name="Aktivieren").click()
        codes = page.get_by_role("region", name="Wiederherstellungscodes").locator("code")
        expect(codes).to_have_count(10)
        recovery = codes.first.inner_text()
        found["recovery-codes"] = serious_violations(page)
        page.screenshot(path=screenshots / "recovery-codes.png", full_page=True)
        page.get_by_role("button", name="Ich habe die Codes gesichert").click()
        expect(page.get_by_text("ist eingeschaltet")).to_be_visible()
        page.goto(CHANGES)
        expect(page.get_by_role("heading", name="Änderungen & Angebote", level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        found["changes"] = serious_violations(page)

        # Log out; the password alone no longer logs in: the app's code does (the next
        # one: the one confirmTotp took is spent).
        page.get_by_role("button", name="Abmelden", exact=True).click()
        expect(page.get_by_label("E-Mail-Adresse")).to_be_visible()
        page.goto("/portal/")
        page.get_by_label("E-Mail-Adresse").fill(JONAS.email)
        page.get_by_label("Passwort").fill(JONAS.password)
        page.get_by_role("button", name="Anmelden").click()
        expect(page.get_by_role("heading", name="Zweiter Faktor")).to_be_visible()
        page.get_by_label("Code", exact=True).fill(app.code())
        page.get_by_role("button", name="Bestätigen").click()
        expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()

        # New recovery codes for a current code: the old ones stop working.
        page.goto(SECURITY)
        regenerate = page.get_by_role("form", name="Neue Wiederherstellungscodes erzeugen")
        regenerate.get_by_label("Code", exact=True).fill(app.code())
        regenerate.get_by_role("button", name="Neue Wiederherstellungscodes erzeugen").click()
        expect(codes).to_have_count(10)
        fresh = codes.first.inner_text()
        assert fresh != recovery
        page.get_by_role("button", name="Ich habe die Codes gesichert").click()

        # Turned off again with a recovery code (Jonas is test_portal's login, too); the
        # old one is refused, with the API's message at the code field.
        disable = page.get_by_role("form", name="Authenticator-App ausschalten")
        code_field = disable.get_by_label("Code", exact=True)
        code_field.fill(recovery)
        disable.get_by_role("button", name="Authenticator-App ausschalten").click()
        expect(code_field).to_have_attribute("aria-invalid", "true")
        expect(disable.get_by_role("alert")).to_have_text(
            "Der Code ist nicht korrekt oder die Anmeldung ist abgelaufen."
        )
        code_field.fill(fresh)
        disable.get_by_role("button", name="Authenticator-App ausschalten").click()
        expect(page.get_by_role("status")).to_have_text(
            "Die Anmeldung mit Authenticator-App ist ausgeschaltet."
        )
        expect(page.get_by_role("button", name="Authenticator-App einrichten")).to_be_visible()
        assert errors == []
    assert found == {name: [] for name in found}, json.dumps(found, indent=1)
    token = login(portal_server, JONAS)
    jonas = api(portal_server, token, "{ viewer { portalUser { totpEnabled } } }")
    assert jonas == {"viewer": {"portalUser": {"totpEnabled": False}}}


def test_ending_another_devices_session_logs_that_browser_out(
    browser: Browser, portal_server: Server
) -> None:
    run = uuid.uuid4().hex[:8]
    phone_agent, laptop_agent = f"Telefon {run}", f"Laptop {run}"
    with (
        profile(browser, portal_server, user_agent=phone_agent) as phone,
        profile(browser, portal_server, user_agent=laptop_agent) as laptop,
    ):
        log_in(phone, ANNA)
        log_in(laptop, ANNA)
        laptop.goto(SECURITY)
        sessions = laptop.get_by_role("region", name="Angemeldete Geräte")
        expect(sessions.get_by_text(laptop_agent)).to_contain_text("Dieses Gerät")
        sessions.get_by_role("button", name=f"Sitzung beenden: {phone_agent}").click()
        expect(laptop.get_by_role("status")).to_have_text("Die Sitzung wurde beendet.")
        expect(sessions.get_by_text(phone_agent)).to_have_count(0)
        # The phone's next request is refused: the portal shows its login page.
        phone.get_by_role("link", name="Meine Daten").click()
        expect(phone.get_by_label("E-Mail-Adresse")).to_be_visible()
        phone.goto(SECURITY)
        expect(phone.get_by_label("E-Mail-Adresse")).to_be_visible()
        expect(laptop.get_by_role("heading", name="Sicherheit", level=1)).to_be_visible()


def test_logging_out_everywhere_ends_every_browser(browser: Browser, portal_server: Server) -> None:
    with profile(browser, portal_server) as first, profile(browser, portal_server) as second:
        log_in(first, JONAS)
        log_in(second, JONAS)
        first.goto(SECURITY)
        first.get_by_role("button", name="Überall abmelden").click()
        expect(first.get_by_label("E-Mail-Adresse")).to_be_visible()
        second.get_by_role("link", name="Verträge").click()
        expect(second.get_by_label("E-Mail-Adresse")).to_be_visible()


def test_annas_accepted_offer_shows_as_accepted(
    page: Page, portal_server: Server, screenshots: Path
) -> None:
    log_in(page)
    page.get_by_role("link", name="Änderungen & Angebote").click()
    offer = page.get_by_role("article", name="Angebot Photovoltaikanlage 8 kWp (A-2026-504)")
    expect(offer).to_be_visible()
    page.screenshot(path=screenshots / "changes.png", full_page=True)
    offer.get_by_role("button", name="Angebot annehmen").click()
    expect(page.get_by_role("status")).to_have_text("Sie haben das Angebot angenommen.")
    expect(offer).to_have_count(0)
    row = page.get_by_role("row").filter(has_text="A-2026-504")
    expect(row).to_contain_text("Angebot angenommen")
    orders = api(
        portal_server,
        login(portal_server, ANNA),
        "{ viewer { orders(status: [OPEN]) { edges { node { number offerAnsweredAt } } } } }",
    )["viewer"]
    assert isinstance(orders, dict)
    nodes = [edge["node"] for edge in orders["orders"]["edges"]]
    answered = [node["offerAnsweredAt"] for node in nodes if node["number"] == "A-2026-504"]
    assert len(answered) == 1
    assert answered[0]


def test_the_pages_in_english_with_the_apis_refusal_at_its_field(
    page: Page, portal_server: Server
) -> None:
    log_in(page)
    try:
        english_pages(page)
    finally:
        # Anna's language is the demo's German again for the other tests.
        saved = api(
            portal_server,
            login(portal_server, ANNA),
            'mutation { updateLanguage(input: {language: "de"}) { __typename } }',
        )
        assert saved == {"updateLanguage": {"__typename": "LanguageUpdated"}}


def english_pages(page: Page) -> None:
    # Switched while logged in: the account's language, too (updateLanguage).
    with page.expect_response(lambda r: b"updateLanguage" in (r.request.post_data_buffer or b"")):
        page.get_by_label("Sprache").select_option("en")
    page.goto(CHANGES)
    expect(page.get_by_role("heading", name="Changes & offers", level=1)).to_be_visible()
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("region", name="Logged-in devices")).to_be_visible()
    page.get_by_role("button", name="Set up authenticator app").click()
    field = page.get_by_label("Code from the app")
    field.fill("12345")  # never a TOTP code: six digits
    page.get_by_role("button", name="Activate").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    message = page.locator(f"#{field.get_attribute('aria-describedby')}")
    # The API answers in the portal user's own language before the page's
    # Accept-Language: switched on the page, it is English, labels and refusal alike.
    expect(message).to_have_text("The code is not correct or the login has expired.")
    # Back to German: the refusal follows.
    with page.expect_response(lambda r: b"updateLanguage" in (r.request.post_data_buffer or b"")):
        page.get_by_label("Language").select_option("de")
    field = page.get_by_label("Code aus der App")
    field.fill("12345")
    with page.expect_response(lambda r: b"confirmTotp" in (r.request.post_data_buffer or b"")):
        page.get_by_role("button", name="Aktivieren").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{field.get_attribute('aria-describedby')}")).to_have_text(
        "Der Code ist nicht korrekt oder die Anmeldung ist abgelaufen."
    )


def test_both_pages_fit_a_phone(browser: Browser, portal_server: Server) -> None:
    with profile(browser, portal_server, viewport={"width": 375, "height": 740}) as page:
        log_in(page)
        for path, heading in [(SECURITY, "Sicherheit"), (CHANGES, "Änderungen & Angebote")]:
            page.goto(path)
            expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
            page.wait_for_load_state("networkidle")
            # Nothing wider than the phone: no sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, path


SETTINGS = """mutation($input: UpdatePortalSettingsInput!) { updatePortalSettings(input: $input) {
  __typename ... on PortalPayload { portal { draftSettings } } } }"""
PUBLISH = "mutation($input: PublishPortalInput!) { publishPortal(input: $input) { __typename } }"


@contextmanager
def two_factor_policy(server: Server, policy: str) -> Iterator[None]:
    """The demo customer portal's published second-factor policy set to `policy`, and
    back to what it was afterwards (the other tests log in to the same portal)."""
    admin = login(server, next(each for each in readme_logins() if each.role == "ADMIN"))
    portal = ANNA.portal_id

    def publish(value: str) -> str:
        changed = api(
            server, admin, SETTINGS, input={"id": portal, "changes": {"twoFactor": value}}
        )
        saved = changed["updatePortalSettings"]
        assert isinstance(saved, dict), changed
        published = api(server, admin, PUBLISH, input={"id": portal})
        assert published == {"publishPortal": {"__typename": "PortalPayload"}}, published
        return str(saved["portal"]["draftSettings"]["twoFactor"])

    before = str(
        api(
            server,
            admin,
            "query($id: ID!) { node(id: $id) { ... on Portal { draftSettings } } }",
            id=portal,
        )["node"]["draftSettings"]["twoFactor"]  # type: ignore[index]
    )
    assert publish(policy) == policy
    try:
        yield
    finally:
        publish(before)


def test_a_portal_that_requires_totp_has_a_new_customer_set_it_up_at_login(
    browser: Browser, portal_server: Server, screenshots: Path
) -> None:
    # Markus Hofmann (a demo contact without an access): his own login, so no other
    # test's login meets the policy.
    markus = registered(
        portal_server,
        ReadmeLogin(
            "CUSTOMER", "markus.hofmann@example.org", "Zählerstand-Markus-1", ANNA.portal_id
        ),
        "K-100014",
    )
    found: dict[str, object] = {}
    with (
        two_factor_policy(portal_server, "REQUIRED"),
        profile(browser, portal_server, bypass_csp=True) as page,
    ):
        page.goto("/portal/")
        page.get_by_label("E-Mail-Adresse").fill(markus.email)
        page.get_by_label("Passwort").fill(markus.password)
        page.get_by_role("button", name="Anmelden").click()
        # No way in but setting it up now: the QR code and the secret, on the login page.
        expect(
            page.get_by_role("heading", name="Authenticator-App einrichten", level=1)
        ).to_be_visible()
        expect(page.get_by_role("img", name="QR-Code für die Authenticator-App")).to_be_visible()
        secret = page.get_by_test_id("totp-secret").inner_text()
        found["enrolment"] = serious_violations(page)
        page.screenshot(path=screenshots / "login-enrolment.png", full_page=True)
        app = Authenticator(secret)
        field = page.get_by_label("Code aus der App")

        # A wrong code: the API's German refusal at the code field.
        field.fill(app.wrong())
        page.get_by_role("button", name="Aktivieren").click()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{field.get_attribute('aria-describedby')}")).to_have_text(
            "Der Code ist nicht korrekt oder die Anmeldung ist abgelaufen."
        )

        field.fill(app.code())
        page.get_by_role("button", name="Aktivieren").click()
        codes = page.get_by_role("region", name="Wiederherstellungscodes").locator("code")
        expect(codes).to_have_count(10)
        found["recovery-codes"] = serious_violations(page)
        page.get_by_role("button", name="Ich habe die Codes gesichert").click()
        expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()
    assert found == {name: [] for name in found}, json.dumps(found, indent=1)
