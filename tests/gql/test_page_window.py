"""Which items a page holds (gql/schema/pagination.py), without a database: every
combination of Relay arguments over lists of every small length, against the spec's
algorithm run on the list itself."""

from __future__ import annotations

import pytest
from graphql import GraphQLError

from gql.schema.pagination import DEFAULT_PAGE_SIZE, encode_cursor, page_request


def _relay(
    length: int, first: int | None, after: int | None, last: int | None, before: int | None
) -> list[int]:
    """ApplyCursorsToEdges, then first/last, as the Relay connection spec says."""
    items = list(range(length))
    if after is not None:
        items = [i for i in items if i > after]
    if before is not None:
        items = [i for i in items if i < before]
    if first is None and last is None:
        return items[-DEFAULT_PAGE_SIZE:] if before is not None else items[:DEFAULT_PAGE_SIZE]
    if first is not None:
        items = items[:first]
    if last is not None:
        items = items[-last:] if last else []
    return items


SIZES = (None, 0, 1, 2, 5)
POSITIONS = (None, 0, 1, 3, 6)


@pytest.mark.parametrize("length", range(7))
def test_a_page_holds_what_the_relay_algorithm_keeps(length: int) -> None:
    for first in SIZES:
        for last in SIZES if first is None else (None,):
            for after in POSITIONS:
                for before in POSITIONS:
                    window = page_request(
                        first,
                        None if after is None else encode_cursor(after),
                        100,
                        last,
                        None if before is None else encode_cursor(before),
                    )
                    offset, limit = window.resolve(length)
                    shown = list(range(length))[offset : offset + limit]
                    expected = _relay(length, first, after, last, before)
                    assert shown == expected, (length, first, after, last, before)


def test_only_the_last_items_of_a_list_need_its_length() -> None:
    assert page_request(None, None, 100, 3, None).needs_total
    assert not page_request(None, None, 100, 3, encode_cursor(9)).needs_total
    assert not page_request(3, None, 100).needs_total


@pytest.mark.parametrize(
    ("first", "last"), [(1, 1), (0, 0), (None, -1), (None, 101), (-1, None), (101, None)]
)
def test_a_wrong_page_is_refused(first: int | None, last: int | None) -> None:
    with pytest.raises(GraphQLError) as refused:
        page_request(first, None, 100, last, None)
    assert (refused.value.extensions or {})["code"] == "BAD_USER_INPUT"
