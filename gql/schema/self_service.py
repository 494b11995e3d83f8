"""Customer self-service mutations; resolvers only translate, the rules live in
`gql.domain.rules` and `gql.domain.self_service`."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from gql.auth.permissions import public
from gql.context import Info
from gql.domain import rules, self_service
from gql.domain.errors import DomainError
from gql.schema import enums
from gql.schema.crm import Contract
from gql.schema.results import MutationError, attempt, now, origin, row_id


@strawberry.input(description="A new installment (Abschlag) for a contract.")
class ChangeInstallmentInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    amount: Decimal = strawberry.field(description="EUR, at most two decimals.")


@strawberry.type(description="The contract with its new installment.")
class InstallmentChanged:
    contract: Contract = public("The contract.")


@strawberry.enum(description="Which rule refused a change.")
class RuleRefusal(enum.Enum):
    OUT_OF_RANGE = "OUT_OF_RANGE"
    CADENCE_EXCEEDED = "CADENCE_EXCEEDED"


@strawberry.type(description="The portal's rules do not allow this installment now.")
class InstallmentRefused:
    reason: RuleRefusal = public("Which rule.")
    message: str = public("What is allowed.")
    allowed_min: Decimal | None = public("Lowest allowed amount, for OUT_OF_RANGE.")
    allowed_max: Decimal | None = public("Highest allowed amount, for OUT_OF_RANGE.")
    next_possible_at: datetime | None = public("When a change is possible, for CADENCE_EXCEEDED.")


InstallmentResult = Annotated[
    InstallmentChanged | InstallmentRefused | MutationError,
    strawberry.union("ChangeInstallmentResult"),
]


async def change_installment(info: Info, input: ChangeInstallmentInput) -> InstallmentResult:
    try:
        async with info.context.unit_of_work() as db:
            contract = await _change(info, db, input)
    except rules.OutOfRange as refused:
        return InstallmentRefused(
            reason=RuleRefusal.OUT_OF_RANGE, message=refused.message,
            allowed_min=refused.allowed.minimum,
            allowed_max=refused.allowed.maximum, next_possible_at=None,
        )  # fmt: skip
    except rules.CadenceRefused as refused:
        return InstallmentRefused(
            reason=RuleRefusal.CADENCE_EXCEEDED, message=refused.message,
            allowed_min=None, allowed_max=None,
            next_possible_at=refused.next_possible_at,
        )  # fmt: skip
    except DomainError as error:
        return MutationError.of(error)
    return InstallmentChanged(contract=cast(Contract, contract))


async def _change(info: Info, db: AsyncSession, input: ChangeInstallmentInput) -> object:
    return await self_service.change_installment(
        db,
        info.context.actor,
        contract_id=row_id(input.contract_id, "Contract", "contractId"),
        amount=input.amount,
        origin=origin(info),
        now=now(),
    )


@strawberry.input(description="A new payment method for a contract.")
class ChangePaymentMethodInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    method: enums.PaymentMethod = strawberry.field(description="SEPA_DEBIT or TRANSFER.")
    iban: str | None = strawberry.field(default=None, description="For SEPA_DEBIT.")
    account_holder: str | None = strawberry.field(default=None, description="For SEPA_DEBIT.")
    mandate_accepted: bool = strawberry.field(
        default=False, description="The SEPA direct debit mandate, required for SEPA_DEBIT."
    )


@strawberry.input(description="A new day of the month for a contract's payments.")
class ChangeDueDateInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    due_day: int = strawberry.field(description="1 to 28.")


@strawberry.type(description="The contract as changed.")
class ContractChanged:
    contract: Contract = public("The contract.")


ContractChangeResult = Annotated[
    ContractChanged | MutationError, strawberry.union("ContractChangeResult")
]


async def change_payment_method(
    info: Info, input: ChangePaymentMethodInput
) -> ContractChangeResult:
    async def work(db: AsyncSession) -> ContractChanged:
        contract = await self_service.change_payment_method(
            db, info.context.actor,
            contract_id=row_id(input.contract_id, "Contract", "contractId"),
            method=input.method, iban=input.iban, account_holder=input.account_holder,
            mandate_accepted=input.mandate_accepted, origin=origin(info), now=now(),
        )  # fmt: skip
        return ContractChanged(contract=cast(Contract, contract))

    return await attempt(info, work)


async def change_due_date(info: Info, input: ChangeDueDateInput) -> ContractChangeResult:
    async def work(db: AsyncSession) -> ContractChanged:
        contract = await self_service.change_due_day(
            db, info.context.actor,
            contract_id=row_id(input.contract_id, "Contract", "contractId"),
            due_day=input.due_day, origin=origin(info), now=now(),
        )  # fmt: skip
        return ContractChanged(contract=cast(Contract, contract))

    return await attempt(info, work)
