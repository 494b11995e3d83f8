"""Anna Becker (README's demo login) uses the reference portal in Chromium: what she
sees is checked against what the public API answers her."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

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
    wait_for_mail,
)


def contracts_of(server: Server, who: ReadmeLogin) -> list[dict[str, object]]:
    data = api(
        server,
        login(server, who),
        "{ viewer { contracts { edges { node { id number installmentAmount } } } } }",
    )
    viewer = data["viewer"]
    assert isinstance(viewer, dict)
    return [edge["node"] for edge in viewer["contracts"]["edges"]]


def test_anna_logs_in_and_sees_her_contracts(
    page: Page, portal_server: Server, screenshots: Path
) -> None:
    page.goto("/portal/")
    # The demo portal, found by publicPortal for 127.0.0.1 (PORTAL_LOCAL_DOMAIN).
    expect(page.locator(".brand")).to_contain_text("Stadtwerke Musterstadt")
    page.screenshot(path=screenshots / "login.png", full_page=True)
    log_in(page)
    expect(page.locator(".tile").first).to_be_visible()
    page.screenshot(path=screenshots / "home.png", full_page=True)
    page.get_by_role("link", name="Verträge").click()
    contracts = contracts_of(portal_server, ANNA)
    assert contracts
    for contract in contracts:
        expect(page.get_by_role("link", name=f"Vertrag {contract['number']}")).to_be_visible()
    page.screenshot(path=screenshots / "contracts.png", full_page=True)
    page.get_by_role("link", name="Dokumente").click()
    expect(page.get_by_role("heading", name="Dokumente")).to_be_visible()
    download = page.get_by_role("link", name="Herunterladen").first
    href = download.get_attribute("href")
    assert href
    # The signed link the API gives downloads the file.
    assert httpx.get(portal_server.url + href if href.startswith("/") else href).status_code == 200
    page.screenshot(path=screenshots / "documents.png", full_page=True)
    page.get_by_role("link", name="Meine Daten").click()
    expect(page.get_by_text("Anna Becker", exact=True)).to_be_visible()
    page.screenshot(path=screenshots / "my-data.png", full_page=True)


def test_the_home_page_shows_the_published_tiles_in_order(
    page: Page, portal_server: Server
) -> None:
    token = login(portal_server, ANNA)
    data = api(portal_server, token, "{ portalHome { tiles { title position } } }")
    home = data["portalHome"]
    assert isinstance(home, dict)
    titles = [t["title"] for t in sorted(home["tiles"], key=lambda t: t["position"])]
    assert titles
    log_in(page)
    expect(page.locator(".tile > h2")).to_have_text(titles)


def reading_target(server: Server) -> tuple[dict[str, object], str, str]:
    """Anna's first single-register meter, its contract ID and a plausible value."""
    token = login(server, ANNA)
    data = api(
        server,
        token,
        "{ viewer { contracts { edges { node { id meters { edges { node { id number"
        " registers { readingRange { lowestPlausibleValue highestPlausibleValue } }"
        " } } } } } } } }",
    )
    viewer = data["viewer"]
    assert isinstance(viewer, dict)
    for edge in viewer["contracts"]["edges"]:
        for meter_edge in edge["node"]["meters"]["edges"]:
            meter = meter_edge["node"]
            if len(meter["registers"]) == 1:
                low = Decimal(meter["registers"][0]["readingRange"]["lowestPlausibleValue"])
                high = Decimal(meter["registers"][0]["readingRange"]["highestPlausibleValue"])
                value = (low + min(Decimal(5), (high - low) / 2)).quantize(Decimal(1))
                return meter, str(edge["node"]["id"]), str(value)
    pytest.fail("Anna has no meter with one register")


def test_a_submitted_reading_shows_in_the_list_once(
    page: Page, portal_server: Server, screenshots: Path
) -> None:
    meter, contract_id, value = reading_target(portal_server)
    log_in(page)
    page.goto(f"/portal/contracts/{contract_id}")
    card = page.get_by_role("region", name=f"Zähler {meter['number']}")
    field = card.get_by_label("Zählerstand", exact=False)
    expect(card.get_by_text("Plausibel:")).to_be_visible()
    page.screenshot(path=screenshots / "contract.png", full_page=True)
    field.fill(value)
    card.get_by_role("button", name="Zählerstand senden").click()
    expect(card.get_by_role("status")).to_have_text("Der Zählerstand wurde gespeichert.")
    shown = f"{int(value):,}".replace(",", ".")
    expect(card.locator("tbody tr").first).to_contain_text(shown)
    token = login(portal_server, ANNA)
    data = api(
        portal_server,
        token,
        "query($id: ID!) { node(id: $id) { ... on Meter {"
        " readings(first: 1) { edges { node { value } } } } } }",
        id=meter["id"],
    )
    node = data["node"]
    assert isinstance(node, dict)
    assert Decimal(node["readings"]["edges"][0]["node"]["value"]) == Decimal(value)


