"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

import asyncio
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


async def verify_password_off_loop(
    password_hash: str | None, password: str, profile: Literal["low", "test"] = "low"
) -> bool:
    """`verify_password` in a worker thread. argon2 (about 150 ms with the "low" profile)
    releases the GIL; run on the event loop it stalled every other request of the
    process for that long (found by the soak, `make soak`)."""
    return await asyncio.to_thread(verify_password, password_hash, password, profile)
