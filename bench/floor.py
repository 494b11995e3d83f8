"""The floor of the dashboard benchmark: the customer dashboard as one SQL statement
(JSON aggregation in PostgreSQL) behind a bare Starlette route, no GraphQL, no
authentication. What the GraphQL servers cost above this is their own overhead.

    export DATABASE_URL=postgresql://...
    granian --interface asgi --factory bench.floor:app_from_environment
    GET /dashboard/<contact uuid>  ->  {"displayName": ..., "contracts": [{"number": ...,
        "meters": [{"number": ..., "readings": [{"value": ..., "readAt": ...}]}]}]}
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

POOL_SIZE = 10  # as one worker of our server (SQLAlchemy's pool_size)

# Contracts by number, their meters by number, each meter's newest `$2` readings.
DASHBOARD_SQL = """
SELECT json_build_object(
  'displayName', concat_ws(' ', c.first_name, c.last_name),
  'contracts', coalesce((
    SELECT json_agg(json_build_object(
      'number', ct.number,
      'meters', coalesce((
        SELECT json_agg(json_build_object(
          'number', m.number,
          'readings', coalesce((
            SELECT json_agg(json_build_object('value', r.value, 'readAt', r.read_at)
                            ORDER BY r.read_at DESC)
            FROM (SELECT value, read_at FROM meter_reading
                  WHERE meter_id = m.id ORDER BY read_at DESC LIMIT $2) AS r
          ), '[]'::json)
        ) ORDER BY m.number)
        FROM meter AS m WHERE m.contract_id = ct.id
      ), '[]'::json)
    ) ORDER BY ct.number)
    FROM contract AS ct WHERE ct.contact_id = c.id
  ), '[]'::json)
)::text
FROM contact AS c
WHERE c.id = $1
"""
READINGS = 3


async def _keep_session(connection: asyncpg.Connection) -> None:
    """No reset query when a connection goes back to the pool (asyncpg's default runs
    four statements): the floor changes no session state."""


def create_app(dsn: str) -> Starlette:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            dsn, min_size=1, max_size=POOL_SIZE, reset=_keep_session
        )
        try:
            yield
        finally:
            await state["pool"].close()

    async def dashboard(request: Request) -> Response:
        try:
            contact_id = uuid.UUID(request.path_params["contact_id"])
        except ValueError:
            return PlainTextResponse("not a uuid", status_code=400)
        body = await state["pool"].fetchval(DASHBOARD_SQL, contact_id, READINGS)
        if body is None:
            return PlainTextResponse("no such contact", status_code=404)
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/dashboard/{contact_id}", dashboard),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """ASGI factory for granian: the database from DATABASE_URL (asyncpg's DSN form, or
    SQLAlchemy's `postgresql+asyncpg://`)."""
    url = os.environ["DATABASE_URL"]
    return create_app(url.replace("postgresql+asyncpg://", "postgresql://", 1))
