"""The query plan of `portalHome` (gql/schema/home.py): the caller's portal and login,
the language of its texts, the published tiles shown to them in order, and the rows
each tile lists, as part of the plan's one statement (gql/query_plans.py).

It restates nothing the executor decides: the tiles are those `publishing.shown_tiles`
selects (the SQL rule the executor's loader runs too), the language is
`portal_texts.chosen_language_sql`, a tile's fields come from where home.py declares
(`CONTENT_FIELDS`, `TEXT_FIELDS`), the rows a tile lists from its field's declaration
(relations.TileRows: model, order, which tiles, how many) through `scope.visible`, and
each field's permission from its `allow(...)`. What this does not translate (the
`pages` of the home page, arguments, directives) leaves the document to the executor.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from graphql import FieldNode, GraphQLEnumType, GraphQLObjectType
from sqlalchemy.dialects.postgresql import JSONB

from db import models
from gql.domain import publishing
from gql.domain.portal_texts import chosen_language_sql, language_settings
from gql.domain.scope import visible
from gql.json_text import Json, json_object, json_rows
from gql.query_plans import (
    ROOT_PLANS,
    NotPlannable,
    _Compiler,
    _declared,
    _definition,
    _global_id,
    _integer,
    _key,
    _leaf,
    _named,
    _readable,
    _text,
)
from gql.resolvers.relations import TileRows
from gql.schema.home import CONTENT_FIELDS, TEXT_FIELDS

__all__ = ["portal_home"]


def _given(value: Any) -> Any:
    """A JSONB value, NULL where Python's `or` would pass it by (missing, null, {})."""
    no_null = sa.func.nullif(value, _text("'null'::jsonb"), type_=JSONB)
    return sa.func.nullif(no_null, _text("'{}'::jsonb"), type_=JSONB)


def portal_home(compiler: _Compiler, home_type: GraphQLObjectType, node: FieldNode) -> Json:
    """The JSON of `portalHome { ... }`, null where the executor answers null (no
    portal or login the caller sees, nothing published)."""
    if node.arguments:
        raise NotPlannable("portalHome arguments")
    actor = compiler.actor
    portal, user = models.Portal, models.PortalUser
    # The settings unpacked once for both columns (portal_texts.language_settings).
    settings = language_settings(sa.type_coerce(portal.published_settings, JSONB))
    owner = (
        sa.select(
            portal.id.label("id"),
            chosen_language_sql(settings, user.language).label("language"),
            settings.c.default_language.label("fallback"),
        )
        .select_from(portal)
        .join(user, sa.true())
        .join(settings, sa.true())
        .where(
            portal.id == actor.portal_id,
            visible(portal, actor),
            user.id == actor.subject_id,
            visible(user, actor),
            portal.published_settings.is_not(None),
        )
        .limit(1)
        .subquery(compiler._alias())
    )
    pairs: list[tuple[str, Any]] = []
    for selection in compiler.selections(node, home_type):
        name = selection.name.value
        field = home_type.fields.get(name)
        if name == "__typename":
            value: Any = home_type.name
        elif field is None or not _readable(field, actor) or selection.arguments:
            raise NotPlannable(f"{home_type.name}.{name}")
        elif name == "language":
            value = owner.c.language
        elif name == "tiles":
            value = _tiles(compiler, _named(field.type), selection, owner)
        else:
            raise NotPlannable(f"{home_type.name}.{name}")
        pairs.append((_key(selection), value))
    answer = sa.select(json_object(pairs).sql).select_from(owner)
    return Json(answer.scalar_subquery())  # null without the portal and login


