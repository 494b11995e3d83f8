"""The self-service rules read in advance: what `changeInstallment`,
`changePaymentMethod`, `changeDueDate` and `submitMeterReading` would accept now, so a
form can show its limits instead of learning them by failing. Every answer comes from
the functions the mutations enforce (`gql.domain.rules`, `gql.domain.readings`) over
the same inputs (`self_service.contract_facts`, `readings.stored_readings`), loaded in
batches: a page of contracts or registers costs the same statements as one."""

from __future__ import annotations

import enum
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

import orjson
import pydantic
import sqlalchemy as sa
import strawberry
from cachetools import LRUCache
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from db import models, portal_settings
from db.portal_settings import Rules
from gql import messages
from gql.auth.actor import Actor
from gql.auth.permissions import public
from gql.context import Info
from gql.domain import errors, portal_texts, readings, rules, self_service
from gql.domain.scope import visible
from gql.json_text import Json, json_rows
from gql.resolvers.computed import PROCESS_PARAMETERS, Computed, Given, moment
from gql.schema import enums
from gql.schema.results import ErrorCode, aware


@strawberry.type(description="What changeInstallment accepts for the contract now.")
class InstallmentRules:
    enabled: bool = public("Whether the portal lets customers change the installment at all.")
    min_amount: Decimal = public("The lowest amount accepted, EUR (exactly this is accepted).")
    max_amount: Decimal = public(
        "The highest amount accepted, EUR (exactly this is accepted; the current amount"
        " itself is not a change)."
    )
    change_possible: bool = public("Whether a change is accepted now (enabled, cadence).")
    next_change_at: datetime | None = public(
        "When the portal's cadence allows the next change (from that moment on); null when"
        " it allows one now."
    )
    needs_approval: bool = public(
        "Whether a change waits for staff approval (the answer is ChangeRequested)."
    )


@strawberry.type(description="What changeDueDate accepts for the contract now.")
class DueDateRules:
    enabled: bool = public("Whether the portal lets customers change the due day at all.")
    allowed_days: list[int] = public("The days of the month that can be chosen (not the current).")
    next_due_date: date = public("The next date a payment is due on the current day.")
    change_possible: bool = public("Whether a change is accepted today.")
    changeable_until: date | None = public(
        "The last day a change is accepted before the next due date; null when not today."
    )
    next_change_on: date | None = public(
        "The first day a change is accepted (today when it is); null when never."
    )
    needs_approval: bool = public(
        "Whether a change waits for staff approval (the answer is ChangeRequested)."
    )


@strawberry.enum(description="Why a payment method can not be chosen now.")
class PaymentMethodRefusal(enum.Enum):
    DISABLED = strawberry.enum_value(
        "DISABLED", description="The portal does not let customers change the payment method."
    )
    OVERDUE_PAYMENTS = strawberry.enum_value(
        "OVERDUE_PAYMENTS", description="Payments are overdue; possible once they are paid."
    )
    CADENCE_EXCEEDED = strawberry.enum_value(
        "CADENCE_EXCEEDED",
        description="Changed too often in the portal's period; see nextPossibleAt.",
    )


@strawberry.type(description="A payment method and whether changePaymentMethod accepts it now.")
class PaymentMethodOption:
    method: enums.PaymentMethod = public("The payment method.")
    current: bool = public("Whether the contract is paid this way now.")
    allowed: bool = public("Whether changePaymentMethod accepts it now.")
    reason: PaymentMethodRefusal | None = public("Why not, when not allowed.")
    message: str | None = public("Why not, in words, when not allowed.")
    next_possible_at: datetime | None = public("When it is possible, for CADENCE_EXCEEDED.")
    needs_approval: bool = public(
        "Whether choosing it waits for staff approval (a new IBAN may, when the portal"
        " requires approval of IBAN changes)."
    )


