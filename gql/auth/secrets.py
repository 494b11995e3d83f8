"""Encryption of secrets at rest (TOTP seeds): Fernet from `cryptography`, with
MultiFernet for rotation (the first key encrypts, every key decrypts)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from gql.settings import Settings


def secret_keys(settings: Settings) -> list[str]:
    """The Fernet keys from SECRET_KEYS; in development generated once into the data dir."""
    if settings.secret_keys:
        return [k.strip() for k in settings.secret_keys.split(",") if k.strip()]
    path = settings.data_dir / "secret-keys.txt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(Fernet.generate_key().decode() + "\n")
    return Path(path).read_text().split()


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is needed")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(secret_keys(settings))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Raises ValueError when no key opens it (a key was removed too early)."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret can not be decrypted with the configured keys") from exc