def _tiles(compiler: _Compiler, tile_type: GraphQLObjectType, node: FieldNode, owner: Any) -> Json:
    """The tiles shown to the caller (publishing.shown_tiles), in order, as JSON."""
    shown = publishing.shown_tiles(compiler.actor, home=True).subquery()
    tile = shown.c.tile
    rows = (
        sa.select(
            shown.c.portal_id,
            shown.c.position,
            tile["id"].astext.label("id"),
            tile["kind"].astext.label("kind"),
            tile["content"].label("content"),
            _texts(tile["content"], owner).label("texts"),
        )
        .where(shown.c.portal_id == owner.c.id)
        .correlate(owner)
        # Each tile's columns computed once: PostgreSQL flattens a plain derived table
        # into its parent and evaluates the column's expression again at every
        # reference (the content about fifteen times per tile, the texts once per text
        # field); a derived table with OFFSET is not flattened, and OFFSET 0 skips
        # nothing.
        .offset(_integer(0))
        .subquery(compiler._alias())
    )
    each = json_object(
        (_key(selection), _tile_field(compiler, tile_type, selection, rows))
        for selection in compiler.selections(node, tile_type)
    )
    return json_rows(each, rows, order_by=[rows.c.position])


def _texts(content: Any, owner: Any) -> Any:
    """The tile's texts in the reader's language, else in the portal's default language
    (home.tile_texts: a language missing, null or empty gives way), picked once per
    tile."""
    return sa.func.coalesce(
        _given(content.op("->", return_type=JSONB)(owner.c.language)),
        _given(content.op("->", return_type=JSONB)(owner.c.fallback)),
        _text("'{}'::jsonb"),
        type_=JSONB,
    )


def _tile_field(
    compiler: _Compiler, tile_type: GraphQLObjectType, node: FieldNode, row: Any
) -> Any:
    name = node.name.value
    if name == "__typename":
        return tile_type.name
    field = tile_type.fields.get(name)
    definition = None if field is None else _definition(field)
    if field is None or definition is None or not _readable(field, compiler.actor):
        raise NotPlannable(f"{tile_type.name}.{name}")
    rows = _declared(field)
    if isinstance(rows, TileRows):
        return _listed(compiler, _named(field.type), node, rows, row)
    if node.arguments or node.selection_set is not None:
        raise NotPlannable(f"{tile_type.name}.{name} has arguments or a selection")
    python_name = definition.python_name
    if python_name == "id":
        return _global_id("Tile", row)
    if python_name == "position":
        return row.c.position
    if python_name == "kind":
        named = _named(field.type)
        kinds = {kind.value for kind in models.TileKind}
        if not isinstance(named, GraphQLEnumType) or kinds != set(named.values):
            raise NotPlannable("TileKind serializes other names than the snapshot stores")
        return row.c.kind
    texts = row.c.texts
    if python_name == "title":
        return sa.func.coalesce(texts["title"].astext, _text("''"))
    if python_name in TEXT_FIELDS:
        return _leaf(field.type, texts[python_name].astext)
    if python_name in CONTENT_FIELDS:
        value = row.c.content[python_name].astext
        if _named(field.type).name == "Int":
            value = sa.cast(value, sa.Integer)
        return _leaf(field.type, value)
    raise NotPlannable(f"{tile_type.name}.{name}")


def _listed(
    compiler: _Compiler, target: GraphQLObjectType, node: FieldNode, rows: TileRows, tile: Any
) -> Json:
    """The rows a tile lists (as its field declares them), null on other tiles."""
    if node.arguments:
        raise NotPlannable("arguments on a tile's rows")
    relation = rows.relation
    model = relation.model
    ordering = relation.ordering()
    columns = sorted({*compiler.columns(model, target, [node]), *(n for n, _ in ordering)})
    limit = sa.cast(tile.c.content["limit"].astext, sa.Integer)
    order = [
        getattr(model, name).desc() if down else getattr(model, name) for name, down in ordering
    ]
    child = (
        sa.select(*(getattr(model, name).label(name) for name in columns))
        .where(visible(model, compiler.actor))
        .order_by(*order)
        .limit(rows.count_sql(limit))
        .correlate(tile)
        .subquery(compiler._alias())
    )
    # In the derived table's order (query_plans._ordering says why no ORDER BY here).
    listed = json_rows(compiler.object(target, node, child), child)
    where = rows.lists_where(tile.c.kind, tile.c.content["entity"].astext)
    return Json(sa.case((where, listed.sql), else_=sa.null()))


ROOT_PLANS["portalHome"] = portal_home