@strawberry.type(
    description="An installment interval and whether changeInstallmentInterval accepts it now."
)
class InstallmentIntervalOption:
    interval: enums.InstallmentInterval = public("The interval.")
    current: bool = public("Whether the installment is due this often now.")
    allowed: bool = public("Whether changeInstallmentInterval accepts it now.")
    amount: Decimal = public("The installment in this interval, EUR: the same sum per year as now.")
    code: ErrorCode | None = public(
        "Why not, when not allowed: DISABLED, INTERVAL_NOT_ALLOWED, CADENCE_EXCEEDED, or"
        " INVALID_INPUT (the current interval; an installment too high in it)."
    )
    message: str | None = public("Why not, in words, when not allowed.")
    next_possible_at: datetime | None = public("When it is possible, for CADENCE_EXCEEDED.")
    needs_approval: bool = public(
        "Whether choosing it waits for staff approval (the answer is ChangeRequested)."
    )


@strawberry.type(description="What submitMeterReading accepts for a register now.")
class ReadingRange:
    obis_code: str = public("The register (OBIS code), as submitMeterReading's `register`.")
    accepts_readings: bool = public("Whether the meter is in use (else every reading is refused).")
    read_at: datetime = public("The moment this range is for (the argument, default now).")
    earliest_read_at: datetime | None = public(
        "The earliest time a reading may have (the contract's start); null: no bound."
    )
    latest_read_at: datetime = public(
        "The latest time a reading may have: now (a few minutes of clock difference"
        " allowed) or the contract's end."
    )
    minimum_value: Decimal = public(
        "The lowest value accepted: the previous reading of the same count (a reading"
        " after a counter reset starts again); below: LESS_THAN_PREVIOUS."
    )
    maximum_value: Decimal = public(
        "The highest value accepted: a later reading, or what the meter's digits can show."
    )
    lowest_plausible_value: Decimal = public(
        "The lowest value accepted without overridePlausibility (below: IMPLAUSIBLE)."
    )
    highest_plausible_value: Decimal = public(
        "The highest value accepted without overridePlausibility (above: IMPLAUSIBLE)."
    )
    previous_value: Decimal | None = public("The previous reading compared with, if any.")
    previous_read_at: datetime | None = public("When it was read, if any.")


@dataclass(frozen=True)
class _InAdvance:
    rules: Rules
    approval: frozenset[str]
    facts: self_service.ContractFacts
    now: datetime


async def _in_advance(info: Info, contract: models.Contract) -> _InAdvance | None:
    """The portal's published rules and the contract's facts; None when no published
    portal applies (staff of an organization without a customer portal)."""
    context = info.context
    actor = context.actor
    if actor.portal_id is not None:
        own = await context.loaders.by_id(models.Portal).load(actor.portal_id)
        portals = [own] if own is not None else []
    else:
        portals = await context.loaders.all_visible(models.Portal, models.Portal.created_at)
    portal = self_service.rules_portal(actor, contract.organization_id, portals)
    if portal is None or portal.published_settings is None:
        return None
    portal_rules, approval = self_service.published_rules(portal)
    now = moment()

    async def load(
        execute: self_service.Execute, contracts: list[models.Contract]
    ) -> list[self_service.ContractFacts]:
        return await self_service.contract_facts(execute, contracts, now)

    facts = await context.loaders.batch("contract_facts", load).load(contract)
    return _InAdvance(portal_rules, approval, facts, now)


async def installment_rules(info: Info, contract: models.Contract) -> InstallmentRules | None:
    known = await _in_advance(info, contract)
    if known is None:
        return None
    return _installment_rules_of(
        contract.installment_amount,
        known.rules.installment,
        known.approval,
        known.facts.installment_changes,
        known.now,
    )


def _installment_rules_of(
    amount: Decimal,
    settings: portal_settings.InstallmentRules,
    approval: frozenset[str],
    changes: list[datetime],
    now: datetime,
) -> InstallmentRules:
    """The answer from the rule's inputs (gql.domain.rules), for both engines."""
    options = rules.installment_options(amount, settings, changes, now)
    return InstallmentRules(
        enabled=options.enabled,
        min_amount=options.lowest,
        max_amount=options.highest,
        change_possible=options.possible_now,
        next_change_at=options.next_change_at,
        needs_approval=self_service.INSTALLMENT_APPROVAL in approval,
    )


# --- The same answers from a query plan's statement (gql/resolvers/computed.py) -----------


