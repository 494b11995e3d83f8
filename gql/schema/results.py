"""What every staff and self-service mutation answers when it is refused: one error type,
and one helper that runs a mutation's work in its transaction and turns expected
domain failures into that type (nothing is written then)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar, cast

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState
from strawberry import relay

from gql.auth.permissions import public
from gql.context import Info
from gql.domain import audit
from gql.domain.errors import DomainError, NotFound
from gql.domain.notifications import Notifier
from gql.schema.node import node_uuid

T = TypeVar("T")

# Description of the `input` argument of every mutation: what it carries is described on
# its input type, field by field.
INPUT = "The values of this mutation; each field is described on the input type."


@strawberry.enum(description="Why a change was refused.")
class ErrorCode(enum.Enum):
    INVALID_INPUT = strawberry.enum_value(
        "INVALID_INPUT",
        description="A value is not acceptable (format, length, range); `field` names it.",
    )
    NOT_FOUND = strawberry.enum_value(
        "NOT_FOUND",
        description="The object does not exist or is not visible to the caller (the answer"
        " is the same, so it does not reveal other customers' or organizations' data).",
    )
    CONFLICT = strawberry.enum_value(
        "CONFLICT",
        description="The change clashes with the current state, e.g. the name or email is"
        " taken or someone else changed the data first.",
    )
    RULE_VIOLATED = strawberry.enum_value(
        "RULE_VIOLATED",
        description="A business rule refuses it in the current state (e.g. the portal's"
        " settings, or the object's status); `message` says which.",
    )
    INVALID_TOKEN = strawberry.enum_value(
        "INVALID_TOKEN",
        description="The link token from an email (activation, invitation, password reset)"
        " is unknown, used or expired; ask for a new email.",
    )
    RATE_LIMITED = strawberry.enum_value(
        "RATE_LIMITED", description="Too many attempts or emails in a short time; try later."
    )
    TEMPLATE_TOO_COSTLY = strawberry.enum_value(
        "TEMPLATE_TOO_COSTLY",
        description="An email template does too much work when rendered (loops, output"
        " size); simplify it.",
    )


@strawberry.type(description="A refused change; nothing was written.")
class MutationError:
    code: ErrorCode = public("Machine-readable reason.")
    message: str = public("Human-readable reason.")
    field: str | None = public("Input field at fault (camelCase path), if one.")

    @classmethod
    def of(cls, error: DomainError) -> MutationError:
        return cls(code=_code_of(error), message=error.message, field=error.field)


def _code_of(error: DomainError) -> ErrorCode:
    """The error's code, or that of its kind when it carries a narrower one (e.g. a
    login's INVALID_EMAIL is an INVALID_INPUT here; `field` still names the input)."""
    known = {code.value: code for code in ErrorCode}
    for kind in (error, *type(error).__mro__):
        code = getattr(kind, "code", None)
        if code in known:
            return known[code]
    return ErrorCode.INVALID_INPUT


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """Times without a zone are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def notifier(info: Info) -> Notifier:
    """Where staff notifications of customer changes come from."""
    return Notifier.from_settings(info.context.settings)


def origin(info: Info) -> audit.Origin:
    return audit.Origin(info.context.client_ip, info.context.user_agent)


def row_id(global_id: relay.GlobalID | None, type_name: str, field: str) -> uuid.UUID | None:
    """The row id inside a global ID of the expected type; None when absent."""
    if global_id is None:
        return None
    parsed = node_uuid(global_id, type_name)
    if parsed is None:
        raise NotFound(f"Not a {type_name} ID.", field=field)
    return parsed


DRY_RUN = (
    "Check everything and answer as the change would, but write nothing (no change, no"
    " request for approval, no audit event, no email)."
)


class _DryRunDone(Exception):
    """Leaves a dry run's unit of work, which rolls back on any exception, with the
    answer the work gave."""

    def __init__(self, answer: object) -> None:
        super().__init__("dry run")
        self.answer = answer


def _keep_shown_rows(db: AsyncSession, answer: object) -> None:
    """The rows an answer shows keep the state the change gave them (what would be
    stored): detached before the rollback would expire them and reload the old one."""
    for value in vars(answer).values():
        state = sa.inspect(value, raiseerr=False)
        if isinstance(state, InstanceState) and state.session_id is not None:
            db.expunge(value)


async def attempt(
    info: Info, work: Callable[[AsyncSession], Awaitable[T]], *, dry_run: bool = False
) -> T | MutationError:
    """Runs `work` in the mutation's one transaction; a domain failure rolls it back and
    becomes a `MutationError`. With `dry_run` the transaction is rolled back after the
    work (every check ran, every row was flushed) and its answer returned: one place
    makes every mutation's dry run write nothing."""
    try:
        async with info.context.unit_of_work() as db:
            answer = await work(db)
            if dry_run:
                await db.flush()  # constraints are checked as for the real change
                _keep_shown_rows(db, answer)
                raise _DryRunDone(answer)
            return answer
    except _DryRunDone as done:
        return cast(T, done.answer)
    except DomainError as error:
        return MutationError.of(error)
