"""A customer answers an offer (an order in status OFFER): accepted, it becomes an
open order; declined, it is closed with the customer's reason. The answer is final
(epilot's `postOrderAcceptance`), and the portal's journey for the answer is named so
the front end can open it (seed 001: "nach Annahme oder Ablehnung")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import Journey, JourneyPlacement, PortalSettings
from gql.auth.actor import Actor
from gql.domain import audit
from gql.domain.errors import RuleViolation
from gql.domain.notifications import Notifier, customer_change
from gql.domain.scope import find_visible
from gql.domain.text import optional_line


@dataclass(frozen=True)
class Answered:
    order: models.Order
    journey: Journey | None


def journey_for(settings: PortalSettings, accepted: bool) -> Journey | None:
    """The first journey the portal placed after accepting (or declining) an offer."""
    wanted = JourneyPlacement.OFFER_ACCEPTED if accepted else JourneyPlacement.OFFER_DECLINED
    return next((j for j in settings.journeys if j.placement is wanted), None)


def journey_label(journey: Journey, language: str) -> str | None:
    """The label in `language`, else in any language it has, else none."""
    labels: dict[str, str] = {str(key): value for key, value in journey.label.items()}
    return labels.get(language) or next(iter(labels.values()), None)


async def respond(
    db: AsyncSession,
    actor: Actor,
    *,
    order_id: uuid.UUID | None,
    accept: bool,
    reason: str | None,
    settings: PortalSettings,
    origin: audit.Origin,
    notify: Notifier,
    now: datetime,
) -> Answered:
    order = await find_visible(
        db, models.Order, order_id, actor, what="offer", field="orderId", lock=True
    )
    if order.status is not models.OrderStatus.OFFER:
        answered = order.offer_answered_at is not None
        raise RuleViolation(
            "offer_already_answered" if answered else "order_not_an_offer", field="orderId"
        )
    cleaned = optional_line(reason, field="reason", limit=500)
    if accept and cleaned is not None:
        raise RuleViolation("reason_only_when_declining", field="reason")
    order.status = models.OrderStatus.OPEN if accept else models.OrderStatus.DECLINED
    order.offer_answered_at = now
    order.offer_answered_by_id = actor.subject_id if actor.is_portal_user else None
    order.offer_decline_reason = cleaned
    action = "order.offer_accepted" if accept else "order.offer_declined"
    await customer_change(
        db,
        notify,
        actor,
        order,
        action,
        origin,
        {"reason": cleaned},
        details=[f"{order.number}: {order.title}"] + ([cleaned] if cleaned else []),
    )
    await db.flush()
    return Answered(order, journey_for(settings, accept))
