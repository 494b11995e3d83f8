"""The domain layer knows nothing of GraphQL or HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = (
    "strawberry",
    "starlette",
    "graphql",
    "gql.schema",
    "gql.resolvers",
    "gql.app",
    "gql.http",
)


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


# --- The import graph (grimp) -----------------------------------------------------------------

# Two GraphQL types that name each other: `Contact.portalUsers` and `PortalUser.contact`.
# crm names PortalUser for mypy only (under TYPE_CHECKING) and Strawberry resolves it
# lazily (`strawberry.lazy`), so at run time portal_user imports crm, never the reverse.
TYPE_ONLY_BACK_REFERENCES = {
    ("gql.schema.crm", "gql.schema.portal_user"),
    ("gql.schema.crm", "gql.schema.processes"),
}


def _graph(*, type_checking: bool = True) -> grimp.ImportGraph:
    return grimp.build_graph(
        "gql",
        "db",
        include_external_packages=True,
        exclude_type_checking_imports=not type_checking,
    )


def _cycles(graph: grimp.ImportGraph, package: str = "gql") -> list[list[str]]:
    """The groups of `package` modules that import each other, directly or not, each
    with one chain round it."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    seen: set[str] = set()
    found: list[list[str]] = []
    for module in modules:
        if module in seen:
            continue
        group = graph.find_upstream_modules(module) & graph.find_downstream_modules(module)
        if group:
            seen.update(group)
            other = min(group)
            there = graph.find_shortest_chain(importer=module, imported=other) or ()
            back = graph.find_shortest_chain(importer=other, imported=module) or ()
            found.append([*there, *back[1:]])
    return found


def test_gql_modules_import_each_other_in_no_circle() -> None:
    """No import cycle among gql modules, counting imports made for type checking only,
    apart from the declared type-only back references."""
    graph = _graph()
    for importer, imported in TYPE_ONLY_BACK_REFERENCES:
        graph.remove_import(importer=importer, imported=imported)
    assert _cycles(graph) == []


def test_declared_back_references_are_type_only() -> None:
    """A back reference is allowed only while it is no import at run time."""
    runtime = _graph(type_checking=False)
    assert _cycles(runtime) == []
    for importer, imported in sorted(TYPE_ONLY_BACK_REFERENCES):
        assert not runtime.direct_import_exists(importer=importer, imported=imported)
        assert _graph().direct_import_exists(importer=importer, imported=imported), (
            f"{importer} no longer refers to {imported}: drop it from TYPE_ONLY_BACK_REFERENCES"
        )


def test_cycle_finder_names_a_circle_and_its_chain() -> None:
    """The check above sees a cycle through any number of modules."""
    graph = grimp.ImportGraph()
    for importer, imported in [("gql.a", "gql.b"), ("gql.b", "gql.c"), ("gql.c", "gql.a")]:
        graph.add_import(importer=importer, imported=imported)
    graph.add_import(importer="gql.d", imported="gql.a")
    assert _cycles(graph) == [["gql.a", "gql.b", "gql.c", "gql.a"]]


def test_domain_reaches_no_graphql_http_or_schema_module() -> None:
    """gql.schema may use gql.domain, never the other way; and the domain reaches neither
    strawberry, graphql nor starlette, not even through another module."""
    graph = _graph()
    assert graph.find_illegal_dependencies_for_layers(layers=("gql.schema", "gql.domain")) == set()
    for package in ("gql.domain", "db"):
        for outside in ("strawberry", "graphql", "starlette", "gql.schema", "gql.app", "gql.http"):
            chain = graph.find_shortest_chains(importer=package, imported=outside, as_packages=True)
            assert not chain, f"{package} reaches {outside}: {sorted(chain)}"


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
