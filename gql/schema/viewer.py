"""`viewer`: the caller and what is theirs."""

from __future__ import annotations

from typing import Annotated, Any, cast

import sqlalchemy as sa
import strawberry

from db import models
from gql.auth.actor import Role
from gql.auth.permissions import AUTHENTICATED, PORTAL_USERS, STAFF, RoleEnum, allow, public
from gql.context import Info
from gql.domain.search import text_matches
from gql.resolvers import relations
from gql.resolvers.common import load_one
from gql.resolvers.computed import declared_value
from gql.resolvers.relations import declared
from gql.schema import criteria, enums, related
from gql.schema.auth import VIEWER_SESSIONS, LoginSession, viewer_sessions
from gql.schema.change_requests import ChangeRequest
from gql.schema.crm import CONTRACT, METER, ORDER, Contact, Contract, Meter, Order
from gql.schema.pagination import AFTER, BEFORE, LAST, PAGE, Connection
from gql.schema.portal import Portal
from gql.schema.portal_user import PortalUser
from gql.schema.scalars import Cursor, Line
from gql.schema.staff import StaffUser

# What a customer's own lists may be filtered and searched by, each column behind the
# field that shows it (gql/schema/criteria.py).
VIEWER_CONTRACT_SEARCH = criteria.search(
    Contract, "number", "contract_account_number", "tariff_name"
)
criteria.declare(
    "Viewer.contracts",
    status=criteria.criterion(Contract, "status"),
    search=VIEWER_CONTRACT_SEARCH,
)
criteria.declare("Viewer.orders", status=criteria.criterion(Order, "status"))


@strawberry.type(description="The caller of the request.")
class Viewer:
    role: RoleEnum = public("Role of the caller; ANONYMOUS without a token.")

    @public("Whether a staff member is acting as this portal user.")
    def is_impersonation(self, info: Info) -> bool:
        return info.context.actor.is_impersonated

    @allow(PORTAL_USERS, description="Name of the staff member impersonating, if one is.")
    async def impersonated_by(self, info: Info) -> str | None:
        staff_id = info.context.actor.impersonator_id
        if staff_id is None:
            return None
        rows = await info.context.scalars(
            sa.select(models.StaffUser.name).where(models.StaffUser.id == staff_id)
        )
        return rows[0] if rows else None

    @allow(STAFF, description="The staff user, for staff callers.")
    async def staff_user(self, info: Info) -> StaffUser | None:
        return cast(
            StaffUser | None, await load_one(info, models.StaffUser, info.context.actor.subject_id)
        )

    portal_user: PortalUser | None = related.one(
        relations.VIEWER_PORTAL_USER,
        PORTAL_USERS,
        description="The portal user, for customers and installers.",
    )

    @allow(PORTAL_USERS, description="The portal the caller is logged in to.")
    async def portal(self, info: Info) -> Portal | None:
        return cast(
            Portal | None, await load_one(info, models.Portal, info.context.actor.portal_id)
        )

    contact: Contact | None = related.one(
        relations.VIEWER_CONTACT,
        PORTAL_USERS,
        description="The caller's contact (the partner for installers).",
    )

    sessions: list[LoginSession] | None = allow(
        AUTHENTICATED,
        description="The caller's own active logins, the most recently used first (never"
        " anybody else's; impersonations are not listed).",
        resolver=viewer_sessions,
        metadata=declared_value(VIEWER_SESSIONS),
    )

    my_change_requests: Connection[ChangeRequest] | None = related.page(
        relations.MY_CHANGE_REQUESTS,
        Role.CUSTOMER,
        description="The customer's changes of contact data waiting for (or decided by)"
        " staff, newest first.",
    )

    @allow(
        Role.CUSTOMER,
        grant=CONTRACT,
        description="The customer's contracts, by number.",
        metadata=declared(relations.VIEWER_CONTRACTS),
    )
    async def contracts(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[Cursor | None, strawberry.argument(description=BEFORE)] = None,
        status: Annotated[
            list[enums.ContractStatus] | None,
            strawberry.argument(description="Only contracts in one of these states."),
        ] = None,
        search: Annotated[
            Line | None,
            strawberry.argument(description="Part of the number, account number or tariff."),
        ] = None,
    ) -> Connection[Contract] | None:
        contract, actor = models.Contract, info.context.actor
        criteria.require_given("Viewer.contracts", {"status": status}, actor)
        where: list[Any] = []
        if status is not None:
            where.append(contract.status.in_(status))
        if search and search.strip():
            columns = criteria.readable_columns(VIEWER_CONTRACT_SEARCH, actor)
            where.append(text_matches(search, columns))
        return await related.page_of(
            relations.VIEWER_CONTRACTS, info, None, first, after, last, before, tuple(where)
        )

    meters: Connection[Meter] | None = related.page(
        relations.VIEWER_METERS,
        PORTAL_USERS,
        grant=METER,
        description="Meters of the customer, or assigned to the installer.",
    )

    @allow(
        PORTAL_USERS,
        grant=ORDER,
        description="Orders of the customer, or assigned to the installer.",
        metadata=declared(relations.VIEWER_ORDERS),
    )
    async def orders(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        last: Annotated[int | None, strawberry.argument(description=LAST)] = None,
        before: Annotated[Cursor | None, strawberry.argument(description=BEFORE)] = None,
        status: Annotated[
            list[enums.OrderStatus] | None,
            strawberry.argument(description="Only orders in one of these states."),
        ] = None,
    ) -> Connection[Order] | None:
        order = models.Order
        criteria.require_given("Viewer.orders", {"status": status}, info.context.actor)
        where = () if status is None else (order.status.in_(status),)
        return await related.page_of(
            relations.VIEWER_ORDERS, info, None, first, after, last, before, where
        )


@strawberry.type
class Query:
    """The caller: fields of the root `Query` (merged in root.py)."""

    @public("The caller.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(role=info.context.actor.role)
