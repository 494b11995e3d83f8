"""The Relay `Node` base of every object type whose source is a database row."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any, ClassVar

import strawberry
from strawberry import relay


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def node_uuid(global_id: relay.GlobalID, *type_names: str) -> uuid.UUID | None:
    """The row id inside a global ID when it names one of `type_names` (any type when
    none are given) and holds a UUID; otherwise None."""
    if type_names and global_id.type_name not in type_names:
        return None
    return parse_uuid(global_id.node_id)


def row_of(obj: object) -> Any:
    """The ORM row behind a type instance: resolvers return rows, not dataclasses."""
    return obj


class RowNode(relay.Node):
    """A Node resolved from rows of `__model__`.

    Resolvers return ORM rows; `is_type_of` lets GraphQL accept a row for its type, and
    `resolve_nodes` loads rows for `node`/`nodes` through the scoped by-id loader, so a
    global ID of a row the caller may not see resolves to null.
    """

    __model__: ClassVar[type[Any]]

    @classmethod
    def is_type_of(cls, obj: Any, _info: Any) -> bool:
        return isinstance(obj, cls.__model__)

    @classmethod
    def resolve_id(cls, root: Any, *, info: strawberry.Info) -> str:
        return str(root.id)

    @classmethod
    async def resolve_nodes(
        cls,
        *,
        info: strawberry.Info,
        node_ids: Iterable[str],
        required: bool = False,
    ) -> list[Any]:
        ids = [parse_uuid(node_id) for node_id in node_ids]
        loader = info.context.loaders.by_id(cls.__model__)
        valid = [i for i in ids if i is not None]
        rows = dict(zip(valid, await loader.load_many(valid), strict=True))
        return [rows.get(i) if i is not None else None for i in ids]
