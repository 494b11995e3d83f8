"""The checks of a meter reading, as a plain function: every error code and the band."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

import pytest

from db.models.enums import MeterReadingStatus, MeterStatus
from gql.domain.readings import (
    Point,
    ReadingRefused,
    Stored,
    check_reading,
    expected_band,
    neighbours,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
# A year of monthly readings, 300 units a month (about 10 a day).
HISTORY = [Point(NOW - timedelta(days=30 * (12 - n)), Decimal(10000 + 300 * n)) for n in range(12)]
PREVIOUS = HISTORY[-1]  # 30 days ago, 13300


def check(**change: Any) -> Any:
    arguments: dict[str, Any] = {
        "raw_value": "13600",
        "read_at": NOW,
        "now": NOW,
        "meter_status": MeterStatus.ACTIVE,
        "digits": 6,
        "contract_start": NOW - timedelta(days=800),
        "contract_end": None,
        "previous": PREVIOUS,
        "later": None,
        "same_time": False,
        "history": HISTORY,
        "override_plausibility": False,
    }
    arguments.update(change)
    return check_reading(**arguments)


def test_a_plausible_reading_is_accepted() -> None:
    checked = check()
    assert (checked.value, checked.status) == (Decimal("13600.000"), MeterReadingStatus.ACCEPTED)
    assert check(raw_value="13600,5").value == Decimal("13600.500")  # German decimal comma


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"raw_value": "zwölf"}, "INVALID_VALUE", "value"),
        ({"raw_value": "-1"}, "INVALID_VALUE", "value"),
        ({"raw_value": "13600.1234"}, "TOO_MANY_DECIMALS", "value"),
        ({"raw_value": "1000000"}, "TOO_MANY_DIGITS", "value"),
        ({"read_at": NOW + timedelta(hours=1)}, "READ_AT_IN_FUTURE", "readAt"),
        (
            {"contract_start": NOW + timedelta(days=1), "read_at": NOW},
            "OUTSIDE_CONTRACT_PERIOD",
            "readAt",
        ),
        ({"contract_end": NOW - timedelta(days=1)}, "OUTSIDE_CONTRACT_PERIOD", "readAt"),
        ({"same_time": True}, "DUPLICATE_READING", "readAt"),
        ({"raw_value": "13299.999"}, "LESS_THAN_PREVIOUS", "value"),
        ({"later": Point(NOW + timedelta(days=1), Decimal(13500))}, "GREATER_THAN_LATER", "value"),
        ({"meter_status": MeterStatus.DECOMMISSIONED}, "METER_DECOMMISSIONED", "meterId"),
        ({"raw_value": "15000"}, "IMPLAUSIBLE", "value"),
        ({"raw_value": "13301"}, "IMPLAUSIBLE", "value"),
    ],
)
def test_every_error_code(change: dict[str, Any], code: str, field: str) -> None:
    with pytest.raises(ReadingRefused) as refused:
        check(**change)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_the_band_is_told_and_can_be_overridden_for_review() -> None:
    band = expected_band(HISTORY, PREVIOUS, NOW)
    assert band is not None
    low, high = band
    assert low < Decimal(13600) < high
    with pytest.raises(ReadingRefused) as refused:
        check(raw_value="15000")
    assert refused.value.allowed == (low, high)
    flagged = check(raw_value="15000", override_plausibility=True)
    assert flagged.status is MeterReadingStatus.PENDING_REVIEW


def test_no_band_without_history() -> None:
    assert check(raw_value="99999", history=[PREVIOUS]).status is MeterReadingStatus.ACCEPTED
    assert check(raw_value="5", previous=None, history=[]).value == Decimal(5)


class PythonUtc(tzinfo):
    """UTC as a zone written in Python, as dateutil's (Strawberry parses times with it)."""

    def utcoffset(self, _moment: datetime | None) -> timedelta:
        return timedelta(0)

    def dst(self, _moment: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, _moment: datetime | None) -> str:
        return "UTC"


@pytest.mark.parametrize("zone", [PythonUtc(), timezone(timedelta(hours=2))], ids=["py", "+02"])
def test_neighbours_of_a_moment_in_any_zone_are_those_of_the_same_instant(zone: Any) -> None:
    """A parsed input's time carries a zone of Python code, or another offset: the neighbours
    (compared in UTC) are those of the same instant in UTC, at and beside stored times."""
    stored = [
        Stored(point.read_at, point.value, status)
        for point, status in zip(
            HISTORY,
            [MeterReadingStatus.ACCEPTED, MeterReadingStatus.REJECTED] * 6,
            strict=True,
        )
    ]
    reset = HISTORY[3].read_at
    for moment in (HISTORY[5].read_at, HISTORY[5].read_at + timedelta(hours=1), NOW):
        for at in (moment, moment - timedelta(microseconds=1)):
            assert neighbours(stored, at.astimezone(zone), reset) == neighbours(stored, at, reset)
