"""docs/architecture.md stays true: every path it names exists, and its "How to add a
field" walkthrough works. The walkthrough's code is put into a copy of the sources, the
schema is exported from that copy, and the SDL it prints must be the doc's, with the
roles and grant the permission matrix then reads from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from db.models.enums import Grant
from gql.auth.actor import Role
from tests.conftest import ROOT
from tests.schema_walk import sdl_matrix

DOC = ROOT / "docs" / "architecture.md"
WALKTHROUGH = re.compile(r"<!-- walkthrough: (?P<where>[^>]+?) -->\n```\w+\n(?P<code>.*?)```", re.S)


def _walkthrough() -> dict[str, str]:
    return {m["where"]: m["code"] for m in WALKTHROUGH.finditer(DOC.read_text())}


def test_every_path_the_doc_names_exists() -> None:
    named = set(re.findall(r"`((?:gql|db|tests|docs|bench)/[\w./<>-]*)`", DOC.read_text()))
    concrete = {path.rstrip("/") for path in named if "<" not in path}
    assert concrete, "the doc names no paths"
    assert sorted(p for p in concrete if not (ROOT / p).exists()) == []


def _add_to_class(source: str, class_name: str, code: str) -> str:
    """`code` appended to the body of `class_name` (before the next top-level line)."""
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith(f"class {class_name}("))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()),
        len(lines),
    )
    while end > start and not lines[end - 1].strip():
        end -= 1
    return "".join(lines[:end]) + "\n" + code + "".join(lines[end:])


def test_adding_a_field_as_the_doc_shows(tmp_path: Path) -> None:
    steps = _walkthrough()
    [(where, code)] = [(w, c) for w, c in steps.items() if w != "schema.graphql"]
    path, _, class_name = where.partition(" class ")
    for package in ("gql", "db"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    module = tmp_path / path
    module.write_text(_add_to_class(module.read_text(), class_name, code))

    exported = subprocess.run(
        [sys.executable, "-c", "from gql.schema import schema; print(schema)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = steps["schema.graphql"]
    assert expected in exported, f"the doc's SDL is not what the schema prints:\n{expected}"
    assert expected not in (ROOT / "schema.graphql").read_text(), "the example field exists"

    field = re.search(r"^\s+(\w+)[:(]", expected.splitlines()[-1])
    assert field is not None
    roles, grants = sdl_matrix(exported)
    key = f"{class_name}.{field[1]}"
    assert roles[key] == frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER})
    assert grants[key] is Grant.CONTRACT_READ
