"""`GET /metrics`: the Prometheus scrape (gql/metrics.py decides what it shows), only
for the addresses `METRICS_ALLOWED` names; without that setting everyone may in
development and nobody in production (metric names and operation names say much about
an installation, and the outbox query costs a statement per scrape)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

import structlog
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import Metric
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from gql import metrics
from gql.client_address import client_address
from gql.settings import Settings

log = structlog.get_logger(__name__)


def may_scrape(settings: Settings, address: str | None) -> bool:
    """Whether a caller at `address` (as gql/client_address.py decides it) may scrape."""
    if settings.metrics_allowed is None:
        return settings.development
    if address is None:
        return False
    try:
        caller = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(caller in ipaddress.ip_network(network) for network in settings.metrics_allowed)


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    async def scrape(request: Request) -> Response:
        if not may_scrape(settings, client_address(request, settings)):
            return PlainTextResponse("Not allowed.", status_code=403)
        families: list[Metric] = []
        try:
            families = await metrics.outbox_families(request.state.session())
        except (SQLAlchemyError, OSError):
            # The process's own figures still help while the database is gone.
            log.warning("metrics.outbox_unavailable", exc_info=True)
        return Response(
            metrics.exposition(families),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    return scrape
