"""Offers (orders in status OFFER): staff make one for a contact (`create`), with its
line items, a validity of at most `VALID_DAYS_MAX` days and the number `A-<year>-<n>`
of its organization, and the contact's portal users get the NEW_OFFER mail. The
customer answers it (`respond`) until it expires: accepted, it becomes an open order;
declined, it is closed with the customer's reason. The answer is final (epilot's
`postOrderAcceptance`), and the portal's journey for the answer is named so the front
end can open it (seed 001: "nach Annahme oder Ablehnung")."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind, Grant
from db.portal_settings import Journey, JourneyPlacement, PortalSettings
from gql.auth.actor import Actor
from gql.domain import audit, portal_mail, portal_notices
from gql.domain.consumption import ZONE
from gql.domain.errors import InvalidInput, NotFound, RuleViolation
from gql.domain.notifications import Notifier, customer_change
from gql.domain.scope import find_visible
from gql.domain.text import one_line, optional_line

# The limits of an offer: the columns of `order` and `order_line_item` are sized to them.
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
LINE_ITEMS_MAX = 50
ITEM_NAME_MAX = 200
UNIT_MAX = 20
QUANTITY_MAX = Decimal("999999.999")
UNIT_PRICE_MAX = Decimal("1000000.00")
VALID_DAYS_MAX = 365
CENT = Decimal("0.01")
THOUSANDTH = Decimal("0.001")
AUDIT_CREATED = "order.offer_created"


@dataclass(frozen=True)
class LineItem:
    """One line of an offer as staff enter it (checked by `check_line_item`)."""

    name: str
    quantity: Decimal
    unit: str
    unit_price_net: Decimal
    vat_rate: Decimal


def today(now: datetime) -> date:
    """The date in Germany at `now`: an offer is valid through its last day there."""
    return now.astimezone(ZoneInfo(ZONE)).date()


def check_valid_until(valid_until: date, today: date) -> date:
    """From today to `VALID_DAYS_MAX` days ahead, both included.

    Raises:
        InvalidInput: outside that range, with the range as parameters.
    """
    latest = today + timedelta(days=VALID_DAYS_MAX)
    if not today <= valid_until <= latest:
        raise InvalidInput(
            "offer_valid_until_range",
            field="validUntil",
            parameters={"earliest": today, "latest": latest, "maxDays": VALID_DAYS_MAX},
        )
    return valid_until


def _bounded(value: Decimal, *, step: Decimal, low: Decimal, high: Decimal, low_open: bool) -> bool:
    above = value > low if low_open else value >= low
    return value.is_finite() and value == value.quantize(step) and above and value <= high


def check_line_item(item: LineItem, index: int) -> LineItem:
    """A line item within the limits, its texts on one line, its numbers exact.

    Raises:
        InvalidInput: naming the item's field (`lineItems.<index>.<field>`).
    """
    field = f"lineItems.{index}."
    if not _bounded(
        item.quantity, step=THOUSANDTH, low=Decimal(0), high=QUANTITY_MAX, low_open=True
    ):
        raise InvalidInput(
            "line_item_quantity", field=field + "quantity", parameters={"max": QUANTITY_MAX}
        )
    if not _bounded(
        item.unit_price_net, step=CENT, low=Decimal(0), high=UNIT_PRICE_MAX, low_open=False
    ):
        raise InvalidInput(
            "line_item_unit_price", field=field + "unitPriceNet", parameters={"max": UNIT_PRICE_MAX}
        )
    if not _bounded(item.vat_rate, step=CENT, low=Decimal(0), high=Decimal(100), low_open=False):
        raise InvalidInput("line_item_vat_rate", field=field + "vatRate")
    return LineItem(
        name=one_line(item.name, field=field + "name", limit=ITEM_NAME_MAX),
        quantity=item.quantity.quantize(THOUSANDTH),
        unit=one_line(item.unit, field=field + "unit", limit=UNIT_MAX),
        unit_price_net=item.unit_price_net.quantize(CENT),
        vat_rate=item.vat_rate.quantize(CENT),
    )


def net(item: LineItem | models.OrderLineItem) -> Decimal:
    """The item's net amount, to the cent."""
    return (item.quantity * item.unit_price_net).quantize(CENT)


def gross(item: LineItem | models.OrderLineItem) -> Decimal:
    """The item's amount with VAT, to the cent (VAT rounded per item)."""
    return (net(item) * (1 + item.vat_rate / 100)).quantize(CENT)


