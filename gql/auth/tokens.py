"""Access tokens: ES256 JWTs (joserfc), `kid` in the header, rotatable keys.

joserfc is the maintained successor of `authlib.jose` by the same author (authlib
itself marks `authlib.jose` deprecated). Decoding verifies only the signature, so the
claims (`exp`, `nbf`, `iss`, `aud`) are validated explicitly after it.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet

from gql.auth.actor import Actor, Role
from gql.lru import LRU
from gql.settings import Settings

ALGORITHM = "ES256"


class InvalidToken(Exception):
    """The token is malformed, expired, signed by an unknown key or meant for someone else."""


def generate_key_set() -> dict[str, Any]:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": ALGORITHM})
    key.ensure_kid()  # RFC 7638 thumbprint: stable across restarts
    return {"keys": [key.as_dict(private=True)]}


def load_key_set(settings: Settings) -> KeySet:
    """Keys from JWT_KEYS; in development a key set generated once into the data dir."""
    if settings.jwt_keys:
        raw = json.loads(settings.jwt_keys)
    else:
        path = settings.data_dir / "jwt-keys.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(generate_key_set(), handle)
        raw = json.loads(Path(path).read_text())
    key_set = KeySet.import_key_set(raw)
    for key in key_set:
        key.ensure_kid()
        if not key.is_private:
            raise ValueError("JWT_KEYS must hold private keys")
    return key_set


LEEWAY_SECONDS = 5
VERIFIED_CACHE_SIZE = 10_000  # tokens (~1 KiB each with their actor)


@dataclass(frozen=True)
class TokenService:
    """Issues and verifies access tokens. A client sends the same token with every
    request for its lifetime, so verified tokens are remembered (by their exact text,
    signature included; bounded LRU) and a repeat costs a dictionary lookup and the
    time checks instead of an ECDSA verification (~0.1 ms). Revocation is unaffected:
    every request still checks the token's session in the database."""

    keys: KeySet
    issuer: str
    audience: str
    ttl_seconds: int
    _verified: LRU[str, tuple[Actor, int, int]] = field(
        default_factory=lambda: LRU(VERIFIED_CACHE_SIZE),
        init=False,
        repr=False,
        compare=False,
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenService:
        return cls(
            load_key_set(settings),
            settings.jwt_issuer,
            settings.jwt_audience,
            settings.access_token_ttl_seconds,
        )

    @property
    def signing_key(self) -> Any:
        return next(iter(self.keys))

    def issue(self, actor: Actor, now: int | None = None, ttl: int | None = None) -> str:
        """Sign a short-lived access token for `actor` (`ttl` shortens it, never extends)."""
        now = int(time.time()) if now is None else now
        lifetime = self.ttl_seconds if ttl is None else min(ttl, self.ttl_seconds)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(actor.subject_id),
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "org": str(actor.organization_id),
            "role": actor.role.value,
        }
        if actor.portal_id is not None:
            claims["portal"] = str(actor.portal_id)
        if actor.contact_id is not None:
            claims["contact"] = str(actor.contact_id)
        if actor.session_id is not None:
            claims["sid"] = str(actor.session_id)
        if actor.impersonator_id is not None:
            claims["act"] = {"sub": str(actor.impersonator_id)}
        key = self.signing_key
        return jwt.encode({"alg": ALGORITHM, "kid": key.kid}, claims, key, algorithms=[ALGORITHM])

    def verify(self, token: str, now: int | None = None) -> Actor:
        """Check signature and claims and return the actor the token speaks for.

        Raises:
            InvalidToken: for any reason the token can not be trusted.
        """
        moment = int(time.time()) if now is None else now
        known = self._verified.get(token)
        if known is not None:
            actor, not_before, expires = known
            if not_before - LEEWAY_SECONDS <= moment < expires + LEEWAY_SECONDS:  # as joserfc
                return actor
        actor, not_before, expires = self._verify(token, moment)
        self._verified[token] = (actor, not_before, expires)
        return actor

    def _verify(self, token: str, now: int) -> tuple[Actor, int, int]:
        try:
            decoded = jwt.decode(token, self.keys, algorithms=[ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                now=now,
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                nbf={"essential": True},
                sub={"essential": True},
            )
            registry.validate(decoded.claims)
            claims = decoded.claims
            role = Role(claims["role"])
            if role is Role.ANONYMOUS:
                raise InvalidToken("anonymous tokens are not issued")
            if claims.get("typ") is not None:
                raise InvalidToken("not an access token")
            actor = Actor(
                role=role,
                organization_id=uuid.UUID(claims["org"]),
                subject_id=uuid.UUID(claims["sub"]),
                portal_id=uuid.UUID(claims["portal"]) if "portal" in claims else None,
                contact_id=uuid.UUID(claims["contact"]) if "contact" in claims else None,
                session_id=uuid.UUID(claims["sid"]) if "sid" in claims else None,
                impersonator_id=uuid.UUID(claims["act"]["sub"]) if "act" in claims else None,
            )
            return actor, int(claims["nbf"]), int(claims["exp"])
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from exc
