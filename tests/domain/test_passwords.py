"""argon2 through argon2-cffi (gql/auth/passwords.py): the hashes are argon2-cffi's
PHC strings, both ways; a check is one computation, also for an unknown account; checks
at once on the password executor each get their own answer."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from argon2 import Parameters, PasswordHasher, Type, extract_parameters, low_level

from gql.auth import passwords
from tests import factories

PASSWORD = "Zählerstand-2026!"


@pytest.mark.parametrize("profile", ["test", "low"])
def test_hash_password_verifies_with_argon2_cffi_and_back(
    profile: passwords.PasswordProfile,
) -> None:
    theirs = PasswordHasher.from_parameters(passwords.PROFILES[profile])
    ours = passwords.hash_password(PASSWORD, profile)
    assert extract_parameters(ours) == passwords.PROFILES[profile]
    assert theirs.verify(ours, PASSWORD)
    assert not theirs.check_needs_rehash(ours)
    stored = theirs.hash(PASSWORD)
    assert passwords.verify_password(stored, PASSWORD, profile)
    assert not passwords.verify_password(stored, PASSWORD + "x", profile)


def test_verify_password_reads_parameters_type_and_version_of_the_hash() -> None:
    """An older argon2i, version 1.0 hash still verifies: the stored parameters decide."""
    stored = low_level.hash_secret(b"secret", b"saltsaltsalt", 1, 64, 2, 16, Type.I, 16)
    assert passwords.verify_password(stored.decode(), "secret", "test")
    assert not passwords.verify_password(stored.decode(), "secreT", "test")


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=8,t=1,p=1$!!!$abc",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ",
        "$argon2x$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHQ",
    ],
)
def test_verify_password_malformed_hash_is_a_mismatch(stored: str) -> None:
    assert not passwords.verify_password(stored, PASSWORD, "test")


@pytest.mark.parametrize("profile", ["test", "low"])
def test_unknown_account_costs_one_computation_with_the_profiles_parameters(
    profile: passwords.PasswordProfile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dummy hash has the profile's parameters, is never computed itself, and no
    password matches it."""
    dummy = passwords._dummy_hash(profile)
    assert extract_parameters(dummy) == passwords.PROFILES[profile]
    computed = []
    compute = passwords._compute

    def counted(*args: object) -> bytes:
        computed.append(args[0])
        return compute(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(passwords, "_compute", counted)
    assert not passwords.verify_password(None, PASSWORD, profile)
    assert computed == [passwords.PROFILES[profile]]


async def test_checks_at_once_each_get_their_own_answer() -> None:
    """More checks than the executor's threads, right and wrong passwords mixed, on the
    production profile: each answer is its own (the executor shares nothing between
    computations)."""
    stored = passwords.hash_password(PASSWORD, "low")
    guesses = [PASSWORD if i % 2 else PASSWORD + "x" for i in range(6)]
    hashing = passwords.Hashing("low", wait=60)
    answers = await asyncio.gather(*(hashing.verify(stored, guess) for guess in guesses))
    assert answers == [guess == PASSWORD for guess in guesses]


async def test_hashing_runs_on_the_password_executor_not_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    threads: list[str] = []
    original = passwords.hash_password

    def recorded(password: str, profile: passwords.PasswordProfile = "low") -> str:
        threads.append(threading.current_thread().name)
        return original(password, profile)

    monkeypatch.setattr(passwords, "hash_password", recorded)
    stored = await passwords.Hashing("test", wait=60).hash(PASSWORD)
    assert passwords.verify_password(stored, PASSWORD, "test")
    assert len(threads) == 1
    assert threads[0].startswith("argon2"), threads


async def test_an_admission_freed_within_the_wait_admits_the_waiting_request() -> None:
    """Every admission taken: a request with a wait queues for one and gets the first
    freed; one without a wait is refused at once (`Busy`), taking none."""
    hashing = passwords.Hashing("test", wait=60)
    held = [hashing.admission() for _ in range(passwords.ADMITTED)]
    for admission in held:
        await admission.__aenter__()
    admitted = asyncio.Event()

    async def waiting() -> str:
        async with hashing.admission() as hasher:
            admitted.set()
            return await hasher.hash(PASSWORD)

    task = asyncio.create_task(waiting())
    await asyncio.sleep(0)  # the task runs until it waits for an admission
    assert not admitted.is_set()
    with pytest.raises(passwords.Busy):
        await passwords.Hashing("test", wait=0).verify(None, PASSWORD)
    await held.pop().__aexit__(None, None, None)
    assert passwords.verify_password(await asyncio.wait_for(task, 30), PASSWORD, "test")
    for admission in held:
        await admission.__aexit__(None, None, None)


def test_the_domain_hashes_passwords_only_off_the_event_loop() -> None:
    """Every request path that sets a password (registration, reset, invitation, change)
    awaits `Hashing.hash`; none calls the blocking `hash_password`."""
    domain = Path(passwords.__file__).parents[1] / "domain"
    blocking = [
        path.name
        for path in domain.glob("*.py")
        if re.search(r"\bhash_password\(", path.read_text())
    ]
    assert blocking == []


def test_a_computation_alone_gets_the_cores_and_one_among_others_a_thread() -> None:
    running = passwords._Running()
    lanes = passwords.PROFILES["low"].parallelism
    alone = running.threads(lanes)
    beside = running.threads(lanes)
    running.done()
    running.done()
    assert alone == min(lanes, passwords._CPUS)
    assert beside == 1
    assert running.count == 0


@pytest.mark.parametrize("running", [0, 1], ids=["alone", "beside-another"])
def test_the_hash_does_not_depend_on_the_threads(
    running: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All lanes by one thread (beside another computation) or by several: the hash
    argon2-cffi computes with a thread per lane."""
    parameters = passwords.PROFILES["low"]
    salt = b"0123456789abcdef"
    theirs = low_level.hash_secret_raw(
        PASSWORD.encode(),
        salt,
        parameters.time_cost,
        parameters.memory_cost,
        parameters.parallelism,
        parameters.hash_len,
        parameters.type,
        parameters.version,
    )
    monkeypatch.setattr(passwords._RUNNING, "count", running)
    assert passwords._compute(parameters, PASSWORD.encode(), salt) == theirs
    assert passwords._RUNNING.count == running


KEPT = "glibc.malloc.arena_max=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=268435456"


@pytest.mark.parametrize(
    ("given", "started_with"),
    [
        ({}, f"glibc.malloc.hugetlb=1:{KEPT}"),
        (
            {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"},
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1:glibc.malloc.mmap_max=0"
            ":glibc.malloc.trim_threshold=268435456",
        ),
        ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, f"glibc.malloc.hugetlb=0:{KEPT}"),
    ],
)
def test_processes_that_hash_start_with_huge_pages_and_kept_memory_for_malloc(
    given: dict[str, str], started_with: str
) -> None:
    """What the environment names already is kept (an operator's choice), the rest added."""
    environment = passwords.environment_for_hashing({"PATH": "/usr/bin", **given})
    assert environment == {"PATH": "/usr/bin", "GLIBC_TUNABLES": started_with}


def test_an_environment_naming_every_tunable_is_kept() -> None:
    chosen = f"glibc.malloc.hugetlb=2:{KEPT}:x=1"
    assert passwords.environment_for_hashing({"GLIBC_TUNABLES": chosen}) is None


# Computes 64 MiB (more than glibc's largest mmap threshold, 32 MiB) once, then three
# times more, and prints the page faults of those three.
FAULTS = """
import resource
from argon2 import Parameters, Type
from gql.auth import passwords
wide = Parameters(Type.ID, 19, 16, 32, time_cost=1, memory_cost=65536, parallelism=1)
passwords._compute(wide, b"x", bytes(16))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    passwords._compute(wide, b"x", bytes(16))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's tunables")
def test_a_process_started_for_hashing_keeps_argon2s_memory() -> None:
    """In a process started with `environment_for_hashing` the library's 64 MiB are
    malloc'd from memory kept since the first computation: no page faults; with huge
    pages alone every computation maps them afresh (at least 32 faults of 2 MiB)."""
    root = str(Path(__file__).parents[2])
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": root}
    kept = passwords.environment_for_hashing(base)
    assert kept is not None
    fresh = {**base, "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
    faults = {}
    for name, environment in {"kept": kept, "fresh": fresh}.items():
        finished = subprocess.run(  # nosec B603: this interpreter, our own code
            [sys.executable, "-c", FAULTS], env=environment, capture_output=True, check=True
        )
        faults[name] = int(finished.stdout)
    assert faults["kept"] < 32 <= 3 * 32 <= faults["fresh"], faults


OLDER = factories.OLDER_PASSWORD_PARAMETERS


def test_needs_rehash_is_argon2_cffis_check() -> None:
    older = PasswordHasher.from_parameters(OLDER).hash(PASSWORD)
    for profile in passwords.PROFILES:
        current = PasswordHasher.from_parameters(passwords.PROFILES[profile])
        assert passwords.needs_rehash(older, profile) == current.check_needs_rehash(older)
        assert passwords.needs_rehash(older, profile)
    assert not passwords.needs_rehash(passwords.hash_password(PASSWORD, "test"), "test")


@pytest.mark.parametrize(
    ("stored_with", "password", "rehash", "matches", "computations"),
    [
        (OLDER, PASSWORD, True, True, [OLDER, passwords.PROFILES["test"]]),
        (OLDER, PASSWORD, False, True, [OLDER]),
        (OLDER, PASSWORD + "x", True, False, [OLDER]),
        (passwords.PROFILES["test"], PASSWORD, True, True, [passwords.PROFILES["test"]]),
    ],
    ids=["older-right", "older-right-not-asked", "older-wrong", "profile-right"],
)
def test_verify_and_rehash_hashes_again_only_a_right_password_of_other_parameters(
    monkeypatch: pytest.MonkeyPatch,
    stored_with: Parameters,
    password: str,
    rehash: bool,
    matches: bool,
    computations: list[Parameters],
) -> None:
    """A second computation only for a right password whose hash has other parameters
    than the profile's, when the caller asks; the new hash is the profile's and
    argon2-cffi verifies it."""
    stored = PasswordHasher.from_parameters(stored_with).hash(PASSWORD)
    computed: list[Parameters] = []
    compute = passwords._compute

    def counted(*args: object) -> bytes:
        computed.append(args[0])  # type: ignore[arg-type]
        return compute(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(passwords, "_compute", counted)
    verified = passwords.verify_and_rehash(stored, password, "test", rehash=rehash)
    assert verified.matches is matches
    assert computed == computations
    if len(computations) == 1:
        assert verified.rehashed is None
    else:
        assert verified.rehashed is not None
        assert extract_parameters(verified.rehashed) == passwords.PROFILES["test"]
        assert PasswordHasher.from_parameters(passwords.PROFILES["test"]).verify(
            verified.rehashed, PASSWORD
        )


def test_verify_and_rehash_unknown_account_is_never_rehashed() -> None:
    """Checked against the dummy hash, which has the profile's parameters."""
    assert passwords.verify_and_rehash(None, PASSWORD, "test", rehash=True) == (False, None)
