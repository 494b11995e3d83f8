"""The domain layer knows nothing of GraphQL or HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("strawberry", "starlette", "graphql", "gql.schema", "gql.resolvers", "gql.app")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "gql" / "domain").glob("*.py")) + sorted((ROOT / "db").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_domain_and_db_modules_import_no_graphql_or_http(path: Path) -> None:
    bad = {
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    }
    assert not bad, f"{path.name} imports {sorted(bad)}"


def _test_modules_imported(path: Path) -> set[str]:
    """The test modules (`test_*`) `path` imports, however it names them."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            # `from tests import test_x` and `from . import test_x` name the module last.
            modules = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found |= {m for m in modules if m.rpartition(".")[2].startswith("test_")}
    return found


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in conftest.py, factories.py and the *_helpers modules, so a
    test module can be moved, renamed or run alone without breaking another."""
    tests = ROOT / "tests"
    imports = {
        str(path.relative_to(ROOT)): sorted(_test_modules_imported(path))
        for path in sorted(tests.rglob("test_*.py"))
    }
    assert {path: names for path, names in imports.items() if names} == {}
