"""Tariff prices of a contract (compare epilot's `getPrices`): which price is in force,
and staff setting and removing prices.

A price row holds from its `valid_from` (00:00 in Germany) until the next row of the
same register, or of all registers (`obis_code` null, the general price): its working
price per unit of the meter (EUR net, six decimals), its base price per year (EUR net)
and its VAT rate (percent). Which row prices a register on a day is one rule, in SQL
(`in_force`), read by `Contract.price(on:)` and by the costs (gql/domain/costs.py):
the latest row of the register's own OBIS code valid that day, else the latest general
row; none before the first.

Staff (ADMIN, AGENT) set a price (a row of the same contract, register and day is
replaced) and remove one; both are audited. Refusals name the input field.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import DomainError, InvalidInput
from gql.domain.scope import find_visible
from gql.domain.text import optional_line

# The business limits of a price, each declared once; the input fields' descriptions
# and the refusals' parameters come from here, the decimals and the code's length from
# the columns (whose CHECK constraints keep the database to the same bounds).
_COLUMNS = models.ContractPrice.__table__.c


def _scale(column: Any) -> int:
    scale = getattr(column.type, "scale", None)
    if not isinstance(scale, int):
        raise TypeError(f"{column} has no scale")
    return scale


def _length(column: Any) -> int:
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(f"{column} has no length")
    return length


WORKING_PRICE_MAX = Decimal("100")  # EUR net per kWh or m3
WORKING_PRICE_DECIMALS = _scale(_COLUMNS.working_price)
BASE_PRICE_MAX = Decimal("100000")  # EUR net per year
BASE_PRICE_DECIMALS = _scale(_COLUMNS.base_price_per_year)
VAT_RATE_MAX = Decimal("100")  # percent
VAT_RATE_DECIMALS = _scale(_COLUMNS.vat_rate)
OBIS_CODE_MAX = _length(_COLUMNS.obis_code)


def in_force(contract_id: str, obis_code: str, day: str) -> str:
    """SQL: the id of the price row in force for the register with `obis_code` (SQL
    null: the general price) of the contract on `day` (three SQL expressions): the
    latest row of its own code valid that day, else the latest general row."""
    return f"""(
        SELECT price.id FROM contract_price AS price
        WHERE price.contract_id = {contract_id} AND price.valid_from <= {day}
          AND (price.obis_code IS NULL OR price.obis_code = {obis_code})
        ORDER BY price.obis_code IS NULL, price.valid_from DESC
        LIMIT 1
    )"""  # noqa: S608  # nosec B608 - SQL expressions of the callers' statements, not input


_IN_FORCE = sa.text(
    f"""
SELECT wanted.position, {in_force("wanted.contract_id", "wanted.obis_code", "wanted.day")} AS id
FROM unnest(CAST(:contract_ids AS uuid[]), CAST(:obis_codes AS text[]), CAST(:days AS date[]))
     WITH ORDINALITY AS wanted(contract_id, obis_code, day, position)