def test_a_refused_installment_shows_the_german_message_at_its_field(
    page: Page, portal_server: Server
) -> None:
    contract = contracts_of(portal_server, ANNA)[0]
    amount = str(Decimal(str(contract["installmentAmount"])) * 3)
    refused = api(
        portal_server,
        login(portal_server, ANNA),
        "mutation($input: ChangeInstallmentInput!) { changeInstallment(input: $input) {"
        " __typename ... on Error { message } } }",
        input={"contractId": contract["id"], "amount": amount, "dryRun": True},
    )["changeInstallment"]
    assert isinstance(refused, dict)
    assert refused["__typename"] == "InstallmentRefused"
    log_in(page)
    page.goto(f"/portal/contracts/{contract['id']}")
    field = page.get_by_label("Neuer Abschlag (EUR)")
    expect(page.get_by_text("Erlaubt:")).to_be_visible()
    field.fill(amount.replace(".", ","))
    page.get_by_role("button", name="Abschlag ändern").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        # the hint, then the API's message, read out with the field
        f"{page.locator('.field .hint').first.inner_text()} {refused['message']}"
    )
    assert "Bitte wählen Sie einen Betrag" in str(refused["message"])


def test_another_customers_contract_in_the_url_shows_nothing_of_it(
    page: Page, portal_server: Server
) -> None:
    theirs = contracts_of(portal_server, JONAS)[0]
    log_in(page)
    page.goto(f"/portal/contracts/{theirs['id']}")
    expect(page.get_by_role("alert")).to_have_text("Nicht gefunden.")
    assert str(theirs["number"]) not in page.content()


def test_login_with_the_keyboard_only(page: Page) -> None:
    page.goto("/portal/")
    expect(page.get_by_label("E-Mail-Adresse")).to_be_visible()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "email":
            break
    page.keyboard.type(ANNA.email)
    page.keyboard.press("Tab")
    page.keyboard.type(ANNA.password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()


def test_english_login_page(page: Page) -> None:
    page.goto("/portal/")
    page.get_by_label("Sprache").select_option("en")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    page.get_by_label("Email address").fill(ANNA.email)
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    # The API's refusal in the language chosen on the page (sent as Accept-Language).
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")


def test_no_serious_accessibility_violation_on_the_main_pages(
    browser: Browser, portal_server: Server
) -> None:
    # axe is injected as a script: this profile ignores the page's CSP for it.
    context = new_context(browser, portal_server, bypass_csp=True)
    page = context.new_page()
    page.goto("/portal/")
    expect(page.get_by_label("E-Mail-Adresse")).to_be_visible()
    found = {"login": serious_violations(page)}
    log_in(page)
    found["home"] = serious_violations(page)
    contract = contracts_of(portal_server, ANNA)[0]
    for name, path in [
        ("contracts", "/portal/contracts"),
        ("contract", f"/portal/contracts/{contract['id']}"),
        ("documents", "/portal/documents"),
        ("my-data", "/portal/my-data"),
    ]:
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        found[name] = serious_violations(page)
    context.close()
    assert found == {name: [] for name in found}, json.dumps(found, indent=1)


def test_phone_width(browser: Browser, portal_server: Server, screenshots: Path) -> None:
    context = new_context(browser, portal_server, viewport={"width": 375, "height": 740})
    page = context.new_page()
    log_in(page)
    contract = contracts_of(portal_server, ANNA)[0]
    page.goto(f"/portal/contracts/{contract['id']}")
    expect(page.get_by_label("Neuer Abschlag (EUR)")).to_be_visible()
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=screenshots / "contract-phone.png", full_page=True)
    context.close()


def test_a_new_customer_logs_in_with_totp_and_sees_her_tiles(
    page: Page, portal_server: Server, screenshots: Path
) -> None:
    # Julia Richter (README): registered and activated through the API and the mail sink.
    julia = registered(
        portal_server,
        ReadmeLogin("CUSTOMER", "julia.richter@example.org", "Zählerstand-2026!", ANNA.portal_id),
        "K-100007",
    )
    token = login(portal_server, julia)
    enrolled = api(
        portal_server,
        token,
        "mutation { enrollTotp(input: {}) { ... on TotpEnrollment { secret } } }",
    )["enrollTotp"]
    assert isinstance(enrolled, dict)
    app = Authenticator(str(enrolled["secret"]))
    confirmed = api(
        portal_server,
        token,
        "mutation($input: ConfirmTotpInput!) { confirmTotp(input: $input) {"
        " __typename ... on TotpConfirmed { recoveryCodes } } }",
        input={"code": app.code()},
    )["confirmTotp"]
    assert isinstance(confirmed, dict)
    assert confirmed["__typename"] == "TotpConfirmed"
    page.goto("/portal/")
    page.get_by_label("E-Mail-Adresse").fill(julia.email)
    page.get_by_label("Passwort").fill(julia.password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Zweiter Faktor")).to_be_visible()
    # A wrong code: the API's German message, at the code field it names.
    page.get_by_label("Code", exact=True).fill(app.wrong())
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.get_by_role("alert")).to_contain_text("Code")
    expect(page.get_by_label("Code", exact=True)).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=screenshots / "second-factor.png", full_page=True)
    # The code confirmTotp used is spent (no replay): the app's next one.
    page.get_by_label("Code", exact=True).fill(app.code())
    page.get_by_role("button", name="Bestätigen").click()
    expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()
    expect(page.locator(".tile").first).to_be_visible()


