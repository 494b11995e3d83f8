"""Cursor connections (Relay). Cursors are opaque; today they encode an offset."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from gql.auth.permissions import public

NodeT = TypeVar("NodeT")

DEFAULT_PAGE_SIZE = 20
CURSOR_PREFIX = "offset:"
# The largest position a cursor may name: far beyond any list a portal shows, and small
# enough that offset + page size stays a 32-bit integer in every statement.
MAX_OFFSET = 100_000_000

# Descriptions of the `first` and `after` arguments of every list.
PAGE = "Number of items (default 20, at most 100)."
AFTER = "Cursor after which the page starts."


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = public("More items follow this page.")
    has_previous_page: bool = public("Items precede this page.")
    start_cursor: str | None = public("Cursor of the first item of the page.")
    end_cursor: str | None = public("Cursor of the last item of the page.")


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = public("Opaque position of this item; pass it as `after`.")
    node: NodeT = public("The item.")


@strawberry.type(description="A page of a list.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = public("The items of this page with their cursors.")
    page_info: PageInfo = public("Position of this page.")
    # Counting costs a statement for lists paged in SQL: only run when asked for.
    total: strawberry.Private[int | Callable[[], Awaitable[int]]]

    @public("Number of items in the whole list.")
    async def total_count(self) -> int:
        return self.total if isinstance(self.total, int) else await self.total()


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """Offset after which the page starts (0 without a cursor)."""
    if cursor is None:
        return 0
    invalid = GraphQLError("Invalid cursor.", extensions={"code": "BAD_USER_INPUT"})
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        digits = text.removeprefix(CURSOR_PREFIX)
        # Plain ASCII digits only: int() would also take "+1", "1_000" or Arabic digits.
        if not text.startswith(CURSOR_PREFIX) or not (digits.isascii() and digits.isdigit()):
            raise invalid
        if len(digits) > len(str(MAX_OFFSET)) or int(digits) > MAX_OFFSET:
            raise invalid
    except (ValueError, UnicodeError) as exc:
        raise invalid from exc
    return int(digits) + 1


def page_window(first: int | None, after: str | None, max_page_size: int) -> tuple[int, int]:
    """(offset, limit) of the requested page, with the page size checked."""
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 0 <= size <= max_page_size:
        raise GraphQLError(
            f"`first` must be between 0 and {max_page_size}.",
            extensions={"code": "BAD_USER_INPUT"},
        )
    return decode_cursor(after), size


def connection(
    rows: Sequence[Any],
    *,
    offset: int,
    limit: int,
    total: int | Callable[[], Awaitable[int]],
) -> Connection[Any]:
    """A page from `rows`, the items starting at `offset`: at most `limit` are shown, and
    one more row than that tells that another page follows."""
    shown = rows[:limit]
    edges = [Edge(cursor=encode_cursor(offset + i), node=row) for i, row in enumerate(shown)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total=total,
    )


def slice_connection(
    rows: Sequence[Any], first: int | None, after: str | None, max_page_size: int = 100
) -> Connection[Any]:
    """A page of a list that is already in memory (loaded per parent through a loader)."""
    offset, limit = page_window(first, after, max_page_size)
    return connection(rows[offset:], offset=offset, limit=limit, total=len(rows))
