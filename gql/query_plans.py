"""Query plans: a whole read-only operation answered by one SQL statement.

The customer dashboard (viewer -> contracts -> meters -> last readings) is the busiest
query of a portal. Run through the GraphQL executor it costs a statement per level and,
per row and field, a resolver, a permission check and the serialization of Python
objects. A plan answers the same document with one statement that builds the JSON of
`data` in PostgreSQL (the way PostGraphile works), with the same rows, order, cursors
and scalar formats.

A plan is made only when every field of the document is one this module knows how to
translate and the caller may read it: permissions are decided once per document and
kind of caller (role, grants, visibility criteria), rows by the same `scope.visible`
filters the loaders use, with the caller's ids as parameters. Anything else (other
fields, fragments, directives, mutations, impersonation, a field the caller may not
read) returns None, and the request takes the executor, which gives the usual answer
and errors. Only documents the executor has answered once without errors get plans, so
parsing, validation and limits have been applied to that text. `tests/http/test_query_plans`
compares both paths field by field for every role.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
import structlog
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    IntValueNode,
    NonNullTypeNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    VariableNode,
    parse,
)
from graphql.error import GraphQLError, GraphQLSyntaxError
from sqlalchemy.sql.elements import ColumnElement
from strawberry.types.field import StrawberryField

from db import models
from db.raw import Compiled
from gql.auth.actor import Actor
from gql.auth.permissions import AllowRoles, may_read
from gql.domain.scope import visible, visible_below
from gql.domain.sessions import PORTAL_USER_SESSION
from gql.schema.pagination import CURSOR_PREFIX, page_window

__all__ = ["Plan", "Planner", "shape_of"]

log = structlog.get_logger(__name__)

PLAN_CACHE_SIZE = 512  # (document, kind of caller) pairs kept compiled


class NotPlannable(Exception):
    """The document (or this caller's view of it) is left to the executor."""


@dataclass(frozen=True)
class Relation:
    """Rows a field leads to. Below another level they are tied to the parent row by
    `join`: (column of these rows, column of the parent row), the parent being the
    derived table of the enclosing level (its model `parent`); at the viewer, which has
    no row, by `viewer(actor)`. `order` is the resolver's order as (column, descending)
    pairs, without the id every order ends with."""

    model: type[Any]
    order: tuple[tuple[str, bool], ...] = ()
    many: bool = True
    parent: type[Any] | None = None
    join: tuple[str, str] = ("id", "id")
    viewer: Callable[[Actor], ColumnElement[bool]] = lambda _actor: sa.true()

    @property
    def key(self) -> str | None:
        """The column of the parent row the link reads (None at the viewer)."""
        return None if self.parent is None else self.join[1]

    def link(self, row: Any, actor: Actor) -> ColumnElement[bool]:
        """The condition tying these rows to the parent `row` (None at the viewer)."""
        if row is None:
            return self.viewer(actor)
        column, key = self.join
        link: ColumnElement[bool] = getattr(self.model, column) == row.c[key]
        return link


_BY_NUMBER = (("number", False),)

# The relations a plan can follow, each as its resolver reads it (gql/schema/viewer.py,
# gql/schema/crm.py); the differential test runs every entry against the executor.
RELATIONS: dict[tuple[str, str], Relation] = {
    ("Viewer", "contact"): Relation(
        models.Contact, many=False, viewer=lambda actor: models.Contact.id == actor.contact_id
    ),
    ("Viewer", "contracts"): Relation(models.Contract, _BY_NUMBER),
    ("Viewer", "meters"): Relation(models.Meter, _BY_NUMBER),
    ("Contact", "contracts"): Relation(
        models.Contract, _BY_NUMBER, parent=models.Contact, join=("contact_id", "id")
    ),
    ("Contract", "meters"): Relation(
        models.Meter, _BY_NUMBER, parent=models.Contract, join=("contract_id", "id")
    ),
    ("Contract", "contact"): Relation(
        models.Contact, many=False, parent=models.Contract, join=("id", "contact_id")
    ),
    ("Meter", "contract"): Relation(
        models.Contract, many=False, parent=models.Meter, join=("id", "contract_id")
    ),
    ("Meter", "readings"): Relation(
        models.MeterReading, (("read_at", True),), parent=models.Meter, join=("meter_id", "id")
    ),
    ("MeterReading", "meter"): Relation(
        models.Meter, many=False, parent=models.MeterReading, join=("id", "meter_id")
    ),
}

# Newest-first lists end with the newest id first too (loaders.readings_by).
_DESCENDING_IDS = frozenset({models.MeterReading})


def _display_name(row: Any) -> Any:
    """Contact.displayName: the company, else first and last name (gql/schema/crm.py)."""
    names = sa.func.concat_ws(
        " ", sa.func.nullif(row.c.first_name, ""), sa.func.nullif(row.c.last_name, "")
    )
    return sa.case((row.c.company_name != "", row.c.company_name), else_=names)


# Fields computed from columns: how, and from which.
COMPUTED: dict[tuple[str, str], tuple[Callable[[Any], Any], tuple[str, ...]]] = {
    ("Contact", "displayName"): (_display_name, ("company_name", "first_name", "last_name")),
}


def _text(sql: str) -> Any:
    return sa.literal_column(sql)


def _base64(value: Any) -> Any:
    encoded = sa.func.encode(sa.func.convert_to(value, _text("'UTF8'")), _text("'base64'"))
    return sa.func.replace(encoded, _text("E'\\n'"), _text("''"))


def _global_id(type_name: str, row: Any) -> Any:
    """strawberry.relay.GlobalID: standard base64 of `<Type>:<uuid>`."""
    return _base64(sa.func.concat(_text(f"'{type_name}:'"), sa.cast(row.c.id, sa.Text)))


def _cursor(position: Any) -> Any:
    """pagination.encode_cursor: URL-safe base64 of `offset:<n>`."""
    plain = sa.func.concat(_text(f"'{CURSOR_PREFIX}'"), sa.cast(position, sa.Text))
    return sa.func.translate(_base64(plain), _text("'+/'"), _text("'-_'"))


def _iso_datetime(column: Any) -> Any:
    """datetime.isoformat() of a UTC timestamp: microseconds only when there are some."""
    utc = sa.func.timezone(_text("'UTC'"), column)
    seconds = sa.func.to_char(utc, _text("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    whole = sa.cast(sa.func.date_part(_text("'microseconds'"), utc), sa.Integer) % 1000000 == 0
    micro = sa.case((whole, _text("''")), else_=sa.func.to_char(utc, _text("'.US'")))
    text = sa.func.concat(seconds, micro, _text("'+00:00'"))
    return sa.case((column.is_(None), sa.null()), else_=text)


def _named(graphql_type: Any) -> Any:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _leaf(graphql_type: Any, column: Any) -> Any:
    """The JSON value of a column in the form the GraphQL scalar serializes it."""
    named = _named(graphql_type)
    sql_type = column.type
    if isinstance(named, GraphQLEnumType):
        # sa.Enum stores member names; the GraphQL enum must answer them as they are.
        stored = getattr(sql_type, "enums", None)
        if not stored or not set(stored) <= set(named.values):
            raise NotPlannable(f"enum {named.name} serializes other names than it stores")
        return column
    python = sql_type.python_type if isinstance(named, GraphQLScalarType) else None
    match named.name, python:
        case ("String", _) | ("Int", _) | ("Boolean", _):
            return column
        case ("Decimal", _) if python is Decimal:
            return sa.cast(column, sa.Text)
        case ("Date", _) if python is date:
            return column
        case ("DateTime", _) if python is datetime and getattr(sql_type, "timezone", False):
            return _iso_datetime(column)
    raise NotPlannable(f"scalar {named.name} of column {column.name}")


def _is_node(graphql_type: GraphQLObjectType) -> bool:
    return any(interface.name == "Node" for interface in graphql_type.interfaces)


def _permitted(field: GraphQLField, actor: Actor) -> bool:
    definition = (field.extensions or {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryField):
        return False
    try:
        return may_read(definition, actor)
    except LookupError:  # no declared permission: left to the executor, which refuses it
        return False


def _plain_attribute(field: GraphQLField) -> str | None:
    """The row attribute a field returns as it is, if it is such a field."""
    definition = (field.extensions or {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryField) or definition.base_resolver is not None:
        return None
    if any(not isinstance(e, AllowRoles) for e in definition.extensions):
        return None
    return definition.python_name


@dataclass(frozen=True)
class Page:
    """The `first`/`after` arguments of one connection field, as parameter names."""

    offset: str
    limit: str
    first: Any  # literal value, or ("var", name)
    after: Any


@dataclass(frozen=True)
class Plan:
    """One compiled statement and how to fill in its parameters."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    pages: tuple[Page, ...]
    required: frozenset[str] = frozenset()  # non-null variables
    # For portal users: the same plan behind the session check of their token
    # (sessions.PORTAL_USER_SESSION), one statement for both; its row is the session's
    # permission group, grants, visibility and impersonation writes, then the JSON.
    with_session: Plan | None = None

    def arguments(
        self,
        actor: Actor,
        variables: Mapping[str, Any],
        max_page_size: int,
        extra: Mapping[str, Any] | None = None,
    ) -> list[Any] | None:
        """The statement's parameters for this request (`extra`: the session check's);
        None when an argument is one the executor must answer (an invalid cursor or
        page size: it raises the error)."""
        values: dict[str, Any] = {
            **(extra or {}),
            "actor_organization": actor.organization_id,
            "actor_contact": actor.contact_id,
            "actor_subject": actor.subject_id,
            "actor_portal": actor.portal_id,
        }
        if any(variables.get(name) is None for name in self.required):
            return None
        for page in self.pages:
            first = _argument(page.first, variables)
            after = _argument(page.after, variables)
            if not (first is None or (isinstance(first, int) and not isinstance(first, bool))):
                return None
            if not (after is None or isinstance(after, str)):
                return None
            try:
                offset, limit = page_window(first, after, max_page_size)
            except GraphQLError:
                return None
            values[page.offset], values[page.limit] = offset, limit
        return [values[n] if n in values else self.constants[n] for n in self.names]


def _argument(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, tuple):
        return variables.get(value[1])
    return value


class _Compiler:
    def __init__(self, schema: Any, actor: Actor) -> None:
        self.schema = schema
        self.actor = actor
        self.pages: list[Page] = []
        self.depth = 0

    def object(self, graphql_type: GraphQLObjectType, node: FieldNode, row: Any) -> Any:
        """json_build_object of the selection of `node` on `row` (a derived table, or
        None for the viewer, which has no row)."""
        pairs: list[Any] = []
        for selection in _fields(node):
            key = selection.alias.value if selection.alias else selection.name.value
            pairs += [_text(f"'{key}'"), self.field(graphql_type, selection, row)]
        return sa.func.json_build_object(*pairs)

    def field(self, parent: GraphQLObjectType, node: FieldNode, row: Any) -> Any:
        name = node.name.value
        if name == "__typename":
            return _text(f"'{parent.name}'")
        field = parent.fields.get(name)
        if field is not None and name == "id" and row is not None and _is_node(parent):
            return _global_id(parent.name, row)  # relay's id: whoever sees the row
        if field is None or not _permitted(field, self.actor):
            raise NotPlannable(f"{parent.name}.{name}")
        relation = RELATIONS.get((parent.name, name))
        if relation is not None:
            return self.relation(relation, field, node, row)
        if node.arguments or node.selection_set is not None:
            raise NotPlannable(f"{parent.name}.{name} has arguments or a selection")
        if (parent.name, name) in COMPUTED:
            return COMPUTED[(parent.name, name)][0](row)
        if parent.name == "Viewer" and name == "role":
            return _text(f"'{self.actor.role.value}'")
        if parent.name == "Viewer" and name == "isImpersonation":
            return sa.false()  # impersonated callers never get a plan
        attribute = _plain_attribute(field)
        if row is None or attribute is None or attribute not in row.c:
            raise NotPlannable(f"{parent.name}.{name}")
        return _leaf(field.type, row.c[attribute])

    def columns(
        self, model: Any, graphql_type: GraphQLObjectType, nodes: list[FieldNode]
    ) -> list[str]:
        """The columns the selections `nodes` of `graphql_type` read from its rows: a
        derived table carries only those (PostgreSQL keeps every column of a subquery
        with a window function)."""
        needed = {"id"}
        for node in nodes:
            for selection in _fields(node):
                name = selection.name.value
                relation = RELATIONS.get((graphql_type.name, name))
                field = graphql_type.fields.get(name)
                if relation is not None and relation.key is not None:
                    needed.add(relation.key)
                elif (graphql_type.name, name) in COMPUTED:
                    needed.update(COMPUTED[(graphql_type.name, name)][1])
                elif field is not None and (attribute := _plain_attribute(field)) is not None:
                    needed.add(attribute)
        mapped = sa.inspect(model).columns
        return sorted(name for name in needed if name in mapped)

    def rows(self, relation: Relation, row: Any, columns: list[str]) -> Any:
        model = relation.model
        allowed = (
            visible(model, self.actor)
            if relation.parent is None
            else visible_below(model, relation.parent, self.actor)
        )
        selected = [getattr(model, name).label(name) for name in columns]
        rows = sa.select(*selected).where(relation.link(row, self.actor), allowed)
        # A SELECT in FROM is not correlated by itself: without this it would join its
        # own copy of the parent level and return every parent's rows.
        return rows if row is None else rows.correlate(row)

    def relation(self, relation: Relation, field: GraphQLField, node: FieldNode, row: Any) -> Any:
        target = _named(field.type)
        if not relation.many:
            if node.arguments:
                raise NotPlannable("arguments on a single relation")
            columns = self.columns(relation.model, target, [node])
            child = self.rows(relation, row, columns).limit(1).subquery(self._alias())
            return sa.select(self.object(target, node, child)).select_from(child).scalar_subquery()
        return self.connection(relation, target, node, row)

    def _alias(self) -> str:
        self.depth += 1
        return f"level_{self.depth}"

    def connection(
        self, relation: Relation, connection_type: GraphQLObjectType, node: FieldNode, row: Any
    ) -> Any:
        model = relation.model
        page = self._page(node)
        offset = sa.bindparam(page.offset, type_=sa.Integer, required=False)
        limit = sa.bindparam(page.limit, type_=sa.Integer, required=False)
        ordering = (*relation.order, ("id", model in _DESCENDING_IDS))
        order = [getattr(model, n).desc() if down else getattr(model, n) for n, down in ordering]
        edge_type = _named(connection_type.fields["edges"].type)
        node_type = _named(edge_type.fields["node"].type)
        selections = _fields(node)
        edges = [_fields(s) for s in selections if s.name.value == "edges"]
        nodes = [inner for fields in edges for inner in fields if inner.name.value == "node"]
        columns = self.columns(model, node_type, nodes)
        if any(s.name.value == "pageInfo" for s in selections) or any(
            inner.name.value == "cursor" for fields in edges for inner in fields
        ):
            # Cursors and page info need each row's position, and one row more than
            # the page tells whether another follows.
            rank = sa.func.row_number().over(order_by=order).label("position")
            window = (
                self.rows(relation, row, columns)
                .add_columns(rank)
                .order_by(*order)
                .offset(offset)
                .limit(limit + 1)
                .subquery(self._alias())
            )
            shown: Any = window.c.position <= offset + limit
            ordered = [window.c.position]
        else:
            # The page alone, in the order of its own columns.
            columns = sorted({*columns, *(n for n, _ in ordering)})
            window = (
                self.rows(relation, row, columns)
                .order_by(*order)
                .offset(offset)
                .limit(limit)
                .subquery(self._alias())
            )
            shown = None
            ordered = [window.c[n].desc() if down else window.c[n] for n, down in ordering]
        pairs: list[Any] = []
        for selection in selections:
            key = selection.alias.value if selection.alias else selection.name.value
            name = selection.name.value
            if name not in connection_type.fields and name != "__typename":
                raise NotPlannable(name)
            if selection.arguments:
                raise NotPlannable(f"{connection_type.name}.{name} has arguments")
            if name == "__typename":
                value = _text(f"'{connection_type.name}'")
            elif name == "edges":
                edge = self.edge(edge_type, node_type, selection, window)
                agg = sa.aggregate_order_by(sa.func.json_agg(edge), *ordered)
                shown_rows = agg if shown is None else agg.filter(shown)
                value = sa.func.coalesce(shown_rows, _text("'[]'::json"))
            elif name == "pageInfo":
                value = self.page_info(selection, window, offset, limit, shown)
            elif name == "totalCount":
                counted = self.rows(relation, row, ["id"]).subquery()
                count = sa.select(sa.func.count()).select_from(counted)
                value = count.scalar_subquery()
            else:
                raise NotPlannable(f"{connection_type.name}.{name}")
            pairs += [_text(f"'{key}'"), value]
        # HAVING makes it one aggregate row even when no aggregate is selected.
        answer = sa.select(sa.func.json_build_object(*pairs)).select_from(window)
        return answer.having(sa.true()).scalar_subquery()

    def edge(
        self, edge_type: GraphQLObjectType, node_type: GraphQLObjectType, node: FieldNode, row: Any
    ) -> Any:
        pairs: list[Any] = []
        for selection in _fields(node):
            key = selection.alias.value if selection.alias else selection.name.value
            name = selection.name.value
            if name == "cursor":
                value = _cursor(row.c.position - 1)
            elif name == "node":
                value = self.object(node_type, selection, row)
            elif name == "__typename":
                value = _text(f"'{edge_type.name}'")
            else:
                raise NotPlannable(f"{edge_type.name}.{name}")
            pairs += [_text(f"'{key}'"), value]
        return sa.func.json_build_object(*pairs)

    def page_info(self, node: FieldNode, row: Any, offset: Any, limit: Any, shown: Any) -> Any:
        count = sa.func.count().filter(shown)
        values = {
            "hasNextPage": sa.func.coalesce(
                sa.func.bool_or(row.c.position > offset + limit), sa.false()
            ),
            "hasPreviousPage": offset > 0,
            "startCursor": sa.case((count > 0, _cursor(offset)), else_=sa.null()),
            "endCursor": sa.case((count > 0, _cursor(offset + count - 1)), else_=sa.null()),
            "__typename": _text("'PageInfo'"),
        }
        pairs: list[Any] = []
        for selection in _fields(node):
            key = selection.alias.value if selection.alias else selection.name.value
            if selection.name.value not in values:
                raise NotPlannable(f"PageInfo.{selection.name.value}")
            pairs += [_text(f"'{key}'"), values[selection.name.value]]
        return sa.func.json_build_object(*pairs)

    def _page(self, node: FieldNode) -> Page:
        arguments: dict[str, Any] = {"first": None, "after": None}
        for argument in node.arguments or ():
            name = argument.name.value
            if name not in arguments:
                raise NotPlannable(f"argument {name}")
            value = argument.value
            if isinstance(value, VariableNode):
                arguments[name] = ("var", value.name.value)
            elif isinstance(value, IntValueNode) and name == "first":
                arguments[name] = int(value.value)
            elif isinstance(value, StringValueNode) and name == "after":
                arguments[name] = value.value
            elif not isinstance(value, NullValueNode):
                raise NotPlannable(f"argument {name}")
        number = len(self.pages)
        page = Page(f"offset_{number}", f"limit_{number}", arguments["first"], arguments["after"])
        self.pages.append(page)
        return page


def _fields(node: FieldNode) -> list[FieldNode]:
    """The selections of `node`: plain fields only, each response key once."""
    if node.selection_set is None:
        raise NotPlannable(f"{node.name.value} needs a selection")
    fields: list[FieldNode] = []
    keys: set[str] = set()
    for selection in node.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise NotPlannable("fragments and directives")
        key = selection.alias.value if selection.alias else selection.name.value
        if key in keys:
            raise NotPlannable(f"field {key} selected twice")
        keys.add(key)
        fields.append(selection)
    return fields


def _symbolic(actor: Actor) -> Actor:
    """The actor with its ids as statement parameters: one plan per kind of caller."""

    def parameter(value: uuid.UUID | None, name: str) -> Any:
        return None if value is None else sa.bindparam(name, type_=sa.Uuid, required=False)

    return replace(
        actor,
        organization_id=parameter(actor.organization_id, "actor_organization"),
        contact_id=parameter(actor.contact_id, "actor_contact"),
        subject_id=parameter(actor.subject_id, "actor_subject"),
        portal_id=parameter(actor.portal_id, "actor_portal"),
    )


def shape_of(actor: Actor) -> tuple[Any, ...]:
    """What a plan depends on besides the document: everything but the caller's ids."""
    return (
        actor.role,
        actor.is_impersonated,
        actor.organization_id is None,
        actor.contact_id is None,
        actor.subject_id is None,
        actor.portal_id is None,
        actor.grants,
        actor.visibility,
    )


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != len(document.definitions):
        raise NotPlannable("fragment definitions")
    chosen = [
        o
        for o in operations
        if operation_name is None or (o.name is not None and o.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY:
        raise NotPlannable("not exactly one query")
    operation = chosen[0]
    if operation.directives:
        raise NotPlannable("operation directives")
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            raise NotPlannable("variable defaults")
    return operation


def _required(operation: OperationDefinitionNode) -> frozenset[str]:
    return frozenset(
        d.variable.name.value
        for d in operation.variable_definitions or ()
        if isinstance(d.type, NonNullTypeNode)
    )


def compile_plan(schema: Any, query: str, operation_name: str | None, actor: Actor) -> Plan:
    """Translate `query` for callers like `actor`; NotPlannable if it can not be."""
    if actor.is_impersonated:
        raise NotPlannable("impersonation requests are audited by the executor")
    try:
        document = parse(query, no_location=True)
    except GraphQLSyntaxError as exc:
        raise NotPlannable("syntax") from exc
    operation = _operation(document, operation_name)
    compiler = _Compiler(schema, _symbolic(actor))
    query_type = schema.query_type
    pairs: list[Any] = []
    selections = operation.selection_set.selections
    for selection in selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise NotPlannable("fragments and directives")
        if selection.name.value != "viewer" or selection.arguments:
            raise NotPlannable(f"Query.{selection.name.value}")
        if not _permitted(query_type.fields["viewer"], actor):
            raise NotPlannable("Query.viewer")
        key = selection.alias.value if selection.alias else "viewer"
        viewer_type = _named(query_type.fields["viewer"].type)
        pairs += [_text(f"'{key}'"), compiler.object(viewer_type, selection, None)]
    if len({p.name for p in pairs[::2]}) != len(selections):
        raise NotPlannable("a response key twice")
    data = sa.cast(sa.func.json_build_object(*pairs), sa.Text)
    pages, required = tuple(compiler.pages), _required(operation)
    plan = _compiled(sa.select(data), pages, required)
    if actor.is_portal_user:
        # A derived table of its own, so that no subquery of the plan correlates to it.
        checked = PORTAL_USER_SESSION.subquery("checked_session")
        combined = sa.select(*checked.c, data).select_from(checked)
        plan = replace(plan, with_session=_compiled(combined, pages, required))
    return plan


def _compiled(statement: sa.Select[Any], pages: tuple[Page, ...], required: frozenset[str]) -> Plan:
    # Visibility criteria are constants of the statement (one plan per kind of caller).
    compiled = Compiled.of(statement)
    return Plan(
        sql=compiled.sql,
        names=compiled.names,
        constants=compiled.constants,
        pages=pages,
        required=required,
    )


class Planner:
    """Plans of the documents the executor has answered without errors, per kind of
    caller, in bounded LRU caches (one process, never shared between tenants: a plan
    holds no ids, only the shape of the caller)."""

    def __init__(self, schema: Any, size: int = PLAN_CACHE_SIZE) -> None:
        self.schema = schema
        self._answered: LRUCache[tuple[str, str | None], bool] = LRUCache(size)
        self._plans: LRUCache[tuple[Any, ...], Plan | None] = LRUCache(size)

    def answered(self, query: str, operation_name: str | None) -> None:
        """The executor answered this document without errors: it is valid."""
        self._answered[(query, operation_name)] = True

    def plan(self, query: str, operation_name: str | None, actor: Actor) -> Plan | None:
        if actor.is_impersonated or (query, operation_name) not in self._answered:
            return None  # impersonation requests are audited by the executor
        key = (query, operation_name, shape_of(actor))
        if key in self._plans:
            return self._plans[key]
        try:
            plan: Plan | None = compile_plan(self.schema, query, operation_name, actor)
        except NotPlannable:
            plan = None
        except Exception:  # a translation bug must cost speed, never the answer
            log.exception("query_plan.compile_failed", operation=operation_name)
            plan = None
        self._plans[key] = plan
        return plan
