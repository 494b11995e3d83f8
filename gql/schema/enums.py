"""GraphQL enums: the domain's own enumerations, exposed under the same names."""

from __future__ import annotations

import strawberry

from db.models import enums

PortalType = strawberry.enum(enums.PortalType, description="Kind of portal.")
PortalStatus = strawberry.enum(enums.PortalStatus, description="Lifecycle of a portal.")
DomainKind = strawberry.enum(enums.DomainKind, description="Managed subdomain or own domain.")
DomainStatus = strawberry.enum(enums.DomainStatus, description="Set-up state of the domain.")
TileKind = strawberry.enum(enums.TileKind, description="Kind of home page tile.")
RegistrationStatus = strawberry.enum(
    enums.RegistrationStatus, description="Registration state of a portal user."
)
AssignmentStatus = strawberry.enum(
    enums.AssignmentStatus, description="Whether a portal user is assigned to a contact."
)
ContractStatus = strawberry.enum(enums.ContractStatus, description="Lifecycle of a contract.")
Commodity = strawberry.enum(enums.Commodity, description="What a contract supplies.")
InstallmentInterval = strawberry.enum(
    enums.InstallmentInterval, description="How often the installment (Abschlag) is due."
)
PaymentMethod = strawberry.enum(enums.PaymentMethod, description="How a contract is paid.")
MeterType = strawberry.enum(enums.MeterType, description="What a meter measures.")
MeterStatus = strawberry.enum(enums.MeterStatus, description="Whether a meter is in use.")
MeterReadingSource = strawberry.enum(
    enums.MeterReadingSource, description="Who supplied a meter reading."
)
MeterReadingStatus = strawberry.enum(
    enums.MeterReadingStatus, description="Review state of a meter reading."
)
OrderStatus = strawberry.enum(enums.OrderStatus, description="Progress of an order.")
OpportunityStatus = strawberry.enum(
    enums.OpportunityStatus, description="Progress of an opportunity."
)
DocumentType = strawberry.enum(enums.DocumentType, description="Kind of document.")
PaymentKind = strawberry.enum(enums.PaymentKind, description="What a payment is for.")
PaymentStatus = strawberry.enum(enums.PaymentStatus, description="Settlement state.")
StaffRole = strawberry.enum(enums.StaffRole, description="Role of a staff user.")
