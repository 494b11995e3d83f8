"""Enumerations of the domain, shared by the models, the services and the GraphQL schema."""

from __future__ import annotations

import enum


class StaffRole(enum.StrEnum):
    ADMIN = "ADMIN"
    AGENT = "AGENT"


class SessionKind(enum.StrEnum):
    LOGIN = "LOGIN"
    IMPERSONATION = "IMPERSONATION"


class PortalType(enum.StrEnum):
    CUSTOMER = "CUSTOMER"
    INSTALLER = "INSTALLER"


class PortalStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class DomainKind(enum.StrEnum):
    MANAGED = "MANAGED"
    CUSTOM = "CUSTOM"


class DomainStatus(enum.StrEnum):
    READY = "READY"
    PENDING_VERIFICATION = "PENDING_VERIFICATION"
    VERIFIED = "VERIFIED"
    CONFIGURED = "CONFIGURED"


class TileKind(enum.StrEnum):
    ACTION = "ACTION"
    TEXT = "TEXT"
    ENTITY = "ENTITY"
    TEASER = "TEASER"
    DOCUMENTS = "DOCUMENTS"
    PAYMENTS = "PAYMENTS"
    METER_READING = "METER_READING"


class EmailTemplateKind(enum.StrEnum):
    INVITATION = "INVITATION"
    ACTIVATION = "ACTIVATION"
    PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 - a template kind
    PROCESS_STEP_DONE = "PROCESS_STEP_DONE"
    NEW_DOCUMENT = "NEW_DOCUMENT"
    PENDING_USER = "PENDING_USER"
    ACCOUNT_ASSIGNED = "ACCOUNT_ASSIGNED"
    CHANGE_REQUEST_DECIDED = "CHANGE_REQUEST_DECIDED"
    LOGIN_CODE = "LOGIN_CODE"
    EMAIL_CHANGE = "EMAIL_CHANGE"
    EMAIL_CHANGED = "EMAIL_CHANGED"
    ACCOUNT_DELETED = "ACCOUNT_DELETED"
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"
    REGISTRATION_DENIED = "REGISTRATION_DENIED"
    STAFF_NOTIFICATION = "STAFF_NOTIFICATION"
    NEW_OFFER = "NEW_OFFER"


class RegistrationStatus(enum.StrEnum):
    INVITED = "INVITED"
    ACTIVATION_SENT = "ACTIVATION_SENT"
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


class AssignmentStatus(enum.StrEnum):
    PENDING = "PENDING"
    ASSIGNED = "ASSIGNED"


class ContractStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"


class Commodity(enum.StrEnum):
    POWER = "POWER"
    GAS = "GAS"
    WATER = "WATER"
    HEAT = "HEAT"


class InstallmentInterval(enum.StrEnum):
    MONTHLY = "MONTHLY"
    BIMONTHLY = "BIMONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"


class PaymentMethod(enum.StrEnum):
    SEPA_DEBIT = "SEPA_DEBIT"
    TRANSFER = "TRANSFER"


class MeterType(enum.StrEnum):
    ELECTRICITY = "ELECTRICITY"
    GAS = "GAS"
    WATER = "WATER"
    HEAT = "HEAT"


class MeterStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    DECOMMISSIONED = "DECOMMISSIONED"


class MeterReadingSource(enum.StrEnum):
    CUSTOMER = "CUSTOMER"
    INSTALLER = "INSTALLER"
    STAFF = "STAFF"
    IMPORT = "IMPORT"
    ESTIMATED = "ESTIMATED"


class MeterReadingStatus(enum.StrEnum):
    ACCEPTED = "ACCEPTED"
    PENDING_REVIEW = "PENDING_REVIEW"
    CORRECTED = "CORRECTED"
    REJECTED = "REJECTED"


class OrderStatus(enum.StrEnum):
    OFFER = "OFFER"  # an offer (Angebot) waiting for the customer's answer
    DECLINED = "DECLINED"  # the customer declined the offer
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class OpportunityStatus(enum.StrEnum):
    OPEN = "OPEN"
    OFFER_SENT = "OFFER_SENT"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class ProcessStatus(enum.StrEnum):
    """Where a process (a workflow of an order or request) stands as a whole."""

    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class ProcessStepStatus(enum.StrEnum):
    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    SKIPPED = "SKIPPED"


class DocumentType(enum.StrEnum):
    INVOICE = "INVOICE"
    CONTRACT = "CONTRACT"
    OFFER = "OFFER"
    LETTER = "LETTER"
    PROTOCOL = "PROTOCOL"
    OTHER = "OTHER"
    METER_PHOTO = "METER_PHOTO"  # the display of a meter, sent with its readings


class PaymentKind(enum.StrEnum):
    INSTALLMENT = "INSTALLMENT"
    INVOICE = "INVOICE"
    REFUND = "REFUND"


class PaymentStatus(enum.StrEnum):
    OPEN = "OPEN"
    PAID = "PAID"
    OVERDUE = "OVERDUE"


class ChangeRequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CONFLICT = "CONFLICT"


class ActorType(enum.StrEnum):
    STAFF = "STAFF"
    PORTAL_USER = "PORTAL_USER"
    SYSTEM = "SYSTEM"
    ANONYMOUS = "ANONYMOUS"


class Grant(enum.StrEnum):
    """What a permission group lets its portal users read or do (the fixed catalogue)."""

    CONTRACT_READ = "contract:read"
    METER_READ = "meter:read"
    METER_READING_CREATE = "meter_reading:create"
    DOCUMENT_READ = "document:read"
    DOCUMENT_UPLOAD = "document:upload"
    DOCUMENT_DELETE = "document:delete"
    INSTALLMENT_UPDATE = "installment:update"
    PAYMENT_METHOD_UPDATE = "payment_method:update"
    DUE_DATE_UPDATE = "due_date:update"
    CONTACT_UPDATE = "contact:update"
    ORDER_READ = "order:read"
    OPPORTUNITY_READ = "opportunity:read"
    PAYMENT_READ = "payment:read"
    PROCESS_READ = "process:read"
    PARTNER_USERS_MANAGE = "partner_users:manage"


# Grants that mean something on each kind of portal: installers see orders and meters
# assigned to their partner and record readings; customers everything of their own.
GRANTS_BY_PORTAL_TYPE: dict[PortalType, frozenset[Grant]] = {
    PortalType.CUSTOMER: frozenset(Grant),
    PortalType.INSTALLER: frozenset(
        {
            Grant.ORDER_READ,
            Grant.METER_READ,
            Grant.METER_READING_CREATE,
            Grant.PROCESS_READ,
            Grant.PARTNER_USERS_MANAGE,
        }
    ),
}
# Grants staff give deliberately, to a group of their own making: never in a portal's
# default group, where every new user lands (a partner's admin is one person, not all).
DELIBERATE_GRANTS: frozenset[Grant] = frozenset({Grant.PARTNER_USERS_MANAGE})


def default_grants(portal_type: PortalType) -> list[str]:
    """The grants of a new portal's default group."""
    return sorted(GRANTS_BY_PORTAL_TYPE[portal_type] - DELIBERATE_GRANTS)


class EmailStatus(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class SsoMatchBy(enum.StrEnum):
    """How a single sign-on identity finds its portal user the first time."""

    EMAIL = "EMAIL"
    NONE = "NONE"
