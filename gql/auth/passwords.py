"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from functools import cache
from typing import Literal

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

PasswordProfile = Literal["low", "test"]


@cache
def hasher(profile: Literal["low", "test"] = "low") -> PasswordHasher:
    parameters = profiles.RFC_9106_LOW_MEMORY if profile == "low" else profiles.CHEAPEST
    return PasswordHasher.from_parameters(parameters)


@cache
def _dummy_hash(profile: Literal["low", "test"]) -> str:
    return hasher(profile).hash("not-a-password-of-anyone")


def hash_password(password: str, profile: Literal["low", "test"] = "low") -> str:
    return hasher(profile).hash(password)


def verify_password(
    password_hash: str | None, password: str, profile: Literal["low", "test"] = "low"
) -> bool:
    """Constant work whether or not the account exists: an unknown account is checked
    against a dummy hash, so timing does not tell which emails are registered."""
    try:
        return hasher(profile).verify(password_hash or _dummy_hash(profile), password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False
