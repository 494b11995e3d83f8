"""Processes of orders and requests and their steps (resolvers only translate; the rules
live in `gql.domain.processes`, which rows a portal user sees in `scope.visible`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from db.models.enums import Grant
from gql.auth.permissions import STAFF, STAFF_AND_CUSTOMER, STAFF_AND_PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain import processes
from gql.resolvers import relations
from gql.resolvers.common import load_one
from gql.schema import enums, related
from gql.schema.crm import Contact, Opportunity, Order
from gql.schema.node import RowNode, row_of
from gql.schema.results import INPUT, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import Line

PROCESS = Grant.PROCESS_READ


async def _shows_dates(info: Info, process_id: uuid.UUID) -> bool:
    """Whether the caller sees the dates of the process's steps: staff always, portal
    users when their portal shares the kind with dates."""
    actor = info.context.actor
    if actor.is_staff:
        return True
    process = await load_one(info, models.Process, process_id)
    portal = await load_one(info, models.Portal, actor.portal_id)
    if process is None or portal is None:
        return False
    sharing = cast(models.Portal, portal).live_settings.shared_process(process.kind)
    return sharing is not None and sharing.show_dates


@strawberry.type(description="A step of a process, in its order.")
class ProcessStep(RowNode):
    __model__ = models.ProcessStep

    key: str | None = allow(
        STAFF_AND_PORTAL_USERS, grant=PROCESS, description="Stable name of the step in its kind."
    )
    title: str | None = allow(STAFF_AND_PORTAL_USERS, grant=PROCESS, description="What happens.")
    position: int | None = allow(
        STAFF_AND_PORTAL_USERS, grant=PROCESS, description="Place in the process, from 0."
    )
    status: enums.ProcessStepStatus | None = allow(
        STAFF_AND_PORTAL_USERS, grant=PROCESS, description="Progress of the step."
    )

    @allow(
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="When the step is planned; null for portal users when their portal"
        " shares the process without dates.",
    )
    async def planned_for(self, info: Info) -> date | None:
        step = row_of(self)
        shown = step.planned_for is None or await _shows_dates(info, step.process_id)
        return step.planned_for if shown else None

    @allow(
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="When the step was done; null for portal users when their portal"
        " shares the process without dates.",
    )
    async def done_at(self, info: Info) -> datetime | None:
        step = row_of(self)
        shown = step.done_at is None or await _shows_dates(info, step.process_id)
        return step.done_at if shown else None

    process: Process | None = related.one(
        relations.STEP_PROCESS,
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="The process it belongs to.",
    )


@strawberry.type(
    description="A process (workflow) of an order, a request or a contact, e.g. a house"
    " connection from the request to the installation; portal users see the kinds and"
    " steps their portal shares."
)
class Process(RowNode):
    __model__ = models.Process

    kind: str | None = allow(
        STAFF_AND_PORTAL_USERS, grant=PROCESS, description="Kind, as the portal settings share it."
    )
    title: str | None = allow(STAFF_AND_PORTAL_USERS, grant=PROCESS, description="Its title.")
    status: enums.ProcessStatus | None = allow(
        STAFF_AND_PORTAL_USERS, grant=PROCESS, description="Where it stands as a whole."
    )
    created_at: datetime | None = allow(
        STAFF_AND_PORTAL_USERS, grant=PROCESS, description="When it was started."
    )

    steps: list[ProcessStep] | None = related.rows(
        relations.PROCESS_STEPS,
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="Its steps in order (for portal users: the steps their portal shares).",
    )

    @allow(
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="The first step neither done nor skipped (of those shown); null when"
        " none is left.",
    )
    async def current_step(self, info: Info) -> ProcessStep | None:
        steps = await related.load_related(relations.PROCESS_STEPS, info, row_of(self))
        return next((s for s in steps if row_of(s).status not in processes.FINISHED), None)

    order: Order | None = related.one(
        relations.PROCESS_ORDER,
        STAFF_AND_PORTAL_USERS,
        grant=Grant.ORDER_READ,
        description="The order, if any.",
    )
    opportunity: Opportunity | None = related.one(
        relations.PROCESS_OPPORTUNITY,
        STAFF_AND_CUSTOMER,
        grant=Grant.OPPORTUNITY_READ,
        description="The request, if any.",
    )
    contact: Contact | None = related.one(
        relations.PROCESS_CONTACT, STAFF, description="The contact it is for."
    )


# --- Mutations (staff) -------------------------------------------------------------------


@strawberry.input(description="A step of a new process.")
class ProcessStepInput:
    key: Line = strawberry.field(
        description="Stable name within the kind (a-z, 0-9, _; what portal settings share)."
    )
    title: Line = strawberry.field(description="What happens, as customers read it.")
    planned_for: date | None = strawberry.field(default=None, description="When it is planned.")


@strawberry.input(
    description="A process to start: on an order, a request or a contact (exactly one)."
)
class StartProcessInput:
    order_id: relay.GlobalID | None = strawberry.field(default=None, description="The order.")
    opportunity_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The request (opportunity)."
    )
    contact_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The contact, for a process of no order or request."
    )
    kind: Line = strawberry.field(description="Kind (a-z, 0-9, _), e.g. house_connection.")
    title: Line = strawberry.field(description="Title, e.g. Hausanschluss Musterweg 1.")
    steps: list[ProcessStepInput] = strawberry.field(description="Its steps, in order (1-50).")


@strawberry.input(description="Progress of a step, or its plan.")
class UpdateProcessStepInput:
    step_id: relay.GlobalID = strawberry.field(description="The step.")
    status: enums.ProcessStepStatus | None = strawberry.field(
        default=None, description="New progress; DONE notes the time."
    )
    planned_for: date | None = strawberry.field(default=None, description="New planned date.")
    clear_planned_for: bool = strawberry.field(
        default=False, description="Remove the planned date."
    )


@strawberry.input(description="A process to stop.")
class CancelProcessInput:
    process_id: relay.GlobalID = strawberry.field(description="The process.")


@strawberry.type(description="The process as it is now.")
class ProcessPayload:
    process: Process = public("The process.")


@strawberry.type(description="The step and its process as they are now.")
class ProcessStepPayload:
    step: ProcessStep = public("The step.")
    process: Process = public("Its process (its status follows the steps).")


ProcessResult = Annotated[
    ProcessPayload | MutationError,
    strawberry.union(
        "ProcessResult",
        description="Answer of `startProcess` and `cancelProcess`: ProcessPayload, or"
        " MutationError.",
    ),
]
ProcessStepResult = Annotated[
    ProcessStepPayload | MutationError,
    strawberry.union(
        "ProcessStepResult",
        description="Answer of `updateProcessStep`: ProcessStepPayload, or MutationError"
        " (e.g. the process was cancelled).",
    ),
]


async def start_process(
    info: Info, input: Annotated[StartProcessInput, strawberry.argument(description=INPUT)]
) -> ProcessResult:
    async def work(db: AsyncSession) -> ProcessPayload:
        row = await processes.start(
            db,
            info.context.actor,
            order_id=row_id(input.order_id, "Order", "orderId"),
            opportunity_id=row_id(input.opportunity_id, "Opportunity", "opportunityId"),
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            kind=input.kind,
            title=input.title,
            steps=[
                processes.PlannedStep(step.key, step.title, step.planned_for)
                for step in input.steps
            ],
            origin=origin(info),
        )
        return ProcessPayload(process=cast(Process, row))

    return await attempt(info, work)


async def update_process_step(
    info: Info, input: Annotated[UpdateProcessStepInput, strawberry.argument(description=INPUT)]
) -> ProcessStepResult:
    async def work(db: AsyncSession) -> ProcessStepPayload:
        step = await processes.update_step(
            db,
            info.context.actor,
            step_id=row_id(input.step_id, "ProcessStep", "stepId"),
            status=input.status,
            planned_for=input.planned_for,
            clear_planned_for=input.clear_planned_for,
            origin=origin(info),
            now=now(),
            sender=info.context.settings.mail_from,
        )
        process = await db.get(models.Process, step.process_id)
        return ProcessStepPayload(step=cast(ProcessStep, step), process=cast(Process, process))

    return await attempt(info, work)


async def cancel_process(
    info: Info, input: Annotated[CancelProcessInput, strawberry.argument(description=INPUT)]
) -> ProcessResult:
    async def work(db: AsyncSession) -> ProcessPayload:
        row = await processes.cancel(
            db,
            info.context.actor,
            process_id=row_id(input.process_id, "Process", "processId"),
            origin=origin(info),
        )
        return ProcessPayload(process=cast(Process, row))

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """Processes: fields of the root `Mutation` (merged in root.py)."""

    start_process: ProcessResult | None = allow(
        STAFF,
        description="Start a process with its steps on an order, a request or a contact.",
        resolver=start_process,
    )
    update_process_step: ProcessStepResult | None = allow(
        STAFF,
        description="Move a step along or plan it; customers shown the step are told by mail"
        " when it is done (if their portal says so).",
        resolver=update_process_step,
    )
    cancel_process: ProcessResult | None = allow(
        STAFF, description="Stop a process; its steps stay as they were.", resolver=cancel_process
    )
