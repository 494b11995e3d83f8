"""Searching, filtering and sorting only by what the caller may read.

A search that matches a column the caller may not read reveals it character by
character, and a sort by it reveals its order. gql/schema/criteria.py declares every
such column through the GraphQL field that shows it; here, statically, every argument
of the schema that filters or sorts is declared and every declared column has a field
permission behind it, and dynamically, as every actor of the demo world, a search by a
value finds its row exactly when the actor may read a column holding the value, and a
filter or sort key the actor may not read is refused, naming the argument.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
import strawberry
from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
    is_enum_type,
)
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types.field import StrawberryField
from strawberry.utils.str_converters import to_camel_case, to_snake_case

from db import demo, models
from db.models.enums import Grant
from gql.auth.actor import Actor, Role
from gql.auth.permissions import declared_roles
from gql.domain.scope import visible
from gql.schema import crm, schema
from gql.schema.criteria import (
    ARGUMENTS,
    Criterion,
    Search,
    criterion,
    readable_columns,
    require,
)
from tests.conftest import ACTORS, CUSTOMER_PORTAL, GraphQLClient, contact_id, global_id

PAGING = frozenset({"first", "after", "last", "before"})

# Arguments that are neither a filter nor a sort key, and why.
NOT_CRITERIA = {
    "Query.previewEmailTemplate": "renders the template it is given; lists nothing",
    "Query.loginOptions": "answers from the portal's settings alone, whatever the email",
    "Contract.price": "picks the price in force on a day (and register) among those"
    " `Contract.prices` lists to the same callers under the same grant",
}

# Every free-text search and how to run it: (list field, query, rows, join to them).
SEARCHES: dict[tuple[str, str], tuple[str, str, Any, tuple[Any, ...] | None]] = {
    ("Query.contacts", "search"): (
        "contacts",
        "query($text: Line) { contacts(search: $text, first: 100) { edges { node { id } } } }",
        models.Contact,
        None,
    ),
    ("Viewer.contracts", "search"): (
        "viewer.contracts",
        "query($text: Line) { viewer { contracts(search: $text, first: 100)"
        " { edges { node { id } } } } }",
        models.Contract,
        None,
    ),
    ("PortalUserFilter", "search"): (
        "portalUsers",
        "query($text: Line) { portalUsers(filter: {search: $text}, first: 100)"
        " { edges { node { id } } } }",
        models.PortalUser,
        (models.Contact, models.Contact.id == models.PortalUser.contact_id),
    ),
}

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
DEFAULT_GROUP = global_id("PermissionGroup", demo.demo_id("group:musterstadt-kunden:default"))
CONTACT = global_id("Contact", contact_id("musterstadt", "c00"))


def _users(argument: str) -> tuple[str, str, dict[str, Any]]:
    query = "query($v: PortalUserFilter) { portalUsers(filter: $v) { totalCount } }"
    return "portalUsers", query, {"v": {argument: SAMPLE_VALUES[argument]}}


SAMPLE_VALUES: dict[str, Any] = {
    "registrationStatus": "ACTIVE",
    "assignmentStatus": "ASSIGNED",
    "permissionGroupId": DEFAULT_GROUP,
    "createdAfter": datetime(2000, 1, 1, tzinfo=UTC).isoformat(),
    "createdBefore": datetime(2100, 1, 1, tzinfo=UTC).isoformat(),
}

# One run of every filter and sort key: (list field, query, variables).
SAMPLES: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {
    ("ContactFilter", "has_portal_user"): (
        "contacts",
        "{ contacts(filter: {hasPortalUser: true}) { totalCount } }",
        {},
    ),
    ("ContactFilter", "portal_id"): (
        "contacts",
        "query($p: ID) { contacts(filter: {portalId: $p}) { totalCount } }",
        {"p": PORTAL},
    ),
    **{("PortalUserFilter", to_snake_case(name)): _users(name) for name in SAMPLE_VALUES},
    ("Query.portalUsers", "portal_id"): (
        "portalUsers",
        "query($p: ID) { portalUsers(portalId: $p) { totalCount } }",
        {"p": PORTAL},
    ),
    **{
        ("PortalUserSort", key): (
            "portalUsers",
            f"{{ portalUsers(orderBy: {{field: {key}, direction: ASC}}) {{ totalCount }} }}",
            {},
        )
        for key in ("CREATED_AT", "EMAIL", "LAST_LOGIN_AT", "REGISTRATION_STATUS")
    },
    ("ChangeRequestFilter", "status"): (
        "changeRequests",
        "{ changeRequests(filter: {status: PENDING}) { totalCount } }",
        {},
    ),
    ("ChangeRequestFilter", "contact_id"): (
        "changeRequests",
        "query($c: ID) { changeRequests(filter: {contactId: $c}) { totalCount } }",
        {"c": CONTACT},
    ),
    ("Viewer.contracts", "status"): (
        "viewer.contracts",
        "{ viewer { contracts(status: [ACTIVE]) { totalCount } } }",
        {},
    ),
    ("Viewer.orders", "status"): (
        "viewer.orders",
        "{ viewer { orders(status: [OPEN]) { totalCount } } }",
        {},
    ),
    ("Contact.documents", "type"): (
        "viewer.contact.documents",
        "{ viewer { contact { documents(type: [INVOICE]) { totalCount } } } }",
        {},
    ),
    ("Contact.documents", "contract_id"): (
        "viewer.contact.documents",
        "query($c: ID) { viewer { contact { documents(contractId: $c) { totalCount } } } }",
        {"c": global_id("Contract", demo.demo_id("contract:musterstadt:V-2023-1000001"))},
    ),
    ("Contact.billingAccount", "contract_id"): (
        "viewer.contact.billingAccount",
        "query($c: ID) { viewer { contact { billingAccount(contractId: $c) { balance } } } }",
        {"c": global_id("Contract", demo.demo_id("contract:musterstadt:V-2023-1000001"))},
    ),
    ("Contact.billingAccount", "from"): (
        "viewer.contact.billingAccount",
        '{ viewer { contact { billingAccount(from: "2026-01-01") { balance } } } }',
        {},
    ),
    ("Contact.billingAccount", "to"): (
        "viewer.contact.billingAccount",
        '{ viewer { contact { billingAccount(to: "2026-12-31") { balance } } } }',
        {},
    ),
    ("BillingAccount.items", "status"): (
        "viewer.contact.billingAccount.items",
        "{ viewer { contact { billingAccount { items(status: [PAID]) { totalCount } } } } }",
        {},
    ),
    ("BillingAccount.items", "kind"): (
        "viewer.contact.billingAccount.items",
        "{ viewer { contact { billingAccount { items(kind: [REFUND]) { totalCount } } } } }",
        {},
    ),
    ("Query.portal", "domain"): (
        "portal",
        '{ portal(domain: "kunden.stadtwerke-musterstadt.example") { name } }',
        {},
    ),
}


def _definition(field: GraphQLField) -> StrawberryField:
    definition = (field.extensions or {}).get("strawberry-definition")
    assert isinstance(definition, StrawberryField)
    return definition


def _query_roles(path: str) -> frozenset[Role]:
    """The roles that may read every field on the dotted `path` from `Query`."""
    graphql_type: Any = schema._schema.query_type
    allowed = frozenset(Role)
    for name in path.split("."):
        field = graphql_type.fields[name]
        roles = declared_roles(_definition(field))
        allowed &= frozenset(Role) if roles is None else roles
        graphql_type = get_named_type(field.type)
    return allowed


def _listed(data: dict[str, Any] | None, path: str) -> Any:
    """The list at the dotted `path` of an answer (None where a field on the way is)."""
    value: Any = data
    for name in path.split("."):
        if value is None:
            return None
        value = value[name]
    return value


def _shown_types(field: GraphQLField) -> list[GraphQLObjectType]:
    """The object types a field's answer shows: a connection's nodes, a union's members."""
    named = get_named_type(field.type)
    if isinstance(named, GraphQLUnionType):
        return list(named.types)
    if not isinstance(named, GraphQLObjectType):
        return []  # a scalar's argument picks its form (e.g. a label's language), no rows
    if named.name.endswith("Connection"):
        node = get_named_type(named.fields["edges"].type)
        assert isinstance(node, GraphQLObjectType)
        shown = get_named_type(node.fields["node"].type)
        assert isinstance(shown, GraphQLObjectType)
        return [shown]
    return [named]


