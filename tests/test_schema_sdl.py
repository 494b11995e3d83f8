"""schema.graphql is what the code exports."""

from __future__ import annotations

from pathlib import Path

from gql.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_matches_code() -> None:
    checked_in = (ROOT / "schema.graphql").read_text()
    assert checked_in == str(schema) + "\n", (
        "schema.graphql is out of date: run `make schema` (portal schema > schema.graphql)"
    )
