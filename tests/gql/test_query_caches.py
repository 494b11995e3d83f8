"""The parser and validation caches are really hit: a known query is parsed and
validated once, not per request (structure, not time)."""

from __future__ import annotations

from typing import Any

from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.extensions.validation_cache import _get_validate_cache

from gql.auth.permissions import fast_leaf_fields
from gql.schema import CACHE_SIZE, build_schema
from tests.conftest import GraphQLClient

QUERY = "{ viewer { role contracts { totalCount } } }"


async def test_a_repeated_query_is_parsed_and_validated_once(gql: GraphQLClient) -> None:
    # functools.lru_cache wrappers (typed as plain callables by strawberry)
    validate: Any = _get_validate_cache(CACHE_SIZE)
    parse: Any = _get_parse_cache(CACHE_SIZE)
    data, errors = await gql(QUERY, "customer")  # now cached, whatever ran before
    assert errors == []
    assert data is not None
    before = (validate.cache_info(), parse.cache_info())
    for actor in ("customer", "other_customer", "agent", "customer"):
        await gql(QUERY, actor)
    after = (validate.cache_info(), parse.cache_info())
    assert [a.misses - b.misses for a, b in zip(after, before, strict=True)] == [0, 0]
    assert [a.hits - b.hits for a, b in zip(after, before, strict=True)] == [4, 4]


def test_attribute_fields_check_permissions_without_strawberrys_extension_chain() -> None:
    """Every plain attribute field guarded only by `allow` resolves through the direct
    check-then-getattr resolver (the permission matrix proves it still checks)."""
    built = build_schema()
    contract: Any = built._schema.type_map["Contract"]
    resolver = contract.fields["number"].resolve
    assert resolver is not None
    assert resolver.__qualname__ == "_leaf_resolver.<locals>.resolve"
    assert fast_leaf_fields(built) > 100  # all of them, again: idempotent
