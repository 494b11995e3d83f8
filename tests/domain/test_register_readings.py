"""Readings of every register of a meter at once, without GraphQL: which registers a
submission must name, the idempotency keys of its readings, and what a photo may be."""

from __future__ import annotations

import uuid

import pytest

from db import models
from db.demo import demo_pdf
from gql.domain import readings
from gql.domain.errors import InvalidInput
from gql.domain.readings import ReadingRefused, RegisterValue

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(32)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)


def register(obis: str) -> models.MeterRegister:
    return models.MeterRegister(id=uuid.uuid4(), obis_code=obis, name=obis, digits=6)


HT, NT = register("1.8.1"), register("1.8.2")


def values(*pairs: tuple[str, str]) -> list[RegisterValue]:
    return [RegisterValue(obis, value) for obis, value in pairs]


def test_every_register_once_in_any_order() -> None:
    chosen = readings.match_registers([HT, NT], values(("1.8.2", "5"), (" 1.8.1 ", "7")))
    assert chosen == [NT, HT]


@pytest.mark.parametrize(
    ("given", "key", "field"),
    [
        ((("1.8.1", "1"),), "readings_incomplete", "readings"),
        ((), "readings_incomplete", "readings"),
        ((("1.8.1", "1"), ("1.8.1", "2")), "register_repeated", "readings.1.register"),
    ],
)
def test_missing_or_repeated_registers_are_refused(
    given: tuple[tuple[str, str], ...], key: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        readings.match_registers([HT, NT], values(*given))
    assert (refused.value.key, refused.value.field) == (key, field)
    if key == "readings_incomplete":
        assert refused.value.parameters["registers"] in ("1.8.2", "1.8.1, 1.8.2")


def test_an_unknown_register_names_its_position() -> None:
    with pytest.raises(ReadingRefused) as refused:
        readings.match_registers([HT, NT], values(("1.8.1", "1"), ("2.8.0", "1")))
    assert (refused.value.code, refused.value.field) == ("REGISTER_UNKNOWN", "readings.1.register")
    assert refused.value.parameters["registers"] == "1.8.1, 1.8.2"


def test_each_readings_key_is_the_submissions_with_its_register() -> None:
    assert readings.register_key("app-7", HT) == "app-7:1.8.1"
    longest = "k" * (64 - len(":1.8.1"))
    assert readings.register_key(longest, HT) == longest + ":1.8.1"
    with pytest.raises(InvalidInput) as refused:
        readings.register_key(longest + "k", HT)
    assert refused.value.field == "clientKey"


@pytest.mark.parametrize(
    ("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (HEIC, "image/heic")]
)
def test_a_photo_is_an_image_sniffed_from_its_content(data: bytes, mime: str) -> None:
    assert readings.check_photo(data).mime == mime


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (demo_pdf("Zählerstand"), "application/pdf"),
        (EXE, "application/x-msdownload"),
        (b"hi", None),
    ],
    ids=["pdf", "program", "text"],
)
def test_anything_else_is_no_photo(data: bytes, detected: str | None) -> None:
    with pytest.raises(InvalidInput) as refused:
        readings.check_photo(data)
    assert (refused.value.key, refused.value.field) == ("photo_not_an_image", "photo")
    assert refused.value.parameters.get("detectedType") == detected
