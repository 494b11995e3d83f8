"""Error messages in the caller's language: one catalogue module per language (de.py,
en.py), keyed by error code. Plain dictionaries rather than gettext: the messages are
keyed by code, not by their English text, there is no build step to forget, and
tests/test_error_messages.py checks each catalogue has every code."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from gql.domain.errors import Parameter
from gql.messages import de, en

LANGUAGES = ("de", "en")
DEFAULT = "de"
CATALOGUES: dict[str, dict[str, str]] = {"de": de.MESSAGES, "en": en.MESSAGES}

# German words for the cadence's period units (PeriodType values).
_UNITS = {
    "de": {"DAYS": "Tage", "WEEKS": "Wochen", "MONTHS": "Monate"},
    "en": {"DAYS": "days", "WEEKS": "weeks", "MONTHS": "months"},
}


def chosen(accept_language: str | None) -> str | None:
    """The first language of an Accept-Language header we have messages in, by weight
    (`de-DE,de;q=0.9,en;q=0.8`); None when none fits."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, options = part.strip().partition(";")
        weight = 1.0
        if options.strip().startswith("q="):
            try:
                weight = float(options.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().split("-")[0].lower()
        if language in LANGUAGES and weight > 0:
            ranked.append((-weight, position, language))
    return min(ranked)[2] if ranked else None


def show(value: Parameter, language: str) -> str:
    """A parameter as people read it in `language` (dates and decimals)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y") if language == "de" else value.isoformat()
    if isinstance(value, Decimal) and language == "de":
        return str(value).replace(".", ",")
    return str(value)


class _Filled(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"  # a parameter this refusal does not have: a bug, but not a crash


def message(code: str, language: str, parameters: Mapping[str, Parameter], detail: str) -> str:
    """The catalogue's message for `code` in `language`, its parameters filled in."""
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT])
    template = catalogue.get(code)
    if template is None:
        return detail  # a code without a message is a bug the catalogue test catches
    values = _Filled({name: show(value, language) for name, value in parameters.items()})
    if "periodUnit" in values:
        values["periodUnit"] = _UNITS[language].get(values["periodUnit"], values["periodUnit"])
    values["detail"] = detail
    return string.Formatter().vformat(template, (), values)
