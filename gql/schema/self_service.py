"""Customer self-service mutations; resolvers only translate, the rules live in
`gql.domain.rules` and `gql.domain.self_service`."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.file_uploads import Upload

from db import models
from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import (
    STAFF,
    STAFF_AND_CUSTOMER,
    STAFF_AND_PORTAL_USERS,
    Impersonation,
    allow,
    public,
)
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import documents, offers, readings, rules, self_service
from gql.resolvers.common import query_page
from gql.schema import enums
from gql.schema.change_requests import ChangeRequest, ChangeRequested
from gql.schema.crm import Contract, Document, Meter, MeterReading, Order
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.results import (
    DRY_RUN,
    INPUT,
    Error,
    MutationError,
    attempt,
    aware,
    error_fields,
    notifier,
    now,
    origin,
    row_id,
)
from gql.schema.scalars import Cursor, Iban, Line


@strawberry.input(description="A new installment (Abschlag) for a contract.")
class ChangeInstallmentInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    amount: Decimal = strawberry.field(description="EUR, at most two decimals.")
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.type(description="The contract with its new installment.")
class InstallmentChanged:
    contract: Contract = public("The contract.")


@strawberry.enum(description="Which rule refused a change.")
class RuleRefusal(enum.Enum):
    OUT_OF_RANGE = strawberry.enum_value(
        "OUT_OF_RANGE",
        description="The amount is outside what the portal allows for this contract;"
        " `allowedMin` and `allowedMax` give the range.",
    )
    CADENCE_EXCEEDED = strawberry.enum_value(
        "CADENCE_EXCEEDED",
        description="The customer already changed it as often as the portal allows in the"
        " period; `nextPossibleAt` says when a change is possible again.",
    )


@strawberry.type(
    description="The portal's rules do not allow this installment now (code OUT_OF_RANGE or"
    " CADENCE_EXCEEDED, as `reason`)."
)
class InstallmentRefused(Error):
    reason: RuleRefusal = public("Which rule.")
    allowed_min: Decimal | None = public("Lowest allowed amount, for OUT_OF_RANGE.")
    allowed_max: Decimal | None = public("Highest allowed amount, for OUT_OF_RANGE.")
    next_possible_at: datetime | None = public("When a change is possible, for CADENCE_EXCEEDED.")


InstallmentResult = Annotated[
    InstallmentChanged | ChangeRequested | InstallmentRefused | MutationError,
    strawberry.union(
        "ChangeInstallmentResult",
        description="Answer of `changeInstallment`: InstallmentChanged when applied;"
        " ChangeRequested when it waits for staff approval; InstallmentRefused when"
        " the portal's rules do not allow the amount now; or MutationError.",
    ),
]


async def change_installment(
    info: Info, input: Annotated[ChangeInstallmentInput, strawberry.argument(description=INPUT)]
) -> InstallmentResult:
    async def work(db: AsyncSession) -> InstallmentChanged | ChangeRequested | InstallmentRefused:
        try:
            contract = await self_service.change_installment(
                db,
                info.context.actor,
                contract_id=row_id(input.contract_id, "Contract", "contractId"),
                amount=input.amount,
                origin=origin(info),
                notify=notifier(info),
                now=now(),
            )
        except rules.OutOfRange as refused:  # checked before anything is written
            return InstallmentRefused(
                **error_fields(refused),
                reason=RuleRefusal.OUT_OF_RANGE,
                allowed_min=refused.allowed.minimum,
                allowed_max=refused.allowed.maximum,
                next_possible_at=None,
            )
        except rules.CadenceRefused as refused:
            return InstallmentRefused(
                **error_fields(refused),
                reason=RuleRefusal.CADENCE_EXCEEDED,
                allowed_min=None,
                allowed_max=None,
                next_possible_at=refused.next_possible_at,
            )
        if isinstance(contract, models.ChangeRequest):
            return ChangeRequested(change_request=cast(ChangeRequest, contract))
        return InstallmentChanged(contract=cast(Contract, contract))

    return await attempt(info, work, dry_run=input.dry_run)


@strawberry.input(description="A new payment method for a contract.")
class ChangePaymentMethodInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    method: enums.PaymentMethod = strawberry.field(description="SEPA_DEBIT or TRANSFER.")
    iban: Iban | None = strawberry.field(default=None, description="For SEPA_DEBIT.")
    account_holder: Line | None = strawberry.field(default=None, description="For SEPA_DEBIT.")
    mandate_accepted: bool = strawberry.field(
        default=False, description="The SEPA direct debit mandate, required for SEPA_DEBIT."
    )
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.input(description="A new interval for a contract's installment.")
class ChangeInstallmentIntervalInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    interval: enums.InstallmentInterval = strawberry.field(
        description="How often the installment is due from now on; the amount follows, so"
        " that the year's sum stays the same (Contract.installmentIntervalOptions shows it)."
    )
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.input(description="A new day of the month for a contract's payments.")
class ChangeDueDateInput:
    contract_id: relay.GlobalID = strawberry.field(description="The contract.")
    due_day: int = strawberry.field(description="1 to 28.")
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.type(description="The contract as changed.")
class ContractChanged:
    contract: Contract = public("The contract.")


ContractChangeResult = Annotated[
    ContractChanged | ChangeRequested | MutationError,
    strawberry.union(
        "ContractChangeResult",
        description="Answer of `changePaymentMethod` and `changeDueDate`: ContractChanged when"
        " applied; ChangeRequested when it waits for staff approval; or MutationError"
        " (e.g. the portal's rules do not allow it).",
    ),
]


def _changed(row: object) -> ContractChanged | ChangeRequested:
    """The contract as changed, or the request waiting for approval."""
    if isinstance(row, models.ChangeRequest):
        return ChangeRequested(change_request=cast(ChangeRequest, row))
    return ContractChanged(contract=cast(Contract, row))


async def change_payment_method(
    info: Info, input: Annotated[ChangePaymentMethodInput, strawberry.argument(description=INPUT)]
) -> ContractChangeResult:
    async def work(db: AsyncSession) -> ContractChanged | ChangeRequested:
        contract = await self_service.change_payment_method(
            db,
            info.context.actor,
            contract_id=row_id(input.contract_id, "Contract", "contractId"),
            method=input.method,
            iban=input.iban,
            account_holder=input.account_holder,
            mandate_accepted=input.mandate_accepted,
            origin=origin(info),
            notify=notifier(info),
            now=now(),
        )
        return _changed(contract)

    return await attempt(info, work, dry_run=input.dry_run)


async def change_installment_interval(
    info: Info,
    input: Annotated[ChangeInstallmentIntervalInput, strawberry.argument(description=INPUT)],
) -> ContractChangeResult:
    async def work(db: AsyncSession) -> ContractChanged | ChangeRequested:
        contract = await self_service.change_installment_interval(
            db,
            info.context.actor,
            contract_id=row_id(input.contract_id, "Contract", "contractId"),
            interval=input.interval,
            origin=origin(info),
            notify=notifier(info),
            now=now(),
        )
        return _changed(contract)

    return await attempt(info, work, dry_run=input.dry_run)


async def change_due_date(
    info: Info, input: Annotated[ChangeDueDateInput, strawberry.argument(description=INPUT)]
) -> ContractChangeResult:
    async def work(db: AsyncSession) -> ContractChanged | ChangeRequested:
        contract = await self_service.change_due_day(
            db,
            info.context.actor,
            contract_id=row_id(input.contract_id, "Contract", "contractId"),
            due_day=input.due_day,
            origin=origin(info),
            notify=notifier(info),
            now=now(),
        )
        return _changed(contract)

    return await attempt(info, work, dry_run=input.dry_run)


# --- Meter readings ------------------------------------------------------------------------


@strawberry.input(description="A meter reading (Zählerstand).")
class SubmitMeterReadingInput:
    meter_id: relay.GlobalID = strawberry.field(description="The meter.")
    value: Line = strawberry.field(description="The number on the meter (decimal point or comma).")
    client_key: Line = strawberry.field(
        description="Chosen by the client per reading; sending it again returns the first result."
    )
    register: Line | None = strawberry.field(
        default=None, description="OBIS code of the register; needed when the meter has several."
    )
    read_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    override_plausibility: bool = strawberry.field(
        default=False, description="Confirm an unusual value: it is stored for staff review."
    )
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.type(description="The reading as stored (now, or by the first submission).")
class MeterReadingSubmitted:
    reading: MeterReading = public("The reading.")
    created: bool = public("False when this clientKey was stored before (a retry).")


@strawberry.type(
    description="The reading was not stored (codes METER_NOT_FOUND, REGISTER_UNKNOWN,"
    " REGISTER_REQUIRED, INVALID_VALUE, TOO_MANY_DECIMALS, TOO_MANY_DIGITS, READ_AT_IN_FUTURE,"
    " OUTSIDE_CONTRACT_PERIOD, DUPLICATE_READING, LESS_THAN_PREVIOUS, GREATER_THAN_LATER,"
    " METER_DECOMMISSIONED or IMPLAUSIBLE)."
)
class MeterReadingRefused(Error):
    reason: str = public("The code, as text (kept for older clients; read `code`).")
    allowed_min: Decimal | None = public("Lowest plausible value, for IMPLAUSIBLE.")
    allowed_max: Decimal | None = public("Highest plausible value, for IMPLAUSIBLE.")
    unit: str | None = public("The meter's unit of allowedMin and allowedMax, for IMPLAUSIBLE.")
    register: str | None = public(
        "The register (OBIS code) whose value was refused, for submitMeterReadings."
    )


def _reading_refused(refused: readings.ReadingRefused) -> MeterReadingRefused:
    low, high = refused.allowed or (None, None)
    unit = refused.parameters.get("unit")
    register = refused.parameters.get("register")
    return MeterReadingRefused(
        **error_fields(refused),
        reason=refused.code,
        allowed_min=low,
        allowed_max=high,
        unit=str(unit) if unit is not None else None,
        register=str(register) if register is not None else None,
    )


ReadingResult = Annotated[
    MeterReadingSubmitted | MeterReadingRefused | MutationError,
    strawberry.union(
        "SubmitMeterReadingResult",
        description="Answer of `submitMeterReading`: MeterReadingSubmitted; MeterReadingRefused"
        " when the value does not fit the meter's history; or MutationError.",
    ),
]


async def submit_meter_reading(
    info: Info, input: Annotated[SubmitMeterReadingInput, strawberry.argument(description=INPUT)]
) -> ReadingResult:
    async def work(db: AsyncSession) -> MeterReadingSubmitted | MeterReadingRefused:
        try:
            submitted = await readings.submit(
                db,
                info.context.actor,
                meter_id=row_id(input.meter_id, "Meter", "meterId"),
                register=input.register,
                raw_value=input.value,
                read_at=aware(input.read_at) if input.read_at else None,
                client_key=input.client_key,
                override_plausibility=input.override_plausibility,
                origin=origin(info),
                notify=notifier(info),
                now=now(),
            )
        except readings.ReadingRefused as refused:  # checked before anything is written
            return _reading_refused(refused)
        return MeterReadingSubmitted(
            reading=cast(MeterReading, submitted.reading), created=submitted.created
        )

    return await attempt(info, work, dry_run=input.dry_run)


@strawberry.input(description="The value of one register, in submitMeterReadings.")
class RegisterReadingInput:
    register: Line = strawberry.field(description="OBIS code of the register, e.g. 1.8.1.")
    value: Line = strawberry.field(description="The number on the meter (decimal point or comma).")


@strawberry.input(
    description="Readings of every register of a meter at one moment (e.g. HT and NT),"
    " stored all or none, with an optional photo of the display."
)
class SubmitMeterReadingsInput:
    meter_id: relay.GlobalID = strawberry.field(description="The meter.")
    readings: list[RegisterReadingInput] = strawberry.field(
        description="One value per register of the meter, each register once."
    )
    client_key: Line = strawberry.field(
        description="Chosen by the client per submission; sending it again returns the first"
        " result."
    )
    read_at: datetime | None = strawberry.field(default=None, description="Default: now.")
    override_plausibility: bool = strawberry.field(
        default=False, description="Confirm unusual values: they are stored for staff review."
    )
    photo: Upload | None = strawberry.field(
        default=None,
        description="A photo of the display (multipart request): PNG, JPEG, TIFF or HEIC, sniffed"
        " from its content; kept as a METER_PHOTO document of the contract's holder.",
    )
    dry_run: bool = strawberry.field(default=False, description=DRY_RUN)


@strawberry.type(description="The readings as stored (now, or by the first submission).")
class MeterReadingsSubmitted:
    readings: list[MeterReading] = public("The readings, in the order of the input.")
    photo: Document | None = allow(
        STAFF_AND_CUSTOMER,
        grant=Grant.DOCUMENT_READ,
        description="The photo as stored, if one was sent.",
    )
    created: bool = public("False when this clientKey was stored before (a retry).")


ReadingsResult = Annotated[
    MeterReadingsSubmitted | MeterReadingRefused | MutationError,
    strawberry.union(
        "SubmitMeterReadingsResult",
        description="Answer of `submitMeterReadings`: MeterReadingsSubmitted;"
        " MeterReadingRefused when a register's value does not fit (`register` and `field`"
        " `readings.<i>.value` name it; nothing was stored); or MutationError (e.g. a"
        " register missing, or the photo not an image).",
    ),
]


async def submit_meter_readings(
    info: Info, input: Annotated[SubmitMeterReadingsInput, strawberry.argument(description=INPUT)]
) -> ReadingsResult:
    photo = None
    if input.photo is not None:
        limit = info.context.settings.document_max_bytes
        try:
            data = await documents.read_limited(cast(documents.Readable, input.photo), limit)
        except documents.UploadRefused as refused:
            return MutationError(**error_fields(refused))
        finally:
            await input.photo.close()  # type: ignore[attr-defined]
        photo = readings.Photo(data, getattr(input.photo, "filename", None))

    async with documents.undo_on_failure(info.context.storage) as storage:

        async def work(db: AsyncSession) -> MeterReadingsSubmitted | MeterReadingRefused:
            try:
                submitted = await readings.submit_all(
                    db,
                    info.context.actor,
                    storage,
                    meter_id=row_id(input.meter_id, "Meter", "meterId"),
                    values=[
                        readings.RegisterValue(item.register, item.value) for item in input.readings
                    ],
                    read_at=aware(input.read_at) if input.read_at else None,
                    client_key=input.client_key,
                    override_plausibility=input.override_plausibility,
                    photo=photo,
                    origin=origin(info),
                    notify=notifier(info),
                    now=now(),
                )
            except readings.ReadingRefused as refused:  # checked before anything is written
                return _reading_refused(refused)
            return MeterReadingsSubmitted(
                readings=cast(list[MeterReading], submitted.readings),
                photo=cast(Document | None, submitted.photo),
                created=submitted.created,
            )

        answer = await attempt(info, work, dry_run=input.dry_run)
        if input.dry_run:  # rolled back without a failure: the photo's file goes too
            for key in storage.stored:
                await documents.remove_file(info.context.storage, key)
        return answer


if TYPE_CHECKING:
    from gql.domain.readings import Decision as ReviewDecision
else:
    ReviewDecision = described_enum(
        readings.Decision,
        "What staff decide on a reading.",
        {
            readings.Decision.ACCEPT: "The value is right after all; the reading counts as"
            " submitted.",
            readings.Decision.CORRECT: "The value is wrong; `correctedValue` replaces it.",
            readings.Decision.REJECT: "The reading is discarded and does not count.",
        },
    )


@strawberry.input(description="A decision on a reading waiting for review.")
class ReviewMeterReadingInput:
    reading_id: relay.GlobalID = strawberry.field(description="The reading (PENDING_REVIEW).")
    decision: ReviewDecision = strawberry.field(description="ACCEPT, CORRECT or REJECT.")
    corrected_value: Line | None = strawberry.field(
        default=None, description="The right value, for CORRECT."
    )


@strawberry.type(description="The reviewed reading.")
class MeterReadingReviewed:
    reading: MeterReading = public("The reading with its new status.")


ReviewResult = Annotated[
    MeterReadingReviewed | MutationError,
    strawberry.union(
        "ReviewMeterReadingResult",
        description="Answer of `reviewMeterReading`: MeterReadingReviewed, or MutationError (e.g."
        " the reading no longer waits for review).",
    ),
]


async def review_meter_reading(
    info: Info, input: Annotated[ReviewMeterReadingInput, strawberry.argument(description=INPUT)]
) -> ReviewResult:
    async def work(db: AsyncSession) -> MeterReadingReviewed:
        reading = await readings.review(
            db,
            info.context.actor,
            reading_id=row_id(input.reading_id, "MeterReading", "readingId"),
            decision=input.decision,
            corrected_value=input.corrected_value,
            origin=origin(info),
        )
        return MeterReadingReviewed(reading=cast(MeterReading, reading))

    return await attempt(info, work)


@strawberry.input(description="The customer's answer to an offer (an order in status OFFER).")
class RespondToOfferInput:
    order_id: relay.GlobalID = strawberry.field(description="The offer.")
    accept: bool = strawberry.field(description="True accepts, false declines.")
    reason: Line | None = strawberry.field(default=None, description="Why, when declining.")


@strawberry.type(description="A journey the portal opens next (seed 001 journeys).")
class NextJourney:
    journey_id: str = public("The journey to open.")
    label: str | None = public("Its label in the customer's language, if configured.")


@strawberry.type(description="The answered offer and the journey the portal configured for it.")
class OfferAnswered:
    order: Order = public("The order: OPEN when accepted, DECLINED when declined.")
    journey: NextJourney | None = public("Open this journey next, if the portal set one.")


OfferResult = Annotated[
    OfferAnswered | MutationError,
    strawberry.union(
        "RespondToOfferResult",
        description="Answer of `respondToOffer`: OfferAnswered, or MutationError (e.g. the offer"
        " was already answered).",
    ),
]


async def respond_to_offer(
    info: Info, input: Annotated[RespondToOfferInput, strawberry.argument(description=INPUT)]
) -> OfferResult:
    async def work(db: AsyncSession) -> OfferAnswered:
        actor = info.context.actor
        portal = await db.get_one(models.Portal, actor.portal_id)
        user = await db.get_one(models.PortalUser, actor.subject_id)
        answered = await offers.respond(
            db,
            actor,
            order_id=row_id(input.order_id, "Order", "orderId"),
            accept=input.accept,
            reason=input.reason,
            settings=portal.live_settings,
            origin=origin(info),
            notify=notifier(info),
            now=now(),
        )
        journey = answered.journey
        return OfferAnswered(
            order=cast(Order, answered.order),
            journey=None
            if journey is None
            else NextJourney(
                journey_id=journey.journey_id,
                label=offers.journey_label(journey, user.language),
            ),
        )

    return await attempt(info, work)


@strawberry.input(description="A meter's count started again (rollover or replacement).")
class ResetMeterCounterInput:
    meter_id: relay.GlobalID = strawberry.field(description="The meter.")
    at: datetime = strawberry.field(description="When (without a zone: UTC); not in the future.")


@strawberry.type(description="The meter with its counter reset time.")
class MeterCounterReset:
    meter: Meter = public("The meter.")


ResetCounterResult = Annotated[
    MeterCounterReset | MutationError,
    strawberry.union(
        "ResetMeterCounterResult",
        description="Answer of `resetMeterCounter`: MeterCounterReset, or MutationError.",
    ),
]


async def reset_meter_counter(
    info: Info, input: Annotated[ResetMeterCounterInput, strawberry.argument(description=INPUT)]
) -> ResetCounterResult:
    async def work(db: AsyncSession) -> MeterCounterReset:
        meter = await readings.reset_counter(
            db,
            info.context.actor,
            meter_id=row_id(input.meter_id, "Meter", "meterId"),
            at=aware(input.at),
            origin=origin(info),
            now=now(),
        )
        return MeterCounterReset(meter=cast(Meter, meter))

    return await attempt(info, work)


@strawberry.type
class Query:
    """Self-service: fields of the root `Query` (merged in root.py)."""

    @allow(
        STAFF,
        description="Meter readings waiting for staff review, oldest first (submitted, then read).",
    )
    async def meter_readings_to_review(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    ) -> Connection[MeterReading] | None:
        reading = models.MeterReading
        return await query_page(
            info,
            reading,
            first,
            after,
            where=(reading.status == models.MeterReadingStatus.PENDING_REVIEW,),
            order_by=(reading.created_at, reading.read_at),
        )


@strawberry.type
class Mutation:
    """Self-service: fields of the root `Mutation` (merged in root.py)."""

    change_installment: InstallmentResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.INSTALLMENT_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change a contract's installment (Abschlag) within the portal's rules.",
        resolver=change_installment,
    )
    change_payment_method: ContractChangeResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.PAYMENT_METHOD_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change a contract's payment method (IBAN checked; rules: overdue, cadence).",
        resolver=change_payment_method,
    )
    change_installment_interval: ContractChangeResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.INSTALLMENT_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change how often a contract's installment is due, within the portal's"
        " rules (allowed intervals, cadence); the amount follows, the year's sum stays.",
        resolver=change_installment_interval,
    )
    change_due_date: ContractChangeResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.DUE_DATE_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change the day of the month payments are due (until N days before).",
        resolver=change_due_date,
    )
    submit_meter_reading: ReadingResult | None = allow(
        STAFF_AND_PORTAL_USERS,
        grant=Grant.METER_READING_CREATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Submit a meter reading (customers: their meters; installers: assigned"
        " ones; staff: any of the organization). Safe to retry with the same clientKey.",
        resolver=submit_meter_reading,
    )
    submit_meter_readings: ReadingsResult | None = allow(
        STAFF_AND_PORTAL_USERS,
        grant=Grant.METER_READING_CREATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Submit the readings of every register of a meter at once (HT and NT"
        " together, all or none), optionally with a photo of the display (multipart"
        " request). Safe to retry with the same clientKey.",
        resolver=submit_meter_readings,
    )
    review_meter_reading: ReviewResult | None = allow(
        STAFF,
        description="Accept, correct or reject a meter reading waiting for review.",
        resolver=review_meter_reading,
    )
    reset_meter_counter: ResetCounterResult | None = allow(
        STAFF,
        description="Record that a meter's count started again (rolled over or replaced):"
        " later readings are no longer compared with earlier ones.",
        resolver=reset_meter_counter,
    )
    respond_to_offer: OfferResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.ORDER_READ,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Accept or decline an offer; names the journey the portal opens next.",
        resolver=respond_to_offer,
    )