_Part = TypeVar("_Part", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class _Published:
    """The parts of a portal's published settings a plan read (JSON values by name),
    each validated on first use and kept with the portals' text (`_read_portals`)."""

    parts: Mapping[str, Any]
    _validated: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def part(self, name: str, model: type[_Part]) -> _Part:
        """The part `name` as `model` validates it (its defaults when it is null)."""
        found = self._validated.get(name)
        if found is None:
            found = self._validated[name] = model.model_validate(self.parts[name] or {})
        return cast(_Part, found)

    @functools.cached_property
    def approval(self) -> frozenset[str]:
        """The attributes the portal requires staff approval for."""
        return frozenset(self.parts["approval"] or ())


@dataclass(frozen=True)
class _ReadPortal:
    """A portal as a plan reads it for the rules: what `rules_portal` chooses by, and
    the parts of its published settings the rule needs (None: not published)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    type: models.PortalType
    created_at: datetime
    published_settings: _Published | None


def _text(sql: str) -> Any:
    return sa.literal_column(sql)


def _row_version() -> Any:
    """The version of a portal's row a plan reads: its id, and the transaction that
    wrote it and where (xmin, ctid). Every update of the row (a publish, any other
    change) writes a new version with another xmin or ctid, whether or not
    published_version moves, and no two versions of a row have both alike; reading them
    does not unpack the settings."""
    table = models.Portal.__tablename__
    return sa.func.concat_ws(
        _text("':'"),
        models.Portal.id,
        sa.cast(_text(f"{table}.xmin"), sa.Text),
        sa.cast(_text(f"{table}.ctid"), sa.Text),
    )


KNOWN_PORTALS = 64  # row versions kept per set of parts (a few per tenant's portals)


class _KnownParts:
    """The parts of portals' published settings (one set of parts, as a computation reads
    them) this process has read, by the version of the portal's row they came from. A
    plan passes the versions it knows (a statement parameter this process fills in,
    computed.PROCESS_PARAMETERS) and the statement reads the parts only of a portal whose
    row is at another version: a publish, or any other change of the row, is read at
    once by every process, since the statement compares the version its own snapshot
    sees. Unpacking the settings (about 5 kB; until migration 0024 compressed and stored
    out of line) is the costliest part of reading them."""

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parameter = "known_portals_" + "_".join(parts)
        self.found: LRUCache[str, _Published] = LRUCache(KNOWN_PORTALS)
        # Through `_known`, so that the statement is told what `_published` finds.
        PROCESS_PARAMETERS[self.parameter] = lambda: _known(parts).versions()

    def versions(self) -> list[str]:
        return list(self.found)


_KNOWN: dict[tuple[str, ...], _KnownParts] = {}


def _known(parts: tuple[str, ...]) -> _KnownParts:
    found = _KNOWN.get(parts)
    if found is None:
        found = _KNOWN[parts] = _KnownParts(parts)
    return found


def _portals(actor: Actor, **parts: Any) -> Any:
    """The portals `_in_advance` chooses among (those the caller sees), as the JSON
    text of their rows with the `parts` of their published settings, or without them
    where this process has read them from the row's version already (`_KnownParts`):
    the same text for every contract of a portal until its row changes, parsed once
    (`_read_portals`)."""
    portal = models.Portal
    published = sa.type_coerce(portal.published_settings, JSONB)
    known = _known(tuple(sorted(parts)))
    versions = sa.bindparam(known.parameter, type_=postgresql.ARRAY(sa.Text), required=False)
    version = _row_version()
    is_known = sa.func.coalesce(version == sa.any_(versions), sa.false())
    pairs: list[Any] = []
    for name, value in {
        "id": portal.id,
        "organization_id": portal.organization_id,
        "type": portal.type,
        "created_at": portal.created_at,
        "published": published.is_not(None),
        "version": version,
        "known": is_known,
        **{
            name: sa.case((is_known, sa.null()), else_=part(published))
            for name, part in parts.items()
        },
    }.items():
        pairs += [_text(f"'{name}'"), value]
    described = Json(sa.cast(sa.func.json_build_object(*pairs), sa.Text), nullable=False)
    return json_rows(described, portal.__table__, where=visible(portal, actor)).sql


def _published(portal: Mapping[str, Any]) -> _Published | None:
    """The parts of a portal the statement described: as it read them, or, for a row
    version it knew, as this process read them before.

    Raises:
        LookupError: a version the plan said it knew, forgotten since (the request is
            then answered by the executor).
    """
    if not portal["published"]:
        return None
    names = tuple(name for name in portal if name not in _DESCRIBED)
    known = _known(tuple(sorted(names)))
    if portal["known"]:
        return known.found[portal["version"]]
    read = _Published(portal)
    known.found[portal["version"]] = read
    return read


# What `_portals` says of every portal besides its parts.
_DESCRIBED = frozenset(
    {"id", "organization_id", "type", "created_at", "published", "version", "known"}
)


@functools.lru_cache(maxsize=64)
def _read_portals(text: str | None) -> tuple[_ReadPortal, ...]:
    """The portals of `_portals`'s text, their settings' parts validated once per row
    version (a portal's rules change when it publishes; its row, and the text, then
    differ)."""
    return tuple(
        _ReadPortal(
            uuid.UUID(p["id"]),
            uuid.UUID(p["organization_id"]),
            models.PortalType[p["type"]],
            datetime.fromisoformat(p["created_at"]),
            _published(p),
        )
        for p in (orjson.loads(text) if text else ())
    )


@functools.lru_cache(maxsize=KNOWN_PORTALS)
def _organization(organization_id: str) -> uuid.UUID:
    """An organization's id as a plan's JSON writes it, parsed once per text (a
    process serves a few tenants; `uuid.UUID` of a text is the same every time)."""
    return uuid.UUID(organization_id)


def _rules_portal(given: Given, organization_id: str, portals: str | None) -> _Published | None:
    """`rules_portal` over the portals a plan read; their settings' parts, or None."""
    read = _read_portals(portals)
    portal = self_service.rules_portal(given.actor, _organization(organization_id), read)
    return None if portal is None else portal.published_settings


