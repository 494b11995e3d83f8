"""The password rules as a plain function."""

from __future__ import annotations

import pytest

from gql.domain.errors import InvalidInput
from gql.domain.password_policy import check_password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("kurz-9-zz", "at least 10"),
        ("x" * 257, "at most 256"),
        ("anna.becker@example.org", "email"),
        ("ANNA.BECKER", "email"),  # the local part, in any case
        ("Password123", "common"),
        ("aaaaaaaaaaaa", "common"),  # one or two distinct characters
        ("abababababab", "common"),
        ("".join(chr(0xFF41 + i) for i in range(10)), "common"),  # full-width abcdefghij
    ],
)
def test_refused(password: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password(password, "anna.becker@example.org")
    assert reason in refused.value.message
    assert refused.value.field == "password"


@pytest.mark.parametrize("password", ["Zählerstand-2026!", "correct horse battery"])
def test_accepted(password: str) -> None:
    assert check_password(password, "anna.becker@example.org") == password


def test_the_field_can_be_named() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_password("short", field="newPassword")
    assert refused.value.field == "newPassword"