async def next_number(db: AsyncSession, organization_id: uuid.UUID, year: int) -> str:
    """The organization's next offer number of `year`, `A-<year>-<n>`: one upsert that
    locks the counter row until the transaction ends, so two offers never get the same
    number and a rolled-back one leaves no gap."""
    counter = models.OfferNumber
    taken = await db.scalar(
        insert(counter)
        .values(organization_id=organization_id, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[counter.organization_id, counter.year],
            set_={"last": counter.last + 1},
        )
        .returning(counter.last)
    )
    return f"A-{year}-{taken}"


async def create(
    db: AsyncSession,
    actor: Actor,
    *,
    contact_id: uuid.UUID | None,
    contract_id: uuid.UUID | None,
    title: str,
    description: str | None,
    line_items: Sequence[LineItem],
    valid_until: date,
    origin: audit.Origin,
    sender: str,
    now: datetime,
) -> models.Order:
    """A new offer for a contact (optionally about one of its contracts), audited as
    `order.offer_created`, with the NEW_OFFER mail to each of the contact's portal
    users who may see it (through the outbox, in the caller's transaction).

    Raises:
        NotFound: the contact or contract is not one the actor may see, or the
            contract is not the contact's.
        InvalidInput: title, description, line items or validity outside the limits.
    """
    contact = await find_visible(
        db, models.Contact, contact_id, actor, what="contact", field="contactId"
    )
    if contract_id is not None:
        contract = await find_visible(
            db, models.Contract, contract_id, actor, what="contract", field="contractId"
        )
        if contract.contact_id != contact.id:
            raise NotFound("contract_not_of_contact", field="contractId")
    cleaned_title = one_line(title, field="title", limit=TITLE_MAX)
    cleaned_description = (description or "").strip() or None
    if cleaned_description is not None and len(cleaned_description) > DESCRIPTION_MAX:
        raise InvalidInput(
            "text_too_long", field="description", parameters={"limit": DESCRIPTION_MAX}
        )
    if not 1 <= len(line_items) <= LINE_ITEMS_MAX:
        raise InvalidInput(
            "offer_line_items_count", field="lineItems", parameters={"limit": LINE_ITEMS_MAX}
        )
    items = [check_line_item(item, index) for index, item in enumerate(line_items)]
    day = today(now)
    check_valid_until(valid_until, day)
    order = models.Order(
        id=uuid.uuid4(),
        organization_id=contact.organization_id,
        contact_id=contact.id,
        contract_id=contract_id,
        number=await next_number(db, contact.organization_id, day.year),
        title=cleaned_title,
        description=cleaned_description,
        status=models.OrderStatus.OFFER,
        total_amount=sum((gross(item) for item in items), Decimal(0)),
        offer_valid_until=valid_until,
    )
    db.add(order)
    await db.flush()
    db.add_all(
        models.OrderLineItem(
            organization_id=order.organization_id,
            order_id=order.id,
            position=position,
            name=item.name,
            quantity=item.quantity,
            unit=item.unit,
            unit_price_net=item.unit_price_net,
            vat_rate=item.vat_rate,
        )
        for position, item in enumerate(items)
    )
    total_net = sum((net(item) for item in items), Decimal(0))
    audit.about(
        db,
        actor,
        order,
        AUDIT_CREATED,
        origin,
        {
            "number": order.number,
            "contract_id": str(contract_id) if contract_id else None,
            "line_items": len(items),
            "total_net": str(total_net),
            "total_gross": str(order.total_amount),
            "valid_until": valid_until.isoformat(),
        },
    )
    await db.flush()
    offer = {
        "number": order.number,
        "title": order.title,
        "description": order.description or "",
        "line_items": [
            f"{item.quantity.normalize():f} {item.unit} {item.name}: {net(item)} EUR"
            f" + {item.vat_rate.normalize():f} %"
            for item in items
        ],
        "total_net": str(total_net),
        "total_gross": str(order.total_amount),
        "valid_until": valid_until.isoformat(),
    }
    await portal_notices.tell_contact(
        db,
        row=order,
        contact_id=contact.id,
        grant=Grant.ORDER_READ,
        kind=EmailTemplateKind.NEW_OFFER,
        sender=sender,
        values=lambda portal: {
            "offer": offer,
            "offers_link": portal_mail.page_link(portal, portal_mail.OFFERS_PAGE),
        },
    )
    return order


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
    if order.offer_valid_until is not None and today(now) > order.offer_valid_until:
        raise RuleViolation(
            f"The offer was valid until {order.offer_valid_until.isoformat()}.",
            code="OFFER_EXPIRED",
            field="orderId",
            parameters={"validUntil": order.offer_valid_until},
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