def _installment_inputs(row: Any, actor: Actor) -> list[Any]:
    now: Any = sa.func.now()  # bounds the history read only; the rule takes Python's now
    return [
        sa.cast(row.c.installment_amount, sa.Text),
        row.c.organization_id,
        _portals(
            actor,
            installment=lambda published: published["rules"]["installment"],
            approval=lambda published: published["approval_required_attributes"],
        ),
        self_service.installment_changes(row.c.id, row.c.organization_id, now),
    ]


def _planned_installment_rules(
    given: Given,
    amount: str,
    organization_id: str,
    portals: str | None,
    changes: list[str] | None,
) -> InstallmentRules | None:
    settings = _rules_portal(given, organization_id, portals)
    if settings is None:
        return None
    return _installment_rules_of(
        Decimal(amount),
        settings.part("installment", portal_settings.InstallmentRules),
        settings.approval,
        [datetime.fromisoformat(moment).astimezone(UTC) for moment in changes or ()],
        given.now,
    )


def _due_date_inputs(row: Any, actor: Actor) -> list[Any]:
    return [
        row.c.due_day,
        row.c.organization_id,
        _portals(
            actor,
            due_date=lambda published: published["rules"]["due_date"],
            approval=lambda published: published["approval_required_attributes"],
        ),
    ]


def _planned_due_date_rules(
    given: Given, due_day: int, organization_id: str, portals: str | None
) -> DueDateRules | None:
    settings = _rules_portal(given, organization_id, portals)
    if settings is None:
        return None
    return _due_date_rules_of(
        due_day,
        settings.part("due_date", portal_settings.DueDateRules),
        settings.approval,
        given.now,
    )


# Contract.dueDateRules: the contract's due day and the caller's portal's rule read by a
# plan, the answer by the rule's function.
DUE_DATE_RULES = Computed(("due_day", "organization_id"), _planned_due_date_rules, _due_date_inputs)


# Contract.installmentRules: the contract's amount, the caller's portal's rule and the
# cadence's history read by a plan, the answer by the rule's function.
INSTALLMENT_RULES = Computed(
    ("installment_amount", "organization_id", "id"),
    _planned_installment_rules,
    _installment_inputs,
)


async def due_date_rules(info: Info, contract: models.Contract) -> DueDateRules | None:
    known = await _in_advance(info, contract)
    if known is None:
        return None
    return _due_date_rules_of(contract.due_day, known.rules.due_date, known.approval, known.now)


