"""Processes (epilot's workflows): staff start one on an order, a request or a contact
with its steps, and move the steps along; a process is DONE when every step is done or
skipped. Customers follow the kinds and steps their portal shares (seed 003 "Prozesse
transparent machen"; which rows they see is `scope.visible`), and are told by mail when
a shared step is done, if the portal says so.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind, Grant, ProcessStatus, ProcessStepStatus
from db.portal_settings import SharedProcess
from gql.auth.actor import Actor
from gql.domain import audit, portal_mail, portal_notices
from gql.domain.errors import InvalidInput, RuleViolation
from gql.domain.scope import find_visible
from gql.domain.text import one_line

KEY = re.compile(r"[a-z][a-z0-9_]{0,59}")
TITLE_MAX = 200
STEPS_MAX = 50
FINISHED = frozenset({ProcessStepStatus.DONE, ProcessStepStatus.SKIPPED})


@dataclass(frozen=True)
class PlannedStep:
    key: str
    title: str
    planned_for: date | None = None


def key(value: str, *, field: str) -> str:
    """A kind or step key as settings name it: lower-case letters, digits, underscores."""
    if not KEY.fullmatch(value):
        raise InvalidInput("process_key", field=field, parameters={"value": value[:60]})
    return value


async def _parent(
    db: AsyncSession,
    actor: Actor,
    *,
    order_id: uuid.UUID | None,
    opportunity_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
) -> tuple[uuid.UUID, uuid.UUID | None, uuid.UUID | None]:
    """(contact, order, opportunity) of the one record the process belongs to. Each
    record given is looked up first: one the actor may not see is not found, whatever
    else the input says."""
    order = opportunity = contact = None
    if order_id is not None:
        order = await find_visible(db, models.Order, order_id, actor, what="order", field="orderId")
    if opportunity_id is not None:
        opportunity = await find_visible(
            db, models.Opportunity, opportunity_id, actor, what="request", field="opportunityId"
        )
    if contact_id is not None:
        contact = await find_visible(
            db, models.Contact, contact_id, actor, what="contact", field="contactId"
        )
    found = [row for row in (order, opportunity, contact) if row is not None]
    if len(found) != 1:
        raise InvalidInput("process_one_parent", field="orderId")
    if order is not None:
        return order.contact_id, order.id, None
    if opportunity is not None:
        return opportunity.contact_id, None, opportunity.id
    return found[0].id, None, None


async def start(
    db: AsyncSession,
    actor: Actor,
    *,
    order_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
    contact_id: uuid.UUID | None = None,
    kind: str,
    title: str,
    steps: Sequence[PlannedStep],
    origin: audit.Origin,
) -> models.Process:
    """A new OPEN process with its steps in the given order, all PENDING."""
    contact, order, opportunity = await _parent(
        db, actor, order_id=order_id, opportunity_id=opportunity_id, contact_id=contact_id
    )
    if not steps or len(steps) > STEPS_MAX:
        raise InvalidInput("process_steps_count", field="steps", parameters={"limit": STEPS_MAX})
    keys = [key(step.key, field="steps") for step in steps]
    if len(set(keys)) != len(keys):
        raise InvalidInput("process_step_repeated", field="steps")
    process = models.Process(
        organization_id=actor.organization_id,
        contact_id=contact,
        order_id=order,
        opportunity_id=opportunity,
        kind=key(kind, field="kind"),
        title=one_line(title, field="title", limit=TITLE_MAX),
        status=ProcessStatus.OPEN,
    )
    db.add(process)
    await db.flush()
    db.add_all(
        models.ProcessStep(
            organization_id=actor.organization_id,
            process_id=process.id,
            position=position,
            key=step.key,
            title=one_line(step.title, field="steps", limit=TITLE_MAX),
            status=ProcessStepStatus.PENDING,
            planned_for=step.planned_for,
        )
        for position, step in enumerate(steps)
    )
    audit.about(db, actor, process, "process.started", origin, {"kind": kind, "steps": keys})
    await db.flush()
    return process


async def steps_of(db: AsyncSession, process: models.Process) -> list[models.ProcessStep]:
    step = models.ProcessStep
    rows = await db.scalars(
        sa.select(step).where(step.process_id == process.id).order_by(step.position)
    )
    return list(rows)


class _Progressing(Protocol):
    @property
    def status(self) -> ProcessStepStatus: ...


Step = TypeVar("Step", bound=_Progressing)


def current_step(steps: Sequence[Step]) -> Step | None:
    """Where a process stands for whoever is shown `steps` (in their order): the first
    step neither done nor skipped; None when none is left."""
    return next((step for step in steps if step.status not in FINISHED), None)


def shows_dates(actor: Actor, sharing: SharedProcess | None) -> bool:
    """Whether `actor` is told when steps are planned and done: staff always, portal
    users when their portal shares the process's kind (`sharing`; None: it does not)
    with dates."""
    return actor.is_staff or (sharing is not None and sharing.show_dates)


def overall(steps: Sequence[models.ProcessStep]) -> ProcessStatus:
    """DONE when every step is done or skipped, else OPEN."""
    return (
        ProcessStatus.DONE if all(step.status in FINISHED for step in steps) else ProcessStatus.OPEN
    )


async def update_step(
    db: AsyncSession,
    actor: Actor,
    *,
    step_id: uuid.UUID | None,
    status: ProcessStepStatus | None,
    planned_for: date | None,
    clear_planned_for: bool,
    origin: audit.Origin,
    now: datetime,
    sender: str,
) -> models.ProcessStep:
    """Move a step along (and/or plan it); the process follows. A cancelled process
    stays as it is. Portal users shown the step are told when it becomes DONE."""
    step = await find_visible(
        db, models.ProcessStep, step_id, actor, what="process step", field="stepId", lock=True
    )
    process = await find_visible(
        db, models.Process, step.process_id, actor, what="process", field="stepId", lock=True
    )
    if process.status is ProcessStatus.CANCELLED:
        raise RuleViolation("process_cancelled", field="stepId")
    before = step.status
    if status is not None:
        step.status = status
        step.done_at = (step.done_at or now) if status is ProcessStepStatus.DONE else None
    if clear_planned_for:
        step.planned_for = None
    elif planned_for is not None:
        step.planned_for = planned_for
    steps = await steps_of(db, process)
    process.status = overall(steps)
    audit.about(
        db,
        actor,
        process,
        "process.step_updated",
        origin,
        {
            "step": step.key,
            "from": before.value,
            "to": step.status.value,
            "planned_for": step.planned_for.isoformat() if step.planned_for else None,
        },
    )
    if step.status is ProcessStepStatus.DONE and before is not ProcessStepStatus.DONE:
        await _tell_customers(db, process, step, steps, sender=sender)
    await db.flush()
    return step


async def cancel(
    db: AsyncSession, actor: Actor, *, process_id: uuid.UUID | None, origin: audit.Origin
) -> models.Process:
    process = await find_visible(
        db, models.Process, process_id, actor, what="process", field="processId", lock=True
    )
    if process.status is ProcessStatus.CANCELLED:
        raise RuleViolation("process_cancelled", field="processId")
    process.status = ProcessStatus.CANCELLED
    audit.about(db, actor, process, "process.cancelled", origin)
    await db.flush()
    return process


async def _tell_customers(
    db: AsyncSession,
    process: models.Process,
    step: models.ProcessStep,
    steps: Sequence[models.ProcessStep],
    *,
    sender: str,
) -> None:
    """The PROCESS_STEP_DONE mail to the contact's portal users who see the step (their
    portal shares it: the scope decides) in portals that announce done steps."""

    def announces(portal: models.Portal) -> bool:
        shared = portal.live_settings.shared_process(process.kind)
        return shared is not None and shared.notify_on_step_done

    def values(portal: models.Portal) -> dict[str, Any]:
        shared = portal.live_settings.shared_process(process.kind)
        # Where the process stands now for them, among the shared steps after this one.
        following = current_step(
            [
                later
                for later in steps
                if later.position > step.position
                and shared is not None
                and shared.shows_step(later.key)
            ]
        )
        return {
            "process": {"title": process.title},
            "step": {
                "title": step.title,
                "done_on": step.done_at.date().isoformat() if step.done_at else "",
            },
            "next_step": {"title": following.title if following else ""},
            "process_link": portal_mail.row_page_link(portal, "processes", "Process", process.id),
        }

    await db.flush()  # the step's new state is what the scope sees
    await portal_notices.tell_contact(
        db,
        row=step,
        contact_id=process.contact_id,
        grant=Grant.PROCESS_READ,
        kind=EmailTemplateKind.PROCESS_STEP_DONE,
        sender=sender,
        values=values,
        wanted=announces,
    )
