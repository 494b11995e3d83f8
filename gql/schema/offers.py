"""Offers staff make (`createOffer`); the customer's answer is `respondToOffer`
(gql/schema/self_service.py). Resolvers only translate: the rules and limits live in
`gql.domain.offers`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from gql.auth.permissions import STAFF, allow, public
from gql.context import Info
from gql.domain import offers
from gql.schema.crm import Order
from gql.schema.results import INPUT, MutationError, attempt, notifier, now, origin, row_id
from gql.schema.scalars import Line, Text


@strawberry.input(description="One line of an offer.")
class OfferLineItemInput:
    name: Line = strawberry.field(description="What is offered (at most 200 characters).")
    quantity: Decimal = strawberry.field(
        description="How many units: above 0, at most 999999.999, up to three decimals."
    )
    unit: Line = strawberry.field(description="The unit, e.g. Stk, h, m (at most 20 characters).")
    unit_price_net: Decimal = strawberry.field(
        description="Price per unit in EUR before VAT: 0 to 1000000, up to two decimals."
    )
    vat_rate: Decimal = strawberry.field(
        description="VAT rate in percent (0 to 100, up to two decimals), e.g. 19."
    )


@strawberry.input(description="A new offer for a contact.")
class CreateOfferInput:
    contact_id: relay.GlobalID = strawberry.field(description="The customer the offer is for.")
    contract_id: relay.GlobalID | None = strawberry.field(
        default=None,
        description="The contract of that contact the offer concerns, if any (a customer who"
        " may not see the contract does not see the offer either).",
    )
    title: Line = strawberry.field(description="What is offered, in a line (at most 200).")
    description: Text | None = strawberry.field(
        default=None, description="More about the offer (at most 2000 characters)."
    )
    line_items: list[OfferLineItemInput] = strawberry.field(
        description="The offer's items, 1 to 50, in their order."
    )
    valid_until: date = strawberry.field(
        description="The last day the customer may accept it: today (in Germany) up to 365"
        " days ahead."
    )


@strawberry.type(description="The new offer (status OFFER, numbered A-<year>-<n>).")
class OfferCreated:
    order: Order = public("The offer.")


CreateOfferResult = Annotated[
    OfferCreated | MutationError,
    strawberry.union(
        "CreateOfferResult",
        description="Answer of `createOffer`: OfferCreated, or MutationError (e.g. the validity"
        " is out of range: parameters `earliest`, `latest`, `maxDays`).",
    ),
]


async def create_offer(
    info: Info, input: Annotated[CreateOfferInput, strawberry.argument(description=INPUT)]
) -> CreateOfferResult:
    async def work(db: AsyncSession) -> OfferCreated:
        order = await offers.create(
            db,
            info.context.actor,
            contact_id=row_id(input.contact_id, "Contact", "contactId"),
            contract_id=row_id(input.contract_id, "Contract", "contractId"),
            title=input.title,
            description=input.description,
            line_items=[
                offers.LineItem(
                    name=item.name,
                    quantity=item.quantity,
                    unit=item.unit,
                    unit_price_net=item.unit_price_net,
                    vat_rate=item.vat_rate,
                )
                for item in input.line_items
            ],
            valid_until=input.valid_until,
            origin=origin(info),
            sender=notifier(info).sender,
            now=now(),
        )
        return OfferCreated(order=cast(Order, order))

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """Offers: fields of the root `Mutation` (merged in root.py)."""

    create_offer: CreateOfferResult | None = allow(
        STAFF,
        description="Make a contact an offer with its line items and validity; the contact's"
        " portal users who may see it get the NEW_OFFER mail.",
        resolver=create_offer,
    )
