"""What the published settings configure for the pages a portal user sees: external
links and journeys of the navigation and the pages, and the requests and orders page;
in the reader's language, the portal's default where a text is missing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import strawberry

from db import models, portal_settings
from db.portal_settings import PortalSettings
from gql.auth.permissions import PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain.portal_texts import in_language
from gql.schema import enums
from gql.schema.crm import OPPORTUNITY, ORDER, Opportunity, Order


@strawberry.type(description="An external link of the portal's navigation (seed 001).")
class PortalLink:
    label: str = public("Label in the reader's language.")
    url: str = public("Target.")


@strawberry.type(description="A journey the portal offers, and where (seed 001 journeys).")
class PortalJourney:
    placement: enums.JourneyPlacement = public("Where it is offered.")
    journey_id: str = public("The journey to open.")
    label: str | None = public("Its label in the reader's language, if configured.")
    entity: enums.JourneyEntity | None = public(
        "The kind of record an ENTITY journey starts on; none: every kind."
    )


@strawberry.type(description="The teaser below the listed requests and orders.")
class OrdersTeaser:
    title: str | None = public("Title in the reader's language.")
    text: str | None = public("Text in the reader's language.")
    image_url: str | None = public("Image.")
    link_url: str | None = public("Where the teaser leads.")
    link_label: str | None = public("Label of the link in the reader's language.")


@strawberry.type(description="The requests and orders page as the portal configured it (seed 003).")
class OrdersPage:
    show_orders: bool = public("Whether the page lists orders.")
    show_requests: bool = public("Whether the page lists requests (opportunities).")
    order_statuses: list[enums.OrderStatus] = public("Orders in these statuses are listed.")
    request_statuses: list[enums.OpportunityStatus] = public(
        "Requests in these statuses are listed."
    )
    title: str | None = public("Page title in the reader's language.")
    text: str | None = public("Introduction in the reader's language.")
    teaser: OrdersTeaser | None = public("Teaser below the lists, if configured.")
    configured: strawberry.Private[portal_settings.OrdersPage]

    # The page's own lists, so every front end shows what the page is configured to
    # show (of the newest rows the loaders load, shared with the home page's tiles).
    @allow(
        PORTAL_USERS,
        grant=ORDER,
        description="The orders the page lists, newest first; null if it lists no orders.",
    )
    async def orders(self, info: Info) -> list[Order] | None:
        if not self.configured.show_orders:
            return None
        order = models.Order
        rows = await info.context.loaders.all_visible(order, order.created_at.desc())
        return [row for row in rows if self.configured.lists_order(row.status)]

    @allow(
        PORTAL_USERS,
        grant=OPPORTUNITY,
        description="The requests the page lists, newest first; null if it lists no requests.",
    )
    async def requests(self, info: Info) -> list[Opportunity] | None:
        if not self.configured.show_requests:
            return None
        model = models.Opportunity
        rows = await info.context.loaders.all_visible(model, model.created_at.desc())
        return [row for row in rows if self.configured.lists_request(row.status)]


@strawberry.type(description="What the portal configured for its pages, in one language.")
class PortalPages:
    external_links: list[PortalLink] = public("External links of the main navigation, in order.")
    orders_page: OrdersPage = public("The requests and orders page.")
    all_journeys: strawberry.Private[list[PortalJourney]]

    @public("Journeys the portal offers, in order; narrowed by the arguments given.")
    def journeys(
        self,
        placement: Annotated[
            enums.JourneyPlacement | None,
            strawberry.argument(description="Only journeys offered there."),
        ] = None,
        entity: Annotated[
            enums.JourneyEntity | None,
            strawberry.argument(
                description="Only journeys that start on this kind of record (ENTITY journeys"
                " for it or for every kind)."
            ),
        ] = None,
    ) -> list[PortalJourney]:
        return [
            journey
            for journey in self.all_journeys
            if (placement is None or journey.placement is placement)
            and (
                entity is None
                or (
                    journey.placement is enums.JourneyPlacement.ENTITY
                    and journey.entity in (None, entity)
                )
            )
        ]


def portal_pages(settings: PortalSettings, language: str) -> PortalPages:
    """The page configuration of `settings` (a published version) in `language`."""

    def text(values: Mapping[Any, str]) -> str | None:
        return in_language(values, language, settings)

    page = settings.orders_page
    teaser = page.teaser
    return PortalPages(
        external_links=[
            PortalLink(label=text(link.label) or "", url=str(link.url))
            for link in settings.external_links
        ],
        all_journeys=[
            PortalJourney(
                placement=journey.placement,
                journey_id=journey.journey_id,
                label=text(journey.label),
                entity=journey.entity,
            )
            for journey in settings.journeys
        ],
        orders_page=OrdersPage(
            show_orders=page.show_orders,
            show_requests=page.show_requests,
            order_statuses=list(page.order_statuses),
            request_statuses=list(page.request_statuses),
            title=text(page.title),
            text=text(page.text),
            configured=page,
            teaser=None
            if teaser is None
            else OrdersTeaser(
                title=text(teaser.title),
                text=text(teaser.text),
                image_url=str(teaser.image_url) if teaser.image_url else None,
                link_url=str(teaser.link_url) if teaser.link_url else None,
                link_label=text(teaser.link_label),
            ),
        ),
    )
