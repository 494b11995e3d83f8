"""Settings, read once from the environment into a frozen object.

In production every secret must be given explicitly; development generates what it
needs (JWT keys) into the data directory so that `make serve` works on a fresh clone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

Environment = Literal["development", "test", "production"]


class SettingsError(RuntimeError):
    pass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    environment: Environment = "development"
    database_url: str | None = None
    data_dir: Path = field(default_factory=lambda: Path(".data"))
    jwt_issuer: str = "kundenportal"
    jwt_audience: str = "kundenportal-api"
    # JSON Web Key Set with the private keys; the first key signs, all of them verify.
    jwt_keys: str | None = None
    access_token_ttl_seconds: int = 600
    # "low" is argon2-cffi's RFC 9106 low-memory profile; "test" is its cheapest one.
    password_profile: Literal["low", "test"] = "low"  # noqa: S105 - a profile name
    managed_base_domain: str = "portale.example"
    max_query_depth: int = 12
    max_query_tokens: int = 2000
    max_aliases: int = 30
    max_page_size: int = 100

    @property
    def development(self) -> bool:
        return self.environment != "production"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        environment = os.environ.get("PORTAL_ENV", "development")
        if environment not in ("development", "test", "production"):
            raise SettingsError(
                f"PORTAL_ENV must be development, test or production: {environment}"
            )
        profile = os.environ.get("PASSWORD_PROFILE", "low")
        if profile not in ("low", "test"):
            raise SettingsError("PASSWORD_PROFILE must be 'low' or 'test'")
        settings = cls(
            environment=environment,  # type: ignore[arg-type]
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("PORTAL_DATA_DIR", ".data")),
            jwt_issuer=os.environ.get("JWT_ISSUER", "kundenportal"),
            jwt_audience=os.environ.get("JWT_AUDIENCE", "kundenportal-api"),
            jwt_keys=os.environ.get("JWT_KEYS") or None,
            access_token_ttl_seconds=_int("ACCESS_TOKEN_TTL_SECONDS", 600),
            password_profile=profile,  # type: ignore[arg-type]
            managed_base_domain=os.environ.get("MANAGED_BASE_DOMAIN", "portale.example"),
        )
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would be unsafe or can not work."""
        if not 60 <= self.access_token_ttl_seconds <= 900:
            raise SettingsError("ACCESS_TOKEN_TTL_SECONDS must be between 60 and 900")
        if self.environment == "production":
            if not self.database_url:
                raise SettingsError("production needs DATABASE_URL")
            if not self.jwt_keys:
                raise SettingsError("production needs JWT_KEYS (a private JWK set)")
            if self.password_profile != "low":  # noqa: S105
                raise SettingsError("production must hash passwords with the 'low' profile")
