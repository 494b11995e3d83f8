"""Password hashing with argon2id: the reference C library through argon2-cffi's
bindings (`argon2_ctx`, which argon2-cffi's `core` binds), one computation per check, with the
stored hash's own parameters; after a right password, a hash whose parameters are not the
profile's is replaced by one with the profile's (`verify_and_rehash`).

A computation's lanes (the hash's parallelism, 4 in RFC 9106's profiles) are computed by
as many threads as help: all the cores' when it runs alone (a login on an idle server
answers sooner), one when others run too (the password executor already keeps every core
busy; argon2-cffi's `hash_secret_raw` starts and joins a thread per lane for each of the
12 slices of a computation, 48 threads, which cost CPU and crowd the cores). The hash does
not depend on the threads, only on the lanes, which stay as stored.

A kept-memory variant (the library's allocation callbacks lending it buffers kept between
computations, which saved the 64 MiB of page faults per computation) was tried and taken
back after the served worker crashed in the interpreter under concurrent logins (a
segfault in libpython, `make bench`'s login load). The same fault later struck with
plain allocations, in the collector's walk of the loop thread's objects, so the variant
may not have been its cause (gql/collector.py: the likelier one found). The library
allocates and frees its memory itself (no callbacks); glibc keeps it between
computations (`environment_for_hashing`). Hashes are the standard PHC strings
argon2-cffi writes and reads.

A request reaches the computations only through an admission (`Hashing`): at most
`ADMITTED` of the process's checks at once, and a request that finds none free within
PASSWORD_ADMISSION_WAIT_SECONDS is refused (`Busy`, answered 503), so that a storm of
logins can not make every other request of the process wait behind it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hmac
import os
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple, TypeVar

from _argon2_cffi_bindings import ffi, lib
from argon2 import Parameters, PasswordHasher, Type, extract_parameters, profiles
from argon2.exceptions import InvalidHashError

if TYPE_CHECKING:
    from gql.settings import Settings

T = TypeVar("T")
PasswordProfile = Literal["low", "test"]

# The one declaration of the parameters new hashes get; a stored hash with others is
# checked with its own and replaced after a right password (`verify_and_rehash`).
PROFILES: dict[PasswordProfile, Parameters] = {
    "low": profiles.RFC_9106_LOW_MEMORY,
    "test": profiles.CHEAPEST,
}

_TYPES = {"argon2id": Type.ID, "argon2i": Type.I, "argon2d": Type.D}
_CPUS = os.cpu_count() or 1

# argon2 works in memory the library mallocs for every computation (64 MiB in the 'low'
# profile), and glibc's malloc serves that much with a fresh mmap each time: 16,384 page
# faults in 4 KiB pages, and pages the kernel zeroes before argon2 writes them. What
# malloc is told in a process that hashes (glibc reads it once, when a process starts):
MALLOC_TUNABLES = {
    # Transparent huge pages (THP in "madvise" mode, Debian's default): a few hundred
    # page faults, about 30 % less CPU per computation (docs/performance.md).
    "glibc.malloc.hugetlb": "1",
    # The 64 MiB kept between computations instead of unmapped and mapped afresh (the
    # kernel's zeroing of the fresh pages was 15 % of a login's CPU): from the main heap
    # (one arena: a thread's arena holds at most 64 MiB, so the block would be mmapped
    # there), never mmapped, and not trimmed off the heap's top when freed.
    "glibc.malloc.arena_max": "1",
    "glibc.malloc.mmap_max": "0",
    "glibc.malloc.trim_threshold": str(256 << 20),
}


def environment_for_hashing(environ: Mapping[str, str]) -> dict[str, str] | None:
    """`environ` with `MALLOC_TUNABLES` that it does not name already (an operator's own
    value of one, `glibc.malloc.hugetlb=0` say, is kept), to start a process that hashes
    passwords with; None when it names them all."""
    tunables = environ.get("GLIBC_TUNABLES", "")
    named = {item.split("=", 1)[0] for item in tunables.split(":") if item}
    wanted = [f"{name}={value}" for name, value in MALLOC_TUNABLES.items() if name not in named]
    if not wanted:
        return None
    return {**environ, "GLIBC_TUNABLES": ":".join([*([tunables] if tunables else []), *wanted])}


class _Running:
    """How many computations run now, and so how many threads the next one gets."""

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
    """The raw argon2 hash of `password`, `salt` under `parameters` (`hash_secret_raw`'s
    call of the library, with the threads `_Running` gives; the library allocates and
    wipes its memory itself).

    Raises:
        InvalidHashError: parameters the library refuses.
    """
    out = ffi.new("uint8_t[]", parameters.hash_len)
    secret = ffi.new("uint8_t[]", password)
    salt_buffer = ffi.new("uint8_t[]", salt)
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
            "threads": _RUNNING.threads(parameters.parallelism),
            "version": parameters.version,
            "allocate_cbk": ffi.NULL,
            "free_cbk": ffi.NULL,
            "flags": lib.ARGON2_DEFAULT_FLAGS,
        },
    )
    try:
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
    hash is checked with its own parameters (one computation; `verify_and_rehash` replaces
    a hash of other parameters after a login)."""
    try:
        parameters, salt, expected = _decode(password_hash or _dummy_hash(profile))
        actual = _compute(parameters, password.encode(), salt)
    except InvalidHashError:
        return False
    return hmac.compare_digest(actual, expected) and password_hash is not None


