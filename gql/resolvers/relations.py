"""Relations between rows, each declared once and read by both engines.

A field that leads from one row to others (a contract's meters, a reading's meter, the
viewer's contracts) declares here which rows it leads to: their model, the columns that
join them to the row the field is on, their order (the id ends every order) and
whether they are a page, a list or one row. The Strawberry resolver of the field is
derived from the declaration (through the per-request loaders,
filtered by `scope.visible`; gql/schema/related.py), and so is the SQL a query plan builds for it
(gql/query_plans.py reads the declaration from the field's metadata, `RELATION`).
Changing the order or the join here changes both engines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from db import models

# The key of a field's metadata under which its relation is declared.
RELATION = "relation"


@dataclass(frozen=True)
class Relation:
    """The rows a field leads to.

    `parent` is the model of the row the field is on (None on the root and the viewer,
    which have no row); `join` is (column of these rows, column of the parent row). At
    the viewer a single row is named by an attribute of the caller (`viewer`, e.g. the
    contact id), a page is every visible row. `order` is (column, descending) pairs;
    the id ends every order, descending with `newest_ids_first`. `ranked`: newest
    first per parent through the window loader (readings), which reads no more rows
    than the page."""

    model: type[Any]
    parent: type[Any] | None = None
    join: tuple[str, str] = ("id", "id")
    order: tuple[tuple[str, bool], ...] = ()
    kind: str = "page"  # "page" (a Connection), "list" or "one"
    viewer: str | None = None
    newest_ids_first: bool = False
    ranked: bool = False

    @property
    def many(self) -> bool:
        return self.kind != "one"

    @property
    def key(self) -> str | None:
        """The column of the parent row the join reads (None without a parent)."""
        return None if self.parent is None else self.join[1]

    def ordering(self) -> tuple[tuple[str, bool], ...]:
        """The whole order as (column, descending) pairs, the id last."""
        return (*self.order, ("id", self.newest_ids_first))

    def order_by(self) -> tuple[Any, ...]:
        """The order as SQLAlchemy expressions, without the id (the loaders add it)."""
        columns = (getattr(self.model, name) for name, _ in self.order)
        return tuple(
            column.desc() if down else column
            for column, (_, down) in zip(columns, self.order, strict=True)
        )

    def id_order(self) -> Any:
        """The id as the last key of the order (descending with `newest_ids_first`)."""
        column = self.model.id
        return column.desc() if self.newest_ids_first else column

    def join_column(self) -> Any:
        """The column of these rows that holds the parent's key."""
        return getattr(self.model, self.join[0])


@dataclass(frozen=True)
class Columns:
    """An object made of columns of the row the field is on (an address): each field
    of the object (by its Python name) and the column it shows, or a constant."""

    columns: tuple[tuple[str, str], ...]
    constants: tuple[tuple[str, Any], ...] = ()

    def values(self, row: Any) -> dict[str, Any]:
        """The object's fields for `row`, as the executor builds the object."""
        return {
            **{name: getattr(row, column) for name, column in self.columns},
            **dict(self.constants),
        }


def declared(relation: Relation | Columns) -> dict[str, Relation | Columns]:
    """The metadata of a field that follows `relation` (or shows those columns)."""
    return {RELATION: relation}


_BY_NUMBER = (("number", False),)
_NEWEST = (("created_at", True),)


def _below(
    model: type[Any], parent: type[Any], column: str, order: tuple[tuple[str, bool], ...]
) -> Relation:
    return Relation(model, parent, (column, "id"), order)


def _above(model: type[Any], parent: type[Any], column: str) -> Relation:
    return Relation(model, parent, ("id", column), kind="one")


# --- The relations of the CRM types (gql/schema/crm.py, viewer.py, contacts.py) ---------

VIEWER_CONTACT = Relation(models.Contact, kind="one", viewer="contact_id")
VIEWER_CONTRACTS = Relation(models.Contract, order=_BY_NUMBER)
VIEWER_METERS = Relation(models.Meter, order=_BY_NUMBER)
VIEWER_ORDERS = Relation(models.Order, order=_NEWEST)
# A customer's own change requests (their contact's), newest first.
MY_CHANGE_REQUESTS = Relation(models.ChangeRequest, order=_NEWEST)
CHANGE_REQUEST_CONTRACT = _above(models.Contract, models.ChangeRequest, "contract_id")
VIEWER_PORTAL_USER = Relation(models.PortalUser, kind="one", viewer="subject_id")
CONTACTS = Relation(
    models.Contact, order=(("last_name", False), ("first_name", False), ("company_name", False))
)