def _shows_nothing_hidden(field: GraphQLField) -> bool:
    """Whether every field of what `field` answers is readable by every role that may
    call it, without a grant: then no argument can reveal a value its caller could
    not read anyway (e.g. the audit log: staff only, every column staff)."""
    callers = declared_roles(_definition(field)) or frozenset(Role)
    for shown in _shown_types(field):
        for name, shown_field in shown.fields.items():
            if name == "id":
                continue
            definition = _definition(shown_field)
            roles = declared_roles(definition) or frozenset(Role)
            if not callers <= roles or any(
                getattr(e, "grant", None) for e in definition.extensions
            ):
                return False
    return True


def _undeclared_input_fields(input_type: GraphQLInputObjectType) -> list[str]:
    declared = ARGUMENTS.get(input_type.name, {})
    missing = []
    for name, input_field in input_type.fields.items():
        named = get_named_type(input_field.type)
        if to_snake_case(name) in declared:
            continue
        if isinstance(named, GraphQLInputObjectType):
            missing += _undeclared_input_fields(named)
        elif is_enum_type(named) and set(named.values) <= set(ARGUMENTS.get(named.name, {})):
            continue  # a sort key: each member is declared
        else:
            missing.append(f"{input_type.name}.{name}")
    return missing


def test_every_filter_and_sort_argument_is_declared() -> None:
    missing: list[str] = []
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name == "Mutation":
            continue
        if graphql_type.name.startswith("__"):
            continue
        for field_name, field in graphql_type.fields.items():
            where = f"{graphql_type.name}.{field_name}"
            if where in NOT_CRITERIA:
                continue
            declared = ARGUMENTS.get(where, {})
            for name, argument in field.args.items():
                named = get_named_type(argument.type)
                if name in PAGING or (name in {"id", "ids"} and named.name == "ID"):
                    continue  # rows by global ID are scoped like any row
                if to_snake_case(name) in declared:
                    continue
                if isinstance(named, GraphQLInputObjectType):
                    missing += _undeclared_input_fields(named)
                elif not _shows_nothing_hidden(field):
                    missing.append(f"{where}({name}:)")
    assert missing == [], (
        "Filter and sort arguments must be declared in gql/schema/criteria.py terms, through"
        f" the field whose permission decides who may use them: {missing}"
    )