def needs_rehash(password_hash: str, profile: PasswordProfile) -> bool:
    """argon2-cffi's `check_needs_rehash` for the profile: the stored hash's parameters
    (type, version, memory, time, lanes, salt and hash lengths) are not the profile's.

    Raises:
        InvalidHashError: not an argon2 hash.
    """
    return PasswordHasher.from_parameters(PROFILES[profile]).check_needs_rehash(password_hash)


class Verified(NamedTuple):
    """A password's check, and its new hash when the stored one must be replaced."""

    matches: bool
    rehashed: str | None = None


def verify_and_rehash(
    password_hash: str | None, password: str, profile: PasswordProfile, *, rehash: bool
) -> Verified:
    """`verify_password`, and when the password is right, `rehash` is asked (the caller
    will store the result) and the stored hash has other parameters than the profile's,
    the password hashed with the profile. The second computation is made only then: an
    ordinary check (the profile's parameters, or a wrong password, or an unknown account
    checked against the dummy hash, which has the profile's) computes once."""
    if not verify_password(password_hash, password, profile):
        return Verified(matches=False)
    assert password_hash is not None  # the dummy hash matches nothing
    if rehash and needs_rehash(password_hash, profile):
        return Verified(matches=True, rehashed=hash_password(password, profile))
    return Verified(matches=True)


# Computations at once, one thread per core: more gain no throughput, only memory (64 MiB
# each) and contention.
WORKERS = _CPUS
_EXECUTOR = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="argon2")

# Checks admitted at once per process (`Hashing.admission`): two per executor thread, so
# that a computation is always queued when one ends (the next check's statements before
# its hash would otherwise leave a core idle), and no more.
ADMITTED = 2 * WORKERS
_ADMISSIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _admissions() -> asyncio.Semaphore:
    """The event loop's `ADMITTED` admissions to the password executor."""
    loop = asyncio.get_running_loop()
    semaphore = _ADMISSIONS.get(loop)
    if semaphore is None:
        semaphore = _ADMISSIONS[loop] = asyncio.Semaphore(ADMITTED)
    return semaphore


# Told of every refused admission (gql/metrics.py counts them; this module imports no
# metrics: the CLI imports it before the metrics' multiprocess directory is set).
REFUSAL_LISTENERS: list[Callable[[], object]] = []


