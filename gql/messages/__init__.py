"""Error messages in the caller's language: one catalogue module per language (de.py,
en.py), keyed by error code, and the services' specific sentences keyed by message key.
Plain dictionaries rather than gettext: the messages are keyed by code or key, not by
their English text, there is no build step to forget, and tests/test_error_contract.py
checks each catalogue has every code and key with the same placeholders."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from gql.messages import de, en

# A rule's parameters as the refusal names them (e.g. `nextPossibleAt`): what a front-end
# shows next to the message, and what the message catalogues fill in.
Parameter = Decimal | int | str | date | datetime

LANGUAGES = ("de", "en")
DEFAULT = "de"
CATALOGUES: dict[str, dict[str, str]] = {"de": de.MESSAGES, "en": en.MESSAGES}
# The specific sentences, keyed by the message key a service raises with (e.g.
# `account_holder_required`), with the refusal's parameters as placeholders.
SPECIFIC: dict[str, dict[str, str]] = {"de": de.SPECIFIC, "en": en.SPECIFIC}

_DE_INTERVALS = {
    "MONTHLY": "monatlich",
    "BIMONTHLY": "zweimonatlich",
    "QUARTERLY": "vierteljährlich",
    "HALF_YEARLY": "halbjährlich",
    "YEARLY": "jährlich",
}
_EN_INTERVALS = {
    "MONTHLY": "monthly",
    "BIMONTHLY": "every two months",
    "QUARTERLY": "quarterly",
    "HALF_YEARLY": "half-yearly",
    "YEARLY": "yearly",
}

# Words a parameter carries in English (enum values, the service's nouns), as each
# language writes them in a sentence; values not listed are shown as they are.
_WORDS: dict[str, dict[str, dict[str, str]]] = {
    "de": {
        "periodUnit": {"DAYS": "Tage", "WEEKS": "Wochen", "MONTHS": "Monate"},
        "allowedIntervals": _DE_INTERVALS,
        "currentInterval": _DE_INTERVALS,
        "what": {
            "change request": "Die Änderungsanfrage",
            "contact": "Der Kontakt",
            "contract": "Der Vertrag",
            "document": "Das Dokument",
            "identity provider": "Der Identitätsanbieter",
            "meter reading": "Der Zählerstand",
            "meter": "Der Zähler",
            "offer": "Das Angebot",
            "order": "Der Auftrag",
            "permission group": "Die Berechtigungsgruppe",
            "portal user": "Der Portalnutzer",
            "price": "Der Preis",
            "portal": "Das Portal",
            "staff user": "Der Mitarbeitende",
            "tile": "Die Kachel",
        },
        "change": {
            "name": "des Namens",
            "address": "der Adresse",
            "phone": "der Telefonnummer",
            "email": "der E-Mail-Adresse",
            "installment": "des Abschlags",
            "payment_method": "der Zahlungsart",
            "due_day": "des Fälligkeitstags",
            "installment_interval": "des Zahlungsintervalls",
        },
    },
    "en": {
        "periodUnit": {"DAYS": "days", "WEEKS": "weeks", "MONTHS": "months"},
        "allowedIntervals": _EN_INTERVALS,
        "currentInterval": _EN_INTERVALS,
        "change": {
            "payment_method": "payment method",
            "due_day": "due day",
            "installment_interval": "installment interval",
        },
    },
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


def _filled(template: str, language: str, parameters: Mapping[str, Parameter], detail: str) -> str:
    values = _Filled({name: show(value, language) for name, value in parameters.items()})
    for name, words in _WORDS[language].items():
        if name in values:  # a single word, or a list of them ("MONTHLY, YEARLY")
            values[name] = ", ".join(words.get(part, part) for part in values[name].split(", "))
    values["detail"] = detail
    return string.Formatter().vformat(template, (), values)


def specific(key: str, language: str, parameters: Mapping[str, Parameter]) -> str | None:
    """The specific sentence of message key `key` in `language`, its parameters filled
    in; None when `key` is not a message key (an English sentence of a specific code)."""
    template = SPECIFIC.get(language, SPECIFIC[DEFAULT]).get(key)
    return None if template is None else _filled(template, language, parameters, "")


def message(
    code: str,
    language: str,
    parameters: Mapping[str, Parameter],
    detail: str,
    key: str | None = None,
) -> str:
    """The refusal's message in `language`: the specific sentence of its message key,
    else the catalogue's message for `code`, its parameters filled in."""
    if key is not None and (sentence := specific(key, language, parameters)) is not None:
        return sentence
    catalogue = CATALOGUES.get(language, CATALOGUES[DEFAULT])
    template = catalogue.get(code)
    if template is None:
        return detail  # a code without a message is a bug the catalogue test catches
    return _filled(template, language, parameters, detail)
