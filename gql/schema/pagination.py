"""Cursor connections (Relay). Cursors are opaque; today they encode an offset.

A page is asked for forwards (`first` after `after`) or backwards (`last` before
`before`), as the Relay connection spec describes; a cursor names the same item in
both directions, so a backward page is the forward page of the same items.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from gql.auth.permissions import public
from gql.schema.input_errors import refuse

NodeT = TypeVar("NodeT")

DEFAULT_PAGE_SIZE = 20
CURSOR_PREFIX = "offset:"
# The largest position a cursor may name: far beyond any list a portal shows, and small
# enough that offset + page size stays a 32-bit integer in every statement.
MAX_OFFSET = 100_000_000

# Descriptions of the `first`, `after`, `last` and `before` arguments of every list.
PAGE = "Number of items (default 20, at most 100)."
AFTER = "Cursor after which the page starts."
LAST = (
    "Number of items at the end of the list, or before `before` (default 20 with"
    " `before`, at most 100); not together with `first`."
)
BEFORE = "Cursor before which the page ends (paging backwards, with `last`)."


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool = public("More items follow this page.")
    has_previous_page: bool = public("Items precede this page.")
    start_cursor: str | None = public("Cursor of the first item of the page.")
    end_cursor: str | None = public("Cursor of the last item of the page.")


@strawberry.type(description="An item of a page and its cursor.")
class Edge(Generic[NodeT]):
    cursor: str = public("Opaque position of this item; pass it as `after` or `before`.")
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
    invalid = refuse("cursor_invalid")
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


def _check_page_size(name: str, size: int, max_page_size: int) -> None:
    if not 0 <= size <= max_page_size:
        raise GraphQLError(
            f"`{name}` must be between 0 and {max_page_size}.",
            extensions={"code": "BAD_USER_INPUT"},
        )


@dataclass(frozen=True)
class Window:
    """The requested part of a list: the items between the cursors (`start` up to
    `stop`, None: the end), then the first `first` or the last `last` of them."""

    start: int
    stop: int | None
    first: int | None
    last: int | None

    @property
    def needs_total(self) -> bool:
        """Whether only the length of the list places the page (the last items)."""
        return self.last is not None and self.stop is None

    def resolve(self, total: int | None = None) -> tuple[int, int]:
        """(offset, limit) of the page; `total` is the length of the list, needed when
        `needs_total`, and when given it also ends a backward page that a `before`
        beyond the end (a list that shrank) would leave empty."""
        if self.last is None:
            size = DEFAULT_PAGE_SIZE if self.first is None else self.first
            room = size if self.stop is None else max(0, self.stop - self.start)
            return self.start, min(size, room)
        ends = [end for end in (self.stop, total) if end is not None]
        if not ends:
            raise ValueError("the last items of a list need its length")
        end = min(ends)
        offset = max(self.start, end - self.last)
        return offset, max(0, end - offset)

    def ends_early(self, offset: int, limit: int, shown: int) -> bool:
        """Whether a backward page found fewer items than it asked for while items
        precede it: the list ends before `before`, and only its length places the page."""
        return self.last is not None and shown < limit and offset > self.start


def page_request(
    first: int | None,
    after: str | None,
    max_page_size: int,
    last: int | None = None,
    before: str | None = None,
) -> Window:
    """The page the Relay arguments ask for, checked.

    Raises:
        GraphQLError: BAD_USER_INPUT for `first` with `last`, a size out of range or an
            invalid cursor.
    """
    if first is not None and last is not None:
        # Relay allows both but the answer is rarely what a client means.
        raise GraphQLError(
            "Give either `first` or `last`, not both.", extensions={"code": "BAD_USER_INPUT"}
        )
    if first is not None:
        _check_page_size("first", first, max_page_size)
    if last is not None:
        _check_page_size("last", last, max_page_size)
    stop = None if before is None else decode_cursor(before) - 1
    if last is None and first is None and before is not None:
        last = DEFAULT_PAGE_SIZE  # `before` alone pages backwards
    return Window(start=decode_cursor(after), stop=stop, first=first, last=last)


# A plan's every request asks for the same pages (its literal arguments, the same few
# cursors): decided once (bounded; a refusal is raised anew each time, not kept).
@functools.lru_cache(maxsize=1024, typed=True)
def page_window(first: int | None, after: str | None, max_page_size: int) -> tuple[int, int]:
    """(offset, limit) of a forward page, with the page size checked.

    Raises:
        GraphQLError: as `page_request`.
    """
    return page_request(first, after, max_page_size).resolve()


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
    rows: Sequence[Any],
    first: int | None,
    after: str | None,
    max_page_size: int = 100,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Any]:
    """A page of a list that is already in memory (loaded per parent through a loader)."""
    window = page_request(first, after, max_page_size, last, before)
    offset, limit = window.resolve(len(rows))
    return connection(rows[offset:], offset=offset, limit=limit, total=len(rows))