class Busy(Exception):
    """No admission to the password executor within the wait (`Hashing.wait`): the
    process hashes as many passwords as it usefully can already. The request is answered
    503 SERVICE_UNAVAILABLE with Retry-After (gql/unavailable.py), as when the database
    has no connection for it; nothing of it was written."""


async def _admitted(semaphore: asyncio.Semaphore, wait: float) -> bool:
    """Whether an admission was taken within `wait` seconds (0: only a free one)."""
    if not semaphore.locked():
        await semaphore.acquire()  # a free admission is taken at once
        return True
    if wait <= 0:
        return False
    try:
        async with asyncio.timeout(wait):
            await semaphore.acquire()
    except TimeoutError:
        return False
    return True


class Admitted:
    """The computations an admission allows, each on the password executor: argon2
    (about 150 ms with the "low" profile) releases the GIL; run on the event loop it
    stalled every other request of the process for that long (found by the soak,
    `make soak`)."""

    def __init__(self, profile: PasswordProfile) -> None:
        self.profile = profile

    async def _run(self, compute: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(_EXECUTOR, compute)

    async def hash(self, password: str) -> str:
        """`hash_password` with the profile."""
        return await self._run(functools.partial(hash_password, password, self.profile))

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`verify_password` with the profile."""
        check = functools.partial(verify_password, password_hash, password, self.profile)
        return await self._run(check)

    async def verify_and_rehash(
        self, password_hash: str | None, password: str, *, rehash: bool
    ) -> Verified:
        """`verify_and_rehash` with the profile."""
        check = functools.partial(
            verify_and_rehash, password_hash, password, self.profile, rehash=rehash
        )
        return await self._run(check)


@dataclass(frozen=True)
class Hashing:
    """The one way of a request to the password executor: at most `ADMITTED` checks of
    the process at once (its CPU count twice over: more would gain no throughput), and
    a request waits for its admission at most `wait` seconds
    (PASSWORD_ADMISSION_WAIT_SECONDS), then is refused (`Busy`: 503). Unbounded, 120
    logins at once made the last wait a minute and starved every other request of the
    process (docs/performance.md); bounded, a storm is answered within the wait, and
    the process's other requests keep their share of it."""

    profile: PasswordProfile
    wait: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Hashing:
        return cls(settings.password_profile, settings.password_admission_wait_seconds)

    @contextlib.asynccontextmanager
    async def admission(self) -> AsyncIterator[Admitted]:
        """An admission for a check that holds a database connection (and a
        transaction's locks) while its hash waits and runs (`authentication.login`):
        taken before its first statement, so that checks beyond `ADMITTED` wait here
        without a connection, and a storm of logins takes at most `ADMITTED` of the
        pool's connections and leaves the rest to other requests.

        Raises:
            Busy: no admission within `wait` (counted in
                `portal_password_admissions_refused_total`).
        """
        semaphore = _admissions()
        if not await _admitted(semaphore, self.wait):
            for listener in REFUSAL_LISTENERS:
                listener()
            raise Busy
        try:
            yield Admitted(self.profile)
        finally:
            semaphore.release()

    async def hash(self, password: str) -> str:
        """`Admitted.hash` in an admission of its own: for a new password, hashed before
        the request's first statement, so that no connection waits for it.

        Raises:
            Busy: no admission within `wait`.
        """
        async with self.admission() as admitted:
            return await admitted.hash(password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """`Admitted.verify` in an admission of its own.

        Raises:
            Busy: no admission within `wait`.
        """
        async with self.admission() as admitted:
            return await admitted.verify(password_hash, password)

    async def verify_and_rehash(
        self, password_hash: str | None, password: str, *, rehash: bool
    ) -> Verified:
        """`Admitted.verify_and_rehash` in an admission of its own.

        Raises:
            Busy: no admission within `wait`.
        """
        async with self.admission() as admitted:
            return await admitted.verify_and_rehash(password_hash, password, rehash=rehash)


# What checks a password: a request's admission, or `Hashing` taking one per computation.
Hasher = Admitted | Hashing
