"""A real OpenID provider on loopback for the tests: PyPI's `oidc-provider-mock`, started
as its own process (`python -m oidc_provider_mock`) on a free port, so that its HTTP,
keys and tokens are those of a running server. Its users' claims are set through its
`PUT /users/<sub>`; its login form is submitted as a browser would (`authorize`).
Restarting it on the same port gives it a new signing key (key rotation)."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from tests.smtp import free_port


class OidcProvider:
    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration").is_success:
                    return
            except httpx.TransportError:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the OpenID provider did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None

    def restart(self) -> None:
        """The same issuer with a new signing key (and no users or clients)."""
        self.stop()
        self.start()

    def set_user(self, subject: str, **claims: Any) -> None:
        """The claims the provider puts into the subject's ID token (email, email_verified,
        given_name, ...)."""
        response = httpx.put(f"{self.issuer}/users/{quote(subject, safe='')}", json=claims)
        assert response.status_code == 204, response.text

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """A client with its own secret, which the provider then checks (unregistered
        client IDs are accepted with any secret)."""
        response = httpx.post(
            f"{self.issuer}/oauth2/clients",
            json={
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_basic",
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return str(body["client_id"]), str(body["client_secret"])

    def authorize(self, authorization_url: str, subject: str) -> dict[str, str]:
        """Log in on the provider's form as `subject` (what the person does in the
        browser); the query of the redirect back: `code` and `state`."""
        response = httpx.post(authorization_url, data={"sub": subject})
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
