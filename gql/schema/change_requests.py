"""Contact data edited by customers and the approvals staff give (resolvers only
translate; the rules live in `gql.domain.contact_changes`)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from db.models.enums import Grant
from gql.auth.actor import Role
from gql.auth.permissions import STAFF, STAFF_AND_CUSTOMER, Impersonation, allow, public
from gql.context import Info
from gql.domain import contact_changes
from gql.resolvers import relations
from gql.resolvers.common import load_one, query_page
from gql.resolvers.computed import Computed
from gql.schema import computed, criteria, enums, related
from gql.schema.crm import CONTRACT, Contact, Contract
from gql.schema.node import RowNode, row_of
from gql.schema.pagination import AFTER, PAGE, Connection
from gql.schema.portal_user import PortalUser
from gql.schema.results import INPUT, MutationError, attempt, notifier, now, origin, row_id
from gql.schema.scalars import JSON, Cursor, EmailAddress, Line
from gql.schema.staff import StaffUser


@strawberry.enum(description="Data approved together (what the portal may require approval for).")
class ChangeAttribute(enum.Enum):
    NAME = strawberry.enum_value("contact.name", description="First and last name.")
    ADDRESS = strawberry.enum_value(
        "contact.address", description="Street, house number, postal code, city and country."
    )
    PHONE = strawberry.enum_value("contact.phone", description="Phone number.")
    EMAIL = strawberry.enum_value("contact.email", description="Contact email address.")
    MARKETING_CONSENT = strawberry.enum_value(
        "contact.marketing_consent",
        description="Consent to advertising; the customer's own choice, never waits for approval.",
    )
    INSTALLMENT = strawberry.enum_value(
        "contract.installment", description="The installment (Abschlag) of a contract."
    )
    INSTALLMENT_INTERVAL = strawberry.enum_value(
        "contract.installment_interval",
        description="How often a contract's installment is due, with the amount that follows.",
    )
    PAYMENT_METHOD = strawberry.enum_value(
        "contract.payment_method", description="SEPA direct debit or transfer, with the IBAN."
    )
    DUE_DAY = strawberry.enum_value(
        "contract.due_day", description="Day of the month the installment is due."
    )


# The attribute as the enum member that stores it: the same for both engines.
ATTRIBUTE = Computed(("attribute",), lambda _given, attribute: ChangeAttribute(attribute))


@strawberry.type(description="A change of contact data waiting for, or decided by, staff.")
class ChangeRequest(RowNode):
    __model__ = models.ChangeRequest

    status: enums.ChangeRequestStatus | None = allow(
        STAFF_AND_CUSTOMER, description="PENDING until staff approve or reject it."
    )
    old_value: JSON | None = allow(
        STAFF_AND_CUSTOMER, description="The attributes as they were when requested."
    )
    new_value: JSON | None = allow(STAFF_AND_CUSTOMER, description="The attributes as wanted.")
    reason: str | None = allow(STAFF_AND_CUSTOMER, description="Why it was rejected.")
    created_at: datetime | None = allow(STAFF_AND_CUSTOMER, description="When it was made.")
    decided_at: datetime | None = allow(STAFF_AND_CUSTOMER, description="When it was decided.")

    attribute: ChangeAttribute | None = computed.value(
        ATTRIBUTE, STAFF_AND_CUSTOMER, description="Which attributes it changes."
    )

    @allow(STAFF_AND_CUSTOMER, description="The contact it changes (or whose contract).")
    async def contact(self, info: Info) -> Contact | None:
        return cast(Contact | None, await load_one(info, models.Contact, row_of(self).contact_id))

    contract: Contract | None = related.one(
        relations.CHANGE_REQUEST_CONTRACT,
        STAFF_AND_CUSTOMER,
        grant=CONTRACT,
        description="The contract it changes, if one.",
    )

    @allow(STAFF, description="The portal user who asked.")
    async def portal_user(self, info: Info) -> PortalUser | None:
        user_id = row_of(self).portal_user_id
        return cast(PortalUser | None, await load_one(info, models.PortalUser, user_id))

    @allow(STAFF, description="The staff user who decided.")
    async def decided_by(self, info: Info) -> StaffUser | None:
        staff_id = row_of(self).decided_by_id
        return cast(StaffUser | None, await load_one(info, models.StaffUser, staff_id))


@strawberry.type(description="The change waits for staff approval (the portal requires it).")
class ChangeRequested:
    change_request: ChangeRequest = public("The waiting request.")


@strawberry.input(description="Which change requests to list.")
class ChangeRequestFilter:
    status: enums.ChangeRequestStatus | None = strawberry.field(
        default=None, description="Only these (e.g. PENDING)."
    )
    contact_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Only those of this contact."
    )


criteria.declare(
    "ChangeRequestFilter",
    status=criteria.criterion(ChangeRequest, "status"),
    contact_id=criteria.criterion(ChangeRequest, "contact", models.ChangeRequest.contact_id),
)


async def change_requests(
    info: Info,
    first: Annotated[int | None, strawberry.argument(description=PAGE)] = None,
    after: Annotated[Cursor | None, strawberry.argument(description=AFTER)] = None,
    filter: Annotated[
        ChangeRequestFilter | None,
        strawberry.argument(description="Conditions the change requests must meet."),
    ] = None,
) -> Connection[ChangeRequest] | None:
    """Staff: oldest first, so the longest waiting comes first."""
    request = models.ChangeRequest
    where: list[Any] = []
    if filter is not None:
        criteria.require_given("ChangeRequestFilter", vars(filter), info.context.actor)
    if filter is not None and filter.status is not None:
        where.append(request.status == filter.status)
    if filter is not None and filter.contact_id is not None:
        where.append(request.contact_id == row_id(filter.contact_id, "Contact", "contactId"))
    return await query_page(
        info, request, first, after, where=tuple(where), order_by=(request.created_at,)
    )


@strawberry.input(description="New contact data; leave out what stays (empty clears phone).")
class UpdateMyContactInput:
    first_name: Line | None = strawberry.field(
        default=strawberry.UNSET,
        description="First name (ChangeAttribute NAME, with the last name).",
    )
    last_name: Line | None = strawberry.field(
        default=strawberry.UNSET, description="Last name; must not be empty (ChangeAttribute NAME)."
    )
    street: Line | None = strawberry.field(
        default=strawberry.UNSET,
        description="Street; must not be empty (ChangeAttribute ADDRESS, the whole address"
        " together).",
    )
    house_number: Line | None = strawberry.field(
        default=strawberry.UNSET, description="House number (ChangeAttribute ADDRESS)."
    )
    postal_code: Line | None = strawberry.field(
        default=strawberry.UNSET,
        description="Postal code, checked against the country: 5 digits in DE, 4 in AT"
        " (ChangeAttribute ADDRESS).",
    )
    city: Line | None = strawberry.field(
        default=strawberry.UNSET, description="City; must not be empty (ChangeAttribute ADDRESS)."
    )
    country: Line | None = strawberry.field(
        default=strawberry.UNSET,
        description="Two-letter country code, e.g. DE (ChangeAttribute ADDRESS).",
    )
    phone: Line | None = strawberry.field(
        default=strawberry.UNSET,
        description="Phone number of digits, e.g. +49 30 1234567; empty removes it"
        " (ChangeAttribute PHONE).",
    )
    email: EmailAddress | None = strawberry.field(
        default=strawberry.UNSET,
        description="Contact email address, not the login email (ChangeAttribute EMAIL).",
    )
    marketing_consent: bool | None = strawberry.field(
        default=None, description="Agree to (or withdraw) marketing; never needs approval."
    )


@strawberry.type(description="What changed at once and what waits for approval.")
class MyContactUpdated:
    contact: Contact = public("The contact as it is now.")
    applied: list[ChangeAttribute] = public("Changed at once.")
    change_requests: list[ChangeRequest] = public("Waiting for staff approval.")


UpdateMyContactResult = Annotated[
    MyContactUpdated | MutationError,
    strawberry.union(
        "UpdateMyContactResult",
        description="Answer of `updateMyContact`: MyContactUpdated (what was applied and what"
        " waits for staff approval), or MutationError.",
    ),
]


async def update_my_contact(
    info: Info, input: Annotated[UpdateMyContactInput, strawberry.argument(description=INPUT)]
) -> UpdateMyContactResult:
    given = {
        column: getattr(input, column)
        for column in contact_changes.INPUT_NAME
        if getattr(input, column) is not strawberry.UNSET
    }

    async def work(db: AsyncSession) -> MyContactUpdated:
        actor = info.context.actor
        portal = await db.get_one(models.Portal, actor.portal_id)
        settings = portal.live_settings
        update = await contact_changes.update_my_contact(
            db,
            actor,
            changes=given,
            marketing_consent=input.marketing_consent,
            approval_required=frozenset(settings.approval_required_attributes),
            origin=origin(info),
            notify=notifier(info),
            now=now(),
        )
        return MyContactUpdated(
            contact=cast(Contact, update.contact),
            applied=[ChangeAttribute(group) for group in update.applied],
            change_requests=cast(list[ChangeRequest], update.requests),
        )

    return await attempt(info, work)


@strawberry.input(description="A waiting change request to approve.")
class ApproveChangeRequestInput:
    change_request_id: relay.GlobalID = strawberry.field(description="The request.")


@strawberry.input(description="A waiting change request to reject.")
class RejectChangeRequestInput:
    change_request_id: relay.GlobalID = strawberry.field(description="The request.")
    reason: Line = strawberry.field(description="Shown to the customer.")


@strawberry.type(description="The request as decided.")
class ChangeRequestDecided:
    change_request: ChangeRequest = public("The request.")


DecisionResult = Annotated[
    ChangeRequestDecided | MutationError,
    strawberry.union(
        "ChangeRequestDecisionResult",
        description="Answer of `approveChangeRequest` and `rejectChangeRequest`:"
        " ChangeRequestDecided, or MutationError (e.g. already decided, or CONFLICT"
        " when the data changed since).",
    ),
]


async def approve_change_request(
    info: Info, input: Annotated[ApproveChangeRequestInput, strawberry.argument(description=INPUT)]
) -> DecisionResult:
    async def work(db: AsyncSession) -> ChangeRequestDecided:
        row = await contact_changes.approve(
            db,
            info.context.actor,
            notifier(info),
            request_id=row_id(input.change_request_id, "ChangeRequest", "changeRequestId"),
            origin=origin(info),
            now=now(),
        )
        return ChangeRequestDecided(change_request=cast(ChangeRequest, row))

    return await attempt(info, work)


async def reject_change_request(
    info: Info, input: Annotated[RejectChangeRequestInput, strawberry.argument(description=INPUT)]
) -> DecisionResult:
    async def work(db: AsyncSession) -> ChangeRequestDecided:
        row = await contact_changes.reject(
            db,
            info.context.actor,
            notifier(info),
            request_id=row_id(input.change_request_id, "ChangeRequest", "changeRequestId"),
            reason=input.reason,
            origin=origin(info),
            now=now(),
        )
        return ChangeRequestDecided(change_request=cast(ChangeRequest, row))

    return await attempt(info, work)


@strawberry.type
class Query:
    """Change requests: fields of the root `Query` (merged in root.py)."""

    change_requests: Connection[ChangeRequest] | None = allow(
        STAFF,
        description="Changes of contact data customers asked for, oldest first.",
        resolver=change_requests,
    )


@strawberry.type
class Mutation:
    """Change requests: fields of the root `Mutation` (merged in root.py)."""

    update_my_contact: UpdateMyContactResult | None = allow(
        Role.CUSTOMER,
        grant=Grant.CONTACT_UPDATE,
        impersonation=Impersonation.IF_PORTAL_ALLOWS,
        description="Change the customer's own contact data; what the portal requires"
        " approval for becomes a change request, the rest changes at once.",
        resolver=update_my_contact,
    )
    approve_change_request: DecisionResult | None = allow(
        STAFF,
        description="Apply a waiting change request (a conflict if the data changed since).",
        resolver=approve_change_request,
    )
    reject_change_request: DecisionResult | None = allow(
        STAFF,
        description="Reject a waiting change request, with a reason for the customer.",
        resolver=reject_change_request,
    )
