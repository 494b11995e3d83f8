"""The reference portal's pages before a login, in Chromium, with the served instance's
mail sink: registration, the activation link, a forgotten password, a login with a
mailed code, an invitation; each person here is a demo contact no other test uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Browser, Page, expect

from gql import messages
from tests.browser.portal_helpers import (
    ReadmeLogin,
    Server,
    login,
    new_context,
    readme_logins,
    serious_violations,
    wait_for_mail,
)
from tests.oidc_provider import OidcProvider

ANNA = next(each for each in readme_logins() if each.email == "anna.becker@example.org")
PORTAL = ANNA.portal_id
# Demo contacts of the Musterstadt customer portal without an access (db/demo.py).
STEFAN = ReadmeLogin("CUSTOMER", "stefan.klein@example.org", "Zählerstand-2026!", PORTAL)
ANDREAS = ReadmeLogin("CUSTOMER", "andreas.schwarz@example.org", "Abschlag-Juni-26", PORTAL)
FRANK = ReadmeLogin("CUSTOMER", "frank.braun@example.org", "Hausanschluss-2026", PORTAL)
MONIKA = ReadmeLogin("CUSTOMER", "monika.zimmermann@example.org", "Zählernummer-77", PORTAL)
NUMBERS = {
    STEFAN.email: "K-100008",
    ANDREAS.email: "K-100010",
    MONIKA.email: "K-100011",
    FRANK.email: "K-100012",
}


def api(server: Server, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={
            "Accept-Language": "de",
            **({"Authorization": f"Bearer {token}"} if token else {}),
        },
        timeout=30,
    )
    return dict(response.json())


def mailed_path(server: Server, to: str, page: str) -> str:
    """The path and query of the newest link to `page` mailed to `to`: the mail points
    at the portal's pages on its domain; the test opens the same page here."""
    link = wait_for_mail(server, to, rf"https://\S+/portal/{page}\?token=[\w-]+").group(0)
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def registered(server: Server, who: ReadmeLogin) -> ReadmeLogin:
    """Registered and activated through the API (for the tests about what follows)."""
    answer = api(
        server,
        "mutation($input: RegisterInput!) { register(input: $input) { __typename } }",
        input={
            "portalId": who.portal_id,
            "email": who.email,
            "password": who.password,
            "identifiers": [{"key": "contact.customer_number", "value": NUMBERS[who.email]}],
            "acceptedTerms": True,
        },
    )
    assert answer == {"data": {"register": {"__typename": "RequestReceived"}}}, answer
    token = mailed_path(server, who.email, "activate").split("token=")[1]
    activated = api(
        server,
        "mutation($input: TokenInput!) { activateAccount(input: $input) {"
        " ... on AccountActivated { canLogIn } } }",
        input={"portalId": who.portal_id, "token": token},
    )
    assert activated == {"data": {"activateAccount": {"canLogIn": True}}}, activated
    return who


def tile_titles(server: Server, who: ReadmeLogin) -> list[str]:
    data = api(server, "{ portalHome { tiles { title position } } }", login(server, who))
    tiles = sorted(data["data"]["portalHome"]["tiles"], key=lambda tile: tile["position"])
    return [tile["title"] for tile in tiles]


def log_in_with_password(page: Page, who: ReadmeLogin) -> None:
    page.get_by_label("Passwort").fill(who.password)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()


