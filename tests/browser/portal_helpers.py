"""What the browser tests share with tests/http/test_serve.py: the served instance and
the README's demo logins (kept there, where `portal serve` itself is tested)."""

from typing import Any

from playwright.sync_api import Browser, BrowserContext

from tests.http.test_serve import ReadmeLogin, Server, free_port, login, readme_logins

__all__ = ["ReadmeLogin", "Server", "free_port", "login", "new_context", "readme_logins"]

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
