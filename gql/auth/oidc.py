"""The OpenID Connect relying party: the provider's discovery document, the authorization
request (code flow with PKCE S256, `state` and `nonce`), the code exchange at the token
endpoint and the check of the ID token against the provider's JWKS.

HTTP goes through httpx (async); the ID token is verified with joserfc, like our own
access tokens (gql/auth/tokens.py). authlib's OAuth client is not used: its JOSE module is
deprecated in favour of joserfc and its httpx integration now warns in favour of httpx2,
while what it would add here is a URL, a PKCE hash and a form POST.

Discovery documents are cached for an hour per issuer, key sets per `jwks_uri` until an
ID token names a `kid` the cached set lacks: then the set is fetched once more (the
provider rotated its keys). Both hold only public data, so one cache serves every tenant.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Asymmetric algorithms only: "none" and the HMAC ones (keyed with the client secret)
# are never accepted for ID tokens.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
LEEWAY_SECONDS = 60  # clock skew between the provider and us
HTTP_TIMEOUT_SECONDS = 10.0
METADATA_TTL_SECONDS = 3600


class ProviderError(Exception):
    """The provider could not be reached or answered something unusable."""


class TokenRejected(Exception):
    """The ID token failed a check; `reason` says which (for the audit log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Metadata:
    """What the relying party uses of a discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: frozenset[str]
    basic_auth: bool  # client_secret_basic (else client_secret_post)


@dataclass(frozen=True)
class ClientRegistration:
    """Our client at one provider."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def new_secret() -> str:
    """256 random bits, URL-safe: state, nonce and PKCE verifier (RFC 7636: 43-128 chars)."""
    return secrets.token_urlsafe(32)


def s256(verifier: str) -> str:
    """The PKCE code challenge of a verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    metadata: Metadata,
    client: ClientRegistration,
    *,
    redirect_uri: str,
    state: str,
    nonce: str,
    verifier: str,
) -> str:
    """Where the browser goes to log in at the provider."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(client.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
    return f"{metadata.authorization_endpoint}{separator}{query}"


def _kid(token: str) -> str | None:
    """The `kid` of a compact JWS's header, if it names one (the header is not trusted)."""
    try:
        segment = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _url(document: dict[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
        raise ProviderError(f"discovery document without a usable {name}")
    return value


class RelyingParty:
    """The provider-facing half of single sign-on, with its process-wide caches."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._metadata: dict[str, tuple[Metadata, float]] = {}
        self._keys: dict[str, KeySet] = {}
        self.key_fetches = 0  # how often a key set was fetched (figures, tests)

    def _http(self) -> httpx.AsyncClient:
        # A client per exchange: the relying party outlives event loops (tests, CLI), an
        # httpx pool does not; a login needs two or three requests.
        return httpx.AsyncClient(
            transport=self._transport, timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderError(f"{url}: {error}") from error
        if not isinstance(document, dict):
            raise ProviderError(f"{url}: not a JSON object")
        return document

    async def metadata(self, issuer: str, *, fresh: bool = False) -> Metadata:
        """The provider's discovery document; its `issuer` must be exactly the one
        configured (OpenID Connect Discovery 1.0, 4.3).

        Raises:
            ProviderError: unreachable, not a discovery document, or another issuer's.
        """
        cached = self._metadata.get(issuer)
        if cached is not None and not fresh and cached[1] > time.monotonic():
            return cached[0]
        document = await self._get_json(issuer.rstrip("/") + DISCOVERY_PATH)
        if document.get("issuer") != issuer:
            raise ProviderError(f"the discovery document names issuer {document.get('issuer')!r}")
        offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        metadata = Metadata(
            issuer=issuer,
            authorization_endpoint=_url(document, "authorization_endpoint"),
            token_endpoint=_url(document, "token_endpoint"),
            jwks_uri=_url(document, "jwks_uri"),
            algorithms=frozenset(str(a) for a in offered) & ASYMMETRIC,
            basic_auth="client_secret_basic" in methods or "client_secret_post" not in methods,
        )
        if not metadata.algorithms:
            raise ProviderError("the provider signs ID tokens with no asymmetric algorithm")
        self._metadata[issuer] = (metadata, time.monotonic() + METADATA_TTL_SECONDS)
        return metadata

    async def key_set(self, jwks_uri: str, *, refresh: bool = False) -> KeySet:
        """The provider's public keys, cached until `refresh`.

        Raises:
            ProviderError: unreachable or not a key set.
        """
        keys = self._keys.get(jwks_uri)
        if keys is None or refresh:
            document = await self._get_json(jwks_uri)
            try:
                keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, TypeError, KeyError) as error:
                raise ProviderError(f"{jwks_uri}: not a JSON Web Key Set ({error})") from error
            self.key_fetches += 1
            self._keys[jwks_uri] = keys
        return keys

    async def exchange(
        self,
        metadata: Metadata,
        client: ClientRegistration,
        *,
        code: str,
        redirect_uri: str,
        verifier: str,
    ) -> str:
        """Swap the authorization code for tokens; returns the ID token.

        Raises:
            ProviderError: unreachable, or the code was refused (used, expired, another
                client's, a wrong verifier or secret).
        """
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": client.client_id,
        }
        headers = {"accept": "application/json"}
        if metadata.basic_auth:
            # RFC 6749 2.3.1: both form-encoded before they are joined and base64-encoded.
            pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
            headers["authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_secret"] = client.client_secret
        try:
            async with self._http() as http:
                response = await http.post(metadata.token_endpoint, data=form, headers=headers)
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderError(f"token endpoint: {error}") from error
        if response.status_code != 200 or not isinstance(answer, dict):
            error_code = answer.get("error") if isinstance(answer, dict) else None
            raise ProviderError(f"token endpoint answered {response.status_code} {error_code}")
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise ProviderError("the token response has no ID token (is 'openid' a scope?)")
        return id_token

    async def verify_id_token(
        self, id_token: str, metadata: Metadata, client: ClientRegistration, *, now: int
    ) -> dict[str, Any]:
        """The ID token's claims once its signature (a key of the provider's JWKS, an
        asymmetric algorithm the provider announced), issuer, audience (and authorized
        party), expiry and issue time are checked. The nonce is the caller's to compare.

        Raises:
            TokenRejected: any check failed.
            ProviderError: the key set could not be fetched.
        """
        algorithms = sorted(metadata.algorithms)
        keys = await self.key_set(metadata.jwks_uri)
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=algorithms)
            except (InvalidKeyIdError, BadSignatureError) as error:
                # A kid the cached set lacks means the provider rotated its keys; a token
                # naming no kid is checked with the set's only key, so there a bad
                # signature is the only sign of a rotation. Fetched once more, at most.
                if isinstance(error, BadSignatureError) and _kid(id_token) is not None:
                    raise
                keys = await self.key_set(metadata.jwks_uri, refresh=True)
                token = jwt.decode(id_token, keys, algorithms=algorithms)
        except InvalidKeyIdError as error:
            raise TokenRejected("unknown_key") from error
        except (JoseError, ValueError) as error:
            raise TokenRejected("signature") from error
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": client.issuer},
            aud={"essential": True, "value": client.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as error:
            raise TokenRejected(getattr(error, "claim", None) or error.error) from error
        audience = claims["aud"]
        if (
            isinstance(audience, list)
            and len(audience) > 1
            and claims.get("azp") != client.client_id
        ):
            raise TokenRejected("azp")  # OpenID Connect Core 3.1.3.7, steps 4 and 5
        return dict(claims)