def test_a_reading_whose_answer_was_lost_is_stored_once_when_sent_again(
    browser: Browser, portal_server: Server
) -> None:
    meter, contract_id, value = reading_target(portal_server)
    value = str(int(value) + 1)
    # Its own profile: the lost answer is a network error in the console, on purpose.
    context = new_context(browser, portal_server)
    page = context.new_page()
    log_in(page)
    page.goto(f"/portal/contracts/{contract_id}")
    card = page.get_by_role("region", name=f"Zähler {meter['number']}")
    lost: list[bool] = []

    def lose_the_answer(route: Route) -> None:
        body = route.request.post_data or ""
        if "submitMeterReading" in body and not lost:
            route.fetch()  # the server stores the reading ...
            lost.append(True)
            route.abort()  # ... and the browser never hears of it
        else:
            route.continue_()

    page.route("**/graphql", lose_the_answer)
    card.get_by_label("Zählerstand", exact=False).fill(value)
    card.get_by_role("button", name="Zählerstand senden").click()
    expect(card.get_by_role("alert")).to_be_visible()
    card.get_by_role("button", name="Zählerstand senden").click()
    # The same client key: the API recognises the reading instead of storing it twice.
    expect(card.get_by_role("status")).to_have_text("Dieser Zählerstand war schon gespeichert.")
    context.close()
    data = api(
        portal_server,
        login(portal_server, ANNA),
        "query($id: ID!) { node(id: $id) { ... on Meter {"
        " readings(first: 3) { edges { node { value } } } } } }",
        id=meter["id"],
    )
    node = data["node"]
    assert isinstance(node, dict)
    values = [Decimal(edge["node"]["value"]) for edge in node["readings"]["edges"]]
    assert values.count(Decimal(value)) == 1


def test_the_mail_of_a_done_step_links_to_the_process_page(
    browser: Browser, portal_server: Server, screenshots: Path
) -> None:
    """Staff mark a step of Anna's meter change done; the mail's link, opened logged out,
    shows the process after her login, the step done and the next one current; the list
    of her processes links to it; another customer following the link sees nothing."""
    admin = next(each for each in readme_logins() if each.role == "ADMIN")
    mine = api(
        portal_server,
        login(portal_server, ANNA),
        "{ viewer { contact { processes { id title steps { id title status } } } } }",
    )
    viewer = mine["viewer"]
    assert isinstance(viewer, dict)
    [process] = [p for p in viewer["contact"]["processes"] if p["title"] == "Zählerwechsel Strom"]
    step = next(s for s in process["steps"] if s["status"] == "IN_PROGRESS")
    done = api(
        portal_server,
        login(portal_server, admin),
        """mutation($input: UpdateProcessStepInput!) { updateProcessStep(input: $input) {
          __typename } }""",
        input={"stepId": step["id"], "status": "DONE"},
    )
    assert done == {"updateProcessStep": {"__typename": "ProcessStepPayload"}}
    link = wait_for_mail(portal_server, ANNA.email, r"https://\S+/portal/processes/\S+").group(0)
    path = urlsplit(link).path

    context = new_context(browser, portal_server, bypass_csp=True)
    page = context.new_page()
    page.goto(path)
    page.get_by_label("E-Mail-Adresse").fill(ANNA.email)
    page.get_by_label("Passwort").fill(ANNA.password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("heading", name="Zählerwechsel Strom", level=1)).to_be_visible()
    steps = page.get_by_role("listitem")
    expect(steps.filter(has_text=str(step["title"]))).to_contain_text("Abgeschlossen")
    current = page.locator("li[aria-current=step]")
    expect(current).to_have_count(1)
    following = process["steps"][process["steps"].index(step) + 1]
    expect(current).to_contain_text(str(following["title"]))
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / "process.png", full_page=True)
    assert serious_violations(page) == []

    page.get_by_role("link", name="Alle Vorgänge").click()
    expect(page.get_by_role("heading", name="Vorgänge", level=1)).to_be_visible()
    page.get_by_role("link", name="Zählerwechsel Strom").click()
    expect(page.get_by_role("heading", name="Zählerwechsel Strom", level=1)).to_be_visible()
    assert urlsplit(page.url).path == path
    context.close()

    context = new_context(browser, portal_server)
    page = context.new_page()
    page.goto(path)
    page.get_by_label("E-Mail-Adresse").fill(JONAS.email)
    page.get_by_label("Passwort").fill(JONAS.password)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.get_by_role("alert")).to_have_text("Nicht gefunden.")
    assert "Zählerwechsel" not in page.content()
    context.close()