"""  # noqa: S608  # nosec B608 - constants of this module; values are bind parameters
)

# (contract id, OBIS code or None for the general price, day)
PriceKey = tuple[uuid.UUID, str | None, date]


async def ids_in_force(execute: Any, keys: Sequence[PriceKey]) -> list[uuid.UUID | None]:
    """The id of the price row in force for each key, in one statement for all. The
    caller passes contracts it reached through the scope."""
    rows = await execute(
        _IN_FORCE.bindparams(
            contract_ids=[key[0] for key in keys],
            obis_codes=[key[1] for key in keys],
            days=[key[2] for key in keys],
        )
    )
    found = {row.position: row.id for row in rows}
    return [found.get(index + 1) for index in range(len(keys))]


def valid_until(
    price: models.ContractPrice, siblings: Sequence[models.ContractPrice]
) -> date | None:
    """The last day of the row: the day before the next row of the same register (or of
    all registers) of its contract; None while no later row follows."""
    later = [
        row.valid_from
        for row in siblings
        if row.contract_id == price.contract_id
        and row.obis_code == price.obis_code
        and row.valid_from > price.valid_from
    ]
    return None if not later else date.fromordinal(min(later).toordinal() - 1)


def gross(net: Decimal, vat_rate: Decimal, places: int) -> Decimal:
    """`net` with VAT at `vat_rate` percent, rounded half up to `places` decimals."""
    exact = net * (100 + vat_rate) / 100
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _bounded(value: Decimal, *, field: str, maximum: Decimal, decimals: int) -> Decimal:
    """`value` with `decimals` decimals if it lies in 0..maximum and has no more.

    Raises:
        InvalidInput: naming `field`, with the limits as parameters.
    """
    if value < 0 or value > maximum:
        raise InvalidInput(
            "price_out_of_range",
            field=field,
            parameters={"allowedMin": Decimal(0), "allowedMax": maximum},
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise InvalidInput(
            "price_too_many_decimals", field=field, parameters={"decimals": decimals}
        )
    return value.quantize(Decimal(1).scaleb(-decimals))  # as the column stores it


def check_price(
    working_price: Decimal, base_price_per_year: Decimal, vat_rate: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """The three amounts of a price, each within its limits.

    Raises:
        InvalidInput: naming the field (workingPrice, basePricePerYear, vatRate).
    """
    return (
        _bounded(
            working_price,
            field="workingPrice",
            maximum=WORKING_PRICE_MAX,
            decimals=WORKING_PRICE_DECIMALS,
        ),
        _bounded(
            base_price_per_year,
            field="basePricePerYear",
            maximum=BASE_PRICE_MAX,
            decimals=BASE_PRICE_DECIMALS,
        ),
        _bounded(vat_rate, field="vatRate", maximum=VAT_RATE_MAX, decimals=VAT_RATE_DECIMALS),
    )


def check_valid_from(contract: models.Contract, valid_from: date) -> None:
    """A price can start on any day up to the contract's end (prices agreed before the
    supply starts are common).

    Raises:
        InvalidInput: after the end (field validFrom).
    """
    if contract.end_date is not None and valid_from > contract.end_date:
        raise InvalidInput(
            "price_after_contract_end", field="validFrom", parameters={"endDate": contract.end_date}
        )


async def _check_register(db: AsyncSession, contract: models.Contract, obis_code: str) -> None:
    """A register's price names a register of one of the contract's meters.

    Raises:
        DomainError: REGISTER_UNKNOWN (field obisCode) with the registers it has.
    """
    register, meter = models.MeterRegister, models.Meter
    codes = sorted(
        set(
            await db.scalars(
                sa.select(register.obis_code)
                .join(meter, meter.id == register.meter_id)
                .where(meter.contract_id == contract.id)
            )
        )
    )
    if obis_code not in codes:
        raise DomainError(
            "price_register_unknown",
            code="REGISTER_UNKNOWN",
            field="obisCode",
            parameters={"registers": ", ".join(codes)},
        )


def _values(price: models.ContractPrice) -> dict[str, str | None]:
    return {
        "valid_from": price.valid_from.isoformat(),
        "obis_code": price.obis_code,
        "working_price": str(price.working_price),
        "base_price_per_year": str(price.base_price_per_year),
        "vat_rate": str(price.vat_rate),
    }


async def set_price(
    db: AsyncSession,
    actor: Actor,
    contract_id: uuid.UUID | None,
    *,
    valid_from: date,
    obis_code: str | None,
    working_price: Decimal,
    base_price_per_year: Decimal,
    vat_rate: Decimal,
    origin: audit.Origin,
) -> models.ContractPrice:
    """The contract's price from `valid_from` for the register `obis_code` (None: all
    registers without their own); a row of the same contract, register and day is
    replaced.

    Raises:
        NotFound: no such contract visible to the actor (field contractId).
        InvalidInput: an amount out of its limits or with too many decimals, or a day
            after the contract's end (named).
        DomainError: REGISTER_UNKNOWN, the contract's meters have no such register.
    """
    contract = await find_visible(
        db, models.Contract, contract_id, actor, what="contract", field="contractId", lock=True
    )
    working, base, vat = check_price(working_price, base_price_per_year, vat_rate)
    check_valid_from(contract, valid_from)
    code = optional_line(obis_code, field="obisCode", limit=OBIS_CODE_MAX)
    if code is not None:
        await _check_register(db, contract, code)
    price = models.ContractPrice
    row = await db.scalar(
        sa.select(price)
        .where(
            price.contract_id == contract.id,
            price.valid_from == valid_from,
            price.obis_code.is_(None) if code is None else price.obis_code == code,
        )
        .with_for_update()
    )
    before = None if row is None else _values(row)
    if row is None:
        row = models.ContractPrice(
            organization_id=contract.organization_id,
            contract_id=contract.id,
            valid_from=valid_from,
            obis_code=code,
        )
        db.add(row)
    row.working_price, row.base_price_per_year, row.vat_rate = working, base, vat
    await db.flush()
    audit.about(
        db,
        actor,
        row,
        "contract_price.set",
        origin,
        {"contract_id": str(contract.id), "from": before, "to": _values(row)},
    )
    return row


async def remove_price(
    db: AsyncSession, actor: Actor, price_id: uuid.UUID | None, *, origin: audit.Origin
) -> models.Contract:
    """Remove a price row; the row before it (if any) holds on. Returns its contract.

    Raises:
        NotFound: no such price visible to the actor (field priceId).
    """
    row = await find_visible(
        db, models.ContractPrice, price_id, actor, what="price", field="priceId", lock=True
    )
    audit.about(
        db,
        actor,
        row,
        "contract_price.removed",
        origin,
        {"contract_id": str(row.contract_id), "from": _values(row)},
    )
    contract = await db.get_one(models.Contract, row.contract_id)
    await db.delete(row)
    await db.flush()
    return contract
