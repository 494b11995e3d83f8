"""Password hashing with argon2id: the reference C library through argon2-cffi's bindings,
with its working memory kept between computations.

argon2 is memory-hard: the "low" profile (RFC 9106's low-memory one) fills 64 MiB per
computation. argon2-cffi lets the library allocate it with malloc, which for that size is
a fresh mmap every time: 16,384 page faults, each zeroing a page in the kernel, then a
munmap: 40-60 ms of kernel time on top of 150-170 ms of hashing here, a quarter of a
login's CPU spent on memory rather than on the hash. Here that memory comes from a small
pool (`_Memory`), so a login pays the hash itself. The library still wipes the memory after
every computation (its `clear_internal_memory`, on by default), before it goes back to
the pool. Hashes are the standard PHC strings argon2-cffi writes and reads: stored hashes
verify either way.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hmac
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from _argon2_cffi_bindings import ffi, lib
from argon2 import Parameters, Type, extract_parameters, profiles
from argon2.exceptions import InvalidHashError

PasswordProfile = Literal["low", "test"]

PROFILES: dict[PasswordProfile, Parameters] = {
    "low": profiles.RFC_9106_LOW_MEMORY,
    "test": profiles.CHEAPEST,
}

_TYPES = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}
_CPUS = os.cpu_count() or 1


class _Memory:
    """Working memory for argon2, lent to the library by its allocation callbacks and kept
    for the next computation: at most one buffer per core (computations beyond that many
    at once gain no throughput; their buffers are dropped after use)."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._free: list[Any] = []
        self._lent: dict[int, Any] = {}

    def allocate(self, memory: Any, size: int) -> int:
        with self._lock:
            buffer = next((b for b in self._free if ffi.sizeof(b) == size), None)
            if buffer is not None:
                self._free.remove(buffer)
        if buffer is None:
            buffer = ffi.new("uint8_t[]", size)
        address = int(ffi.cast("uintptr_t", buffer))
        with self._lock:
            self._lent[address] = buffer
        memory[0] = buffer
        return int(lib.ARGON2_OK)

    def release(self, memory: Any, size: int) -> None:
        with self._lock:
            buffer = self._lent.pop(int(ffi.cast("uintptr_t", memory)))
            if len(self._free) < self._keep:
                self._free.append(buffer)


_MEMORY = _Memory(keep=_CPUS)
# An exception in a callback answers the library "allocation failed", never "done".
_ALLOCATE = ffi.callback(
    "int(uint8_t **, size_t)", _MEMORY.allocate, error=lib.ARGON2_MEMORY_ALLOCATION_ERROR
)
_RELEASE = ffi.callback("void(uint8_t *, size_t)", _MEMORY.release)


class _Running:
    """How many computations run now: one alone uses a thread per lane (a login on an
    idle server answers sooner); with others running, one thread (the cores are busy
    anyway, and 4 lanes x 3 passes x 4 slices of threads started and joined per
    computation cost CPU time). The result does not depend on the threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def threads(self, lanes: int) -> int:
        with self._lock:
            self.count += 1
            return min(lanes, _CPUS) if self.count == 1 else 1

    def done(self) -> None:
        with self._lock:
            self.count -= 1


_RUNNING = _Running()


def _compute(parameters: Parameters, password: bytes, salt: bytes) -> bytes:
    """The raw argon2 hash of `password`, `salt` under `parameters`.

    Raises:
        InvalidHashError: parameters the library refuses.
    """
    out = ffi.new("uint8_t[]", parameters.hash_len)
    secret = ffi.new("uint8_t[]", password)
    salt_buffer = ffi.new("uint8_t[]", salt)
    threads = _RUNNING.threads(parameters.parallelism)
    try:
        context = ffi.new(
            "argon2_context *",
            {
                "out": out,
                "outlen": parameters.hash_len,
                "pwd": secret,
                "pwdlen": len(password),
                "salt": salt_buffer,
                "saltlen": len(salt),
                "secret": ffi.NULL,
                "secretlen": 0,
                "ad": ffi.NULL,
                "adlen": 0,
                "t_cost": parameters.time_cost,
                "m_cost": parameters.memory_cost,
                "lanes": parameters.parallelism,
                "threads": threads,
                "version": parameters.version,
                "allocate_cbk": _ALLOCATE,
                "free_cbk": _RELEASE,
                "flags": lib.ARGON2_DEFAULT_FLAGS,
            },
        )
        code = lib.argon2_ctx(context, parameters.type.value)
    finally:
        _RUNNING.done()
    if code != lib.ARGON2_OK:
        raise InvalidHashError(ffi.string(lib.argon2_error_message(code)).decode("ascii"))
    return bytes(ffi.buffer(out, parameters.hash_len))


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _encode(parameters: Parameters, salt: bytes, raw: bytes) -> str:
    """The PHC string argon2-cffi (and the reference library) writes."""
    return (
        f"$argon2{parameters.type.name.lower()}$v={parameters.version}"
        f"$m={parameters.memory_cost},t={parameters.time_cost},p={parameters.parallelism}"
        f"${_b64encode(salt)}${_b64encode(raw)}"
    )


def _decode(encoded: str) -> tuple[Parameters, bytes, bytes]:
    """Parameters, salt and raw hash of a PHC string.

    Raises:
        InvalidHashError: not an argon2 hash.
    """
    parameters = extract_parameters(encoded)
    parts = encoded.split("$")
    if parts[1] not in _TYPES or _TYPES[parts[1]] is not parameters.type:
        raise InvalidHashError(encoded)
    try:
        salt, raw = _b64decode(parts[-2]), _b64decode(parts[-1])
    except ValueError as error:
        raise InvalidHashError(encoded) from error
    return parameters, salt, raw


def hash_password(password: str, profile: PasswordProfile = "low") -> str:
    parameters = PROFILES[profile]
    salt = os.urandom(parameters.salt_len)
    return _encode(parameters, salt, _compute(parameters, password.encode(), salt))


@functools.cache
def _dummy_hash(profile: PasswordProfile) -> str:
    """A hash with the profile's parameters that no password matches (its salt and hash
    are zeros): checking a password against it costs what checking one against a stored
    hash costs."""
    parameters = PROFILES[profile]
    return _encode(parameters, bytes(parameters.salt_len), bytes(parameters.hash_len))


def verify_password(
    password_hash: str | None, password: str, profile: PasswordProfile = "low"
) -> bool:
    """Constant work whether or not the account exists: an unknown account is checked
    against a dummy hash, so timing does not tell which emails are registered. A stored
    hash is checked with its own parameters (never rehashed: one computation)."""
    try:
        parameters, salt, expected = _decode(password_hash or _dummy_hash(profile))
        actual = _compute(parameters, password.encode(), salt)
    except InvalidHashError:
        return False
    return hmac.compare_digest(actual, expected) and password_hash is not None


# One thread per core: more computations at once gain no throughput, and each one beyond
# the kept buffers (`_Memory`, one per core) would fault its 64 MiB in afresh.
_EXECUTOR = ThreadPoolExecutor(max_workers=_CPUS, thread_name_prefix="argon2")


async def verify_password_off_loop(
    password_hash: str | None, password: str, profile: PasswordProfile = "low"
) -> bool:
    """`verify_password` in a worker thread of its own executor. argon2 (about 150 ms
    with the "low" profile) releases the GIL; run on the event loop it stalled every
    other request of the process for that long (found by the soak, `make soak`)."""
    check = functools.partial(verify_password, password_hash, password, profile)
    return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, check)