def _unguarded(arguments: dict[str, dict[str, Criterion | Search | None]]) -> list[str]:
    """Declared columns with a field on the way that declares no permission."""
    found = []
    for where, declared in arguments.items():
        for name, value in declared.items():
            for column in value if isinstance(value, tuple) else (value,):
                if column is None:
                    continue
                assert isinstance(column.column.property, sa.orm.ColumnProperty), column.name
                try:
                    for _, field in column.fields:
                        declared_roles(field)
                except LookupError:
                    found.append(f"{where}.{name}")
    return found


def test_every_declared_column_has_a_field_permission() -> None:
    assert ARGUMENTS
    assert _unguarded(ARGUMENTS) == []


@strawberry.type(description="A contact shown without any field permission (a mistake).")
class Unguarded:
    __model__ = models.Contact
    email: str | None = strawberry.field(description="Shown to anybody, unchecked.")


def test_a_column_without_a_field_permission_is_found() -> None:
    careless: dict[str, dict[str, Criterion | Search | None]] = {
        **ARGUMENTS,
        "Query.careless": {"search": (criterion(Unguarded, "email"),)},
    }
    assert _unguarded(careless) == ["Query.careless.search"]
    with pytest.raises(LookupError):
        criterion(Unguarded, "email").readable_by(ACTORS["admin"])


def test_a_portal_users_grant_counts_like_a_role() -> None:
    number = criterion(crm.Contract, "number")
    customer = ACTORS["customer"]
    without = replace(customer, grants=customer.grants - {Grant.CONTRACT_READ})
    assert number.readable_by(customer)
    assert not number.readable_by(without)
    assert readable_columns([number], without) == []
    assert require(number, customer, "ContractFilter.number") is models.Contract.number
    with pytest.raises(GraphQLError, match=r"'ContractFilter\.number'") as refused:
        require(number, without, "ContractFilter.number")
    assert (refused.value.extensions or {})["code"] == "FORBIDDEN"
    assert number.readable_by(ACTORS["agent"])  # staff need no grant
    assert not number.readable_by(ACTORS["installer"])


