"""The feature table (docs/features.md, "Seed sections and ECP capabilities") names only
what exists: every backticked name in its "where" column is a GraphQL type, field,
argument or enum value of `schema.graphql`, or a portal setting of `db/portal_settings.py`
by its camelCase path."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    build_schema,
    get_named_type,
)
from pydantic import BaseModel

import db.models  # noqa: F401  (loads db.portal_settings in the order the package needs)
from db.portal_settings import PortalSettings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = build_schema((ROOT / "schema.graphql").read_text())
SECTION = "## Seed sections and ECP capabilities"

Fielded = GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType
TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[.(){},:])")


def where_cells() -> list[str]:
    text = (ROOT / "docs" / "features.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    # The last cell; `\|` is a pipe inside a cell.
    return [re.split(r"(?<!\\)\|", row.strip())[-2] for row in rows]


def fielded_types() -> list[Fielded]:
    return [
        t
        for name, t in SCHEMA.type_map.items()
        if not name.startswith("__")
        and isinstance(t, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType)
    ]


def setting_exists(path: list[str]) -> bool:
    model: type[BaseModel] | None = PortalSettings
    for part in path:
        if model is None:
            return False
        by_alias = {(f.alias or name): f for name, f in model.model_fields.items()}
        if part not in by_alias:
            return False
        annotation = by_alias[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else next(
                (
                    a
                    for a in getattr(annotation, "__args__", ())
                    if isinstance(a, type) and issubclass(a, BaseModel)
                ),
                None,
            )
        )
    return True


class Name:
    """One backticked name: `Type.field(args) { sub(args) ... }`, `field`, `ENUM_VALUE`,
    `setting.path`."""

    def __init__(self, text: str) -> None:
        self.tokens: list[str] = TOKEN.findall(text)
        if "".join(self.tokens) != re.sub(r"\s+", "", text):
            raise AssertionError(f"`{text}` is not a name the table may use")
        self.at = 0

    def take(self) -> str:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def path(self) -> list[str]:
        parts = [self.take()]
        while self.peek() == ".":
            self.take()
            parts.append(self.take())
        return parts

    def arguments(self) -> list[str]:
        """`(a, b: value, c:)` -> [a, b, c]; values are skipped (braces balanced)."""
        names: list[str] = []
        if self.peek() != "(":
            return names
        self.take()
        depth, expect_name = 0, True
        while (token := self.take()) != ")" or depth:
            if token in "{(":
                depth += 1
            elif token in "})":
                depth -= 1
            elif token == ",":
                expect_name = depth == 0
            elif expect_name and depth == 0 and token != ":":
                names.append(token)
                expect_name = False
        return names

    def check_field(self, owner: Fielded, name: str) -> GraphQLNamedType:
        assert name in owner.fields, f"{owner.name}.{name} is not in the schema"
        field = owner.fields[name]
        for argument in self.arguments():
            assert argument in getattr(field, "args", {}), (
                f"{owner.name}.{name} has no argument {argument}"
            )
        target: GraphQLNamedType = get_named_type(field.type)
        if self.peek() == "{":
            self.take()
            assert isinstance(target, Fielded), f"{owner.name}.{name} has no subfields"
            while self.peek() != "}":
                self.check_field(target, self.take())
            self.take()
        return target

    def check(self) -> None:
        path = self.path()
        if len(path) > 1 and path[0][0].isupper():
            owner = SCHEMA.type_map.get(path[0])
            assert isinstance(owner, Fielded), f"{path[0]} is not a type with fields"
            for part in path[1:-1]:
                nested = get_named_type(owner.fields[part].type)
                assert isinstance(nested, Fielded), f"{part} has no fields"
                owner = nested
            self.check_field(owner, path[-1])
        elif len(path) > 1:
            assert setting_exists(path), f"no portal setting {'.'.join(path)}"
        elif path[0].isupper():
            assert any(
                isinstance(t, GraphQLEnumType) and path[0] in t.values
                for t in SCHEMA.type_map.values()
            ), f"{path[0]} is no enum value"
        elif path[0][0].isupper():
            assert path[0] in SCHEMA.type_map, f"{path[0]} is no type"
        else:
            owners = [t for t in fielded_types() if path[0] in t.fields]
            if not owners:
                assert setting_exists(path), f"{path[0]} is neither a field nor a setting"
                return
            errors = []
            for owner in owners:  # the first type whose field takes these arguments
                self.at = 1
                try:
                    self.check_field(owner, path[0])
                    break
                except AssertionError as error:
                    errors.append(str(error))
            else:
                raise AssertionError("; ".join(errors))
        assert self.peek() is None, f"unexpected {self.peek()!r} after {'.'.join(path)}"


def names() -> list[str]:
    found = [name for cell in where_cells() for name in re.findall(r"`([^`]+)`", cell)]
    # Command lines (`portal users export|import`) are not names.
    return [name for name in found if not name.startswith("portal ")]


def test_the_table_has_rows_for_every_seed_and_ecp() -> None:
    cells = where_cells()
    assert len(cells) > 100
    section = (ROOT / "docs" / "features.md").read_text().split(SECTION, 1)[1]
    for seed in ("000", "001", "002", "003", "004"):
        assert f"| Seed {seed}" in section
    assert "the other items of issue 20" not in section


def test_every_name_in_the_where_column_exists() -> None:
    failures = []
    for text in names():
        try:
            Name(text).check()
        except (AssertionError, IndexError, KeyError) as error:
            failures.append(f"`{text}`: {error}")
    assert not failures, "\n".join(failures)


def test_the_check_refuses_what_does_not_exist() -> None:
    for text in (
        "Contract.nope",
        "noSuchMutation",
        "Contract.price(nope)",
        "rules.nope",
        "NO_SUCH_VALUE",
        "Contact.billingAccount { nope }",
    ):
        try:
            Name(text).check()
        except (AssertionError, IndexError, KeyError):
            continue
        raise AssertionError(f"`{text}` passed")