def _due_date_rules_of(
    due_day: int,
    settings: portal_settings.DueDateRules,
    approval: frozenset[str],
    now: datetime,
) -> DueDateRules:
    """The answer from the rule's inputs (gql.domain.rules), for both engines."""
    options = rules.due_day_options(settings, due_day, now.date())
    return DueDateRules(
        enabled=options.enabled,
        allowed_days=options.days,
        next_due_date=options.next_due,
        change_possible=options.changeable_until is not None,
        changeable_until=options.changeable_until,
        next_change_on=options.changeable_from,
        needs_approval=self_service.DUE_DAY_APPROVAL in approval,
    )


async def payment_method_options(
    info: Info, contract: models.Contract
) -> list[PaymentMethodOption] | None:
    known = await _in_advance(info, contract)
    if known is None:
        return None
    refusal = rules.payment_method_refusal(
        known.rules.payment_method,
        known.facts.overdue,
        known.facts.payment_method_changes,
        known.now,
    )
    # The language is looked up only for a refusal's words (it may cost a statement).
    language = None if refusal is None else await info.context.language()
    return _payment_method_options_of(
        contract.payment_method, contract.iban is not None, known.approval, refusal, language
    )


def _payment_method_options_of(
    current: models.PaymentMethod,
    has_iban: bool,
    approval: frozenset[str],
    refusal: errors.RuleViolation | None,
    language: str | None,
) -> list[PaymentMethodOption]:
    """The answer from the rule's verdict (gql.domain.rules), for both engines."""
    # The same words as changePaymentMethod's refusal, in the caller's language.
    message = None
    if refusal is not None and language is not None:
        message = messages.message(
            refusal.code, language, refusal.parameters, refusal.message, refusal.key
        )
    # The rules do not depend on the method chosen; the approval may (a new IBAN).
    return [
        PaymentMethodOption(
            method=method,
            current=method is current,
            allowed=refusal is None,
            reason=None if refusal is None else PaymentMethodRefusal(refusal.code),
            message=message,
            next_possible_at=getattr(refusal, "next_possible_at", None),
            needs_approval=self_service.payment_method_needs_approval(
                approval, iban_changes=method is models.PaymentMethod.SEPA_DEBIT or has_iban
            ),
        )
        for method in models.PaymentMethod
    ]


async def installment_interval_options(
    info: Info, contract: models.Contract
) -> list[InstallmentIntervalOption] | None:
    known = await _in_advance(info, contract)
    if known is None:
        return None
    refusals = _interval_refusals(
        known.rules.installment_interval,
        contract.installment_interval,
        contract.installment_amount,
        known.facts.installment_interval_changes,
        known.now,
    )
    # The language is looked up only for a refusal's words (it may cost a statement).
    refused = any(refusal is not None for refusal in refusals.values())
    language = await info.context.language() if refused else None
    return _installment_interval_options_of(
        contract.installment_interval,
        contract.installment_amount,
        known.approval,
        refusals,
        language,
    )


Refusal = errors.RuleViolation | errors.InvalidInput


def _interval_refusals(
    settings: portal_settings.InstallmentIntervalRules,
    current: models.InstallmentInterval,
    amount: Decimal,
    changes: list[datetime],
    now: datetime,
) -> dict[models.InstallmentInterval, Refusal | None]:
    """The rule's verdict on every interval (gql.domain.rules)."""
    return {
        interval: rules.installment_interval_refusal(
            settings, current, interval, amount, changes, now
        )
        for interval in models.InstallmentInterval
    }


def _installment_interval_options_of(
    current: models.InstallmentInterval,
    amount: Decimal,
    approval: frozenset[str],
    refusals: dict[models.InstallmentInterval, Refusal | None],
    language: str | None,
) -> list[InstallmentIntervalOption]:
    """The answer from the rule's verdicts, for both engines."""
    options = []
    for interval, refusal in refusals.items():
        message = None
        if refusal is not None and language is not None:
            # The same words as changeInstallmentInterval's refusal, in the caller's language.
            message = messages.message(
                refusal.code, language, refusal.parameters, refusal.message, refusal.key
            )
        options.append(
            InstallmentIntervalOption(
                interval=interval,
                current=interval is current,
                allowed=refusal is None,
                amount=rules.amount_for_interval(amount, current, interval),
                code=None if refusal is None else errors.ErrorCode(refusal.code),
                message=message,
                next_possible_at=getattr(refusal, "next_possible_at", None),
                needs_approval=self_service.INSTALLMENT_INTERVAL_APPROVAL in approval,
            )
        )
    return options


