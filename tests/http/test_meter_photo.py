"""submitMeterReadings over HTTP with a photo of the display (a GraphQL multipart
request through the ASGI app): both registers and the photo stored together, the photo
a METER_PHOTO document of the contract's holder with its sniffed type, readable by her
and staff, by nobody else; a photo that is no image stores nothing at all."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import demo, models
from db.demo import demo_pdf
from gql.domain import readings
from gql.settings import Settings
from tests.conftest import ACTORS, global_id
from tests.document_helpers import stored_bytes, stored_keys
from tests.http_helpers import login, portal_gid, post

HEAT_PUMP = demo.demo_id("meter:musterstadt:V-2024-2000001")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
SUBMIT = """mutation($input: SubmitMeterReadingsInput!) { submitMeterReadings(input: $input) {
  __typename
  ... on MeterReadingsSubmitted { created photo { id name type mimeType sizeBytes }
                                  readings { register { obisCode } photo { id } } }
  ... on MeterReadingRefused { code field register }
  ... on MutationError { code message field } } }"""
PHOTO = """query($id: ID!) { node(id: $id) { ... on Document { type mimeType } } }"""


async def _token(client: httpx.AsyncClient, email: str, password: str, portal: bool) -> str:
    result = await login(
        client, email, password, portal_gid("musterstadt-kunden") if portal else None
    )
    assert result["__typename"] == "LoggedIn", result
    return str(result["accessToken"])


async def _values(session: AsyncSession) -> list[dict[str, str]]:
    """A plausible value now for each register of the heat pump meter."""
    values = []
    for obis in ("1.8.1", "1.8.2"):
        rows = (
            await session.execute(
                sa.select(models.MeterReading.read_at, models.MeterReading.value)
                .where(
                    models.MeterReading.register_id == demo.demo_id(f"register:{HEAT_PUMP}:{obis}")
                )
                .order_by(models.MeterReading.read_at)
            )
        ).all()
        points = [readings.Point(at, value) for at, value in rows]
        band = readings.expected_band(points, points[-1], datetime.now(UTC))
        assert band is not None
        middle = ((band[0] + band[1]) / 2).quantize(Decimal("0.001"))
        values.append({"register": obis, "value": str(middle)})
    return values


async def _submit(
    client: httpx.AsyncClient, bearer: str, photo: bytes, **input: Any
) -> dict[str, Any]:
    operations = {
        "query": SUBMIT,
        "variables": {"input": {"meterId": global_id("Meter", HEAT_PUMP), "photo": None, **input}},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.photo"]}),
        },
        files={"0": ("IMG_0412.jpg", photo, "image/jpeg")},  # the name and type lie
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"]["submitMeterReadings"])


async def test_both_registers_and_the_photo_are_stored_together(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    anna = await _token(client, "anna.becker@example.org", "Demo-Kunde-1", portal=True)
    result = await _submit(client, anna, PNG, clientKey="photo-1", readings=await _values(session))
    assert result["__typename"] == "MeterReadingsSubmitted", result
    photo = result["photo"]
    assert (photo["type"], photo["mimeType"], photo["sizeBytes"]) == (
        "METER_PHOTO",
        "image/png",
        len(PNG),
    )
    assert photo["name"].endswith(".png")  # the sniffed type's extension, not .jpg
    assert {r["photo"]["id"] for r in result["readings"]} == {photo["id"]}
    row = await session.get_one(models.Document, uuid.UUID(relay.from_base64(photo["id"])[1]))
    assert (row.contact_id, row.uploaded_by_id) == (
        ACTORS["customer"].contact_id,
        ACTORS["customer"].subject_id,
    )
    assert row.contract_id == demo.demo_id("contract:musterstadt:V-2024-2000001")
    assert await stored_bytes(test_settings, row.storage_key) == PNG
    event = await session.scalar(
        sa.select(models.AuditEvent).where(
            models.AuditEvent.action == "document.uploaded", models.AuditEvent.entity_id == row.id
        )
    )
    assert event is not None
    assert event.data["meter_id"] == str(HEAT_PUMP)
    # Staff read the photo; Jonas and the other organization's admin see no such node.
    agent = await _token(client, "agent@musterstadt.example", "Demo-Agent-1", portal=False)
    seen = (await post(client, PHOTO, agent, id=photo["id"])).json()
    assert seen["data"]["node"] == {"type": "METER_PHOTO", "mimeType": "image/png"}
    for email, password, portal in (
        ("jonas.wolf@example.org", "Demo-Kunde-2", True),
        ("admin@nachbarstadt.example", "Demo-Admin-2", False),
    ):
        other = await _token(client, email, password, portal)
        body = (await post(client, PHOTO, other, id=photo["id"])).json()
        assert body == {"data": {"node": None}}, email


async def test_a_photo_that_is_no_image_stores_nothing(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    anna = await _token(client, "anna.becker@example.org", "Demo-Kunde-1", portal=True)
    count = sa.select(sa.func.count()).where(models.MeterReading.meter_id == HEAT_PUMP)
    before = await session.scalar(count)
    files = await stored_keys(test_settings)
    result = await _submit(
        client, anna, demo_pdf("Zählerstand"), clientKey="photo-2", readings=await _values(session)
    )
    assert (result["__typename"], result["code"], result["field"]) == (
        "MutationError",
        "INVALID_INPUT",
        "photo",
    )
    assert "PNG" in result["message"]
    assert await session.scalar(count) == before
    assert await stored_keys(test_settings) == files


async def test_a_dry_run_keeps_neither_the_readings_nor_the_photo(
    client: httpx.AsyncClient, session: AsyncSession, test_settings: Settings
) -> None:
    anna = await _token(client, "anna.becker@example.org", "Demo-Kunde-1", portal=True)
    count = sa.select(sa.func.count()).where(models.MeterReading.meter_id == HEAT_PUMP)
    before = await session.scalar(count)
    files = await stored_keys(test_settings)
    result = await _submit(
        client, anna, PNG, clientKey="photo-3", readings=await _values(session), dryRun=True
    )
    assert result["__typename"] == "MeterReadingsSubmitted", result
    assert result["photo"]["mimeType"] == "image/png"  # what it would be
    assert await session.scalar(count) == before
    assert await stored_keys(test_settings) == files