def test_register_activate_with_the_mailed_link_and_see_the_tiles(
    page: Page, portal_server: Server, screenshots: Path
) -> None:
    page.goto("/portal/")
    page.get_by_role("link", name="Registrieren").click()
    expect(page.get_by_role("heading", name="Registrieren", level=1)).to_be_visible()
    # The portal's identifiers, named as the API names them, and its terms.
    expect(page.get_by_label("Kundennummer")).to_be_visible()
    expect(page.locator("main").get_by_role("link", name="AGB")).to_have_attribute(
        "href", "https://stadtwerke-musterstadt.example/agb"
    )
    page.get_by_label("E-Mail-Adresse").fill(STEFAN.email)
    page.get_by_label("Kundennummer").fill(NUMBERS[STEFAN.email])
    page.get_by_label("Passwort", exact=True).fill(STEFAN.password)
    page.get_by_label("Ich akzeptiere").check()
    page.screenshot(path=screenshots / "register.png", full_page=True)
    page.get_by_role("button", name="Registrieren").click()
    expect(page.get_by_role("status").first).to_be_visible()
    expect(page.get_by_text("Link aus der E-Mail")).to_be_visible()

    page.goto(mailed_path(portal_server, STEFAN.email, "activate"))
    # Activated: on to the login, the address filled in, the token gone from the URL.
    expect(page.get_by_role("status")).to_contain_text("Ihr Zugang ist aktiv")
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value(STEFAN.email)
    assert "token" not in page.url
    log_in_with_password(page, STEFAN)
    expect(page.locator(".tile > h2")).to_have_text(tile_titles(portal_server, STEFAN))


def test_a_refused_registration_shows_the_german_message_at_its_field(
    page: Page, portal_server: Server
) -> None:
    refused = api(
        portal_server,
        "mutation($input: RegisterInput!) { register(input: $input) {"
        " ... on MutationError { field message } } }",
        input={
            "portalId": PORTAL,
            "email": "niemand@example.org",
            "password": "Ein-gutes-Passwort-26",
            "identifiers": [{"key": "contact.customer_number", "value": "K-1"}],
        },
    )["data"]["register"]
    assert refused["field"] == "acceptedTerms"
    page.goto("/portal/register")
    page.get_by_label("E-Mail-Adresse").fill("niemand@example.org")
    page.get_by_label("Kundennummer").fill("K-1")
    page.get_by_label("Passwort", exact=True).fill("Ein-gutes-Passwort-26")
    page.get_by_role("button", name="Registrieren").click()
    terms = page.get_by_label("Ich akzeptiere")
    expect(terms).to_have_attribute("aria-invalid", "true")
    expect(terms).to_have_accessible_description(refused["message"])
    assert refused["message"] == messages.specific("terms_not_accepted", "de", {})


def test_a_value_refused_while_read_shows_its_german_reason_at_its_field(
    browser: Browser, portal_server: Server
) -> None:
    # Its own profile: the refusal is an HTTP 400 in the console, on purpose.
    context = new_context(browser, portal_server)
    page = context.new_page()
    page.goto("/portal/register")
    email = page.get_by_label("E-Mail-Adresse")
    email.fill("niemand-at-example.org")
    page.get_by_label("Kundennummer").fill("K-1")
    page.get_by_label("Passwort", exact=True).fill("Ein-gutes-Passwort-26")
    page.get_by_label("Ich akzeptiere").check()
    page.get_by_role("button", name="Registrieren").click()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(
        messages.message("INVALID_EMAIL", "de", {}, detail="")
    )
    context.close()


def test_forgotten_password_reset_with_the_mailed_link_then_log_in(
    page: Page, portal_server: Server, screenshots: Path
) -> None:
    who = registered(portal_server, ANDREAS)
    page.goto("/portal/")
    page.get_by_label("E-Mail-Adresse").fill(who.email)
    page.get_by_role("link", name="Passwort vergessen?").click()
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value(who.email)
    page.get_by_role("button", name="Link zum Zurücksetzen senden").click()
    expect(page.get_by_role("status")).to_be_visible()

    page.goto(mailed_path(portal_server, who.email, "reset-password"))
    expect(page.get_by_role("heading", name="Neues Passwort festlegen")).to_be_visible()
    page.screenshot(path=screenshots / "reset-password.png", full_page=True)
    new = ReadmeLogin(who.role, who.email, "Neues-Kennwort-2026", who.portal_id)
    # Two different entries are caught on the page, before the API is asked.
    page.get_by_label("Neues Passwort", exact=True).fill(new.password)
    page.get_by_label("Neues Passwort wiederholen").fill(new.password + "x")
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.get_by_label("Neues Passwort wiederholen")).to_have_attribute(
        "aria-invalid", "true"
    )
    page.get_by_label("Neues Passwort wiederholen").fill(new.password)
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Ihr Passwort wurde geändert")
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value(who.email)
    log_in_with_password(page, new)


