"""CRM reads: the contacts a caller may see (searched and filtered), and one by ID.

Apart from `crm.py` because the filter looks through `Contact.portalUsers` at the
portal users, whose type needs the contact types first."""

from __future__ import annotations

from typing import Annotated, Any, cast

import sqlalchemy as sa
import strawberry
from strawberry import relay

from db import models
from gql.auth.permissions import STAFF_AND_PORTAL_USERS, allow
from gql.context import Info
from gql.domain.search import contact_matches
from gql.resolvers import relations
from gql.resolvers.common import load_one
from gql.resolvers.relations import declared
from gql.schema import criteria, related
from gql.schema.crm import CONTACT_SEARCH, Contact
from gql.schema.node import node_uuid
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.portal_user import PortalUser
from gql.schema.scalars import Cursor, Line


@strawberry.input(description="Which contacts to list.")
class ContactFilter:
    has_portal_user: bool | None = strawberry.field(
        default=None,
        description="With (true) or without (false) a portal user, in `portalId` or in any"
        " portal (seed 002: then invite them).",
    )
    portal_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The portal `hasPortalUser` looks at."
    )


# Who has access is what `Contact.portalUsers` shows.
criteria.declare(
    "ContactFilter",
    has_portal_user=criteria.criterion(Contact, "portal_users", models.PortalUser.contact_id),
    portal_id=criteria.criterion(PortalUser, "portal", models.PortalUser.portal_id).through(
        Contact, "portal_users"
    ),
)
criteria.declare("Query.contacts", search=CONTACT_SEARCH)


@strawberry.type
class Query:
    """Contacts: fields of the root `Query` (merged in root.py)."""

    @allow(
        STAFF_AND_PORTAL_USERS,
        description="Contacts the caller may see, by name.",
        metadata=declared(relations.CONTACTS),
    )
    async def contacts(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
        after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
        search: Annotated[
            Line | None, strawberry.argument(description="Part of name, email or customer number.")
        ] = None,
        filter: Annotated[
            ContactFilter | None,
            strawberry.argument(description="Conditions the contacts must meet."),
        ] = None,
    ) -> Connection[Contact] | None:
        contact, actor = models.Contact, info.context.actor
        where: list[Any] = []
        if search and search.strip():
            where.append(contact_matches(search, criteria.readable_columns(CONTACT_SEARCH, actor)))
        if filter is not None:
            criteria.require_given("ContactFilter", vars(filter), actor)
        if filter is not None and filter.has_portal_user is not None:
            user = models.PortalUser
            access = sa.exists().where(user.contact_id == contact.id)
            if filter.portal_id is not None:
                access = access.where(user.portal_id == node_uuid(filter.portal_id, "Portal"))
            where.append(access if filter.has_portal_user else ~access)
        return await related.page_of(
            relations.CONTACTS, info, None, first, after, where=tuple(where)
        )

    @allow(STAFF_AND_PORTAL_USERS, description="A contact by ID; null if not visible.")
    async def contact(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="The contact's ID.")],
    ) -> Contact | None:
        return cast(Contact | None, await load_one(info, models.Contact, node_uuid(id, "Contact")))
