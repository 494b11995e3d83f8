"""CRM reads: the contacts a caller may see (searched and filtered), and one by ID.

Apart from `crm.py` because the filter looks through `Contact.portalUsers` at the
portal users, whose type needs the contact types first."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.permissions import STAFF, STAFF_AND_PORTAL_USERS, allow, public
from gql.context import Info
from gql.domain import contacts, portal_access
from gql.domain.search import contact_matches
from gql.resolvers import relations
from gql.resolvers.common import load_one
from gql.resolvers.relations import declared
from gql.schema import criteria, related
from gql.schema.crm import CONTACT_SEARCH, Contact
from gql.schema.node import node_uuid
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.portal_user import PortalUser
from gql.schema.results import INPUT, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import Cursor, EmailAddress, Line


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
        actor = info.context.actor
        where: list[Any] = []
        if search and search.strip():
            where.append(contact_matches(search, criteria.readable_columns(CONTACT_SEARCH, actor)))
        if filter is not None:
            criteria.require_given("ContactFilter", vars(filter), actor)
        if filter is not None and filter.has_portal_user is not None:
            portal = node_uuid(filter.portal_id, "Portal") if filter.portal_id else None
            without = portal_access.without_access(portal)
            where.append(without if not filter.has_portal_user else ~without)
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


# --- Staff keep contacts (seed 004) -----------------------------------------------------------

_CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "email",
    "phone",
    "customer_number",
    "street",
    "house_number",
    "postal_code",
    "city",
    "country",
)


@strawberry.input(description="A new customer contact; a last name or a company name is needed.")
class CreateContactInput:
    first_name: Line | None = strawberry.field(default=None, description="First name.")
    last_name: Line | None = strawberry.field(default=None, description="Last name.")
    company_name: Line | None = strawberry.field(default=None, description="Company name.")
    email: EmailAddress | None = strawberry.field(
        default=None,
        description="Primary email; the login email of the portal access staff invite the"
        " contact to.",
    )
    phone: Line | None = strawberry.field(default=None, description="Phone number.")
    customer_number: Line | None = strawberry.field(
        default=None, description="Customer number, unique in the organization."
    )
    street: Line | None = strawberry.field(default=None, description="Street.")
    house_number: Line | None = strawberry.field(default=None, description="House number.")
    postal_code: Line | None = strawberry.field(
        default=None, description="Postal code (checked for DE and AT)."
    )
    city: Line | None = strawberry.field(default=None, description="City.")
    country: Line | None = strawberry.field(
        default=None, description="ISO 3166 country code; DE when left out."
    )


@strawberry.input(
    description="Changes of a contact: only the fields given change; null or an empty value"
    " clears an optional one."
)
class UpdateContactInput:
    contact_id: relay.GlobalID = strawberry.field(description="The contact.")
    first_name: Line | None = strawberry.field(default=strawberry.UNSET, description="First name.")
    last_name: Line | None = strawberry.field(default=strawberry.UNSET, description="Last name.")
    company_name: Line | None = strawberry.field(
        default=strawberry.UNSET, description="Company name."
    )
    email: EmailAddress | None = strawberry.field(
        default=strawberry.UNSET,
        description="Primary email; an open invitation follows it (links sent before stop"
        " working), an access in use keeps its login.",
    )
    phone: Line | None = strawberry.field(default=strawberry.UNSET, description="Phone number.")
    customer_number: Line | None = strawberry.field(
        default=strawberry.UNSET, description="Customer number, unique in the organization."
    )
    street: Line | None = strawberry.field(default=strawberry.UNSET, description="Street.")
    house_number: Line | None = strawberry.field(
        default=strawberry.UNSET, description="House number."
    )
    postal_code: Line | None = strawberry.field(
        default=strawberry.UNSET, description="Postal code."
    )
    city: Line | None = strawberry.field(default=strawberry.UNSET, description="City.")
    country: Line | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166 country code."
    )


@strawberry.type(description="The contact as saved.")
class ContactPayload:
    contact: Contact = public("The contact.")


ContactResult = Annotated[
    ContactPayload | MutationError,
    strawberry.union(
        "ContactResult",
        description="Answer of `createContact` and `updateContact`: ContactPayload, or"
        " MutationError (a value named by `field`, or CONFLICT for a taken customer number).",
    ),
]


def _given(input: CreateContactInput | UpdateContactInput) -> dict[str, str | None]:
    return {
        name: getattr(input, name)
        for name in _CONTACT_FIELDS
        if getattr(input, name) is not strawberry.UNSET
    }


async def create_contact(
    info: Info, input: Annotated[CreateContactInput, strawberry.argument(description=INPUT)]
) -> ContactResult:
    async def work(db: AsyncSession) -> ContactPayload:
        row = await contacts.create_contact(
            db, info.context.actor, _given(input), origin=origin(info)
        )
        return ContactPayload(contact=cast(Contact, row))

    return await attempt(info, work)


async def update_contact(
    info: Info, input: Annotated[UpdateContactInput, strawberry.argument(description=INPUT)]
) -> ContactResult:
    async def work(db: AsyncSession) -> ContactPayload:
        row = await contacts.update_contact(
            db,
            info.context.actor,
            row_id(input.contact_id, "Contact", "contactId"),
            _given(input),
            origin=origin(info),
            now=now(),
        )
        return ContactPayload(contact=cast(Contact, row))

    return await attempt(info, work)


@strawberry.type
class Mutation:
    """Contacts: fields of the root `Mutation` (merged in root.py)."""

    create_contact: ContactResult | None = allow(
        STAFF,
        description="Create a customer contact in the caller's organization (seed 004); invite"
        " it to a portal with `inviteContact`.",
        resolver=create_contact,
    )
    update_contact: ContactResult | None = allow(
        STAFF,
        description="Change a contact's data as staff (no approval needed).",
        resolver=update_contact,
    )
