"""Fields that follow a declared relation (gql/resolvers/relations.py): the field's
permission, its resolver derived from the relation, and the relation in the field's
metadata, where query plans (gql/query_plans.py) read it. One call per field; fields
with arguments of their own (filters) call `load_related` / `page_of` in their resolver
and declare the relation with `declared(...)`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import strawberry

from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import allow
from gql.context import Info
from gql.resolvers.common import load_one, load_page, query_page, readings_page
from gql.resolvers.relations import Columns, Relation, declared
from gql.schema.pagination import AFTER, BEFORE, LAST, PAGE
from gql.schema.scalars import Cursor

RoleSets = Role | frozenset[Role]


async def one_of(relation: Relation, info: Info, row: Any) -> Any:
    """The related row, if the caller may see it."""
    if relation.parent is None:
        assert relation.viewer is not None, "a single row at the viewer names the caller's"
        return await load_one(info, relation.model, getattr(info.context.actor, relation.viewer))
    if relation.join[0] != "id":
        raise TypeError("a single related row is joined by its id")
    return await load_one(info, relation.model, getattr(row, relation.join[1]))


async def load_related(relation: Relation, info: Info, row: Any) -> Sequence[Any]:
    """Every visible related row, in the declared order (one statement per level)."""
    key = getattr(row, relation.join[1])
    loader = info.context.loaders.by_fk(relation.join_column(), *relation.order_by())
    return await loader.load(key)


async def page_of(
    relation: Relation,
    info: Info,
    row: Any,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    where: tuple[Any, ...] = (),
) -> Any:
    """A page of the related rows (`where`: filters of the field's own arguments, for
    rows without a parent: the viewer's and the root's lists)."""
    if relation.parent is None:
        return await query_page(
            info,
            relation.model,
            first,
            after,
            where=where,
            order_by=relation.order_by(),
            last=last,
            before=before,
            id_order=relation.id_order(),
        )
    if where:
        raise TypeError("filters of related rows are applied by the field")
    key = getattr(row, relation.join[1])
    column = relation.join_column()
    if relation.ranked:
        return await readings_page(info, column, key, first, after, last, before)
    order = relation.order_by()
    return await load_page(info, column, key, first, after, *order, last=last, before=before)


def one(relation: Relation, *roles: RoleSets, description: str, grant: Grant | None = None) -> Any:
    """A field answering the one related row (null when the caller may not see it)."""

    async def resolve(root: Any, info: Info) -> Any:
        return await one_of(relation, info, root)

    return allow(
        *roles, grant=grant, description=description, resolver=resolve, metadata=declared(relation)
    )


def rows(relation: Relation, *roles: RoleSets, description: str, grant: Grant | None = None) -> Any:
    """A field answering every visible related row, as a list."""

    async def resolve(root: Any, info: Info) -> Any:
        return await load_related(relation, info, root)

    return allow(
        *roles, grant=grant, description=description, resolver=resolve, metadata=declared(relation)
    )


def page(relation: Relation, *roles: RoleSets, description: str, grant: Grant | None = None) -> Any:
    """A connection field: a page of the related rows, forwards or backwards."""

    async def resolve(
        root: Any,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[Cursor | None, strawberry.argument(description=BEFORE)] = None,
    ) -> Any:
        return await page_of(relation, info, root, first, after, last, before)

    return allow(
        *roles, grant=grant, description=description, resolver=resolve, metadata=declared(relation)
    )


def columns(
    made: Any,
    declaration: Columns,
    *roles: RoleSets,
    description: str,
    grant: Grant | None = None,
) -> Any:
    """A field answering an object `made` of the row's own columns (an address)."""

    def resolve(root: Any) -> Any:
        return made(**declaration.values(root))

    return allow(
        *roles,
        grant=grant,
        description=description,
        resolver=resolve,
        metadata=declared(declaration),
    )
