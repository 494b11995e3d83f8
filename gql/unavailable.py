"""A database that can not serve a request (down, restarting, or every pooled connection
busy past the pool timeout) is answered with 503, `Retry-After` and the GraphQL error
code SERVICE_UNAVAILABLE: never a bare 500, never the driver's message or a trace.

Found by the fault tests (`tests/http/test_faults.py`): with PostgreSQL stopped, requests
with a token answered a plain-text 500 (the session check in the authentication
middleware raised) and the others a GraphQL error with the driver's message
(`[Errno 2] No such file or directory`); a pool timeout the same, with SQLAlchemy's text.

A process whose admissions to the password hash stay taken past
PASSWORD_ADMISSION_WAIT_SECONDS (`passwords.Busy`) answers the same: the client is told
to retry in a few seconds, as when the database has no connection for it.
"""

from __future__ import annotations

import traceback
from typing import Any

import asyncpg.exceptions
import structlog
from sqlalchemy import exc
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.raw import connection_broken
from gql.auth import passwords

log = structlog.get_logger(__name__)

CODE = "SERVICE_UNAVAILABLE"
MESSAGE = "The service is temporarily unavailable. Try again in a few seconds."
RETRY_AFTER_SECONDS = 5


class DatabaseLost(Exception):
    """A statement of this request already found the database gone (gql.context)."""


def is_unavailable(error: BaseException | None) -> bool:
    """Whether `error` says the request could not be served now: the database
    (`is_database_unavailable`), or no admission to the password hash in time."""
    return isinstance(error, passwords.Busy) or is_database_unavailable(error)


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` says the database could not be reached or had no free
    connection (as opposed to a statement that failed)."""
    if error is None:
        return False
    if isinstance(error, DatabaseLost):
        return True
    if isinstance(error, exc.TimeoutError):  # the pool had no connection in time
        return True
    if isinstance(error, exc.DBAPIError):
        return error.connection_invalidated or is_database_unavailable(error.orig)
    # The connection ended or unusable (db/raw.py), or no connection to be had.
    if connection_broken(error) or isinstance(error, asyncpg.exceptions.TooManyConnectionsError):
        return True
    if isinstance(error, OSError | TimeoutError):
        # Connecting fails with plain OSErrors (refused, socket file gone) that the
        # driver passes on unwrapped; other OSErrors (e.g. document storage) are not ours.
        return _raised_by_driver(error)
    return is_database_unavailable(error.__cause__)


def _raised_by_driver(error: BaseException) -> bool:
    modules = (
        frame.f_globals.get("__name__", "") for frame, _ in traceback.walk_tb(error.__traceback__)
    )
    return any(module.startswith(("asyncpg.", "sqlalchemy.")) for module in modules)


def graphql_error() -> dict[str, Any]:
    return {"message": MESSAGE, "extensions": {"code": CODE}}


def has_unavailable_error(response_data: Any) -> bool:
    """Whether a GraphQL response body carries SERVICE_UNAVAILABLE."""
    errors = response_data.get("errors") if isinstance(response_data, dict) else None
    return any(
        isinstance(error, dict) and (error.get("extensions") or {}).get("code") == CODE
        for error in errors or []
    )


class DatabaseUnavailable:
    """ASGI middleware: an unavailable database raised outside GraphQL's error handling
    (the session check of the authentication middleware) becomes 503."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started or not is_database_unavailable(error):
                raise
            log.warning("database.unavailable", path=scope.get("path"), error=type(error).__name__)
            response = JSONResponse(
                {"errors": [graphql_error()]},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
