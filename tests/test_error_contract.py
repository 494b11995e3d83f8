"""The one error contract, over the whole schema and code base: every mutation that can be
refused answers an `Error` member, every code the services raise is an ErrorCode, and the
message catalogues have every code in every language with the same parameters."""

from __future__ import annotations

import ast
import string
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLUnionType

from gql import messages
from gql.domain.errors import ErrorCode, Parameter
from gql.schema import schema

ROOT = Path(__file__).resolve().parent.parent
# Constructors whose first positional argument is a code.
CODE_FIRST = {"ReadingRefused", "Refused", "UploadRefused"}


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_code_has_a_message_in_every_language() -> None:
    codes = {code.value for code in ErrorCode}
    for language in messages.LANGUAGES:
        catalogue = messages.CATALOGUES[language]
        assert set(catalogue) == codes, language
    for code in codes:
        # The same parameters in every language (`detail` is the English sentence only
        # English may use).
        names = {lang: _placeholders(messages.CATALOGUES[lang][code]) for lang in ("de", "en")}
        assert names["de"] == names["en"] - {"detail"}, code
        assert "detail" not in names["de"], code


def test_every_message_key_has_the_same_placeholders_in_every_language() -> None:
    assert set(messages.SPECIFIC["de"]) == set(messages.SPECIFIC["en"])
    assert not set(messages.SPECIFIC["en"]) & {code.value for code in ErrorCode}
    for key, english in messages.SPECIFIC["en"].items():
        assert _placeholders(messages.SPECIFIC["de"][key]) == _placeholders(english), key
        assert "detail" not in _placeholders(english), key


# The constructors whose code alone does not say why: their raises must name a message
# key, so the specific sentence exists in every language.
BROAD = {"InvalidInput", "RuleViolation", "NotFound", "Conflict", "DomainError", "RowError"}
BROAD_CODES = {"INVALID_INPUT", "NOT_FOUND", "CONFLICT", "RULE_VIOLATED"}


def _raises_without_key() -> tuple[list[str], set[str]]:
    """Each call of a BROAD constructor in gql/ that passes neither a message key (a
    literal, or `error.key` handed on) nor a specific code; and the keys used."""
    free_text: list[str] = []
    keys: set[str] = set()
    for path in sorted((ROOT / "gql").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if "messages" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in messages.SPECIFIC["en"]:
                keys.add(node.value)  # e.g. a subclass's super().__init__("csv_rows_refused")
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            if name not in BROAD:
                continue
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant) and code.value not in BROAD_CODES:
                continue  # a specific code says why in every language
            if isinstance(code, ast.Attribute) and code.attr == "code":
                continue  # a refusal's own (specific) code handed on
            # RowError(line, column, key, parameters): a CSV import's problem of one line.
            first = node.args[2 if name == "RowError" else 0] if node.args else None
            literals = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            if isinstance(first, ast.Attribute) and first.attr == "key":
                continue  # the key of a caught refusal handed on
            for literal in literals:
                if not (
                    isinstance(literal, ast.Constant) and literal.value in messages.SPECIFIC["en"]
                ):
                    free_text.append(f"{relative}:{node.lineno}")
    return free_text, keys


def test_every_broad_refusal_names_a_message_key() -> None:
    """A German caller gets the service's specific sentence, not only the code's general
    one: no raise of a broad code in gql/ carries English free text instead of a key."""
    free_text, keys = _raises_without_key()
    assert free_text == []
    assert {"account_holder_required", "iban_required", "text_too_long"} <= keys
    # Every key in the catalogues is raised somewhere (none is left behind by a change).
    assert set(messages.SPECIFIC["en"]) == keys


def test_the_schemas_code_enum_is_the_domains() -> None:
    enum = schema._schema.type_map["ErrorCode"]
    assert set(enum.values) == {code.value for code in ErrorCode}  # type: ignore[attr-defined]


def _raised_codes() -> set[tuple[str, str]]:
    """(file, code) for each code literal given to a domain error in gql/: `code="X"`,
    a `code = "X"` class attribute, or the first argument of CODE_FIRST constructors."""
    found: set[tuple[str, str]] = set()
    for path in sorted((ROOT / "gql").rglob("*.py")):
        if "messages" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            literal: ast.expr | None = None
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        literal = keyword.value
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                if name in CODE_FIRST and node.args:
                    literal = node.args[0]
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id == "code":
                    literal = node.value  # a class's `code = "X"`
            elif (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == "code"
            ):
                literal = node.value
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                found.add((str(path.relative_to(ROOT)), literal.value))
    return found


def test_every_code_the_services_raise_is_an_error_code() -> None:
    raised = _raised_codes()
    assert len(raised) > 30  # the scan sees the services, whichever way they name codes
    assert {
        ("gql/domain/rules.py", "OVERDUE_PAYMENTS"),
        ("gql/domain/readings.py", "IMPLAUSIBLE"),
        ("gql/domain/registration.py", "INVALID_TOKEN"),
        ("gql/domain/authentication.py", "INVALID_CODE"),
    } <= raised
    unknown = {(path, code) for path, code in raised if code not in ErrorCode.__members__}
    # DomainError's own placeholder; every raised error is a subclass or names its code.
    assert unknown == {("gql/domain/errors.py", "ERROR")}


def test_every_refusable_mutation_answers_an_error_member() -> None:
    """A mutation whose answer is a union lists an `Error` member; every object type
    named like a refusal implements `Error`, so one fragment reads them all."""
    error = schema._schema.type_map["Error"]
    mutation = schema._schema.mutation_type
    assert mutation is not None
    without = []
    for name, field in mutation.fields.items():
        answer = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
        if isinstance(answer, GraphQLUnionType) and not any(
            error in member.interfaces for member in answer.types
        ):
            without.append(name)
    assert without == []
    refusals = [
        type_
        for name, type_ in schema._schema.type_map.items()
        if isinstance(type_, GraphQLObjectType)
        and name.endswith(("Error", "Refused"))
        and name != "ImportRowError"  # one line of a PortalUsersImportRefused
    ]
    assert len(refusals) >= 8
    assert [t.name for t in refusals if error not in t.interfaces] == []


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Höchstens 2 Änderung(en) je 3 Monate sind möglich; die nächste ab dem 01.03.2027."),
        ("en", "At most 2 change(s) per 3 months are possible; the next one from 2027-03-01."),
    ],
)
def test_parameters_are_written_as_the_language_writes_them(language: str, expected: str) -> None:
    parameters: dict[str, Parameter] = {
        "allowedChanges": 2,
        "period": 3,
        "periodUnit": "MONTHS",
        "nextPossibleAt": datetime(2027, 3, 1, 8, tzinfo=UTC),
    }
    assert messages.message("CADENCE_EXCEEDED", language, parameters, "") == expected
    assert messages.message("OVERDUE_PAYMENTS", language, {"overdueAmount": Decimal("12.50")}, "")[
        :5
    ] == ("12,50" if language == "de" else "12.50")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR,fr;q=0.9,en;q=0.5,de;q=0.4", "en"),
        ("en;q=0.2,de", "de"),
        ("fr", None),
        ("", None),
        (None, None),
        ("en;q=0", None),
        ("en;q=x", None),
    ],
)
def test_accept_language_picks_the_best_language_we_have(
    header: str | None, language: str | None
) -> None:
    assert messages.chosen(header) == language
