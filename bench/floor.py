"""The floor of the benchmark: each read workload as one SQL statement (JSON aggregation
in PostgreSQL) behind a bare Starlette route, no GraphQL, no authentication. What the
GraphQL servers cost above this is their own overhead.

    export DATABASE_URL=postgresql://...
    granian --interface asgi --factory bench.floor:app_from_environment
    GET /dashboard/<contact uuid>  ->  {"displayName": ..., "contracts": [{"number": ...,
        "meters": [{"number": ..., "readings": [{"value": ..., "readAt": ...}]}]}]}
    GET /contract/<contract uuid>     the contract page (bench/workloads.py CONTRACT)
    GET /portal-users?offset=N        50 portal users of the bench portal with contacts
    GET /contacts?offset=N            50 contacts with contracts, meters, 12 readings
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

# The contract page: meters with registers and each register's last reading, the 5
# newest payments and documents, the contact's open offers and change requests.
CONTRACT_SQL = """
SELECT json_build_object(
  'id', ct.id, 'number', ct.number, 'tariffName', ct.tariff_name,
  'commodity', ct.commodity, 'status', ct.status, 'startDate', ct.start_date,
  'installmentAmount', ct.installment_amount, 'dueDay', ct.due_day,
  'paymentMethod', ct.payment_method, 'iban', ct.iban, 'balance', ct.balance,
  'meters', coalesce((
    SELECT json_agg(json_build_object(
      'id', m.id, 'number', m.number, 'unit', m.unit,
      'registers', coalesce((
        SELECT json_agg(json_build_object(
          'obisCode', g.obis_code, 'name', g.name,
          'readings', coalesce((
            SELECT json_agg(json_build_object('value', r.value, 'readAt', r.read_at))
            FROM (SELECT value, read_at FROM meter_reading WHERE register_id = g.id
                  ORDER BY read_at DESC LIMIT 1) AS r
          ), '[]'::json)
        ) ORDER BY g.obis_code)
        FROM meter_register AS g WHERE g.meter_id = m.id
      ), '[]'::json)
    ) ORDER BY m.number)
    FROM meter AS m WHERE m.contract_id = ct.id
  ), '[]'::json),
  'payments', coalesce((
    SELECT json_agg(json_build_object('amount', p.amount, 'dueDate', p.due_date,
                                      'status', p.status))
    FROM (SELECT amount, due_date, status FROM payment WHERE contract_id = ct.id
          ORDER BY due_date DESC LIMIT 5) AS p
  ), '[]'::json),
  'documents', coalesce((
    SELECT json_agg(json_build_object('name', d.name, 'type', d.type,
                                      'createdAt', d.created_at))
    FROM (SELECT name, type, created_at FROM document WHERE contract_id = ct.id
          ORDER BY created_at DESC LIMIT 5) AS d
  ), '[]'::json),
  'offers', coalesce((
    SELECT json_agg(json_build_object('number', o.number, 'title', o.title,
                                      'status', o.status, 'totalAmount', o.total_amount))
    FROM (SELECT number, title, status, total_amount FROM "order"
          WHERE contact_id = ct.contact_id AND status = 'OFFER' LIMIT 5) AS o
  ), '[]'::json),
  'changeRequests', coalesce((
    SELECT json_agg(json_build_object('attribute', q.attribute, 'status', q.status,
                                      'createdAt', q.created_at))
    FROM (SELECT attribute, status, created_at FROM change_request
          WHERE contact_id = ct.contact_id ORDER BY created_at DESC LIMIT 5) AS q
  ), '[]'::json)
)::text
FROM contract AS ct
WHERE ct.id = $1
"""

# 50 portal users of a portal with their contacts, newest first.
PORTAL_USERS_SQL = """
SELECT coalesce(json_agg(json_build_object(
  'id', u.id, 'email', u.email, 'registrationStatus', u.registration_status,
  'assignmentStatus', u.assignment_status, 'lastLoginAt', u.last_login_at,
  'contact', json_build_object('firstName', c.first_name, 'lastName', c.last_name,
                               'customerNumber', c.customer_number)
) ORDER BY u.created_at DESC, u.id DESC), '[]'::json)::text
FROM (SELECT * FROM portal_user WHERE portal_id = $1 AND registration_status = 'ACTIVE'
      ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET $2) AS u
LEFT JOIN contact AS c ON c.id = u.contact_id
"""

# 50 contacts with contracts, meters and each meter's `$2` newest readings.
CONTACTS_SQL = """
SELECT coalesce(json_agg(json_build_object(
  'id', c.id, 'displayName', concat_ws(' ', c.first_name, c.last_name),
  'contracts', coalesce((
    SELECT json_agg(json_build_object(
      'id', ct.id, 'number', ct.number,
      'meters', coalesce((
        SELECT json_agg(json_build_object(
          'id', m.id, 'number', m.number,
          'readings', coalesce((
            SELECT json_agg(json_build_object('id', r.id, 'value', r.value,
                                              'readAt', r.read_at) ORDER BY r.read_at DESC)
            FROM (SELECT id, value, read_at FROM meter_reading
                  WHERE meter_id = m.id ORDER BY read_at DESC LIMIT $2) AS r
          ), '[]'::json)
        ) ORDER BY m.number)
        FROM meter AS m WHERE m.contract_id = ct.id
      ), '[]'::json)
    ) ORDER BY ct.number)
    FROM contract AS ct WHERE ct.contact_id = c.id
  ), '[]'::json)
) ORDER BY c.customer_number), '[]'::json)::text
FROM (SELECT * FROM contact WHERE last_name = $3 ORDER BY customer_number
      LIMIT 50 OFFSET $1) AS c
"""
PAGE_READINGS = 12
BENCH_PORTAL = uuid.UUID("faa5b56c-9ac1-5b04-b480-b447dde77d97")  # bench.dataset.PORTAL
BENCH_LAST_NAME = "Bench"


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

    async def contract(request: Request) -> Response:
        try:
            contract_id = uuid.UUID(request.path_params["contract_id"])
        except ValueError:
            return PlainTextResponse("not a uuid", status_code=400)
        body = await state["pool"].fetchval(CONTRACT_SQL, contract_id)
        if body is None:
            return PlainTextResponse("no such contract", status_code=404)
        return Response(body, media_type="application/json")

    def offset(request: Request) -> int:
        return max(int(request.query_params.get("offset", "0")), 0)

    async def portal_users(request: Request) -> Response:
        body = await state["pool"].fetchval(PORTAL_USERS_SQL, BENCH_PORTAL, offset(request))
        return Response(body, media_type="application/json")

    async def contacts(request: Request) -> Response:
        body = await state["pool"].fetchval(
            CONTACTS_SQL, offset(request), PAGE_READINGS, BENCH_LAST_NAME
        )
        return Response(body, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/dashboard/{contact_id}", dashboard),
            Route("/contract/{contract_id}", contract),
            Route("/portal-users", portal_users),
            Route("/contacts", contacts),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def app_from_environment() -> Starlette:
    """ASGI factory for granian: the database from DATABASE_URL (asyncpg's DSN form, or
    SQLAlchemy's `postgresql+asyncpg://`)."""
    url = os.environ["DATABASE_URL"]
    return create_app(url.replace("postgresql+asyncpg://", "postgresql://", 1))