# Staff's list of portal users, newest first unless the caller sorts it otherwise; the
# id descending too, so that a page walks the index (portal_id, created_at, id)
# backwards and a search stops after the page's rows instead of sorting all it finds.
PORTAL_USERS = Relation(models.PortalUser, order=_NEWEST, newest_ids_first=True)
PORTAL_USER_CONTACT = _above(models.Contact, models.PortalUser, "contact_id")
PORTAL_USER_PORTAL = _above(models.Portal, models.PortalUser, "portal_id")
PORTAL_USER_GROUP = _above(models.PermissionGroup, models.PortalUser, "permission_group_id")

CONTACT_CONTRACTS = _below(models.Contract, models.Contact, "contact_id", _BY_NUMBER)
CONTACT_ORDERS = _below(models.Order, models.Contact, "contact_id", _NEWEST)
CONTACT_OPPORTUNITIES = _below(models.Opportunity, models.Contact, "contact_id", _NEWEST)
CONTACT_DOCUMENTS = _below(models.Document, models.Contact, "contact_id", _NEWEST)
CONTACT_PORTAL_USERS = _below(
    models.PortalUser, models.Contact, "contact_id", (("created_at", False),)
)

CONTRACT_CONTACT = _above(models.Contact, models.Contract, "contact_id")
CONTRACT_METERS = _below(models.Meter, models.Contract, "contract_id", _BY_NUMBER)
CONTRACT_PAYMENTS = _below(models.Payment, models.Contract, "contract_id", (("due_date", True),))
# A contract's prices by first day, the general one (no register) after those of registers.
CONTRACT_PRICES = Relation(
    models.ContractPrice,
    models.Contract,
    ("contract_id", "id"),
    (("valid_from", False), ("obis_code", False)),
    kind="list",
)
PRICE_CONTRACT = _above(models.Contract, models.ContractPrice, "contract_id")

METER_CONTRACT = _above(models.Contract, models.Meter, "contract_id")
METER_REGISTERS = Relation(
    models.MeterRegister,
    models.Meter,
    ("meter_id", "id"),
    (("obis_code", False),),
    kind="list",
)
METER_READINGS = Relation(
    models.MeterReading,
    models.Meter,
    ("meter_id", "id"),
    (("read_at", True),),
    newest_ids_first=True,
    ranked=True,
)
REGISTER_READINGS = Relation(
    models.MeterReading,
    models.MeterRegister,
    ("register_id", "id"),
    (("read_at", True),),
    newest_ids_first=True,
    ranked=True,
)
READING_METER = _above(models.Meter, models.MeterReading, "meter_id")
READING_REGISTER = _above(models.MeterRegister, models.MeterReading, "register_id")

ORDER_CONTACT = _above(models.Contact, models.Order, "contact_id")
ORDER_PARTNER = _above(models.Contact, models.Order, "partner_contact_id")
ORDER_METER = _above(models.Meter, models.Order, "meter_id")
ORDER_CONTRACT = _above(models.Contract, models.Order, "contract_id")
ORDER_LINE_ITEMS = Relation(
    models.OrderLineItem,
    models.Order,
    ("order_id", "id"),
    (("position", False),),
    kind="list",
)
OPPORTUNITY_CONTACT = _above(models.Contact, models.Opportunity, "contact_id")
DOCUMENT_CONTRACT = _above(models.Contract, models.Document, "contract_id")
DOCUMENT_ORDER = _above(models.Order, models.Document, "order_id")
PAYMENT_CONTRACT = _above(models.Contract, models.Payment, "contract_id")

# Processes (gql/schema/processes.py): oldest first; steps in their order.
_OLDEST = (("created_at", False),)


