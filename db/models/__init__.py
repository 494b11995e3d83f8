"""All models; import this module (`from db import models`) rather than single names."""

from db.base import Base
from db.models.account_request import AccountRequest
from db.models.change_request import AuditEvent, ChangeRequest
from db.models.crm import (
    CONTACT_SEARCHED,
    Contact,
    Contract,
    ContractPrice,
    Document,
    Meter,
    MeterReading,
    MeterRegister,
    OfferNumber,
    Opportunity,
    Order,
    OrderLineItem,
    Payment,
)
from db.models.enums import *  # noqa: F403 - the enums are part of the models' vocabulary
from db.models.identity import (
    AuthSession,
    EmailChange,
    LoginThrottle,
    OneTimeCode,
    PersistedQuery,
    RateCounter,
    RecoveryCode,
    RefreshToken,
    TotpCredential,
)
from db.models.organization import Organization, StaffUser
from db.models.outbox import OutboundEmail
from db.models.portal import EmailTemplate, PermissionGroup, Portal, PortalVersion, Tile
from db.models.portal_user import PortalUser
from db.models.process import Process, ProcessStep
from db.models.sso import IdentityLink, IdentityProvider, SsoLogin

__all__ = [
    "CONTACT_SEARCHED",
    "AccountRequest",
    "AuditEvent",
    "AuthSession",
    "Base",
    "ChangeRequest",
    "Contact",
    "Contract",
    "ContractPrice",
    "Document",
    "EmailChange",
    "EmailTemplate",
    "IdentityLink",
    "IdentityProvider",
    "LoginThrottle",
    "Meter",
    "MeterReading",
    "MeterRegister",
    "OfferNumber",
    "OneTimeCode",
    "Opportunity",
    "Order",
    "OrderLineItem",
    "Organization",
    "OutboundEmail",
    "Payment",
    "PermissionGroup",
    "PersistedQuery",
    "Portal",
    "PortalUser",
    "PortalVersion",
    "Process",
    "ProcessStep",
    "RateCounter",
    "RecoveryCode",
    "RefreshToken",
    "SsoLogin",
    "StaffUser",
    "Tile",
    "TotpCredential",
]
