"""What every mutation answers when it is refused: the `Error` interface (one code enum,
the message in the caller's language, the input field, the rule's parameters), and one
helper, `attempt`, that runs a mutation's work in its transaction and turns expected
domain failures into the result's `Error` member (nothing is written then)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

import sqlalchemy as sa
import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState
from strawberry import relay

from db import raw
from db.session import has_rows_to_write
from gql import messages
from gql.auth.permissions import public
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import audit, errors, session_check
from gql.domain.errors import DomainError, NotFound, Parameter
from gql.domain.notifications import Notifier
from gql.schema.node import node_uuid

T = TypeVar("T")
E = TypeVar("E", bound="Error")

# Description of the `input` argument of every mutation: what it carries is described on
# its input type, field by field.
INPUT = "The values of this mutation; each field is described on the input type."


# One code enum for every domain, not one per domain: the `Error` interface can then
# declare `code` (GraphQL enums have no subtypes, so an interface field could not be
# typed once per domain) and a front-end handles every refusal with one fragment. Each
# value's description says where it occurs; gql/messages/ has its text in de and en.
_CODES: dict[str, str] = {
    # Every domain
    "INVALID_INPUT": "Any mutation: a value is not acceptable (format, length, range);"
    " `field` names it.",
    "NOT_FOUND": "Any mutation: the object does not exist or is not visible to the caller"
    " (the answer is the same, so it does not reveal other customers' or organizations'"
    " data).",
    "CONFLICT": "Any mutation: the change clashes with the current state, e.g. the name or"
    " email is taken or someone else changed the data first.",
    "RULE_VIOLATED": "Any mutation: a business rule refuses it in the current state (e.g."
    " the portal's settings, or the object's status); `message` says which.",
    "RATE_LIMITED": "Any mutation: too many attempts or emails in a short time; try later.",
    "REGISTRATION_ELSEWHERE": "register: the portal replaced its own registration by a link"
    " (e.g. a journey); parameter registrationLink says where to register.",
    "NOT_AUTHENTICATED": "Two-factor set-up: log in (or pass the mfaToken of the login).",
    # Registration and access
    "INVALID_TOKEN": "Registration and access: the link token from an email (activation,"
    " invitation, password reset) is unknown, used or expired; ask for a new email.",
    # Email templates
    "TEMPLATE_TOO_COSTLY": "Email templates: the template does too much work when rendered"
    " (loops, output size); simplify it.",
    # Contract self-service rules
    "DISABLED": "Contract self-service: the portal does not let customers make this change.",
    "OUT_OF_RANGE": "Contract self-service: the amount is outside what the portal allows for"
    " this contract; parameters `allowedMin` and `allowedMax` give the range.",
    "CADENCE_EXCEEDED": "Contract self-service: changed as often as the portal allows in its"
    " period; parameters `allowedChanges`, `period`, `periodUnit` and `nextPossibleAt`.",
    "OVERDUE_PAYMENTS": "Contract self-service: payments are overdue, the payment method can"
    " be changed once they are paid; parameter `overdueAmount` (EUR).",
    "TOO_CLOSE_TO_DUE_DATE": "Contract self-service: the next due date is too close for a"
    " change of the due day; parameters `nextDueDate` and `daysBefore`.",
    "INTERVAL_NOT_ALLOWED": "Contract self-service: the portal does not offer this installment"
    " interval; parameter `allowedIntervals` lists those it offers.",
    # Offers
    "OFFER_EXPIRED": "respondToOffer: the offer is no longer valid; parameter `validUntil`"
    " is its last day.",
    # Meter readings
    "METER_NOT_FOUND": "Meter readings: no such meter visible to the caller.",
    "METER_DECOMMISSIONED": "Meter readings: the meter is no longer in use.",
    "REGISTER_UNKNOWN": "Meter readings: the meter has no such register; parameter"
    " `registers` lists its registers.",
    "REGISTER_REQUIRED": "Meter readings: the meter has several registers, choose one;"
    " parameter `registers`.",
    "INVALID_VALUE": "Meter readings: the value is not a number.",
    "TOO_MANY_DECIMALS": "Meter readings: more than three decimals.",
    "TOO_MANY_DIGITS": "Meter readings: more digits than the meter shows; parameter `digits`.",
    "READ_AT_IN_FUTURE": "Meter readings: the reading's time is in the future.",
    "OUTSIDE_CONTRACT_PERIOD": "Meter readings: the reading's time is outside the contract.",
    "DUPLICATE_READING": "Meter readings: the register has a reading at that time already.",
    "LESS_THAN_PREVIOUS": "Meter readings: below the previous reading; parameters"
    " `previousValue` and `previousReadAt`.",
    "GREATER_THAN_LATER": "Meter readings: above a later reading; parameters `laterValue` and"
    " `laterReadAt`.",
    "IMPLAUSIBLE": "Meter readings: unusual for the meter (confirm with"
    " overridePlausibility); parameters `allowedMin` and `allowedMax` (the expected range)"
    " and `unit` (the meter's).",
    "OUT_OF_ORDER": "Meter reading review: a corrected value must lie between the"
    " neighbouring readings; parameters `lowerValue` and `upperValue`.",
    # Documents
    "EMPTY_FILE": "Documents: the file has no content.",
    "FILE_TOO_LARGE": "Documents: the file is larger than the limit; parameter `maxBytes`.",
    "TYPE_NOT_ALLOWED": "Documents: the content is not PDF, PNG, JPEG, TIFF or HEIC (whatever"
    " the file name says); parameter `detectedType` tells what it is, if known.",
    "EXECUTABLE": "Documents: the content is a program or script; never accepted.",
    # Login and sessions
    "INVALID_CREDENTIALS": "Login: refused (wrong password, unknown email, an access that is"
    " not active or not assigned, or one locked after failed attempts); deliberately the"
    " same answer for all, so it does not reveal which emails have an account.",
    "INVALID_EMAIL": "Login: the email is not one valid address; nothing was checked.",
    "INVALID_PASSWORD": "Login: no password was entered.",
    "INVALID_PORTAL_ID": "Login: `portalId` is not the ID of a portal.",
    "INVALID_CODE": "Login and two-factor set-up: the second-factor code (TOTP, recovery or"
    " email code) is wrong, or the login waiting for it has expired.",
    "INVALID_SESSION": "Login and sessions: the mfaToken or refresh token is unknown, used up"
    " or expired: the session has ended; log in again.",
    # Two-factor authentication
    "TOTP_NOT_ENROLLED": "Two-factor set-up: confirm before the set-up was started.",
    "TOTP_ALREADY_ENABLED": "Two-factor set-up: TOTP is set up already.",
    "TOTP_NOT_ENABLED": "Two-factor set-up: TOTP is not set up.",
    "TOTP_ENABLED": "Login codes by email: the user has TOTP; use it or a recovery code.",
    "TOTP_ONLY": "Login codes by email: staff confirm logins with an authenticator app.",
    # Impersonation
    "REASON_REQUIRED": "Impersonation: the reason is empty or longer than 500 characters.",
    "PORTAL_USER_INACTIVE": "Impersonation: the portal user can not log in.",
    # Single sign-on
    "SSO_PROVIDER_UNKNOWN": "Single sign-on: the portal has no identity provider with this slug"
    " (another portal's providers are not this portal's).",
    "SSO_REDIRECT_URI_NOT_ALLOWED": "Single sign-on: `redirectUri` is not https on the portal's"
    " (managed or verified) domain; in development http on 127.0.0.1 or localhost is allowed"
    " too.",
    "SSO_STATE_INVALID": "Single sign-on: the `state` is unknown, was used already (a replay) or"
    " the login took longer than 10 minutes; start again.",
    "SSO_NONCE_MISMATCH": "Single sign-on: the ID token's nonce is not the one of this login (an"
    " answer meant for another login).",
    "SSO_TOKEN_INVALID": "Single sign-on: the ID token failed a check (signature against the"
    " provider's keys, issuer, audience, expiry).",
    "SSO_PROVIDER_ERROR": "Single sign-on: the identity provider could not be reached, its"
    " discovery document is unusable, or it refused the code.",
    "SSO_EMAIL_NOT_VERIFIED": "Single sign-on: the provider does not say the email is verified"
    " (`email_verified`), which matching by email and creating an access need.",
    "SSO_NO_ACCOUNT": "Single sign-on: no portal access belongs to this identity and none was"
    " created (the provider creates none, the portal allows no registration without a known"
    " contact, or the email has an access that is not linked to this identity).",
    "SSO_ACCOUNT_INACTIVE": "Single sign-on: the portal access of this identity can not log in"
    " (deactivated, or waiting for its assignment to a customer).",
}

if TYPE_CHECKING:
    from gql.domain.errors import ErrorCode as ErrorCode
else:
    ErrorCode = described_enum(
        errors.ErrorCode,
        "Why a mutation was refused, for every domain (the description of each value says"
        " where it occurs and which parameters it carries).",
        {errors.ErrorCode[code]: description for code, description in _CODES.items()},
    )


@strawberry.type(description="A value of the rule that refused a change, e.g. nextPossibleAt.")
class RuleParameter:
    name: str = public("The parameter's name (camelCase), as the code's description lists.")
    value: str = public("Its value: a decimal, an integer, an ISO 8601 date or time, or text.")


async def _message(root: Error, info: Info) -> str:
    # Resolved when the answer is written, after the mutation's unit of work: the
    # caller's language may need a statement, which must not run inside the work.
    language = await info.context.language()
    return messages.message(root.code, language, root.values, root.detail, root.key)


@strawberry.interface(
    description="Every refusal of a mutation: one shape, whatever the domain. Nothing was"
    " written. Select `... on Error { code message field parameters { name value } }`."
)
class Error:
    code: ErrorCode = public("Machine-readable reason.")
    message: str = public(
        "The reason for people, in the caller's language: the portal user's language,"
        " else the request's Accept-Language, else the portal's default language (staff:"
        " Accept-Language, else German).",
        resolver=_message,
    )
    field: str | None = public(
        "The input field it concerns, as its camelCase path inside `input` (e.g. `iban`,"
        " `changes.design.primaryColor`); null when it concerns no single field."
    )
    parameters: list[RuleParameter] = public(
        "The values of the rule that refused it (e.g. allowedMin, nextPossibleAt); empty"
        " when it has none."
    )
    detail: str = public(
        "The same specific explanation as `message`, always in English (for support and logs)."
    )
    # The parameters as the rule gave them, for the message in the caller's language.
    values: strawberry.Private[Mapping[str, Parameter]]
    # The message key of the specific sentence (gql/messages/), if the service gave one.
    key: strawberry.Private[str]

    @classmethod
    def of(cls, error: DomainError) -> Self:
        return cls(**error_fields(error))


@strawberry.type(description="A refused change; nothing was written.")
class MutationError(Error):
    pass


def error_fields(error: DomainError) -> dict[str, Any]:
    """The fields of the `Error` interface for a domain failure: the one place domain
    errors become the GraphQL shape (types with more fields add theirs)."""
    return {
        "code": _code_of(error),
        "field": error.field,
        "parameters": [
            RuleParameter(name=name, value=_iso(value)) for name, value in error.parameters.items()
        ],
        "detail": error.message,
        "values": error.parameters,
        "key": error.key,
    }


def _iso(value: Parameter) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _code_of(error: DomainError) -> ErrorCode:
    """The error's code, or that of its kind when the code is not one of ErrorCode's
    (tests/test_error_messages.py checks the codes the domain raises are)."""
    for kind in (error, *type(error).__mro__):
        code = getattr(kind, "code", None)
        if isinstance(code, str) and code in ErrorCode.__members__:
            return ErrorCode(code)
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
        raise NotFound("not_an_id", field=field, parameters={"type": type_name})
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
    info: Info,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    dry_run: bool = False,
    refusal: type[E] = MutationError,  # type: ignore[assignment]
    portal: relay.GlobalID | uuid.UUID | None = None,
) -> T | E:
    """Runs `work` in the mutation's one transaction; a domain failure rolls it back and
    becomes the result's error member (`refusal`, by default a `MutationError`): every
    mutation's unit of work and every refusal's shape go through here. With `dry_run`
    the transaction is rolled back after the work (every check ran, every row was
    flushed) and its answer returned: one place makes every mutation's dry run write
    nothing. `portal`: the portal an anonymous caller addresses (login, registration),
    whose default language its refusals are in when the request names none."""
    if portal is not None and info.context.addressed_portal is None:
        info.context.addressed_portal = (
            portal if isinstance(portal, uuid.UUID) else node_uuid(portal, "Portal")
        )
    try:
        async with info.context.unit_of_work() as db:
            if dry_run:
                raw.rolled_back(db)  # its writes stay in the transaction rolled back
            answer = await work(db)
            if dry_run:
                if has_rows_to_write(db):  # raw writes have already run on the driver
                    await db.flush()  # constraints are checked as for the real change
                _keep_shown_rows(db, answer)
                raise _DryRunDone(answer)
            return answer
    except _DryRunDone as done:
        return cast(T, done.answer)
    except session_check.CheckSaidOtherwise:
        # Rolled back; the view answers instead: 401, or the mutation again for the
        # grants the session has now (gql/domain/session_check.py).
        return cast(E, None)
    except DomainError as error:
        return refusal.of(error)
