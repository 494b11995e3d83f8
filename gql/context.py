"""Per-request context: the session, the actor, the loaders."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import sqlalchemy as sa
import strawberry
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable

from db.raw import LEAN, LeanTransaction, on_driver, on_pool
from db.session import PortalSession, RequestSession, has_rows_to_write
from gql import messages, unavailable
from gql.auth.actor import Actor
from gql.auth.tokens import TokenService
from gql.domain import documents, portal_texts
from gql.domain.authentication import IdentityConfig, identity_config
from gql.resolvers.loaders import Loaders
from gql.settings import Settings

T = TypeVar("T")


@dataclass
class Context:
    # The request's database session, opened on first use (`session`).
    sessions: RequestSession
    actor: Actor
    settings: Settings
    tokens: TokenService
    client_ip: str | None = None
    user_agent: str | None = None
    # The request's Accept-Language header: the language of messages for callers
    # without one of their own (see `language`).
    accept_language: str | None = None
    # The portal an anonymous caller addresses (login, registration): its default
    # language is the language of their messages when the request names none.
    addressed_portal: uuid.UUID | None = None
    # Where document files go; by default what the settings configure (tests pass others).
    document_storage: documents.DocumentStorage | None = None
    # One AsyncSession must not run two statements at once; loaders of sibling fields
    # are dispatched concurrently, so every statement of the request goes through this.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Whether the request's session was closed (fields GraphQL abandoned may still ask).
    closed: Callable[[], bool] = lambda: False
    # True until the session behind the token is checked, when the authentication
    # middleware left that to the view (gql.auth.backend.KnownSessions): `actor` holds
    # the grants the check said last time, and nothing may be read before `confirm`.
    unconfirmed: bool = False
    # Built on first use (`loaders`): a planned read answers without any.
    _loaders: Loaders | None = field(default=None, init=False, repr=False)
    # Set once a statement found the database gone: the request's session is unusable
    # then (SQLAlchemy answers every later statement "Can't reconnect until invalid
    # transaction is rolled back"), so the fields still to come are told the same.
    lost: bool = field(default=False, init=False)
    # The caller's language once `language` has looked it up.
    _language: str | None = field(default=None, init=False)

    @property
    def session(self) -> AsyncSession:
        """The request's database session (opened now if it is not yet)."""
        return self.sessions()

    @property
    def loaders(self) -> Loaders:
        """The request's loaders, for the actor as it stands (`confirm` starts anew)."""
        if self._loaders is None:
            self._loaders = Loaders(self.execute, self.actor)
        return self._loaders

    def confirm(self, actor: Actor) -> None:
        """The session is checked; `actor` as the check completed it."""
        self.actor = actor
        self._loaders = None
        self.unconfirmed = False

    @property
    def identity(self) -> IdentityConfig:
        return identity_config(self.settings)

    @property
    def storage(self) -> documents.DocumentStorage:
        return self.document_storage or documents.storage_for(self.settings)

    async def execute(self, statement: Executable) -> Result[Any]:
        """Run a statement of the request, one at a time."""
        return await self._one_at_a_time(lambda: self.session.execute(statement))

    async def fetch_row(self, sql: str, arguments: Sequence[Any]) -> Sequence[Any] | None:
        """Run a compiled statement (a query plan) on the request's connection through
        asyncpg directly (db/raw.py): one prepared statement, no ORM, no transaction of
        its own; its row, or None. Its callers (the view's plan and read steps) await it
        in the request's own task before any field runs, so no sibling field can be
        abandoned mid-statement: it runs in that task, not shielded in one of its own
        (`_one_at_a_time`)."""

        async def fetch() -> Sequence[Any] | None:
            def call(driver: Any) -> Any:
                return driver.fetchrow(sql, *arguments)

            engine = self.sessions.engine
            if self.sessions.opened is None and engine is not None:
                row = await on_pool(engine, call)  # the request opens no session for it
            else:
                row = await on_driver(self.session, call)
            return cast(Sequence[Any] | None, row)

        return await self._one_at_a_time(fetch, shielded=False)

    async def _one_at_a_time(self, run: Callable[[], Awaitable[T]], *, shielded: bool = True) -> T:
        """GraphQL abandons sibling fields (cancels their tasks) once a non-null error
        has decided the answer; a statement cancelled mid-flight makes asyncpg drop the
        connection, so the statement is let finish first (milliseconds) and the
        cancellation is passed on after it. A statement no field runs (`shielded`
        False) is awaited in the caller's task: a task of its own per statement costs
        a turn of the event loop."""
        async with self.lock:
            if self.closed():
                raise asyncio.CancelledError  # the request is over; its answer is sent
            if self.lost:
                raise unavailable.DatabaseLost
            running = asyncio.ensure_future(run()) if shielded else None
            try:
                return await (run() if running is None else asyncio.shield(running))
            except asyncio.CancelledError:
                if running is not None:
                    await asyncio.wait([running])
                    if not running.cancelled():
                        running.exception()  # retrieved: the request is abandoned anyway
                raise
            except Exception as error:
                self.lost = self.lost or unavailable.is_database_unavailable(error)
                raise

    async def language(self) -> str:
        """The language of the caller's messages: a portal user's own, else the request's
        Accept-Language, else the portal's default language; staff and anonymous callers
        without a portal: Accept-Language, else German. Asked only when a message is
        needed (a refusal), so answers without one cost no statement. Before the session
        check (`unconfirmed`) nothing is read from the database: the request alone
        decides, and the answer is not kept."""
        if self.unconfirmed:
            return messages.chosen(self.accept_language) or messages.DEFAULT
        if self._language is None:
            self._language = await self._find_language()
        return self._language

    async def _find_language(self) -> str:
        """The rule's inputs in one statement (none for staff without a portal), the
        rule itself (portal_texts.message_language) in Python, as a query plan does."""
        own, portal = portal_texts.message_language_inputs(
            self.actor, self.actor.portal_id or self.addressed_portal
        )
        if own is not None or portal is not None:
            read = sa.select(*(sa.null() if sql is None else sql for sql in (own, portal)))
            row: Any = (await self.execute(read)).one()
            own, portal = row[0], row[1]
        return portal_texts.message_language(own, self.accept_language, portal)

    async def scalars(self, statement: Executable) -> Sequence[Any]:
        return (await self.execute(statement)).scalars().all()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """The one transaction of a mutation: committed on success, rolled back on error."""
        async with self.lock:
            session = self.session
            bind = session.bind
            lean = None
            if (
                isinstance(bind, AsyncEngine)
                and isinstance(session.sync_session, PortalSession)
                and not session.in_transaction()
            ):
                lean = session.info[LEAN] = LeanTransaction(bind)
            try:
                yield session
                if lean is None or _session_has_work(session):
                    await session.commit()
                if lean is not None:
                    await lean.end(commit=True)
            except BaseException:
                try:
                    if lean is None or session.in_transaction():
                        await session.rollback()
                finally:
                    if lean is not None:
                        await lean.end(commit=False)
                raise
            finally:
                if lean is not None:
                    del session.info[LEAN]


def _session_has_work(session: AsyncSession) -> bool:
    """Whether the ORM has a transaction or rows to write (its commit would flush)."""
    return session.in_transaction() or has_rows_to_write(session)


Info = strawberry.Info[Context, None]
