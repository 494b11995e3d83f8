"""GraphQL enums: the domain's own enumerations, exposed under the same names, with what
each value means for the customer or staff (one mapping per enum, next to its wrapping)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from db import portal_settings
from db.models import enums
from gql.descriptions import described_enum

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
    from db.models.enums import ProcessStatus as ProcessStatus
    from db.models.enums import ProcessStepStatus as ProcessStepStatus
    from db.models.enums import RegistrationStatus as RegistrationStatus
    from db.models.enums import StaffRole as StaffRole
    from db.models.enums import TileKind as TileKind
    from db.portal_settings import IdentifierEntity as IdentifierEntity
    from db.portal_settings import JourneyEntity as JourneyEntity
    from db.portal_settings import JourneyPlacement as JourneyPlacement
    from db.portal_settings import SelfRegistration as SelfRegistration
    from db.portal_settings import TwoFactorPolicy as TwoFactorPolicy
else:
    PortalType = described_enum(
        enums.PortalType,
        "Kind of portal.",
        {
            enums.PortalType.CUSTOMER: "For the utility's customers: contracts, meters,"
            " payments, documents and their own contact data.",
            enums.PortalType.INSTALLER: "For installers (partner companies): the orders and"
            " meters assigned to their partner, and meter readings they record.",
        },
    )
    PortalStatus = described_enum(
        enums.PortalStatus,
        "Lifecycle of a portal.",
        {
            enums.PortalStatus.DRAFT: "Being set up by staff; not reachable by portal users yet.",
            enums.PortalStatus.ACTIVE: "Live: portal users can register, log in and use their"
            " sessions.",
            enums.PortalStatus.INACTIVE: "Switched off by staff: registration and login are"
            " refused and sessions stop working until it is activated"
            " again.",
        },
    )
    DomainKind = described_enum(
        enums.DomainKind,
        "Managed subdomain or own domain.",
        {
            enums.DomainKind.MANAGED: "A subdomain of our base domain; works at once.",
            enums.DomainKind.CUSTOM: "The utility's own domain; needs DNS records before it"
            " works (see DomainStatus).",
        },
    )
    DomainStatus = described_enum(
        enums.DomainStatus,
        "Set-up state of the domain.",
        {
            enums.DomainStatus.READY: "A managed subdomain, usable at once.",
            enums.DomainStatus.PENDING_VERIFICATION: "A custom domain waiting for the two"
            " CNAME records that prove the utility controls the zone.",
            enums.DomainStatus.VERIFIED: "Control proven; waiting for the two CNAME records"
            " that route the domain to the portal.",
            enums.DomainStatus.CONFIGURED: "A custom domain that routes to the portal; usable.",
        },
    )
    TileKind = described_enum(
        enums.TileKind,
        "Kind of home page tile.",
        {
            enums.TileKind.ACTION: "A button with a title and text that opens a link or a guided"
            " process (journey).",
            enums.TileKind.TEXT: "A block of text written by staff.",
            enums.TileKind.ENTITY: "The user's records of one kind: contracts, opportunities,"
            " orders or meters.",
            enums.TileKind.TEASER: "A picture with a title, text and an optional link, e.g. for a"
            " campaign.",
            enums.TileKind.DOCUMENTS: "The user's latest documents (up to the tile's limit).",
            enums.TileKind.PAYMENTS: "The user's latest payments (up to the tile's limit).",
            enums.TileKind.METER_READING: "An entry point for submitting a meter reading.",
        },
    )
    EmailTemplateKind = described_enum(
        enums.EmailTemplateKind,
        "Which email a portal sends.",
        {
            enums.EmailTemplateKind.INVITATION: "Staff invited a contact to the portal; the"
            " link lets them choose a password.",
            enums.EmailTemplateKind.ACTIVATION: "After self-registration: the link that"
            " confirms the email address and activates the access.",
            enums.EmailTemplateKind.PASSWORD_RESET: "The link that sets a new password after"
            " the user asked for one.",
            enums.EmailTemplateKind.PROCESS_STEP_DONE: "A step of a process the portal shares"
            " is done (sent when the portal's sharing says notifyOnStepDone).",
            enums.EmailTemplateKind.NEW_DOCUMENT: "Staff added a document the user may see"
            " (an invoice, a letter, ...).",
            enums.EmailTemplateKind.ACCOUNT_EXISTS: "After self-registration with an address"
            " that already has an access: a pointer to the login and the password reset.",
            enums.EmailTemplateKind.REGISTRATION_DENIED: "After self-registration that matched no"
            " contact on a portal that registers known customers only.",
            enums.EmailTemplateKind.PENDING_USER: "To the portal's notified staff: a"
            " registration matched no contact and waits to be assigned (ECP onMapAPendingUser).",
            enums.EmailTemplateKind.ACCOUNT_ASSIGNED: "To the customer: their access is assigned"
            " to their customer account, they can log in.",
            enums.EmailTemplateKind.CHANGE_REQUEST_DECIDED: "To the customer: staff approved or"
            " rejected a change that waited for approval.",
            enums.EmailTemplateKind.LOGIN_CODE: "The one-time code that logs a portal user"
            " in instead of the password (`requestLoginCode`).",
            enums.EmailTemplateKind.EMAIL_CHANGE: "To the new address: the link that confirms"
            " a change of the login email (`requestEmailChange`).",
            enums.EmailTemplateKind.EMAIL_CHANGED: "To the old address: the login email was"
            " changed (the new one masked).",
            enums.EmailTemplateKind.ACCOUNT_DELETED: "The portal user closed their access"
            " (`deleteMyAccount`).",
            enums.EmailTemplateKind.STAFF_NOTIFICATION: "To the portal's notified staff: a portal"
            " user changed something (a reading, an installment, an answer to an offer, ...).",
            enums.EmailTemplateKind.NEW_OFFER: "To the customer: staff made them an offer"
            " (`createOffer`) to accept or decline in the portal.",
        },
    )
    RegistrationStatus = described_enum(
        enums.RegistrationStatus,
        "Registration state of a portal user.",
        {
            enums.RegistrationStatus.INVITED: "Staff sent an invitation; the person has not"
            " accepted it yet and cannot log in.",
            enums.RegistrationStatus.ACTIVATION_SENT: "Registered; the activation email is"
            " sent and not yet confirmed, so the person cannot log in yet.",
            enums.RegistrationStatus.ACTIVE: "The access works: the person can log in (if"
            " assigned to a contact).",
            enums.RegistrationStatus.DISABLED: "Staff deactivated the access; logins are refused.",
        },
    )
    AssignmentStatus = described_enum(
        enums.AssignmentStatus,
        "Whether a portal user is assigned to a contact.",
        {
            enums.AssignmentStatus.PENDING: "Not linked to a contact yet (e.g. registered"
            " without a matching customer record); staff must assign one before the person"
            " can log in.",
            enums.AssignmentStatus.ASSIGNED: "Linked to a contact; sees that contact's data.",
        },
    )
    ContractStatus = described_enum(
        enums.ContractStatus,
        "Lifecycle of a contract.",
        {
            enums.ContractStatus.PENDING: "Signed but supply has not started yet.",
            enums.ContractStatus.ACTIVE: "Supply is running.",
            enums.ContractStatus.TERMINATED: "Ended (cancelled or moved out); shown for history.",
        },
    )
    Commodity = described_enum(
        enums.Commodity,
        "What a contract supplies.",
        {
            enums.Commodity.POWER: "Electricity (Strom).",
            enums.Commodity.GAS: "Natural gas (Erdgas).",
            enums.Commodity.WATER: "Drinking water (Wasser).",
            enums.Commodity.HEAT: "District heating (Fernwärme).",
        },
    )
    InstallmentInterval = described_enum(
        enums.InstallmentInterval,
        "How often the installment (Abschlag) is due.",
        {
            enums.InstallmentInterval.MONTHLY: "Every month.",
            enums.InstallmentInterval.BIMONTHLY: "Every two months.",
            enums.InstallmentInterval.QUARTERLY: "Every three months.",
            enums.InstallmentInterval.HALF_YEARLY: "Every six months.",
            enums.InstallmentInterval.YEARLY: "Once a year.",
        },
    )
    PaymentMethod = described_enum(
        enums.PaymentMethod,
        "How a contract is paid.",
        {
            enums.PaymentMethod.SEPA_DEBIT: "The utility collects the amounts by SEPA direct"
            " debit (Lastschrift) from the customer's account.",
            enums.PaymentMethod.TRANSFER: "The customer transfers the amounts"
            " (Überweisung) themselves.",
        },
    )
    MeterType = described_enum(
        enums.MeterType,
        "What a meter measures.",
        {
            enums.MeterType.ELECTRICITY: "Electricity (Strom); the meter's unit says in what it"
            " counts.",
            enums.MeterType.GAS: "Gas.",
            enums.MeterType.WATER: "Water.",
            enums.MeterType.HEAT: "Heat (Wärmemengenzähler).",
        },
    )
    MeterStatus = described_enum(
        enums.MeterStatus,
        "Whether a meter is in use.",
        {
            enums.MeterStatus.ACTIVE: "Installed and in use; readings can be submitted.",
            enums.MeterStatus.DECOMMISSIONED: "Removed or replaced; kept for its history.",
        },
    )
    MeterReadingSource = described_enum(
        enums.MeterReadingSource,
        "Who supplied a meter reading.",
        {
            enums.MeterReadingSource.CUSTOMER: "The customer, in the portal.",
            enums.MeterReadingSource.INSTALLER: "An installer, in the installer portal.",
            enums.MeterReadingSource.STAFF: "Staff of the utility.",
            enums.MeterReadingSource.IMPORT: "Imported from the utility's billing or metering"
            " system.",
            enums.MeterReadingSource.ESTIMATED: "Estimated by the utility, not read from the"
            " meter.",
        },
    )
    MeterReadingStatus = described_enum(
        enums.MeterReadingStatus,
        "Review state of a meter reading.",
        {
            enums.MeterReadingStatus.ACCEPTED: "Plausible and taken as it is.",
            enums.MeterReadingStatus.PENDING_REVIEW: "Waiting for staff: outside the expected"
            " range and confirmed anyway by the"
            " submitter, or from a portal that has staff"
            " approve every reading.",
            enums.MeterReadingStatus.CORRECTED: "Staff checked it and replaced the value with"
            " the right one.",
            enums.MeterReadingStatus.REJECTED: "Staff checked it and discarded it; it does not"
            " count.",
        },
    )
    OrderStatus = described_enum(
        enums.OrderStatus,
        "Progress of an order.",
        {
            enums.OrderStatus.OFFER: "An offer (Angebot) waiting for the customer's answer.",
            enums.OrderStatus.DECLINED: "The customer declined the offer.",
            enums.OrderStatus.OPEN: "Ordered; work has not started.",
            enums.OrderStatus.IN_PROGRESS: "Work has started.",
            enums.OrderStatus.COMPLETED: "Done.",
            enums.OrderStatus.CANCELLED: "Cancelled before it was done.",
        },
    )
    OpportunityStatus = described_enum(
        enums.OpportunityStatus,
        "Progress of an opportunity.",
        {
            enums.OpportunityStatus.OPEN: "Interest registered; no offer yet.",
            enums.OpportunityStatus.OFFER_SENT: "An offer was sent to the customer.",
            enums.OpportunityStatus.ACCEPTED: "The customer accepted the offer.",
            enums.OpportunityStatus.DECLINED: "The customer declined the offer.",
        },
    )
    ProcessStatus = described_enum(
        enums.ProcessStatus,
        "Where a process stands as a whole.",
        {
            enums.ProcessStatus.OPEN: "Under way: a step is still to do.",
            enums.ProcessStatus.DONE: "Every step is done or skipped.",
            enums.ProcessStatus.CANCELLED: "Stopped by staff; its steps stay as they were.",
        },
    )
    ProcessStepStatus = described_enum(
        enums.ProcessStepStatus,
        "Progress of one step of a process.",
        {
            enums.ProcessStepStatus.PENDING: "Not started.",
            enums.ProcessStepStatus.IN_PROGRESS: "Being worked on.",
            enums.ProcessStepStatus.DONE: "Done (doneAt says when).",
            enums.ProcessStepStatus.SKIPPED: "Not needed in this case.",
        },
    )
    DocumentType = described_enum(
        enums.DocumentType,
        "Kind of document.",
        {
            enums.DocumentType.INVOICE: "An invoice or annual bill (Rechnung).",
            enums.DocumentType.CONTRACT: "A contract document or confirmation.",
            enums.DocumentType.OFFER: "An offer (Angebot).",
            enums.DocumentType.LETTER: "A letter to the customer.",
            enums.DocumentType.PROTOCOL: "A protocol, e.g. of an installation or meter change.",
            enums.DocumentType.OTHER: "Anything else, e.g. a file the customer uploaded.",
            enums.DocumentType.METER_PHOTO: "A photo of a meter's display, sent with its"
            " readings (submitMeterReadings).",
        },
    )
    ChangeRequestStatus = described_enum(
        enums.ChangeRequestStatus,
        "Where a change request stands.",
        {
            enums.ChangeRequestStatus.PENDING: "Waiting for staff; the contact still shows"
            " the old values.",
            enums.ChangeRequestStatus.APPROVED: "Staff approved it; the new values are applied.",
            enums.ChangeRequestStatus.REJECTED: "Staff rejected it; nothing changed.",
            enums.ChangeRequestStatus.CONFLICT: "Not set today: approving a request whose"
            " old values were changed meanwhile answers a CONFLICT error and leaves the request"
            " PENDING (staff reject it and ask the customer again).",
        },
    )
    PaymentKind = described_enum(
        enums.PaymentKind,
        "What a payment is for.",
        {
            enums.PaymentKind.INSTALLMENT: "A regular installment (Abschlag).",
            enums.PaymentKind.INVOICE: "The amount of an invoice, e.g. the annual bill's balance.",
            enums.PaymentKind.REFUND: "Money the utility pays back to the customer.",
        },
    )
    PaymentStatus = described_enum(
        enums.PaymentStatus,
        "Settlement state.",
        {
            enums.PaymentStatus.OPEN: "Not yet paid and not yet due.",
            enums.PaymentStatus.PAID: "Settled.",
            enums.PaymentStatus.OVERDUE: "Past its due date and not paid.",
        },
    )
    StaffRole = described_enum(
        enums.StaffRole,
        "Role of a staff user.",
        {
            enums.StaffRole.ADMIN: "Manages portals, staff users and settings, and does"
            " everything an agent does.",
            enums.StaffRole.AGENT: "Customer service: works with contacts, portal users,"
            " change requests and readings.",
        },
    )
    ActorType = described_enum(
        enums.ActorType,
        "Who acted in an audit event.",
        {
            enums.ActorType.STAFF: "A staff user of the utility.",
            enums.ActorType.PORTAL_USER: "A customer or installer in a portal.",
            enums.ActorType.SYSTEM: "The portal itself, e.g. a scheduled job or an import.",
            enums.ActorType.ANONYMOUS: "Someone not logged in, e.g. a failed login or a"
            " registration.",
        },
    )
    SelfRegistration = described_enum(
        portal_settings.SelfRegistration,
        "Who may self-register.",
        {
            portal_settings.SelfRegistration.ALLOW_WITHOUT_CONTACT: "Anyone may register;"
            " without a matching customer record the access waits until staff assign a"
            " contact.",
            portal_settings.SelfRegistration.ALLOW_WITH_CONTACT: "Anyone may register;"
            " without a matching customer record a new contact is created from the"
            " registration.",
            portal_settings.SelfRegistration.DENY: "Only people who match an existing customer"
            " record may register; others get an email that registration is not possible.",
        },
    )
    TwoFactorPolicy = described_enum(
        portal_settings.TwoFactorPolicy,
        "Second factor at login.",
        {
            portal_settings.TwoFactorPolicy.OFF: "Password only; no second factor is asked.",
            portal_settings.TwoFactorPolicy.OPTIONAL: "Users may set up a second factor;"
            " those who did are asked for it.",
            portal_settings.TwoFactorPolicy.REQUIRED: "Every login needs a second factor;"
            " users without one must set it up at their next login.",
        },
    )
    IdentifierEntity = described_enum(
        portal_settings.IdentifierEntity,
        "Entity whose attribute identifies a registering person.",
        {
            portal_settings.IdentifierEntity.CONTACT: "The customer record (e.g. customer"
            " number or postal code).",
            portal_settings.IdentifierEntity.CONTRACT: "A contract (e.g. contract number or"
            " contract account number).",
            portal_settings.IdentifierEntity.ORDER: "An order (its number).",
            portal_settings.IdentifierEntity.OPPORTUNITY: "An opportunity (its number).",
        },
    )
    JourneyPlacement = described_enum(
        portal_settings.JourneyPlacement,
        "Where the portal offers a journey (seed 001 journeys).",
        {
            portal_settings.JourneyPlacement.NAVIGATION: "A link in the main navigation.",
            portal_settings.JourneyPlacement.FIRST_LOGIN: "Opened once, at the user's first login.",
            portal_settings.JourneyPlacement.ENTITY: "Started on a record, e.g. a contract"
            " (see the journey's entity).",
            portal_settings.JourneyPlacement.OFFER_ACCEPTED: "Opened after the customer"
            " accepted an offer.",
            portal_settings.JourneyPlacement.OFFER_DECLINED: "Opened after the customer"
            " declined an offer.",
        },
    )
    JourneyEntity = described_enum(
        portal_settings.JourneyEntity,
        "The kind of record an ENTITY journey is started on.",
        {
            portal_settings.JourneyEntity.CONTRACT: "A contract.",
            portal_settings.JourneyEntity.ORDER: "An order.",
            portal_settings.JourneyEntity.OPPORTUNITY: "A request (opportunity).",
            portal_settings.JourneyEntity.METER: "A meter.",
        },
    )
