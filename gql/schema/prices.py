"""Staff keep a contract's tariff prices (ECP getPrices reads them as
`Contract.prices`): set one from a day on, for all registers or one, and remove one.
The rules and limits are gql/domain/prices.py's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from gql.auth.permissions import STAFF, allow, public
from gql.context import Info
from gql.domain import prices
from gql.schema.crm import Contract, ContractPrice
from gql.schema.results import INPUT, MutationError, attempt, origin, row_id
from gql.schema.scalars import Line

_WORKING = (
    f"Working price (Arbeitspreis) in EUR net per unit of the meter (kWh, m3): 0 to"
    f" {prices.WORKING_PRICE_MAX}, at most {prices.WORKING_PRICE_DECIMALS} decimals."
)
_BASE = (
    f"Base price (Grundpreis) in EUR net per year: 0 to {prices.BASE_PRICE_MAX}, at most"
    f" {prices.BASE_PRICE_DECIMALS} decimals."
)
_VAT = (
    f"VAT rate in percent (19.00, 7.00): 0 to {prices.VAT_RATE_MAX}, at most"
    f" {prices.VAT_RATE_DECIMALS} decimals."
)


@strawberry.input(
    description="A contract's price from a day on; a price of the same contract, register"
    " and day is replaced."
)
class SetContractPriceInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    valid_from: date = strawberry.field(
        description="The first day it holds (until the next price of the register); at the"
        " latest the contract's last day."
    )
    obis_code: Line | None = strawberry.field(
        default=None,
        description="The register it prices (OBIS code of a register of the contract's"
        f" meters, e.g. 1.8.1 HT, at most {prices.OBIS_CODE_MAX} characters); none: every"
        " register without a price of its own.",
    )
    working_price: Decimal = strawberry.field(description=_WORKING)
    base_price_per_year: Decimal = strawberry.field(description=_BASE)
    vat_rate: Decimal = strawberry.field(description=_VAT)


@strawberry.input(description="A price to remove; the one before it holds on.")
class RemoveContractPriceInput:
    price_id: relay.GlobalID = strawberry.field(description="The price (ContractPrice).")


@strawberry.type(description="The price as saved.")
class ContractPriceSet:
    price: ContractPrice = public("The price.")


@strawberry.type(description="The price is removed.")
class ContractPriceRemoved:
    contract: Contract = public("The contract it priced, with its prices now.")


SetContractPriceResult = Annotated[
    ContractPriceSet | MutationError,
    strawberry.union(
        "SetContractPriceResult",
        description="Answer of `setContractPrice`: ContractPriceSet, or MutationError"
        " (NOT_FOUND contractId, INVALID_INPUT naming the amount or validFrom,"
        " REGISTER_UNKNOWN obisCode with parameter `registers`).",
    ),
]
RemoveContractPriceResult = Annotated[
    ContractPriceRemoved | MutationError,
    strawberry.union(
        "RemoveContractPriceResult",
        description="Answer of `removeContractPrice`: ContractPriceRemoved, or MutationError"
        " (NOT_FOUND priceId).",
    ),
]


async def set_contract_price(
    info: Info, input: Annotated[SetContractPriceInput, strawberry.argument(description=INPUT)]
) -> SetContractPriceResult:
    async def work(db: AsyncSession) -> ContractPriceSet:
        row = await prices.set_price(
            db,
            info.context.actor,
            row_id(input.contract_id, "Contract", "contractId"),
            valid_from=input.valid_from,
            obis_code=input.obis_code,
            working_price=input.working_price,
            base_price_per_year=input.base_price_per_year,
            vat_rate=input.vat_rate,
            origin=origin(info),
        )
        return ContractPriceSet(price=cast(ContractPrice, row))

    return await attempt(info, work)


async def remove_contract_price(
    info: Info, input: Annotated[RemoveContractPriceInput, strawberry.argument(description=INPUT)]
) -> RemoveContractPriceResult:
    async def work(db: AsyncSession) -> ContractPriceRemoved:
        contract = await prices.remove_price(
            db,
            info.context.actor,
            row_id(input.price_id, "ContractPrice", "priceId"),
            origin=origin(info),
        )
        return ContractPriceRemoved(contract=cast(Contract, contract))

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """Contract prices: fields of the root `Mutation` (merged in root.py)."""

    set_contract_price: SetContractPriceResult | None = allow(
        STAFF,
        description="Set a contract's price from a day on, for all registers or one (HT/NT);"
        " audited.",
        resolver=set_contract_price,
    )
    remove_contract_price: RemoveContractPriceResult | None = allow(
        STAFF,
        description="Remove a contract's price; audited.",
        resolver=remove_contract_price,
    )