# --- The same answers from a query plan's statement (gql/resolvers/computed.py) -----------


def _language_inputs(actor: Actor) -> list[Any]:
    """What the language of the caller's messages is decided from, as a plan reads it
    (the executor's Context.language reads the same)."""
    inputs = portal_texts.message_language_inputs(actor, actor.portal_id)
    return [sa.null() if sql is None else sql for sql in inputs]


def _message_language(given: Given, own: str | None, portal: str | None) -> str:
    return portal_texts.message_language(own, given.accept_language, portal)


def _moments(values: list[str] | None) -> list[datetime]:
    """Timestamps as a plan's JSON writes them (in the session's zone), in UTC."""
    return [datetime.fromisoformat(value).astimezone(UTC) for value in values or ()]


def _facts_inputs(row: Any) -> dict[str, Any]:
    now: Any = sa.func.now()  # bounds the history read only; the rule takes Python's now
    return {
        column.name: column
        for column in self_service.facts_columns(row.c.id, row.c.organization_id, now)
    }


def _payment_method_inputs(row: Any, actor: Actor) -> list[Any]:
    facts = _facts_inputs(row)
    return [
        row.c.payment_method,
        row.c.iban.is_not(None),
        row.c.organization_id,
        _portals(
            actor,
            payment_method=lambda published: published["rules"]["payment_method"],
            approval=lambda published: published["approval_required_attributes"],
        ),
        facts["payment_method_changes"],
        sa.cast(facts["overdue"], sa.Text),
        *_language_inputs(actor),
    ]


def _planned_payment_method_options(
    given: Given,
    method: str,
    has_iban: bool,
    organization_id: str,
    portals: str | None,
    changes: list[str] | None,
    overdue: str,
    own_language: str | None,
    portal_language: str | None,
) -> list[PaymentMethodOption] | None:
    settings = _rules_portal(given, organization_id, portals)
    if settings is None:
        return None
    refusal = rules.payment_method_refusal(
        settings.part("payment_method", portal_settings.PaymentMethodRules),
        Decimal(overdue),
        _moments(changes),
        given.now,
    )
    return _payment_method_options_of(
        models.PaymentMethod[method],
        has_iban,
        settings.approval,
        refusal,
        _message_language(given, own_language, portal_language),
    )


def _interval_inputs(row: Any, actor: Actor) -> list[Any]:
    return [
        row.c.installment_interval,
        sa.cast(row.c.installment_amount, sa.Text),
        row.c.organization_id,
        _portals(
            actor,
            installment_interval=lambda published: published["rules"]["installment_interval"],
            approval=lambda published: published["approval_required_attributes"],
        ),
        _facts_inputs(row)["installment_interval_changes"],
        *_language_inputs(actor),
    ]


def _planned_installment_interval_options(
    given: Given,
    interval: str,
    amount: str,
    organization_id: str,
    portals: str | None,
    changes: list[str] | None,
    own_language: str | None,
    portal_language: str | None,
) -> list[InstallmentIntervalOption] | None:
    settings = _rules_portal(given, organization_id, portals)
    if settings is None:
        return None
    current = models.InstallmentInterval[interval]
    refusals = _interval_refusals(
        settings.part("installment_interval", portal_settings.InstallmentIntervalRules),
        current,
        Decimal(amount),
        _moments(changes),
        given.now,
    )
    return _installment_interval_options_of(
        current,
        Decimal(amount),
        settings.approval,
        refusals,
        _message_language(given, own_language, portal_language),
    )


# Contract.paymentMethodOptions and .installmentIntervalOptions: the contract's method or
# interval, the caller's portal's rule, the cadence's history and what the language of
# a refusal's words is decided from read by a plan; the answer by the rule's functions.
PAYMENT_METHOD_OPTIONS = Computed(
    ("payment_method", "iban", "organization_id", "id"),
    _planned_payment_method_options,
    _payment_method_inputs,
)
INSTALLMENT_INTERVAL_OPTIONS = Computed(
    ("installment_interval", "installment_amount", "organization_id", "id"),
    _planned_installment_interval_options,
    _interval_inputs,
)