def _listed(
    model: type[Any], parent: type[Any], column: str, order: tuple[tuple[str, bool], ...]
) -> Relation:
    return Relation(model, parent, (column, "id"), order, kind="list")


CONTACT_PROCESSES = _listed(models.Process, models.Contact, "contact_id", _OLDEST)
ORDER_PROCESSES = _listed(models.Process, models.Order, "order_id", _OLDEST)
OPPORTUNITY_PROCESSES = _listed(models.Process, models.Opportunity, "opportunity_id", _OLDEST)
PROCESS_STEPS = _listed(models.ProcessStep, models.Process, "process_id", (("position", False),))
PROCESS_ORDER = _above(models.Order, models.Process, "order_id")
PROCESS_OPPORTUNITY = _above(models.Opportunity, models.Process, "opportunity_id")
PROCESS_CONTACT = _above(models.Contact, models.Process, "contact_id")
STEP_PROCESS = _above(models.Process, models.ProcessStep, "process_id")

_ADDRESS = ("street", "house_number", "postal_code", "city")
CONTACT_ADDRESS = Columns(tuple((name, name) for name in (*_ADDRESS, "country")))
# Contracts are supplied in Germany; the delivery address has no country column.
CONTRACT_DELIVERY_ADDRESS = Columns(
    tuple((name, f"delivery_{name}") for name in _ADDRESS), (("country", "DE"),)
)


# --- The rows a home page tile lists (gql/schema/home.py, `portalHome`) -------------------


@dataclass(frozen=True)
class TileRows:
    """The rows a field of a home tile lists: every visible row of the relation's model
    in its declared order (at most `HOME_ROWS`), on the tiles of `kinds` and on ENTITY
    tiles of `entity`, none (null) on other tiles; `limited`: at most the tile's
    `limit` of them (`DEFAULT_TILE_LIMIT` when it has none). The executor's resolver
    and the query plan's SQL both read this."""

    relation: Relation
    entity: str | None = None
    kinds: tuple[str, ...] = ()
    limited: bool = False

    def lists(self, kind: str, entity: Any) -> bool:
        """Whether a tile of `kind` (and `entity`, for ENTITY tiles) lists these rows."""
        return kind in self.kinds or (kind == "ENTITY" and entity == self.entity)

    def lists_where(self, kind: Any, entity: Any) -> Any:
        """`lists` in SQL, for a query plan: `kind` and `entity` the tile's columns."""
        on_kind = kind.in_(self.kinds) if self.kinds else sa.false()
        if self.entity is None:
            return on_kind
        return sa.or_(on_kind, sa.and_(kind == "ENTITY", entity == self.entity))

    def count(self, limit: Any) -> int:
        """How many rows a tile with `limit` (its content's) lists."""
        return min(limit or DEFAULT_TILE_LIMIT, HOME_ROWS) if self.limited else HOME_ROWS

    def count_sql(self, limit: Any) -> Any:
        """`count` in SQL, for a query plan: `limit` the tile's (an integer column)."""
        if not self.limited:
            return sa.literal(HOME_ROWS)
        given = sa.func.coalesce(sa.func.nullif(limit, 0), DEFAULT_TILE_LIMIT)
        return sa.func.least(given, HOME_ROWS)


def tile_rows(rows: TileRows) -> dict[str, TileRows]:
    """The metadata of a home tile field that lists `rows`."""
    return {RELATION: rows}


# Every visible row, at most this many (the loaders' all_visible), per list of a tile.
HOME_ROWS = 100
DEFAULT_TILE_LIMIT = 5

TILE_CONTRACTS = TileRows(VIEWER_CONTRACTS, entity="contract")
TILE_ORDERS = TileRows(VIEWER_ORDERS, entity="order")
TILE_OPPORTUNITIES = TileRows(Relation(models.Opportunity, order=_NEWEST), entity="opportunity")
TILE_METERS = TileRows(VIEWER_METERS, entity="meter", kinds=("METER_READING",))
TILE_DOCUMENTS = TileRows(
    Relation(models.Document, order=_NEWEST), kinds=("DOCUMENTS",), limited=True
)
TILE_PAYMENTS = TileRows(
    Relation(models.Payment, order=(("due_date", True),)), kinds=("PAYMENTS",), limited=True
)