def test_log_in_with_a_mailed_code_instead_of_the_password(
    page: Page, portal_server: Server
) -> None:
    who = registered(portal_server, MONIKA)
    page.goto("/portal/")
    page.get_by_label("E-Mail-Adresse").fill(who.email)
    # The demo portal offers it (loginOptions); the password field gives way to a code.
    page.get_by_role("button", name="Code per E-Mail statt Passwort").click()
    expect(page.get_by_label("Passwort")).to_have_count(0)
    page.get_by_role("button", name="Code per E-Mail senden").click()
    code = wait_for_mail(portal_server, who.email, r"\b(\d{6})\b").group(1)
    wrong = "000000" if code != "000000" else "111111"
    page.get_by_label("Code", exact=True).fill(wrong)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()


def test_an_invited_customer_sets_her_password_and_logs_in(
    page: Page, portal_server: Server
) -> None:
    """Sabine Hoffmann (demo: invited): the agent invites her again, she follows the link."""
    agent = next(each for each in readme_logins() if each.role == "AGENT")
    token = login(portal_server, agent)
    found = api(
        portal_server,
        '{ contacts(search: "K-100005") { edges { node { id email } } } }',
        token,
    )["data"]["contacts"]["edges"]
    [sabine] = [edge["node"] for edge in found]
    invited = api(
        portal_server,
        "mutation($input: InviteContactInput!) { inviteContact(input: $input) { __typename } }",
        token,
        input={"portalId": PORTAL, "contactId": sabine["id"]},
    )
    assert "errors" not in invited, invited
    page.goto(mailed_path(portal_server, sabine["email"], "invitation"))
    expect(page.get_by_role("heading", name="Einladung annehmen")).to_be_visible()
    page.get_by_label("Neues Passwort", exact=True).fill("Sabines-Kennwort-26")
    page.get_by_label("Neues Passwort wiederholen").fill("Sabines-Kennwort-26")
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value(sabine["email"])
    who = ReadmeLogin("CUSTOMER", sabine["email"], "Sabines-Kennwort-26", PORTAL)
    log_in_with_password(page, who)


def test_a_new_login_email_confirmed_with_the_mailed_link(
    page: Page, portal_server: Server
) -> None:
    who = registered(portal_server, FRANK)
    new = "frank.braun.neu@example.org"
    asked = api(
        portal_server,
        "mutation($input: RequestEmailChangeInput!) { requestEmailChange(input: $input) {"
        " __typename } }",
        login(portal_server, who),
        input={"newEmail": new, "password": who.password},
    )
    assert asked == {"data": {"requestEmailChange": {"__typename": "EmailChangeRequested"}}}
    page.goto(mailed_path(portal_server, new, "confirm-email"))
    expect(page.get_by_role("status")).to_have_text(f"Sie melden sich ab jetzt mit {new} an.")
    page.get_by_role("link", name="Zur Anmeldung").click()
    # The login form's input (a role that only inputs have, waited for): right after the
    # click the label may still name another element of the page being left.
    expect(page.get_by_role("textbox", name="E-Mail-Adresse")).to_have_value(new)
    log_in_with_password(page, ReadmeLogin(who.role, new, who.password, who.portal_id))


def test_a_spent_or_forged_link_shows_the_apis_message(page: Page) -> None:
    page.goto("/portal/activate?token=" + "x" * 43)
    expect(page.get_by_role("alert")).to_contain_text("Link")
    # A new link instead; the same answer whether or not the address waits for one.
    expect(page.get_by_role("heading", name="Neuen Aktivierungslink anfordern")).to_be_visible()
    page.get_by_label("E-Mail-Adresse").fill("niemand@example.org")
    page.get_by_role("button", name="Aktivierungslink senden").click()
    expect(page.get_by_role("status")).to_be_visible()
    page.goto("/portal/reset-password?token=" + "x" * 43)
    page.get_by_label("Neues Passwort", exact=True).fill("Neues-Kennwort-2026")
    page.get_by_label("Neues Passwort wiederholen").fill("Neues-Kennwort-2026")
    page.get_by_role("button", name="Passwort speichern").click()
    expect(page.get_by_role("alert")).to_contain_text("Link")
    expect(page.get_by_role("link", name="Passwort vergessen?")).to_be_visible()


