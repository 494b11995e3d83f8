"""GraphQL enums: the domain's own enumerations, exposed under the same names."""

from __future__ import annotations

from typing import TYPE_CHECKING

import strawberry

from db import portal_settings
from db.models import enums

if TYPE_CHECKING:  # to mypy they are the domain enums they wrap
    from db.models.enums import ActorType as ActorType
    from db.models.enums import AssignmentStatus as AssignmentStatus
    from db.models.enums import ChangeRequestStatus as ChangeRequestStatus
    from db.models.enums import Commodity as Commodity
    from db.models.enums import ContractStatus as ContractStatus
    from db.models.enums import DocumentType as DocumentType
    from db.models.enums import DomainKind as DomainKind
    from db.models.enums import DomainStatus as DomainStatus
    from db.models.enums import EmailTemplateKind as EmailTemplateKind
    from db.models.enums import InstallmentInterval as InstallmentInterval
    from db.models.enums import MeterReadingSource as MeterReadingSource
    from db.models.enums import MeterReadingStatus as MeterReadingStatus
    from db.models.enums import MeterStatus as MeterStatus
    from db.models.enums import MeterType as MeterType
    from db.models.enums import OpportunityStatus as OpportunityStatus
    from db.models.enums import OrderStatus as OrderStatus
    from db.models.enums import PaymentKind as PaymentKind
    from db.models.enums import PaymentMethod as PaymentMethod
    from db.models.enums import PaymentStatus as PaymentStatus
    from db.models.enums import PortalStatus as PortalStatus
    from db.models.enums import PortalType as PortalType
    from db.models.enums import RegistrationStatus as RegistrationStatus
    from db.models.enums import StaffRole as StaffRole
    from db.models.enums import TileKind as TileKind
    from db.portal_settings import IdentifierEntity as IdentifierEntity
    from db.portal_settings import SelfRegistration as SelfRegistration
    from db.portal_settings import TwoFactorPolicy as TwoFactorPolicy
else:
    PortalType = strawberry.enum(enums.PortalType, description="Kind of portal.")
    PortalStatus = strawberry.enum(enums.PortalStatus, description="Lifecycle of a portal.")
    DomainKind = strawberry.enum(enums.DomainKind, description="Managed subdomain or own domain.")
    DomainStatus = strawberry.enum(enums.DomainStatus, description="Set-up state of the domain.")
    TileKind = strawberry.enum(enums.TileKind, description="Kind of home page tile.")
    EmailTemplateKind = strawberry.enum(
        enums.EmailTemplateKind, description="Which email a portal sends."
    )
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
    ChangeRequestStatus = strawberry.enum(
        enums.ChangeRequestStatus, description="Where a change request stands."
    )
    PaymentKind = strawberry.enum(enums.PaymentKind, description="What a payment is for.")
    PaymentStatus = strawberry.enum(enums.PaymentStatus, description="Settlement state.")
    StaffRole = strawberry.enum(enums.StaffRole, description="Role of a staff user.")
    ActorType = strawberry.enum(enums.ActorType, description="Who acted in an audit event.")
    SelfRegistration = strawberry.enum(
        portal_settings.SelfRegistration, description="Who may self-register."
    )
    TwoFactorPolicy = strawberry.enum(
        portal_settings.TwoFactorPolicy, description="Second factor at login."
    )
    IdentifierEntity = strawberry.enum(
        portal_settings.IdentifierEntity,
        description="Entity whose attribute identifies a registering person.",
    )
