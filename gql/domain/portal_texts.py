"""A portal's configured texts in the reader's language: the language they chose if the
portal offers it, else the portal's default; a text missing in that language is shown in
the default language (a half-translated portal still shows every label). And the
language of a caller's messages (refusals): their own, else the request's, else their
portal's default.

Each rule is stated once. The choice of a text's language is written over two
operations (`_Operations`) and from it both follow, Python's (`chosen_language`) and
SQL's for a query plan (`chosen_language_sql`); a message's language is decided in
Python (`message_language`) from inputs that the executor and a query plan read with
the same SQL (`message_language_inputs`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from db import models
from db.portal_settings import Language, PortalSettings, settings_parts
from gql import messages
from gql.auth.actor import Actor


@dataclass(frozen=True)
class _Operations:
    """What the language rule needs of a language: whether a list offers it, and a
    choice between two by a condition."""

    offers: Callable[[Any, Any], Any]
    either: Callable[[Any, Any, Any], Any]


def _chosen(operations: _Operations, offered: Any, default: Any, wanted: Any) -> Any:
    """The rule: `wanted` if the portal offers it, else the portal's default."""
    return operations.either(operations.offers(offered, wanted), wanted, default)


_PYTHON = _Operations(
    offers=lambda offered, wanted: wanted in offered,
    either=lambda condition, then, otherwise: then if condition else otherwise,
)
_SQL = _Operations(
    offers=lambda offered, wanted: offered.contains(sa.func.to_jsonb(wanted)),
    either=lambda condition, then, otherwise: sa.case((condition, then), else_=otherwise),
)


def chosen_language(settings: PortalSettings, wanted: str | None) -> Language:
    """`wanted` if the portal offers it, else the portal's default language."""
    return cast(Language, _chosen(_PYTHON, settings.languages, settings.default_language, wanted))


def language_settings(settings: Any) -> Any:
    """What the language rule reads of a portal's settings (`settings`: the JSONB as
    PortalSettings stores it), unpacked once (`settings_parts`): the FROM item whose
    columns `chosen_language_sql` takes."""
    return settings_parts(settings, "language_settings", languages=JSONB, default_language=sa.Text)


def chosen_language_sql(parts: Any, wanted: Any) -> Any:
    """`chosen_language` in SQL, for a query plan: `parts` the `language_settings` of
    the portal's published settings, `wanted` the reader's language column."""
    return _chosen(_SQL, parts.c.languages, parts.c.default_language, wanted)


def in_language(values: Mapping[Any, str], language: str, settings: PortalSettings) -> str | None:
    """The text in `language`, else in the portal's default language, else none."""
    return values.get(language) or values.get(settings.default_language) or None


def message_language(own: str | None, accept_language: str | None, portal: str | None) -> str:
    """The language of a caller's messages: a portal user's own (`own`), else the
    request's Accept-Language, else the default language of the caller's portal
    (`portal`); else German."""
    if own in messages.LANGUAGES:
        return str(own)
    if (asked := messages.chosen(accept_language)) is not None:
        return asked
    if portal in messages.LANGUAGES:
        return str(portal)
    return messages.DEFAULT


def message_language_inputs(actor: Actor, portal_id: Any) -> tuple[Any, Any]:
    """What `message_language` reads from the database, as scalar subqueries: the
    portal user's own language and the default language of the portal `portal_id` (of
    its live settings: as published, else the draft); None where there is nothing to
    read (no portal user, no portal)."""
    own = None
    if actor.is_portal_user and actor.subject_id is not None:
        user = models.PortalUser
        own = sa.select(user.language).where(user.id == actor.subject_id).scalar_subquery()
    default = None
    if portal_id is not None:
        portal = models.Portal
        live = sa.func.coalesce(
            sa.type_coerce(portal.published_settings, JSONB),
            sa.type_coerce(portal.draft_settings, JSONB),
            type_=JSONB,
        )
        chosen = live["default_language"].astext
        default = sa.select(chosen).where(portal.id == portal_id).scalar_subquery()
    return own, default
