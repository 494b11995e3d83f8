"""A bounded mapping that forgets its least recently used entry, for what the request
path looks up on every request (verified tokens, known sessions, plans, the short way's
documents).

cachetools' `LRUCache` costs three or four Python calls per lookup (its `Cache` base
class, then the order kept in a second dictionary); this is one ordered dictionary, so a
lookup is a Python call and two of the dictionary's own. Nothing here expires by time.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

_MISSING = object()


class LRU(Generic[K, V]):
    """At most `maxsize` entries; a lookup (`get`) makes its entry the most recent, a
    membership test (`in`) does not (as cachetools' `LRUCache`)."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self._data: OrderedDict[K, V] = OrderedDict()
        self.maxsize = maxsize

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: D) -> V | D: ...
    def get(self, key: K, default: object = None) -> object:
        data = self._data
        value = data.get(key, _MISSING)
        if value is _MISSING:
            return default
        data.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        data = self._data
        data[key] = value
        data.move_to_end(key)
        if len(data) > self.maxsize:
            data.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def pop(self, key: K, default: V | None = None) -> V | None:
        return self._data.pop(key, default)