def test_every_search_and_filter_has_a_run_below() -> None:
    searches = {
        (where, name)
        for where, arguments in ARGUMENTS.items()
        for name, value in arguments.items()
        if isinstance(value, tuple)
    }
    filters = {
        (where, name)
        for where, arguments in ARGUMENTS.items()
        for name, value in arguments.items()
        if isinstance(value, Criterion)
    }
    assert searches == set(SEARCHES)
    assert filters == set(SAMPLES)


async def _visible_values(session: AsyncSession, where: tuple[str, str], actor: Actor) -> list[Any]:
    _, _, model, join = SEARCHES[where]
    search = ARGUMENTS[where[0]][where[1]]
    assert isinstance(search, tuple)
    statement = sa.select(model.id, *(c.column for c in search)).select_from(model)
    if join is not None:
        statement = statement.outerjoin(*join)
    statement = statement.where(visible(model, actor)).order_by(model.id)
    return list((await session.execute(statement)).all())


@pytest.mark.parametrize("actor_name", sorted(ACTORS))
@pytest.mark.parametrize("where", sorted(SEARCHES), ids=lambda w: ".".join(w))
async def test_a_search_finds_a_row_only_by_a_value_the_caller_may_read(
    gql: GraphQLClient, session: AsyncSession, where: tuple[str, str], actor_name: str
) -> None:
    list_field, query, model, _ = SEARCHES[where]
    search = ARGUMENTS[where[0]][where[1]]
    assert isinstance(search, tuple)
    actor = ACTORS[actor_name]
    if actor.role not in _query_roles(list_field):
        data, errors = await gql(query, actor, text="a")
        assert data is not None
        assert _listed(data, list_field) is None
        assert [(e.extensions or {}).get("code") for e in errors] == ["FORBIDDEN"]
        return
    readable = [c.readable_by(actor) for c in search]
    rows = await _visible_values(session, where, actor)
    checked: list[tuple[str, bool]] = []
    for index, column in enumerate(search):
        for row in rows:
            value = row[index + 1]
            values = [v.lower() if v else "" for v in row[1:]]
            if not value:
                continue
            # Only a value no other readable column holds tells this column's part.
            if any(
                readable[j] and value.lower() in values[j] for j in range(len(search)) if j != index
            ):
                continue
            data, errors = await gql(query, actor, text=value)
            assert errors == [], errors
            assert data is not None
            found = {edge["node"]["id"] for edge in _listed(data, list_field)["edges"]}
            row_id = global_id(model.__name__, row[0])
            assert (row_id in found) is readable[index], (column.name, value, readable[index])
            checked.append((column.name, readable[index]))
            break
    if rows:
        assert checked, "no row to search for"
    if actor.role is Role.INSTALLER and where == ("Query.contacts", "search"):
        # The case the rule is for: customers' emails and numbers are hidden from
        # installers, their names are not.
        assert ("Contact.email", False) in checked
        assert ("Contact.customerNumber", False) in checked
        assert ("Contact.lastName", True) in checked


def _criterion_of(where: str, name: str) -> Criterion:
    value = ARGUMENTS[where][name]
    assert isinstance(value, Criterion)
    return value


@pytest.mark.parametrize("actor_name", sorted(ACTORS))
@pytest.mark.parametrize("argument", sorted(SAMPLES), ids=lambda a: ".".join(a))
async def test_a_filter_or_sort_key_the_caller_may_not_read_is_refused(
    gql: GraphQLClient, argument: tuple[str, str], actor_name: str
) -> None:
    list_field, query, variables = SAMPLES[argument]
    actor = ACTORS[actor_name]
    data, errors = await gql(query, actor, **variables)
    codes = [(e.extensions or {}).get("code") for e in errors]
    assert data is not None
    if actor.role not in _query_roles(list_field):
        assert (_listed(data, list_field), codes) == (None, ["FORBIDDEN"])
        return
    where, name = argument
    named = name if where.endswith("Sort") else to_camel_case(name)
    if _criterion_of(where, name).readable_by(actor):
        assert errors == [], errors
    else:
        assert (_listed(data, list_field), codes) == (None, ["FORBIDDEN"])
        assert (errors[0].extensions or {})["argument"] == f"{where}.{named}"
        assert f"'{where}.{named}'" in errors[0].message