def test_english_registration_page(page: Page) -> None:
    page.goto("/portal/register")
    page.get_by_label("Sprache").select_option("en")
    expect(page.get_by_role("heading", name="Register", level=1)).to_be_visible()
    expect(page.get_by_label("Customer number")).to_be_visible()
    expect(page.locator("main").get_by_role("link", name="Terms")).to_be_visible()


def test_no_serious_accessibility_violation_on_the_account_pages(
    browser: Browser, portal_server: Server
) -> None:
    context = new_context(browser, portal_server, bypass_csp=True)
    page = context.new_page()
    found = {}
    for name, path, ready in [
        ("register", "/portal/register", "Kundennummer"),
        ("forgot-password", "/portal/forgot-password", "E-Mail-Adresse"),
        ("reset-password", "/portal/reset-password?token=abc", "Neues Passwort wiederholen"),
        ("invitation", "/portal/invitation?token=abc", "Neues Passwort wiederholen"),
    ]:
        page.goto(path)
        expect(page.get_by_label(ready)).to_be_visible()
        found[name] = serious_violations(page)
    page.goto("/portal/activate?token=abc")
    expect(page.get_by_role("alert")).to_be_visible()
    found["activate"] = serious_violations(page)
    page.goto("/portal/")
    page.get_by_label("E-Mail-Adresse").fill(ANNA.email)
    page.get_by_role("button", name="Code per E-Mail statt Passwort").click()
    found["login-code"] = serious_violations(page)
    context.close()
    assert found == {name: [] for name in found}, json.dumps(found, indent=1)


def test_log_in_through_the_portals_identity_provider(
    browser: Browser, portal_server: Server, oidc_provider: OidcProvider
) -> None:
    """The demo provider ("Demo-Login") pointed at a real OpenID provider on a free
    port (the run's oidc-provider-mock, as tests/http/test_sso.py uses it); Anna logs
    in there."""
    provider = oidc_provider
    provider.set_user("anna-sso", email=ANNA.email, email_verified=True, name="Anna Becker")
    admin = login(portal_server, next(e for e in readme_logins() if e.role == "ADMIN"))
    portal = api(
        portal_server,
        "query($id: ID!) { node(id: $id) { ... on Portal { identityProviders { id slug } } } }",
        admin,
        id=PORTAL,
    )["data"]["node"]
    [demo] = [each for each in portal["identityProviders"] if each["slug"] == "demo"]
    saved = api(
        portal_server,
        "mutation($input: UpdateIdentityProviderInput!) { updateIdentityProvider("
        "input: $input) { __typename } }",
        admin,
        input={"id": demo["id"], "issuer": provider.issuer},
    )
    assert saved == {"data": {"updateIdentityProvider": {"__typename": "IdentityProviderSaved"}}}
    # Its own profile: the provider's pages are not the portal's to keep error-free.
    context = new_context(browser, portal_server)
    page = context.new_page()
    page.goto("/portal/")
    page.get_by_role("group", name="Oder weiter mit").get_by_role(
        "button", name="Demo-Login"
    ).click()
    page.locator("input[name=sub]").fill("anna-sso")
    page.get_by_role("button", name="Authorize").click()
    # Back at /portal/login/sso: the page completes the login it started.
    expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()
    expect(page.locator(".tile").first).to_be_visible()
    context.close()


def test_registration_on_a_phone(browser: Browser, portal_server: Server) -> None:
    context = new_context(browser, portal_server, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/portal/register")
    expect(page.get_by_label("Kundennummer")).to_be_visible()
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
