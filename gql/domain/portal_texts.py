"""A portal's configured texts in the reader's language: the language they chose if the
portal offers it, else the portal's default; a text missing in that language is shown in
the default language (a half-translated portal still shows every label)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from db.portal_settings import Language, PortalSettings


def chosen_language(settings: PortalSettings, wanted: str | None) -> Language:
    """`wanted` if the portal offers it, else the portal's default language."""
    if wanted in settings.languages:
        return wanted
    return settings.default_language


def in_language(values: Mapping[Any, str], language: str, settings: PortalSettings) -> str | None:
    """The text in `language`, else in the portal's default language, else none."""
    return values.get(language) or values.get(settings.default_language) or None


def chosen_language_sql(settings: Any, wanted: Any) -> Any:
    """`chosen_language` in SQL, for a query plan: `settings` the JSONB of published
    settings (as PortalSettings stores them), `wanted` the reader's language column."""
    offered = settings["languages"].contains(sa.func.to_jsonb(wanted))
    return sa.case((offered, wanted), else_=settings["default_language"].astext)
