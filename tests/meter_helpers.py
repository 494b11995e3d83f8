"""Meter readings as the tests submit them: Anna's first meter, a value its band allows
now, and `submitMeterReading` through the schema."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain import readings
from tests.conftest import ACTORS, GraphQLClient

SUBMIT = """mutation($input: SubmitMeterReadingInput!) { submitMeterReading(input: $input) {
  __typename
  ... on MeterReadingSubmitted { created reading { id value status source } }
  ... on MeterReadingRefused { reason message field allowedMin allowedMax }
  ... on MutationError { code message field } } }"""


async def anna_meter(session: AsyncSession) -> tuple[uuid.UUID, Any]:
    """Anna's first meter and its last reading."""
    meter = await session.scalar(
        sa.select(models.Meter)
        .join(models.Contract, models.Contract.id == models.Meter.contract_id)
        .where(models.Contract.contact_id == ACTORS["customer"].contact_id)
        .order_by(models.Meter.number)
        .limit(1)
    )
    assert meter is not None
    last = await session.scalar(
        sa.select(models.MeterReading)
        .where(models.MeterReading.meter_id == meter.id)
        .order_by(models.MeterReading.read_at.desc())
        .limit(1)
    )
    return meter.id, last


async def submit(gql: GraphQLClient, actor: Any = "customer", **input: Any) -> Any:
    data, errors = await gql(SUBMIT, actor, input=input)
    assert errors == [], errors
    assert data is not None
    return data["submitMeterReading"]


async def plausible_value(session: AsyncSession, meter_id: uuid.UUID, last: Any) -> str:
    """What the band allows now: the middle of it."""
    rows = (
        await session.execute(
            sa.select(models.MeterReading.read_at, models.MeterReading.value).where(
                models.MeterReading.meter_id == meter_id
            )
        )
    ).all()
    band = readings.expected_band(
        [readings.Point(at, value) for at, value in rows],
        readings.Point(last.read_at, last.value),
        datetime.now(UTC),
    )
    assert band is not None
    return str(((band[0] + band[1]) / 2).quantize(readings.DECIMALS))
