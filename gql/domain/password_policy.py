"""What a new password must be: long enough, not the email, not a well-known one.

(NIST SP 800-63B: length and a block list, no composition rules.)
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from gql.auth import passwords
from gql.domain.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256


@dataclass(frozen=True)
class Policy:
    """What `check_password` enforces, for pages that explain it before anyone types."""

    min_length: int
    max_length: int
    rejects_email: bool
    rejects_common: bool


# check_password reads its switches from here, so the explanation cannot drift from the check.
POLICY = Policy(
    min_length=MIN_LENGTH, max_length=MAX_LENGTH, rejects_email=True, rejects_common=True
)

# The most common passwords of at least the minimum length (public breach corpora);
# compared case-insensitively.
COMMON = frozenset(
    """
    1234567890 0123456789 1111111111 0000000000 1234512345
    123456789a a123456789 qwertyuiop qwertzuiop asdfghjkl1
    password12 password123 password1234 passwort12 passwort123
    passwort1234 iloveyou12 1q2w3e4r5t q1w2e3r4t5 1qaz2wsx3edc
    qwerty1234 qwertz1234 abc1234567 abcdefghij welcome123
    willkommen willkommen1 hallo12345 sommer2024 sommer2025
    sommer2026 winter2025 winter2026 letmein123 football12
    administrator admin12345 changeme123 trustno1234 zxcvbnm123
    starwars12 dragon1234 monkey1234 sunshine12 princess12
    geheim1234 kennwort12 kennwort123 stadtwerke kundenportal
    """.split()
)


def check_password(password: str, email: str | None = None, *, field: str = "password") -> str:
    """The password if it may be used; otherwise a specific InvalidInput."""
    normalized = unicodedata.normalize("NFKC", password)
    if len(normalized) < POLICY.min_length:
        raise InvalidInput(
            "password_too_short", field=field, parameters={"minLength": POLICY.min_length}
        )
    if len(normalized) > POLICY.max_length:
        raise InvalidInput(
            "password_too_long", field=field, parameters={"maxLength": POLICY.max_length}
        )
    folded = normalized.casefold()
    if (
        POLICY.rejects_email
        and email
        and (folded == email.casefold() or folded == email.casefold().partition("@")[0])
    ):
        raise InvalidInput("password_is_email", field=field)
    if POLICY.rejects_common and (folded in COMMON or len(set(folded)) <= 2):
        raise InvalidInput("password_too_common", field=field)
    return password


async def checked_and_hashed(
    hashing: passwords.Hashing, password: str, *, field: str = "password"
) -> str:
    """A new password's hash, made before the request's first statement (a reset or
    invitation link, staff setting it, the account's own change): the rules that need no
    email first (a bad password costs no statement and no hash), then the hash in an
    admission of its own, while the request holds no connection, so that none waits for
    it. The caller checks the rules again with the account's email once it has it.

    Raises:
        InvalidInput: the password breaks the rules.
        passwords.Busy: no admission to the hash within its wait.
    """
    check_password(password, field=field)
    return await hashing.hash(password)
