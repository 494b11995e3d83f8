"""Processes of orders and requests and their steps (resolvers only translate; the rules
live in `gql.domain.processes`, which rows a portal user sees in `scope.visible`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, cast

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from db.models.enums import Grant
from db.portal_settings import SharedProcess
from gql.auth.actor import Actor
from gql.auth.permissions import STAFF, STAFF_AND_CUSTOMER, STAFF_AND_PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain import processes, scope
from gql.resolvers import relations
from gql.resolvers.common import load_one
from gql.resolvers.computed import Computed, Given, declared_value
from gql.schema import enums, related
from gql.schema.crm import Contact, Opportunity, Order
from gql.schema.node import RowNode, row_of
from gql.schema.results import INPUT, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import Line

PROCESS = Grant.PROCESS_READ


async def _sharing(info: Info, process_id: uuid.UUID) -> SharedProcess | None:
    """How the caller's portal shares the kind of the process (None: it does not, or
    the caller has no portal: staff)."""
    actor = info.context.actor
    if actor.portal_id is None:
        return None
    process = await load_one(info, models.Process, process_id)
    portal = await load_one(info, models.Portal, actor.portal_id)
    if process is None or portal is None:
        return None
    return cast(models.Portal, portal).live_settings.shared_process(process.kind)


def _dated_inputs(column: str) -> Callable[[Any, Actor], list[Any]]:
    """A plan's inputs of a step's date: the date, and the sharing of its process's
    kind by the caller's portal (`scope.sharing`; null for staff, who have no portal).
    The step is visible, so its process is (scope.visible's rule for steps)."""

    def inputs(row: Any, actor: Actor) -> list[Any]:
        if actor.portal_id is None:
            return [row.c[column], sa.null()]
        process = models.Process
        # Correlated by name: the sharing's SELECT around it has other tables.
        kind = (
            sa.select(process.kind)
            .where(process.id == row.c.process_id)
            .correlate(row)
            .scalar_subquery()
        )
        return [row.c[column], scope.sharing(actor, kind)]

    return inputs


def _shown(parse: Callable[[str], Any]) -> Callable[..., Any]:
    """A plan's value of a step's date (as its JSON writes it, `parse`d) from the inputs
    of `_dated_inputs`, by the rule the executor's resolver applies."""

    def compute(given: Given, value: str | None, sharing: dict[str, Any] | None) -> Any:
        shared = None if sharing is None else SharedProcess.model_validate(sharing)
        if value is None or not processes.shows_dates(given.actor, shared):
            return None
        return parse(value)

    return compute


# ProcessStep.plannedFor and .doneAt: the date and how the caller's portal shares the
# process read by a plan, shown by processes.shows_dates.
PLANNED_FOR = Computed(
    ("planned_for", "process_id"), _shown(date.fromisoformat), _dated_inputs("planned_for")
)
DONE_AT = Computed(
    ("done_at", "process_id"),
    _shown(lambda value: datetime.fromisoformat(value).astimezone(UTC)),
    _dated_inputs("done_at"),
)


def _steps_inputs(row: Any, actor: Actor) -> list[Any]:
    """The steps of the process the caller is shown, in their order: what the executor's
    `steps` loads (relations.PROCESS_STEPS, through the scope)."""
    relation, step = relations.PROCESS_STEPS, models.ProcessStep
    each = sa.func.json_build_array(step.id, step.key, step.title, step.position, step.status)
    ordered = sa.aggregate_order_by(
        sa.func.json_agg(each), *relation.order_by(), relation.id_order()
    )
    shown = sa.select(ordered).where(
        relation.join_column() == row.c[relation.join[1]],
        scope.visible_below(step, relation.parent, actor),
    )
    return [shown.scalar_subquery()]


def _planned_current_step(_given: Given, steps: list[list[Any]] | None) -> Any:
    return processes.current_step(
        [
            models.ProcessStep(
                id=uuid.UUID(step_id),
                key=key,
                title=title,
                position=position,
                status=models.ProcessStepStatus[status],
            )
            for step_id, key, title, position, status in steps or ()
        ]
    )


# Process.currentStep: the steps the caller is shown read by a plan, the current one
# chosen by processes.current_step.
CURRENT_STEP = Computed(("id",), _planned_current_step, _steps_inputs)


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
        metadata=declared_value(PLANNED_FOR),
    )
    async def planned_for(self, info: Info) -> date | None:
        step = row_of(self)
        if step.planned_for is None:
            return None
        sharing = await _sharing(info, step.process_id)
        return step.planned_for if processes.shows_dates(info.context.actor, sharing) else None

    @allow(
        STAFF_AND_PORTAL_USERS,
        grant=PROCESS,
        description="When the step was done; null for portal users when their portal"
        " shares the process without dates.",
        metadata=declared_value(DONE_AT),
    )
    async def done_at(self, info: Info) -> datetime | None:
        step = row_of(self)
        if step.done_at is None:
            return None
        sharing = await _sharing(info, step.process_id)
        return step.done_at if processes.shows_dates(info.context.actor, sharing) else None

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
        metadata=declared_value(CURRENT_STEP),
    )
    async def current_step(self, info: Info) -> ProcessStep | None:
        steps = await related.load_related(relations.PROCESS_STEPS, info, row_of(self))
        return processes.current_step(steps)

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