async def reading_range(
    info: Info, register: models.MeterRegister, read_at: datetime | None
) -> ReadingRange | None:
    loaders = info.context.loaders
    meter = await loaders.by_id(models.Meter).load(register.meter_id)
    if meter is None:
        return None
    period = await loaders.batch("contract_periods", readings.contract_periods).load(
        meter.contract_id
    )
    stored = await loaders.batch("stored_readings", readings.stored_readings).load(register.id)
    return _reading_range_of(
        register.obis_code,
        register.digits,
        meter.status,
        meter.counter_reset_at,
        period,
        stored,
        read_at,
        moment(),
    )


def _reading_range_of(
    obis_code: str,
    digits: int,
    meter_status: models.MeterStatus,
    counter_reset_at: datetime | None,
    period: readings.Period,
    stored: list[readings.Stored],
    read_at: datetime | None,
    now: datetime,
) -> ReadingRange:
    """The answer from the rule's inputs (gql.domain.readings), for both engines."""
    allowed = readings.reading_range(
        meter_status=meter_status,
        digits=digits,
        contract_start=period.start,
        contract_end=period.end,
        counter_reset_at=counter_reset_at,
        stored=stored,
        read_at=None if read_at is None else aware(read_at),
        now=now,
    )
    limits = allowed.limits
    return ReadingRange(
        obis_code=obis_code,
        accepts_readings=allowed.accepts_readings,
        read_at=allowed.read_at,
        earliest_read_at=allowed.earliest_read_at,
        latest_read_at=allowed.latest_read_at,
        minimum_value=limits.minimum,
        maximum_value=limits.maximum,
        lowest_plausible_value=limits.lowest_plausible,
        highest_plausible_value=limits.highest_plausible,
        previous_value=allowed.previous.value if allowed.previous else None,
        previous_read_at=allowed.previous.read_at if allowed.previous else None,
    )


def _reading_range_inputs(row: Any, actor: Actor) -> list[Any]:
    """The register's meter as the caller sees it (null: not visible), the supply
    period of its contract (whoever sees the meter: installers see no contract) and
    every reading of the register, as the executor's loaders read them."""
    meter, contract, reading = models.Meter, models.Contract, models.MeterReading
    described = sa.func.json_build_object(
        _text("'status'"),
        meter.status,
        _text("'counter_reset_at'"),
        meter.counter_reset_at,
        _text("'start'"),
        contract.start_date,
        _text("'end'"),
        contract.end_date,
    )
    of_meter = (
        sa.select(described)
        .select_from(meter)
        .outerjoin(contract, contract.id == meter.contract_id)
        .where(meter.id == row.c.meter_id, visible(meter, actor))
        .scalar_subquery()
    )
    each = sa.func.json_build_array(
        reading.read_at, sa.cast(reading.value, sa.Text), reading.status
    )
    stored = (
        sa.select(sa.func.json_agg(each)).where(reading.register_id == row.c.id).scalar_subquery()
    )
    return [row.c.obis_code, row.c.digits, of_meter, stored]


def _planned_reading_range(
    given: Given,
    obis_code: str,
    digits: int,
    meter: dict[str, Any] | None,
    stored: list[list[Any]] | None,
    read_at: datetime | None = None,
) -> ReadingRange | None:
    if meter is None:
        return None
    reset = meter["counter_reset_at"]
    return _reading_range_of(
        obis_code,
        digits,
        models.MeterStatus[meter["status"]],
        None if reset is None else _moments([reset])[0],
        readings.period_of(
            None if meter["start"] is None else date.fromisoformat(meter["start"]),
            None if meter["end"] is None else date.fromisoformat(meter["end"]),
        ),
        [
            readings.Stored(
                _moments([moment_read])[0], Decimal(value), models.MeterReadingStatus[status]
            )
            for moment_read, value, status in stored or ()
        ],
        read_at,
        given.now,
    )


# MeterRegister.readingRange(readAt:): the register, its meter as the caller sees it,
# the contract's period and the register's readings read by a plan; the answer by the
# rule's function, for the argument as the request gives it.
READING_RANGE = Computed(
    ("id", "meter_id", "digits", "obis_code"),
    _planned_reading_range,
    _reading_range_inputs,
    arguments=("read_at",),
)
