"""Query plans: a whole read-only operation answered by one SQL statement.

Run through the GraphQL executor a read costs a statement per level and, per row and
field, a resolver, a permission check and the serialization of Python objects. A plan
answers the same document with one statement that builds the JSON of `data` in
PostgreSQL (the way PostGraphile works; as text, by gql/json_text.py's rule), with the
same rows, order, cursors and scalar formats.

Nothing here restates a rule of the executor: the compiler reads the declarations the
executor's resolvers are derived from. Each field's permission is its `allow(...)`
(`may_read`); the rows a field leads to are its declared relation
(gql/resolvers/relations.py: model, join columns, order); an object of the row's own
columns (an address) its declared columns; a computed value a hybrid attribute of the
model (its SQL half), or a declared computation (gql/resolvers/computed.py: the plan
reads its inputs, the same Python function as the executor's computes the value after
the statement, `Plan.finished`); which rows a caller sees `scope.visible`; searches, filter
conditions and ID arguments what gql/schema/criteria.py declares for the field.

A plan is made only when every field of the document is one declared that way and the
caller may read it: permissions are decided once per document and kind of caller
(role, grants, visibility criteria), with the caller's ids as parameters. Fragments
(named and inline), aliases, variables, `__typename` and `node(id:)` (a branch per row
type its fragments name) stay on this path. Anything else (other fields, directives,
mutations, impersonation, a field the caller may not read, an argument value the
executor refuses) returns None, and the request takes the executor, which gives the
usual answer and errors. Only documents the executor has answered once without errors
get plans, so parsing, validation and limits have been applied to that text.
`QUERY_PLANS=off` (gql/settings.py) switches plans off, `QUERY_PLANS=compare` answers
with the executor and compares each read's plan with it (gql/http/plans.py);
tests/http/test_engines.py compares both engines on generated documents for every kind
of caller.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
import structlog
from cachetools import TTLCache
from graphql import (
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    Undefined,
    VariableNode,
    coerce_input_value,
    parse,
    print_ast,
    value_from_ast,
    value_from_ast_untyped,
)
from graphql.error import GraphQLError, GraphQLSyntaxError
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnElement
from strawberry import relay
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case

from db import models
from db.raw import Compiled
from gql.auth.actor import Actor
from gql.auth.permissions import AllowRoles, may_read
from gql.domain.scope import shape_of, symbolic, visible, visible_below
from gql.domain.search import (
    pattern_matches,
    portal_user_pattern_matches,
    portal_user_search_deciding,
    search_pattern,
)
from gql.domain.sessions import PORTAL_USER_SESSION, STAFF_SESSION
from gql.json_text import (
    Json,
    Quoted,
    json_array,
    json_list,
    json_object,
    json_rows,
    may_be_null,
    quoted,
)
from gql.lru import LRU
from gql.resolvers.computed import (
    COMPUTED,
    MARK,
    PROCESS_PARAMETERS,
    Computed,
    Finisher,
    Given,
    finish,
)
from gql.resolvers.relations import RELATION, Columns, Relation
from gql.schema import criteria
from gql.schema.node import parse_uuid
from gql.schema.pagination import CURSOR_PREFIX, page_window
from gql.schema.scalars import parse_line
from gql.settings import Settings

__all__ = ["Plan", "Planner", "shape_of"]

log = structlog.get_logger(__name__)

PLAN_CACHE_SIZE = 512  # (document, kind of caller) pairs kept compiled
# Search texts whose way a process remembers (Planner.frequent), each for so long: the
# way only decides how the rows are found, so a stale one costs speed, never rows.
WAY_CACHE_SIZE = 4096
WAY_SECONDS = 600
DEFAULT_MAX_PAGE_SIZE = Settings.max_page_size  # the settings' default


# Root fields whose plan a module of its own builds on this one, by field name: the
# function gets the compiler, the field's type and its node and returns the JSON's SQL
# (gql/home_plans.py: portalHome; gql/http/plans.py imports it).
ROOT_PLANS: dict[str, Callable[[Any, GraphQLObjectType, FieldNode], Any]] = {}


class NotPlannable(Exception):
    """The document (or this caller's view of it) is left to the executor."""


def _text(sql: str) -> Any:
    return sa.literal_column(sql)


def _integer(value: int) -> Any:
    """An integer the plan itself decides (a page's window written in the document,
    a formatting constant), written into the statement: a parameter would be bound
    and sent on every request although its value never changes, and PostgreSQL's
    generic plan would not know it (a `LIMIT $n` is estimated as a tenth of the rows).
    Only an `int` (never a value of the request) is written, so nothing can be
    injected."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"not an integer: {value!r}")
    return sa.literal_column(str(value), sa.Integer)


# PostgreSQL's `encode(..., 'base64')` ends a line after every 76 characters it writes,
# the last line too: text of fewer than 57 bytes (76 characters' worth) is one line.
BASE64_LINE_BYTES = 57
_UUID_TEXT = 36  # 8-4-4-4-12 hex digits
_INTEGER_TEXT = 20  # a bigint's text, its sign included


def base64_text(value: Any, most_bytes: int) -> Any:
    """Standard base64 of `value`, text of at most `most_bytes` bytes, on one line: the
    line breaks are taken out only where there can be any."""
    encoded = sa.func.encode(sa.func.convert_to(value, _text("'UTF8'")), _text("'base64'"))
    if most_bytes < BASE64_LINE_BYTES:
        return encoded
    return sa.func.replace(encoded, _text("E'\\n'"), _text("''"))


def _global_id(type_name: str, row: Any) -> Quoted:
    """strawberry.relay.GlobalID: standard base64 of `<Type>:<uuid>` (nothing to escape
    in JSON) of a row there is."""
    prefix = f"{type_name}:"
    plain = sa.func.concat(_text(f"'{prefix}'"), sa.cast(row.c.id, sa.Text))
    return Quoted(base64_text(plain, len(prefix.encode()) + _UUID_TEXT), nullable=False)


def _cursor(position: Any) -> Any:
    """pagination.encode_cursor: URL-safe base64 of `offset:<n>` (nothing to escape in
    JSON)."""
    plain = sa.func.concat(_text(f"'{CURSOR_PREFIX}'"), sa.cast(position, sa.Text))
    encoded = base64_text(plain, len(CURSOR_PREFIX.encode()) + _INTEGER_TEXT)
    return sa.func.translate(encoded, _text("'+/'"), _text("'-_'"))


def _iso_datetime(column: Any) -> Json | Quoted:
    """datetime.isoformat() of a UTC timestamp: microseconds only when there are some
    (digits and separators: nothing to escape in JSON)."""
    utc = sa.func.timezone(_text("'UTC'"), column)
    seconds = sa.func.to_char(utc, _text("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    microseconds = sa.cast(sa.func.date_part(_text("'microseconds'"), utc), sa.Integer)
    whole = microseconds % _integer(1000000) == _integer(0)
    micro = sa.case((whole, _text("''")), else_=sa.func.to_char(utc, _text("'.US'")))
    if not may_be_null(column):
        return quoted(seconds, micro, "+00:00")
    text = sa.func.concat(seconds, micro, _text("'+00:00'"))
    return Quoted(sa.case((column.is_(None), sa.null()), else_=text))


def _key(selection: FieldNode) -> str:
    """A selection's key in the answer: its alias, else its name."""
    return selection.alias.value if selection.alias else selection.name.value


def _named(graphql_type: Any) -> Any:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _leaf(graphql_type: Any, column: Any) -> Any:
    """The JSON value of a column in the form the GraphQL scalar serializes it
    (gql/json_text.py writes it)."""
    named = _named(graphql_type)
    sql_type = column.type
    if isinstance(named, GraphQLEnumType):
        # sa.Enum stores member names; the GraphQL enum must answer them as they are.
        stored = getattr(sql_type, "enums", None)
        if not stored or not set(stored) <= set(named.values):
            raise NotPlannable(f"enum {named.name} serializes other names than it stores")
        # A member's name (db.base.enum_column's CHECK: no other text is stored).
        return _numeral_or_name(column)
    python = sql_type.python_type if isinstance(named, GraphQLScalarType) else None
    match named.name, python:
        case ("String", _) | ("Int", _) | ("Boolean", _):
            return column
        case ("Decimal", _) if python is Decimal:
            return _numeral_or_name(column)
        case ("Date", _) if python is date:
            return column
        case ("DateTime", _) if python is datetime and getattr(sql_type, "timezone", False):
            return _iso_datetime(column)
    raise NotPlannable(f"scalar {named.name} of column {column.name}")


def _numeral_or_name(column: Any) -> Quoted:
    """A column whose text needs no escaping in JSON (a numeral, an enum member's
    name), as a string: a NOT NULL one as it is (concat writes it by its type's output
    function), else as text."""
    if not may_be_null(column):
        return Quoted(column, nullable=False)
    return Quoted(sa.cast(column, sa.Text))


def _is_node(graphql_type: GraphQLObjectType) -> bool:
    return any(interface.name == "Node" for interface in graphql_type.interfaces)


def _definition(field: GraphQLField) -> StrawberryField | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    return definition if isinstance(definition, StrawberryField) else None


def _readable(field: GraphQLField, actor: Actor) -> bool:
    """The field's own declaration (`allow`/`public`) decides, as on the executor."""
    definition = _definition(field)
    if definition is None:
        return False
    try:
        return may_read(definition, actor)
    except LookupError:  # no declared permission: left to the executor, which refuses it
        return False


def _declared(field: GraphQLField) -> Any:
    definition = _definition(field)
    return None if definition is None else definition.metadata.get(RELATION)


def _relation(field: GraphQLField) -> Relation | None:
    """The relation the field follows, as it declares it (gql/resolvers/relations.py)."""
    relation = _declared(field)
    return relation if isinstance(relation, Relation) else None


def _made_of(field: GraphQLField) -> Columns | None:
    """The columns of its row an object field shows, as it declares them."""
    made = _declared(field)
    return made if isinstance(made, Columns) else None


def _computed(field: GraphQLField) -> Computed | None:
    """The computation of a field's value, as it declares it (gql/resolvers/computed.py)."""
    definition = _definition(field)
    computed = None if definition is None else definition.metadata.get(COMPUTED)
    return computed if isinstance(computed, Computed) else None


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
    # A free-text `search` (criteria.declare'd for the field): its parameter's name,
    # which holds the LIKE pattern or null, and the argument.
    search_name: str | None = None
    search: Any = None
    # An input object of conditions (PortalUserFilter): the argument as written, and
    # per condition a plan translates (input field, "search" or "enum", parameter);
    # a request with any other condition goes to the executor.
    filter: Any = None
    conditions: tuple[tuple[str, str, str, frozenset[str]], ...] = ()
    # ID arguments naming a row the listed rows refer to (`portalUsers(portalId:)`):
    # (argument, the value that says whether it is given, parameter of the row id,
    # the row's type).
    references: tuple[tuple[Any, str, str, str], ...] = ()
    # Lists of enum values a column must be one of (`viewer.contracts(status:)`):
    # (argument, parameter of the names or null, the enum's names).
    memberships: tuple[tuple[Any, str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class NodeId:
    """The `id` argument of one `node` field, as the parameters of the type name and
    the row id it holds; the plan has a branch for each of `types` only."""

    type_name: str
    row_id: str
    value: Any  # literal value, or ("var", name)
    types: frozenset[str]


@dataclass(frozen=True)
class Plan:
    """One compiled statement and how to fill in its parameters."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    pages: tuple[Page, ...]
    required: frozenset[str] = frozenset()  # non-null variables
    nodes: tuple[NodeId, ...] = ()
    # The same plan behind the session check of the caller's token, one statement for
    # both: for portal users (sessions.PORTAL_USER_SESSION) its row is the session's
    # permission group, grants, visibility and impersonation writes, for staff
    # (sessions.STAFF_SESSION) the session's id; the JSON last.
    with_session: Plan | None = None
    # Values computed in Python from inputs the statement read, at the marks it left
    # in its JSON (gql/resolvers/computed.py), by their number.
    finishers: tuple[Finisher, ...] = ()
    # The variables computations take as arguments, with their GraphQL types: a value
    # the executor would refuse leaves the request to it.
    inputs: tuple[tuple[str, Any], ...] = ()
    # The values of conditions a request may leave out (an argument absent or null, a
    # blank search), and those this statement leaves out. A statement is compiled per
    # set of conditions left out, without them, rather than once with `$n IS NULL OR
    # ...`: PostgreSQL plans such a condition for any value, and every execution anew.
    optional: frozenset[str] = frozenset()
    absent: frozenset[str] = frozenset()
    # Portal-user searches whose way (frequent: walk the list; rare: find the users
    # first, gql/domain/search.py) depends on the text: their parameters, each with
    # what decides its way besides the text (the contact columns matched). A statement
    # is compiled per set of ways `decided` (parameter, frequent) without the sample;
    # one that decides a search's way itself reports it (`deciding`: the parameters, in
    # the order of their columns just before the JSON), so that the next request with
    # that text takes its way's own statement (Planner.frequent).
    searches: tuple[tuple[str, tuple[str, ...]], ...] = ()
    decided: frozenset[tuple[str, bool]] = frozenset()
    deciding: tuple[str, ...] = ()
    # Parameters whose value this process gives per request (computed.PROCESS_PARAMETERS).
    process: tuple[str, ...] = ()
    # The maximum page size the statement was compiled for: the windows of the pages
    # whose arguments are all written in the document are written into it.
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE

    def finished(self, data: str, given: Callable[[], Given]) -> str:
        """The statement's JSON with the computed values in place of their marks;
        `given()`, what the computations know of the request, is asked only when there
        are any."""
        if not self.finishers:
            return data
        return finish(data, self.finishers, given())

    def left_out(self, values: Mapping[str, Any]) -> frozenset[str]:
        """The conditions a request with these `values` leaves out: the statement to
        run for it is the plan compiled with them `absent`."""
        return frozenset(name for name in self.optional if values.get(name) is None)

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's parameters in order, from a request's `values`."""
        return [values[n] if n in values else self.constants[n] for n in self.names]

    def values(
        self,
        actor: Actor,
        variables: Mapping[str, Any],
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """The values of this request, by parameter name (`extra`: the session
        check's); None when an argument is one the executor must answer (an invalid
        cursor or page size: it raises the error; a node of a type the plan has no
        branch for)."""
        values: dict[str, Any] = {
            **(extra or {}),
            "actor_organization": actor.organization_id,
            "actor_contact": actor.contact_id,
            "actor_subject": actor.subject_id,
            "actor_portal": actor.portal_id,
            "actor_group": actor.permission_group_id,
        }
        for name in self.process:
            values[name] = PROCESS_PARAMETERS[name]()
        if any(variables.get(name) is None for name in self.required):
            return None
        for name, graphql_type in self.inputs:
            if variables.get(name) is not None and _coerced(variables[name], graphql_type) is None:
                return None  # the executor refuses it, naming the variable
        ids: dict[str, tuple[str, uuid.UUID | None] | None] = {}
        if self.pages:
            fixed = self._fixed_values
            if fixed is None:
                return None
            values.update(fixed)
            for page in self._pages_by_request:
                if not _page_values(page, variables, self.max_page_size, values, ids):
                    return None
        for node in self.nodes:
            found = _node_id(_argument(node.value, variables), node.types, ids)
            if found is None:
                return None
            values[node.type_name], values[node.row_id] = found
        return values

    @functools.cached_property
    def _pages_by_request(self) -> tuple[Page, ...]:
        """The pages whose values depend on the request: those naming a variable or
        with a filter (read per request)."""
        return tuple(page for page in self.pages if not _fixed(page))

    @functools.cached_property
    def _fixed_values(self) -> dict[str, Any] | None:
        """The values of the pages whose arguments are all written in the document
        (`orders(first: 5, status: [OFFER])`): the same for every request, so decided
        once (None: one the executor must answer, every time; the compiler refuses
        such a plan already). Their windows are written into the statement."""
        values: dict[str, Any] = {}
        fixed = [page for page in self.pages if _fixed(page)]
        if not all(_page_values(page, {}, self.max_page_size, values, {}) for page in fixed):
            return None
        return values


def _fixed(page: Page) -> bool:
    """Whether every argument of `page` is written in the document (no variable, no
    filter: its values are the same for every request)."""
    arguments = [
        page.first,
        page.after,
        page.search,
        *(argument for argument, _, _, _ in page.references),
        *(argument for argument, _, _ in page.memberships),
    ]
    return page.filter is None and not any(isinstance(a, tuple) for a in arguments)


def _page_values(
    page: Page,
    variables: Mapping[str, Any],
    max_page_size: int,
    values: dict[str, Any],
    ids: dict[str, tuple[str, uuid.UUID | None] | None],
) -> bool:
    """The parameters of `page` into `values`; False when an argument is one the
    executor must answer (`ids`: the global IDs of the request parsed so far)."""
    first = _argument(page.first, variables)
    after = _argument(page.after, variables)
    if not (first is None or (isinstance(first, int) and not isinstance(first, bool))):
        return False
    if not (after is None or isinstance(after, str)):
        return False
    try:
        offset, limit = page_window(first, after, max_page_size)
    except GraphQLError:
        return False
    values[page.offset], values[page.limit] = offset, limit
    if page.search_name is not None:
        search = _argument(page.search, variables)
        if search is not None and not _is_line(search):
            return False  # the executor refuses it, naming the argument
        blank = search is None or not search.strip()
        values[page.search_name] = None if blank else search_pattern(search)
    # A filter given is read even when the plan translates none of its fields: a value
    # for one it does not translate leaves the request to the executor (_conditions).
    if (page.conditions or page.filter is not None) and not _conditions(page, variables, values):
        return False
    for argument, parameter, names in page.memberships:
        chosen = _argument(argument, variables)
        if chosen is not None and (not isinstance(chosen, list) or not set(chosen) <= names):
            return False  # the executor refuses it, naming the argument
        values[parameter] = chosen
    for argument, given, row_id, type_name in page.references:
        reference = _argument(argument, variables)
        if reference is None:
            values[given], values[row_id] = None, None
            continue
        found = _node_id(reference, frozenset({type_name}), ids, any_type=True)
        if found is None:
            return False  # malformed: the executor says so
        # Another type's ID matches no row, as in the resolver (node_uuid).
        values[given], values[row_id] = True, found[1]
    return True


def _coerced(value: Any, graphql_type: Any) -> Any:
    """A variable's value as the executor parses it for `graphql_type`; None if it
    refuses it."""
    try:
        return coerce_input_value(value, graphql_type)
    except GraphQLError:
        return None


def _finisher(
    compute: Callable[..., Any],
    answer: Callable[[Any], Any],
    arguments: tuple[tuple[str, Any, Any], ...],
) -> Finisher:
    """A computation's finisher, decided once per plan: its value from the statement's
    inputs (and the request's arguments, if it takes any), answered for its selection.
    A computation without arguments (the common case) goes straight from its inputs to
    its answer."""
    if not arguments:
        return lambda given, inputs: answer(compute(given, *inputs))

    def finisher(given: Given, inputs: list[Any]) -> Any:
        keywords = {}
        for python_name, value, graphql_type in arguments:
            parsed = _given_argument(value, graphql_type, given.variables)
            if parsed is not Undefined:
                keywords[python_name] = parsed
        return answer(compute(given, *inputs, **keywords))

    return finisher


class _Leaf:
    """A scalar's or enum's answer: the schema's own serialization, null kept."""

    __slots__ = ("serialize",)

    def __init__(self, serialize: Callable[[Any], Any]) -> None:
        self.serialize = serialize

    def __call__(self, value: Any) -> Any:
        return None if value is None else self.serialize(value)


def _object_answer(parts: tuple[tuple[str, str | None, Any], ...]) -> Callable[[Any], Any]:
    """An object's answer by its selection (`parts`: key, attribute or None for a
    constant, and the attribute's answer). A leaf's serialization is called directly,
    not through its `_Leaf` (one call per field less; the same values)."""
    compiled = tuple(
        (key, attribute, part, part.serialize if isinstance(part, _Leaf) else None)
        for key, attribute, part in parts
    )

    def answer(value: Any) -> Any:
        if value is None:
            return None
        answered: dict[str, Any] = {}
        for key, attribute, part, serialize in compiled:
            if attribute is None:
                answered[key] = part
                continue
            item = getattr(value, attribute)
            if serialize is None:
                answered[key] = part(item)
            else:
                answered[key] = None if item is None else serialize(item)
        return answered

    return answer


def _given_argument(value: Any, graphql_type: Any, variables: Mapping[str, Any]) -> Any:
    """An argument's value as the executor parses it (a literal, or a variable's value);
    Undefined when not given."""
    if isinstance(value, tuple):
        if value[1] not in variables:
            return Undefined
        given = variables[value[1]]
        return None if given is None else coerce_input_value(given, graphql_type)
    return value_from_ast(value, graphql_type)


def _argument(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, tuple):
        return variables.get(value[1])
    return value


def _conditions(page: Page, variables: Mapping[str, Any], values: dict[str, Any]) -> bool:
    """The parameters of `page`'s filter conditions; False when one is for the executor
    (a condition the plan does not translate, or a value it refuses)."""
    given: Any = None
    if page.filter is not None:
        given = value_from_ast_untyped(page.filter, dict(variables))
    if given is None or given is Undefined:
        given = {}
    if not isinstance(given, dict):
        return False
    known = {name for name, _, _, _ in page.conditions}
    if any(value is not None for name, value in given.items() if name not in known):
        return False
    for name, kind, parameter, names in page.conditions:
        value = given.get(name)
        if value is not None and not _is_line(value):
            return False  # the executor refuses it, naming the argument
        if kind == "enum" and value is not None and value not in names:
            return False
        if kind == "search":
            text = value if isinstance(value, str) else ""
            values[parameter] = search_pattern(text) if text.strip() else None
        else:  # an enum, by the name the column stores (as _leaf requires)
            values[parameter] = value
    return True


def _is_line(value: Any) -> bool:
    """Whether `value` is one the Line scalar accepts."""
    try:
        parse_line(value)
    except GraphQLError:
        return False
    return True


def _node_id(
    value: Any,
    types: frozenset[str],
    ids: dict[str, tuple[str, uuid.UUID | None] | None],
    *,
    any_type: bool = False,
) -> tuple[str, uuid.UUID | None] | None:
    """The type name and row id of a global ID of one of `types` (or, with `any_type`,
    of any type, its row id None unless it is one of `types`), else None. `ids`: the
    request's global IDs parsed so far (a page's `node(id: $id)` and
    `documents(contractId: $id)` name the same one)."""
    if not isinstance(value, str):
        return None
    if value in ids:
        parsed = ids[value]
    else:
        parsed = ids[value] = _parsed_global_id(value)
    if parsed is None:
        return None
    type_name, row_id = parsed
    if type_name in types and row_id is not None:
        return type_name, row_id
    return (type_name, None) if any_type else None


def _parsed_global_id(value: str) -> tuple[str, uuid.UUID | None] | None:
    """A global ID's type name and row id (None: not a UUID); None if malformed.

    Relay's own decoding (`relay.from_base64`, which `GlobalID.from_id` calls and
    refuses what it refuses), without building the `GlobalID` it would wrap it in:
    the planned step keeps only the two strings."""
    try:
        type_name, node_id = relay.from_base64(value)
    except Exception:
        return None
    return type_name, parse_uuid(node_id)


def _model(graphql_type: GraphQLObjectType) -> Any:
    """The model of a type whose source is a row (RowNode), else None."""
    definition = (graphql_type.extensions or {}).get("strawberry-definition")
    origin = getattr(definition, "origin", None)
    return getattr(origin, "__model__", None)


class _Compiler:
    def __init__(
        self,
        schema: Any,
        actor: Actor,
        fragments: Mapping[str, FragmentDefinitionNode],
        required: frozenset[str] = frozenset(),
        absent: frozenset[str] = frozenset(),
        decided: frozenset[tuple[str, bool]] = frozenset(),
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    ) -> None:
        self.schema = schema
        self.max_page_size = max_page_size
        self.actor = actor
        self.fragments = fragments
        self.required = required  # the operation's non-null variables
        self.absent = absent  # the optional conditions left out (Plan.absent)
        self.decided = dict(decided)  # the searches' ways known (Plan.decided)
        self.searches: list[tuple[str, tuple[str, ...]]] = []
        self.deciding: list[tuple[str, Any]] = []  # parameter, the way's SQL
        self.optional: set[str] = set()
        self.pages: list[Page] = []
        self.nodes: list[NodeId] = []
        self.finishers: list[Finisher] = []
        self.inputs: list[tuple[str, Any]] = []
        self.depth = 0

    def selections(self, node: Any, graphql_type: GraphQLNamedType) -> list[FieldNode]:
        """The fields `node` selects on an object of `graphql_type`: fragments applied."""
        return _fields(node, graphql_type, self.schema, self.fragments)

    def object(self, graphql_type: GraphQLObjectType, node: Any, row: Any) -> Json:
        """The JSON object of the selection of `node` on `row` (a derived table, or
        None for the viewer and the root, which have no row)."""
        return json_object(
            (_key(selection), self.field(graphql_type, selection, row))
            for selection in self.selections(node, graphql_type)
        )

    def field(self, parent: GraphQLObjectType, node: FieldNode, row: Any) -> Any:
        name = node.name.value
        if name == "__typename":
            return parent.name
        field = parent.fields.get(name)
        if field is not None and name == "id" and row is not None and _is_node(parent):
            return _global_id(parent.name, row)  # relay's id: whoever sees the row
        if field is None or not _readable(field, self.actor):
            raise NotPlannable(f"{parent.name}.{name}")
        if parent is self.schema.query_type and name == "node":
            return self.node(node)
        if parent is self.schema.query_type and name == "viewer":
            if node.arguments:
                raise NotPlannable("Query.viewer arguments")
            return self.object(_named(field.type), node, None)
        if parent is self.schema.query_type and name in ROOT_PLANS:
            return ROOT_PLANS[name](self, _named(field.type), node)
        relation = _relation(field)
        if relation is not None:
            return self.relation(relation, parent, field, node, row)
        computed = _computed(field)
        if computed is not None:
            return self.computed(computed, field, node, row)
        made = _made_of(field)
        if made is not None and row is not None and not node.arguments:
            return self.made(made, _named(field.type), node, row)
        if node.arguments or node.selection_set is not None:
            raise NotPlannable(f"{parent.name}.{name} has arguments or a selection")
        if parent.name == "Viewer" and name == "role":
            return str(self.actor.role.value)
        if parent.name == "Viewer" and name == "isImpersonation":
            return False  # impersonated callers never get a plan
        attribute = _plain_attribute(field)
        if row is None or attribute is None or attribute not in row.c:
            raise NotPlannable(f"{parent.name}.{name}")
        return _leaf(field.type, row.c[attribute])

    def made(
        self, made: Columns, graphql_type: GraphQLObjectType, node: FieldNode, row: Any
    ) -> Json:
        """An object of columns of `row` (an address), each field by its permission."""
        columns, constants = dict(made.columns), dict(made.constants)
        pairs: list[tuple[str, Any]] = []
        for selection in self.selections(node, graphql_type):
            name = selection.name.value
            field = graphql_type.fields.get(name)
            attribute = None if field is None else _plain_attribute(field)
            if name == "__typename":
                value: Any = graphql_type.name
            elif field is None or attribute is None or not _readable(field, self.actor):
                raise NotPlannable(f"{graphql_type.name}.{name}")
            elif attribute in columns:
                value = _leaf(field.type, row.c[columns[attribute]])
            elif attribute in constants:
                value = constants[attribute]  # a constant of the plan
            else:
                raise NotPlannable(f"{graphql_type.name}.{name}")
            pairs.append((_key(selection), value))
        return json_object(pairs)

    def columns(self, model: Any, graphql_type: GraphQLObjectType, nodes: list[Any]) -> list[str]:
        """The columns the selections `nodes` of `graphql_type` read from its rows: a
        derived table carries only those (PostgreSQL keeps every column of a subquery
        with a window function). Hybrid attributes of the model (Contact.display_name)
        are columns as their SQL half computes them."""
        needed = {"id"}
        for node in nodes:
            for selection in self.selections(node, graphql_type):
                field = graphql_type.fields.get(selection.name.value)
                if field is None:
                    continue
                relation, made = _relation(field), _made_of(field)
                if relation is not None and relation.key is not None:
                    needed.add(relation.key)
                elif made is not None:
                    needed.update(column for _, column in made.columns)
                elif (computed := _computed(field)) is not None:
                    needed.update(computed.columns)
                elif (attribute := _plain_attribute(field)) is not None:
                    needed.add(attribute)
        readable = sa.inspect(model).all_orm_descriptors
        return sorted(name for name in needed if name in readable)

    def rows(self, relation: Relation, row: Any, columns: list[str], where: Any = None) -> Any:
        model = relation.model
        allowed = (
            visible(model, self.actor)
            if relation.parent is None
            else visible_below(model, relation.parent, self.actor)
        )
        selected = [getattr(model, name).label(name) for name in columns]
        rows = sa.select(*selected).where(self.link(relation, row), allowed)
        if where is not None:
            rows = rows.where(where)
        # A SELECT in FROM is not correlated by itself: without this it would join its
        # own copy of the parent level and return every parent's rows.
        return rows if row is None else rows.correlate(row)

    def link(self, relation: Relation, row: Any) -> ColumnElement[bool]:
        """The condition tying the related rows to the parent `row`: the join columns;
        without a parent the caller's own row (`viewer`), or every visible row."""
        model = relation.model
        if relation.parent is None:
            if relation.viewer is None:
                return sa.true()
            own: ColumnElement[bool] = model.id == getattr(self.actor, relation.viewer)
            return own
        if row is None:
            raise NotPlannable("a relation below a row without one")
        column, key = relation.join
        link: ColumnElement[bool] = getattr(model, column) == row.c[key]
        return link

    def relation(
        self,
        relation: Relation,
        parent: GraphQLObjectType,
        field: GraphQLField,
        node: FieldNode,
        row: Any,
    ) -> Any:
        target = _named(field.type)
        if relation.kind == "page":
            where = f"{parent.name}.{node.name.value}"
            return self.connection(relation, target, field, node, row, where)
        if node.arguments:
            raise NotPlannable("arguments on a row or a list")
        columns = self.columns(relation.model, target, [node])
        if relation.kind == "one":
            child = self.rows(relation, row, columns).limit(_integer(1)).subquery(self._alias())
            one = sa.select(self.object(target, node, child).sql).select_from(child)
            return Json(one.scalar_subquery())  # null without a row
        # A list: every related row, in the declared order (the derived table's: see
        # `_ordering`).
        ordering = _ordering(relation)
        order = [_ordered(relation.model, name, down) for name, down in ordering]
        columns = sorted({*columns, *(name for name, _ in ordering)})
        child = self.rows(relation, row, columns).order_by(*order).subquery(self._alias())
        return json_rows(self.object(target, node, child), child)

    def node(self, node: FieldNode) -> Json:
        """`node(id:)`: a branch per row type the selection names in its fragments, the
        one of the ID's type taken; the ID's row through the same scope as anywhere."""
        value: Any = None
        for argument in node.arguments or ():
            if argument.name.value != "id":
                raise NotPlannable(f"node argument {argument.name.value}")
            if isinstance(argument.value, VariableNode):
                value = ("var", argument.value.name.value)
            elif isinstance(argument.value, StringValueNode):
                value = argument.value.value
            else:
                raise NotPlannable("node id")
        types = [
            t
            for t in _condition_types(node, self.schema, self.fragments)
            if isinstance(t, GraphQLObjectType) and _model(t) is not None
        ]
        if value is None or not types:
            raise NotPlannable("node without an id or a row type")
        number = len(self.nodes)
        type_name = sa.bindparam(f"node_type_{number}", type_=sa.Text, required=False)
        row_id = sa.bindparam(f"node_id_{number}", type_=sa.Uuid, required=False)
        self.nodes.append(
            NodeId(type_name.key, row_id.key, value, frozenset(t.name for t in types))
        )
        branches = []
        for graphql_type in types:
            model = _model(graphql_type)
            columns = self.columns(model, graphql_type, [node])
            selected = [getattr(model, name).label(name) for name in columns]
            rows = sa.select(*selected).where(model.id == row_id, visible(model, self.actor))
            child = rows.limit(_integer(1)).subquery(self._alias())
            answer = sa.select(self.object(graphql_type, node, child).sql).select_from(child)
            branches.append((type_name == graphql_type.name, answer.scalar_subquery()))
        return Json(sa.case(*branches, else_=sa.null()))

    def _alias(self) -> str:
        self.depth += 1
        return f"level_{self.depth}"

    def computed(self, computed: Computed, field: GraphQLField, node: FieldNode, row: Any) -> Json:
        """A value computed in Python: its inputs read here, marked with the number of
        the finisher that computes it from them and answers its selection."""
        if row is None and computed.columns:
            raise NotPlannable("a computed value of a row, without one")
        answer = self.serializer(field.type, node)
        arguments: list[tuple[str, Any, Any]] = []  # (Python name, value, GraphQL type)
        for argument in node.arguments or ():
            declared = field.args.get(argument.name.value)
            definition = (
                None if declared is None else declared.extensions.get("strawberry-definition")
            )
            python_name = getattr(definition, "python_name", None)
            if declared is None or python_name not in computed.arguments:
                raise NotPlannable(f"argument {argument.name.value} of a computed value")
            value: Any = argument.value
            if isinstance(value, VariableNode):
                value = ("var", value.name.value)
                self.inputs.append((value[1], declared.type))
            arguments.append((python_name, value, declared.type))

        number = len(self.finishers)
        self.finishers.append(_finisher(computed.compute, answer, tuple(arguments)))
        inputs = json_array([number, *computed.sql(row, self.actor)])
        return json_object([(MARK, inputs)])

    def serializer(self, graphql_type: Any, node: FieldNode) -> Any:
        """value -> JSON as the executor answers `node` on a value of `graphql_type`:
        scalars and enums by the schema's own serialization, objects (of plain
        attributes, each by its permission) by their selection, lists item by item."""
        named = _named(graphql_type)
        listed = graphql_type
        while isinstance(listed, GraphQLNonNull):
            listed = listed.of_type
        if isinstance(listed, GraphQLList):
            each = self.serializer(listed.of_type, node)
            return lambda values: None if values is None else [each(v) for v in values]
        if isinstance(named, GraphQLScalarType | GraphQLEnumType):
            if node.selection_set is not None:
                raise NotPlannable("a selection on a leaf")
            return _Leaf(named.serialize)
        if not isinstance(named, GraphQLObjectType):
            raise NotPlannable(f"computed {named.name}")
        parts: list[tuple[str, str | None, Any]] = []
        for selection in self.selections(node, named):
            key = selection.alias.value if selection.alias else selection.name.value
            name = selection.name.value
            if name == "__typename":
                parts.append((key, None, named.name))
                continue
            if name == "id" and _is_node(named):  # relay's id of the row, as in `field`
                parts.append((key, "id", lambda row_id, t=named.name: relay.to_base64(t, row_id)))
                continue
            field = named.fields.get(name)
            attribute = None if field is None else _plain_attribute(field)
            if field is None or attribute is None or selection.arguments:
                raise NotPlannable(f"{named.name}.{name}")
            if not _readable(field, self.actor):
                raise NotPlannable(f"{named.name}.{name}")
            parts.append((key, attribute, self.serializer(field.type, selection)))

        return _object_answer(tuple(parts))

    def connection(
        self,
        relation: Relation,
        connection_type: GraphQLObjectType,
        graphql_field: GraphQLField,
        node: FieldNode,
        row: Any,
        where: str,
    ) -> Json:
        model = relation.model
        page, condition = self._page(node, graphql_field, where, model)
        offset, limit = self._window(page)
        ordering = _ordering(relation)
        order = [_ordered(model, name, down) for name, down in ordering]
        edge_type = _named(connection_type.fields["edges"].type)
        node_type = _named(edge_type.fields["node"].type)
        selections = self.selections(node, connection_type)
        edges = [self.selections(s, edge_type) for s in selections if s.name.value == "edges"]
        nodes = [inner for fields in edges for inner in fields if inner.name.value == "node"]
        columns = self.columns(model, node_type, nodes)
        if any(s.name.value == "pageInfo" for s in selections) or any(
            inner.name.value == "cursor" for fields in edges for inner in fields
        ):
            # Cursors and page info need each row's position, and one row more than
            # the page tells whether another follows.
            rank = sa.func.row_number().over(order_by=order).label("position")
            window = (
                self.rows(relation, row, columns, condition)
                .add_columns(rank)
                .order_by(*order)
                .offset(offset)
                .limit(limit + 1)
                .subquery(self._alias())
            )
            shown: Any = window.c.position <= offset + limit
        else:
            # The page alone, in the order of its own columns.
            columns = sorted({*columns, *(n for n, _ in ordering)})
            window = (
                self.rows(relation, row, columns, condition)
                .order_by(*order)
                .offset(offset)
                .limit(limit)
                .subquery(self._alias())
            )
            shown = None
        # The page info's aggregates read the window beside the edges, in one pass
        # over it; without them the edges are a list of their own (`json_rows`: no
        # aggregate to set up and finish per parent row), the window read once.
        aggregated = len(edges) > 1 or any(s.name.value == "pageInfo" for s in selections)
        pairs: list[tuple[str, Any]] = []
        for selection in selections:
            name = selection.name.value
            if name not in connection_type.fields and name != "__typename":
                raise NotPlannable(name)
            if selection.arguments:
                raise NotPlannable(f"{connection_type.name}.{name} has arguments")
            value: Any
            if name == "__typename":
                value = connection_type.name
            elif name == "edges":
                edge = self.edge(edge_type, node_type, selection, window)
                # In the window's order (`_ordering`).
                if aggregated:
                    value = json_list(edge, where=shown)
                else:
                    value = json_rows(edge, window, where=shown)
            elif name == "pageInfo":
                value = self.page_info(selection, window, offset, limit, shown)
            elif name == "totalCount":
                counted = self.rows(relation, row, ["id"], condition).subquery()
                count = sa.select(sa.func.count()).select_from(counted)
                value = count.scalar_subquery()
            else:
                raise NotPlannable(f"{connection_type.name}.{name}")
            pairs.append((_key(selection), value))
        if not aggregated:
            return json_object(pairs)
        # HAVING makes it one aggregate row even when no aggregate is selected.
        answer = sa.select(json_object(pairs).sql).select_from(window)
        return Json(answer.having(sa.true()).scalar_subquery(), nullable=False)

    def _window(self, page: Page) -> tuple[Any, Any]:
        """A page's offset and limit: written into the statement when its `first` and
        `after` are written in the document (`payments(first: 5)`: the same window for
        every request, decided here as a request's would be, `_page_values`), else
        parameters."""
        if isinstance(page.first, tuple) or isinstance(page.after, tuple):
            offset = sa.bindparam(page.offset, type_=sa.Integer, required=False)
            limit = sa.bindparam(page.limit, type_=sa.Integer, required=False)
            return offset, limit
        window = Page(page.offset, page.limit, page.first, page.after)
        values: dict[str, Any] = {}
        if not _page_values(window, {}, self.max_page_size, values, {}):
            raise NotPlannable("a page's written window is the executor's to refuse")
        return _integer(values[page.offset]), _integer(values[page.limit])

    def edge(
        self, edge_type: GraphQLObjectType, node_type: GraphQLObjectType, node: FieldNode, row: Any
    ) -> Json:
        pairs: list[tuple[str, Any]] = []
        for selection in self.selections(node, edge_type):
            name = selection.name.value
            value: Any
            if name == "cursor":
                value = Quoted(_cursor(row.c.position - 1), nullable=False)
            elif name == "node":
                value = self.object(node_type, selection, row)
            elif name == "__typename":
                value = edge_type.name
            else:
                raise NotPlannable(f"{edge_type.name}.{name}")
            pairs.append((_key(selection), value))
        return json_object(pairs)

    def page_info(self, node: FieldNode, row: Any, offset: Any, limit: Any, shown: Any) -> Json:
        count = sa.func.count().filter(shown)
        values: dict[str, Any] = {
            "hasNextPage": sa.func.coalesce(
                sa.func.bool_or(row.c.position > offset + limit), sa.false(), type_=sa.Boolean
            ),
            "hasPreviousPage": offset > 0,
            "startCursor": Quoted(sa.case((count > 0, _cursor(offset)), else_=sa.null())),
            "endCursor": Quoted(sa.case((count > 0, _cursor(offset + count - 1)), else_=sa.null())),
            "__typename": "PageInfo",
        }
        pairs: list[tuple[str, Any]] = []
        for selection in self.selections(node, self.schema.type_map["PageInfo"]):
            if selection.name.value not in values:
                raise NotPlannable(f"PageInfo.{selection.name.value}")
            pairs.append((_key(selection), values[selection.name.value]))
        return json_object(pairs)

    def _page(
        self, node: FieldNode, graphql_field: GraphQLField, where: str, model: Any
    ) -> tuple[Page, Any]:
        """The paging arguments of a connection field, and the condition of its search
        if it has one (`where`: the field as criteria.declare names it)."""
        arguments: dict[str, Any] = {"first": None, "after": None}
        searched = criteria.ARGUMENTS.get(where, {}).get("search")
        if isinstance(searched, tuple):
            arguments["search"] = None
        filter_type = _filter_type(graphql_field)
        if filter_type is not None:
            arguments["filter"] = None
        referring = self._references(graphql_field, where, model)
        listing = self._memberships(graphql_field, where, model)
        for name in (*referring, *listing):
            arguments[name] = None
        for argument in node.arguments or ():
            name = argument.name.value
            if name not in arguments:
                raise NotPlannable(f"argument {name}")
            value = argument.value
            if name == "filter":
                arguments[name] = value  # read per request (value_from_ast_untyped)
            elif isinstance(value, VariableNode):
                arguments[name] = ("var", value.name.value)
            elif name in listing and isinstance(value, ListValueNode):
                if not all(isinstance(v, EnumValueNode) for v in value.values):
                    raise NotPlannable(f"argument {name}")
                arguments[name] = [v.value for v in value.values if isinstance(v, EnumValueNode)]
            elif isinstance(value, IntValueNode) and name == "first":
                arguments[name] = int(value.value)
            elif isinstance(value, StringValueNode) and name in ("after", "search", *referring):
                arguments[name] = value.value
            elif not isinstance(value, NullValueNode):
                raise NotPlannable(f"argument {name}")
        number = len(self.pages)
        # Each condition is optional: a request whose value is null leaves it out
        # (Plan.absent), in a statement of its own.
        clauses: list[Any] = []

        def optional(parameter: str, clause: Any) -> None:
            self.optional.add(parameter)
            if parameter not in self.absent:
                clauses.append(clause)

        search_name = None
        if isinstance(searched, tuple):
            search_name = f"search_{number}"
            pattern = sa.bindparam(search_name, type_=sa.Text, required=False)
            # Only the columns this kind of caller may read (gql/schema/criteria.py).
            columns = criteria.readable_columns(searched, self.actor)
            optional(search_name, pattern_matches(pattern, columns))
        conditions: list[tuple[str, str, str, frozenset[str]]] = []
        if filter_type is not None:
            for name, kind, parameter, names, where_clause in self._filter(
                filter_type, model, number
            ):
                conditions.append((name, kind, parameter, names))
                optional(parameter, where_clause)
        references: list[tuple[Any, str, str, str]] = []
        for name, (column, type_name) in referring.items():
            if arguments[name] is None:
                continue  # not in the document: no condition
            given = f"given_{number}_{name}"  # a value, not a parameter: None if not given
            row_id = sa.bindparam(f"row_{number}_{name}", type_=sa.Uuid, required=False)
            references.append((arguments[name], given, row_id.key, type_name))
            # Another type's ID has no row id: the condition holds for no row.
            optional(given, column == row_id)
        memberships: list[tuple[Any, str, frozenset[str]]] = []
        for name, (column, names) in listing.items():
            if arguments[name] is None:
                continue  # not in the document: no condition
            # The column stores the members' names, which are the GraphQL names.
            stored = sa.cast(column, sa.Text)
            if isinstance(arguments[name], list):
                # Written in the document (`status: [OFFER]`): the same members for
                # every request, written into the statement.
                clauses.append(stored == sa.func.any(_names(arguments[name], names)))
                continue
            chosen = sa.bindparam(
                f"among_{number}_{name}", type_=postgresql.ARRAY(sa.Text), required=False
            )
            memberships.append((arguments[name], chosen.key, names))
            optional(chosen.key, stored == sa.func.any(chosen))
        condition = sa.and_(*clauses) if clauses else None
        page = Page(
            f"offset_{number}",
            f"limit_{number}",
            arguments["first"],
            arguments["after"],
            search_name,
            arguments.get("search"),
            arguments.get("filter"),
            tuple(conditions),
            tuple(references),
            tuple(memberships),
        )
        self.pages.append(page)
        return page, condition

    def _memberships(
        self, graphql_field: GraphQLField, where: str, model: Any
    ) -> dict[str, tuple[Any, frozenset[str]]]:
        """The list-of-enum arguments of a list field declared as a column's value
        (criteria.declare: `viewer.contracts(status:)` reads `Contract.status`), each as
        (column, the enum's names); only those this kind of caller may read."""
        declared = criteria.ARGUMENTS.get(where, {})
        found: dict[str, tuple[Any, frozenset[str]]] = {}
        for name, argument in graphql_field.args.items():
            definition = (argument.extensions or {}).get("strawberry-definition")
            criterion = declared.get(getattr(definition, "python_name", name))
            enum = _named(argument.type)
            listed = argument.type
            while isinstance(listed, GraphQLNonNull):
                listed = listed.of_type
            if (
                isinstance(criterion, criteria.Criterion)
                and isinstance(listed, GraphQLList)
                and isinstance(enum, GraphQLEnumType)
                and criterion.column.class_ is model
                and criterion.readable_by(self.actor)
                and set(getattr(criterion.column.type, "enums", ())) == set(enum.values)
            ):
                found[name] = (criterion.column, frozenset(enum.values))
        return found

    def _references(
        self, graphql_field: GraphQLField, where: str, model: Any
    ) -> dict[str, tuple[Any, str]]:
        """The ID arguments of a list field declared as naming a row its rows refer to
        (criteria.declare: `portalUsers(portalId:)` reads `PortalUser.portal`), each
        as (column, the row's type); only those this kind of caller may read."""
        declared = criteria.ARGUMENTS.get(where, {})
        found: dict[str, tuple[Any, str]] = {}
        for name, argument in graphql_field.args.items():
            definition = (argument.extensions or {}).get("strawberry-definition")
            criterion = declared.get(getattr(definition, "python_name", name))
            if not (
                isinstance(criterion, criteria.Criterion)
                and _named(argument.type).name == "ID"
                and criterion.column.class_ is model
                and criterion.readable_by(self.actor)
            ):
                continue
            owner, field = criterion.fields[-1]
            leads_to = self.schema.type_map[owner].fields[to_camel_case(field.python_name)]
            found[name] = (criterion.column, _named(leads_to.type).name)
        return found

    def _filter(
        self, filter_type: GraphQLInputObjectType, model: Any, number: int
    ) -> list[tuple[str, str, str, frozenset[str], Any]]:
        """The conditions of a filter input a plan translates, each as (input field,
        kind, parameter, the enum's names, WHERE clause): the enum equalities and the
        search declared for it (criteria.py)."""
        declared = criteria.ARGUMENTS.get(filter_type.name, {})
        found: list[tuple[str, str, str, frozenset[str], Any]] = []
        for name, input_field in filter_type.fields.items():
            definition = (input_field.extensions or {}).get("strawberry-definition")
            python_name = getattr(definition, "python_name", name)
            criterion = declared.get(python_name)
            parameter = f"filter_{number}_{python_name}"
            value = sa.bindparam(parameter, type_=sa.Text, required=False)
            if isinstance(criterion, tuple):
                columns = criteria.readable_columns(criterion, self.actor)
                own = [c for c in columns if c.class_ is model]
                contact = [c for c in columns if c.class_ is models.Contact]
                if model is not models.PortalUser or len(own) + len(contact) != len(columns):
                    continue  # a search across other rows: the executor's
                frequent = self.decided.get(parameter) if contact else None
                if contact and frequent is None:
                    # The statement decides the way and reports it, from one sample.
                    matches, way = portal_user_search_deciding(value, own, contact)
                else:
                    matches = portal_user_pattern_matches(value, own, contact, frequent)
                found.append((name, "search", parameter, frozenset(), matches))
                if contact and parameter not in self.absent:
                    self.searches.append((parameter, tuple(c.key for c in contact)))
                    if frequent is None:
                        self.deciding.append((parameter, way))
            elif (
                isinstance(criterion, criteria.Criterion)
                and isinstance(enum := _named(input_field.type), GraphQLEnumType)
                and criterion.readable_by(self.actor)
                and criterion.column.class_ is model
                and set(getattr(criterion.column.type, "enums", ())) == set(enum.values)
            ):
                # The column stores the members' names, which are the GraphQL names.
                stored = sa.cast(criterion.column, sa.Text)
                found.append((name, "enum", parameter, frozenset(enum.values), stored == value))
        return found


_ENUM_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


def _names(written: list[str], names: frozenset[str]) -> Any:
    """An array of enum members' names written in the document, as SQL; only names of
    the enum (GraphQL names: letters, digits and underscores, nothing to quote), else
    NotPlannable (the executor refuses them)."""
    if not all(name in names and _ENUM_NAME.fullmatch(name) for name in written):
        raise NotPlannable("a member the enum does not have")
    return _text("ARRAY[" + ", ".join(f"'{name}'" for name in written) + "]::TEXT[]")


def _filter_type(field: GraphQLField) -> GraphQLInputObjectType | None:
    """The input object of a field's `filter` argument, if it has one."""
    argument = field.args.get("filter")
    named = None if argument is None else _named(argument.type)
    return named if isinstance(named, GraphQLInputObjectType) else None


def _ordered(model: Any, name: str, descending: bool) -> Any:
    column = getattr(model, name)
    return column.desc() if descending else column


def _column(model: Any, attribute: str) -> Any:
    """The table column a model's attribute maps, or None (a hybrid attribute)."""
    found = sa.inspect(model).all_orm_descriptors.get(attribute)
    prop = getattr(found, "property", None)
    columns = getattr(prop, "columns", None)
    return columns[0] if columns else None


def _ordering(relation: Relation) -> tuple[tuple[str, bool], ...]:
    """The relation's declared order (`Relation.ordering`) up to the first key after
    which no two rows of one parent can tie: with the join column, the keys so far hold
    the columns of a unique constraint of the model, none of them nullable (a
    register's readings by `read_at`: (register_id, read_at) is unique, so the id
    would never decide; without it the page is read from that index as it is, not
    sorted again). The rows come in the same order either way.

    A level's list (`json_text.json_rows`, or `json_list`'s aggregate beside a page's
    info) has no `ORDER BY` of its own: it reads its derived table, sorted in this order
    (a page's `LIMIT` too) and read alone, without a join, and PostgreSQL keeps a sorted
    subquery as it is (it never pulls one up into the level above) and lists its rows in
    that order. An `ORDER BY` in the list would sort them again, once per parent row
    (PostgreSQL 15 does not see that they arrive sorted)."""
    ordering = relation.ordering()
    if relation.parent is None:
        return ordering
    table = sa.inspect(relation.model).local_table
    unique = [
        {column.name for column in constraint.columns}
        for constraint in table.constraints
        if isinstance(constraint, sa.UniqueConstraint | sa.PrimaryKeyConstraint)
    ]
    fixed = {_column(relation.model, relation.join[0]).name}
    for count, (name, _) in enumerate(ordering, start=1):
        column = _column(relation.model, name)
        if column is None or column.nullable:
            break
        fixed.add(column.name)
        if any(columns <= fixed for columns in unique):
            return ordering[:count]
    return ordering


def _applies(condition: NamedTypeNode | None, graphql_type: GraphQLNamedType, schema: Any) -> bool:
    """Whether a fragment with type `condition` applies to an object of `graphql_type`."""
    if condition is None or condition.name.value == graphql_type.name:
        return True
    named = schema.type_map.get(condition.name.value)
    if isinstance(named, GraphQLInterfaceType) and isinstance(graphql_type, GraphQLObjectType):
        return named in graphql_type.interfaces
    return False


def _fields(
    node: Any,
    graphql_type: GraphQLNamedType,
    schema: Any,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> list[FieldNode]:
    """The fields of `node`'s selection on an object of `graphql_type`, as GraphQL's
    field collection yields them: fragments that apply spread in, a response key
    selected more than once merged into one field (the executor has validated that
    they may be). Directives are left to the executor."""
    if node.selection_set is None:
        raise NotPlannable(f"{node.name.value} needs a selection")
    by_key: dict[str, list[FieldNode]] = {}

    def collect(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise NotPlannable("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                by_key.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if _applies(selection.type_condition, graphql_type, schema):
                    collect(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    raise NotPlannable(f"fragment {name}")
                if _applies(fragment.type_condition, graphql_type, schema):
                    collect(fragment.selection_set, seen | {name})

    collect(node.selection_set, frozenset())
    fields: list[FieldNode] = []
    for same in by_key.values():
        first = same[0]
        if len(same) > 1:
            arguments = {print_ast(f.arguments[0]) if f.arguments else "" for f in same}
            if (
                len({f.name.value for f in same}) > 1
                or any(len(f.arguments or ()) > 1 for f in same)
                or len(arguments) > 1
            ):
                raise NotPlannable("one response key for different fields")
            if first.selection_set is not None:
                merged = [s for f in same if f.selection_set for s in f.selection_set.selections]
                first = FieldNode(
                    name=first.name,
                    alias=first.alias,
                    arguments=first.arguments,
                    directives=(),
                    selection_set=SelectionSetNode(selections=tuple(merged)),
                )
        fields.append(first)
    return fields


def _condition_types(
    node: FieldNode, schema: Any, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[Any]:
    """The types the fragments of `node`'s selection are for (its possible types)."""
    found: list[Any] = []

    def walk(selection_set: SelectionSetNode | None, seen: frozenset[str]) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, InlineFragmentNode) and selection.type_condition:
                named = schema.type_map.get(selection.type_condition.name.value)
                if named is not None and named not in found:
                    found.append(named)
                walk(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen:
                    raise NotPlannable(f"fragment {name}")
                named = schema.type_map.get(fragment.type_condition.name.value)
                if named is not None and named not in found:
                    found.append(named)
                walk(fragment.selection_set, seen | {name})

    walk(node.selection_set, frozenset())
    return found


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
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


def compile_plan(
    schema: Any,
    query: str,
    operation_name: str | None,
    actor: Actor,
    absent: frozenset[str] = frozenset(),
    decided: frozenset[tuple[str, bool]] = frozenset(),
    max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
) -> Plan:
    """Translate `query` for callers like `actor`, without the optional conditions
    `absent` (Plan.optional names them), with the searches' ways `decided` (Plan.searches
    names them), for pages of at most `max_page_size` rows; NotPlannable if it can not
    be."""
    if actor.is_impersonated:
        raise NotPlannable("impersonation requests are audited by the executor")
    try:
        document = parse(query, no_location=True)
    except GraphQLSyntaxError as exc:
        raise NotPlannable("syntax") from exc
    operation = _operation(document, operation_name)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    required = _required(operation)
    compiler = _Compiler(
        schema, symbolic(actor), fragments, required, absent, decided, max_page_size
    )
    data = compiler.object(schema.query_type, operation, None).sql
    searches = tuple(compiler.searches)
    if not {name for name, _ in decided} <= {name for name, _ in searches}:
        raise NotPlannable("ways decided for searches that the document does not have")
    # The ways the statement decides itself, reported just before the JSON.
    ways = [way.label(f"way_{name}") for name, way in compiler.deciding]
    pages, nodes = tuple(compiler.pages), tuple(compiler.nodes)
    finishers, inputs = tuple(compiler.finishers), tuple(compiler.inputs)
    optional = frozenset(compiler.optional)
    if not absent <= optional:
        raise NotPlannable("conditions left out that the document does not have")

    def planned(statement: sa.Select[Any]) -> Plan:
        if decided and not compiler.deciding:
            statement = _values_hidden(statement)
        compiled = _compiled(statement, pages, nodes, required)
        return replace(
            compiled,
            finishers=finishers,
            inputs=inputs,
            optional=optional,
            absent=absent,
            searches=searches,
            decided=decided,
            deciding=tuple(name for name, _ in compiler.deciding),
            max_page_size=max_page_size,
        )

    plan = planned(sa.select(*ways, data))
    if actor.is_portal_user or actor.is_staff:
        # A derived table of its own, so that no subquery of the plan correlates to it.
        check = PORTAL_USER_SESSION if actor.is_portal_user else STAFF_SESSION
        checked = check.subquery("checked_session")
        combined = sa.select(*checked.c, *ways, data).select_from(checked)
        plan = replace(plan, with_session=planned(combined))
    return plan


def _values_hidden(statement: sa.Select[Any]) -> sa.Select[Any]:
    """`statement` with each parameter's value hidden from PostgreSQL's planner, as a
    one-row subquery `(SELECT $n)`, for a statement whose plan does not depend on the
    values: a portal-user search whose way is decided (Plan.decided).

    PostgreSQL plans a prepared statement anew for its first five executions with the
    values (custom plans), then keeps its generic plan, made without them, if that is
    estimated to cost no more than they did on average. With the values it estimates a
    large tenant's organization, portal and status as most rows and the page as a few
    rows of the index, without them as an average share of several tenants and a tenth
    of the rows, so the generic plan is estimated at several times the custom one and
    every execution is planned anew (a third of the statement's time, about a
    millisecond on the bench's staff list), although both are the same plan. Hidden
    from both, they are estimated alike, and the generic plan is kept."""

    def hide(element: Any, **_: Any) -> Any:
        if isinstance(element, sa.BindParameter) and not element.expanding:
            return sa.select(element).scalar_subquery()
        return None

    return cast(sa.Select[Any], visitors.replacement_traverse(statement, {}, hide))


def _compiled(
    statement: sa.Select[Any],
    pages: tuple[Page, ...],
    nodes: tuple[NodeId, ...],
    required: frozenset[str],
) -> Plan:
    # Visibility criteria are constants of the statement (one plan per kind of caller).
    compiled = Compiled.of(statement)
    return Plan(
        sql=compiled.sql,
        names=compiled.names,
        constants=compiled.constants,
        pages=pages,
        required=required,
        nodes=nodes,
        process=tuple(name for name in compiled.names if name in PROCESS_PARAMETERS),
    )


# What `Planner._plans` answers for a key not compiled yet (None: compiled, no plan).
_NOT_COMPILED = object()


class Planner:
    """Plans of the documents the executor has answered without errors, per kind of
    caller, in bounded LRU caches (one process, never shared between tenants: a plan
    holds no ids, only the shape of the caller), and the ways of the search texts its
    statements have decided (`frequent`: no rows, only how they are found)."""

    def __init__(
        self,
        schema: Any,
        size: int = PLAN_CACHE_SIZE,
        max_page_size: int = DEFAULT_MAX_PAGE_SIZE,
    ) -> None:
        self.schema = schema
        self.max_page_size = max_page_size
        self._answered: LRU[tuple[str, str | None], bool] = LRU(size)
        self._plans: LRU[tuple[Any, ...], Plan | None] = LRU(size)
        # (contact columns, search pattern) -> frequent
        self.frequent: TTLCache[tuple[tuple[str, ...], str], bool] = TTLCache(
            WAY_CACHE_SIZE, WAY_SECONDS
        )

    def answered(self, query: str, operation_name: str | None) -> None:
        """The executor answered this document without errors: it is valid."""
        self._answered[(query, operation_name)] = True

    def plan(
        self,
        query: str,
        operation_name: str | None,
        actor: Actor,
        absent: frozenset[str] = frozenset(),
        decided: frozenset[tuple[str, bool]] = frozenset(),
    ) -> Plan | None:
        """The plan of `query` for callers like `actor`, without the optional
        conditions `absent` (for a request: `plan.left_out(values)` of the plan with
        none absent), with the searches' ways `decided` (`ways`)."""
        if actor.is_impersonated or (query, operation_name) not in self._answered:
            return None  # impersonation requests are audited by the executor
        key = (query, operation_name, shape_of(actor), absent, decided)
        known = self._plans.get(key, _NOT_COMPILED)
        if known is not _NOT_COMPILED:
            return cast(Plan | None, known)
        try:
            plan: Plan | None = compile_plan(
                self.schema, query, operation_name, actor, absent, decided, self.max_page_size
            )
        except NotPlannable:
            plan = None
        except Exception:  # a translation bug must cost speed, never the answer
            log.exception("query_plan.compile_failed", operation=operation_name)
            plan = None
        self._plans[key] = plan
        return plan

    def ways(self, plan: Plan, values: Mapping[str, Any]) -> frozenset[tuple[str, bool]]:
        """The ways known of the searches of `plan` with these `values` (their texts'
        patterns), as `plan`'s `decided`."""
        known = []
        for name, columns in plan.searches:
            frequent = self.frequent.get((columns, values[name])) if values.get(name) else None
            if frequent is not None:
                known.append((name, frequent))
        return frozenset(known)

    def learn(self, plan: Plan, values: Mapping[str, Any], row: Sequence[Any]) -> None:
        """Remember the ways `plan`'s statement decided (`Plan.deciding`), from its `row`."""
        if not plan.deciding:
            return
        columns = dict(plan.searches)
        reported = row[-1 - len(plan.deciding) : -1]
        for name, frequent in zip(plan.deciding, reported, strict=True):
            if values.get(name) and frequent is not None:
                self.frequent[(columns[name], values[name])] = bool(frequent)
