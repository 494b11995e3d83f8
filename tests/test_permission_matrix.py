"""The role x field read permissions: one table, checked statically against the schema
and dynamically by running every field as every role over the demo world.

Columns: ADMIN AGENT CUSTOMER INSTALLER ANONYMOUS ("x" allowed, "-" denied); "public"
means every role (rows are still scoped). An optional last column names the grant a
portal user's permission group must hold besides the role (staff need none); every
such field is run by each allowed portal user with and without it. Loosening a
permission means editing the field's `allow(...)` and this table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import GraphQLError, get_named_type
from sqlalchemy.ext.asyncio import AsyncSession

from db.models.enums import Grant
from gql.auth.actor import PORTAL_USERS, Role
from gql.domain.scope import visible
from gql.schema import schema
from gql.schema.node_types import NODE_TYPES_BY_NAME
from tests.conftest import ACTORS, GraphQLClient, global_id
from tests.schema_walk import SchemaField, schema_fields

COLUMNS = (Role.ADMIN, Role.AGENT, Role.CUSTOMER, Role.INSTALLER, Role.ANONYMOUS)
ACTOR_OF_ROLE = {
    Role.ADMIN: "admin",
    Role.AGENT: "agent",
    Role.CUSTOMER: "customer",
    Role.INSTALLER: "installer",
    Role.ANONYMOUS: "anonymous",
}

MATRIX = """
    AccountActivated.canLogIn                      public
    AccountActivated.email                         public
    Address.city                                   x x x x -
    Address.country                                x x x x -
    Address.houseNumber                            x x x x -
    Address.postalCode                             x x x x -
    Address.street                                 x x x x -
    AuditEvent.action                              x x - - -
    AuditEvent.actorType                           x x - - -
    AuditEvent.data                                x x - - -
    AuditEvent.id                                  x x - - -
    AuditEvent.ipAddress                           x x - - -
    AuditEvent.occurredAt                          x x - - -
    AuditEvent.portalUser                          x x - - -
    AuditEvent.staffUser                           x x - - -
    AuditEvent.subjectId                           x x - - -
    AuditEvent.subjectType                         x x - - -
    AuditEvent.userAgent                           x x - - -
    AuditEventConnection.edges                     public
    AuditEventConnection.pageInfo                  public
    AuditEventConnection.totalCount                public
    AuditEventEdge.cursor                          public
    AuditEventEdge.node                            public
    BulkInvitationPayload.invited                  public
    BulkInvitationPayload.remaining                public
    BulkInvitationPayload.skipped                  public
    ChangeRequest.attribute                        x x x - -
    ChangeRequest.contact                          x x x - -
    ChangeRequest.contract                         x x x - -  contract:read
    ChangeRequest.createdAt                        x x x - -
    ChangeRequest.decidedAt                        x x x - -
    ChangeRequest.decidedBy                        x x - - -
    ChangeRequest.id                               public
    ChangeRequest.newValue                         x x x - -
    ChangeRequest.oldValue                         x x x - -
    ChangeRequest.portalUser                       x x - - -
    ChangeRequest.reason                           x x x - -
    ChangeRequest.status                           x x x - -
    ChangeRequestConnection.edges                  public
    ChangeRequestConnection.pageInfo               public
    ChangeRequestConnection.totalCount             public
    ChangeRequestDecided.changeRequest             public
    ChangeRequestEdge.cursor                       public
    ChangeRequestEdge.node                         public
    ChangeRequested.changeRequest                  public
    Contact.address                                x x x x -
    Contact.companyName                            x x x x -
    Contact.contracts                              x x x - -  contract:read
    Contact.createdAt                              x x - - -
    Contact.customerNumber                         x x x - -
    Contact.displayName                            x x x x -
    Contact.documents                              x x x - -  document:read
    Contact.email                                  x x x - -
    Contact.firstName                              x x x x -
    Contact.id                                     public
    Contact.lastName                               x x x x -
    Contact.marketingConsent                       x x x - -
    Contact.opportunities                          x x x - -  opportunity:read
    Contact.orders                                 x x x - -  order:read
    Contact.phone                                  x x x - -
    Contact.portalUsers                            x x - - -
    ContactConnection.edges                        public
    ContactConnection.pageInfo                     public
    ContactConnection.totalCount                   public
    ContactEdge.cursor                             public
    ContactEdge.node                               public
    Contract.accountHolder                         x x x - -  contract:read
    Contract.balance                               x x x - -  payment:read
    Contract.commodity                             x x x - -  contract:read
    Contract.contact                               x x x - -  contract:read
    Contract.contractAccountNumber                 x x x - -  contract:read
    Contract.deliveryAddress                       x x x - -  contract:read
    Contract.dueDay                                x x x - -  contract:read
    Contract.endDate                               x x x - -  contract:read
    Contract.ibanMasked                            x x x - -  contract:read
    Contract.id                                    public
    Contract.installmentAmount                     x x x - -  contract:read
    Contract.installmentInterval                   x x x - -  contract:read
    Contract.meters                                x x x - -  meter:read
    Contract.number                                x x x - -  contract:read
    Contract.overdueAmount                         x x x - -  payment:read
    Contract.paymentMethod                         x x x - -  contract:read
    Contract.payments                              x x x - -  payment:read
    Contract.startDate                             x x x - -  contract:read
    Contract.status                                x x x - -  contract:read
    Contract.tariffName                            x x x - -  contract:read
    ContractChanged.contract                       public
    ContractConnection.edges                       public
    ContractConnection.pageInfo                    public
    ContractConnection.totalCount                  public
    ContractEdge.cursor                            public
    ContractEdge.node                              public
    DeletePermissionGroupPayload.deletedId         public
    DeletePermissionGroupPayload.movedPortalUsers  public
    DeletePortalPayload.deletedId                  public
    DeletePortalUserPayload.deletedId              public
    DeleteTilePayload.deletedId                    public
    DnsRecord.name                                 public
    DnsRecord.purpose                              public
    DnsRecord.type                                 public
    DnsRecord.value                                public
    Document.contract                              x x x - -  contract:read
    Document.createdAt                             x x x - -  document:read
    Document.downloadUrl                           x x x - -  document:read
    Document.id                                    public
    Document.isNew                                 x x x - -  document:read
    Document.mimeType                              x x x - -  document:read
    Document.name                                  x x x - -  document:read
    Document.order                                 x x x - -  order:read
    Document.sizeBytes                             x x x - -  document:read
    Document.type                                  x x x - -  document:read
    Document.uploadedByCustomer                    x x x - -  document:read
    DocumentConnection.edges                       public
    DocumentConnection.pageInfo                    public
    DocumentConnection.totalCount                  public
    DocumentDeleted.deletedId                      public
    DocumentEdge.cursor                            public
    DocumentEdge.node                              public
    DocumentRefused.detectedType                   public
    DocumentRefused.maxBytes                       public
    DocumentRefused.message                        public
    DocumentRefused.reason                         public
    DocumentUploaded.document                      public
    EmailPreview.html                              public
    EmailPreview.subject                           public
    EmailPreview.text                              public
    EmailTemplate.bodyHtml                         x x - - -
    EmailTemplate.bodyText                         x x - - -
    EmailTemplate.kind                             x x - - -
    EmailTemplate.language                         x x - - -
    EmailTemplate.subject                          x x - - -
    EmailTemplate.updatedAt                        x x - - -
    EmailTemplate.variables                        x x - - -
    EmailTemplatePayload.emailTemplate             public
    ExportedFile.content                           public
    ExportedFile.contentType                       public
    ExportedFile.filename                          public
    HomeTile.buttonLabel                           public
    HomeTile.contracts                             - - x x -  contract:read
    HomeTile.documents                             - - x x -  document:read
    HomeTile.entity                                public
    HomeTile.id                                    public
    HomeTile.imageUrl                              public
    HomeTile.journeyId                             public
    HomeTile.kind                                  public
    HomeTile.limit                                 public
    HomeTile.linkUrl                               public
    HomeTile.meters                                - - x x -  meter:read
    HomeTile.opportunities                         - - x x -  opportunity:read
    HomeTile.orders                                - - x x -  order:read
    HomeTile.payments                              - - x x -  payment:read
    HomeTile.position                              public
    HomeTile.text                                  public
    HomeTile.title                                 public
    HomeTile.url                                   public
    Impersonation.accessToken                      public
    Impersonation.expiresIn                        public
    Impersonation.role                             public
    ImpersonationError.code                        public
    ImpersonationError.field                       public
    ImpersonationError.message                     public
    ImportRowError.column                          public
    ImportRowError.line                            public
    ImportRowError.message                         public
    InstallmentChanged.contract                    public
    InstallmentRefused.allowedMax                  public
    InstallmentRefused.allowedMin                  public
    InstallmentRefused.message                     public
    InstallmentRefused.nextPossibleAt              public
    InstallmentRefused.reason                      public
    LanguageUpdated.language                       public
    LoggedIn.accessToken                           public
    LoggedIn.expiresIn                             public
    LoggedIn.refreshToken                          public
    LoggedIn.role                                  public
    LoggedIn.tokenType                             public
    LoginCodeSent.email                            public
    LoginCodeSent.expiresIn                        public
    LoginError.code                                public
    LoginError.field                               public
    LoginError.message                             public
    LogoutResult.revokedSessions                   public
    Meter.contract                                 x x x - -  contract:read
    Meter.counterResetAt                           x x x x -  meter:read
    Meter.id                                       public
    Meter.location                                 x x x x -  meter:read
    Meter.number                                   x x x x -  meter:read
    Meter.readings                                 x x x x -  meter:read
    Meter.registers                                x x x x -  meter:read
    Meter.status                                   x x x x -  meter:read
    Meter.type                                     x x x x -  meter:read
    Meter.unit                                     x x x x -  meter:read
    MeterConnection.edges                          public
    MeterConnection.pageInfo                       public
    MeterConnection.totalCount                     public
    MeterCounterReset.meter                        public
    MeterEdge.cursor                               public
    MeterEdge.node                                 public
    MeterReading.id                                public
    MeterReading.meter                             x x x x -  meter:read
    MeterReading.readAt                            x x x x -  meter:read
    MeterReading.register                          x x x x -  meter:read
    MeterReading.source                            x x x x -  meter:read
    MeterReading.status                            x x x x -  meter:read
    MeterReading.value                             x x x x -  meter:read
    MeterReadingConnection.edges                   public
    MeterReadingConnection.pageInfo                public
    MeterReadingConnection.totalCount              public
    MeterReadingEdge.cursor                        public
    MeterReadingEdge.node                          public
    MeterReadingRefused.allowedMax                 public
    MeterReadingRefused.allowedMin                 public
    MeterReadingRefused.field                      public
    MeterReadingRefused.message                    public
    MeterReadingRefused.reason                     public
    MeterReadingReviewed.reading                   public
    MeterReadingSubmitted.created                  public
    MeterReadingSubmitted.reading                  public
    MeterRegister.digits                           x x x x -  meter:read
    MeterRegister.id                               public
    MeterRegister.name                             x x x x -  meter:read
    MeterRegister.obisCode                         x x x x -  meter:read
    Mutation.acceptInvitation                      public
    Mutation.acceptStaffInvitation                 public
    Mutation.activateAccount                       public
    Mutation.activatePortal                        x - - - -
    Mutation.activatePortalUser                    x x - - -
    Mutation.approveChangeRequest                  x x - - -
    Mutation.assignPortalUser                      x x - - -
    Mutation.assignPortalUserToNewContact          x x - - -
    Mutation.changeDueDate                         - - x - -  due_date:update
    Mutation.changeInstallment                     - - x - -  installment:update
    Mutation.changePassword                        x x x x -
    Mutation.changePaymentMethod                   - - x - -  payment_method:update
    Mutation.checkPortalConfiguration              x - - - -
    Mutation.confirmTotp                           public
    Mutation.createPermissionGroup                 x - - - -
    Mutation.createPortal                          x - - - -
    Mutation.createTile                            x - - - -
    Mutation.deactivatePortal                      x - - - -
    Mutation.deactivatePortalUser                  x x - - -
    Mutation.deleteDocument                        x x x - -  document:delete
    Mutation.deletePermissionGroup                 x - - - -
    Mutation.deletePortal                          x - - - -
    Mutation.deletePortalUser                      x x - - -
    Mutation.deleteTile                            x - - - -
    Mutation.disableStaffUser                      x - - - -
    Mutation.disableTotp                           x x x x -
    Mutation.enableStaffUser                       x - - - -
    Mutation.enrollTotp                            public
    Mutation.impersonatePortalUser                 x x - - -
    Mutation.importPortalUsers                     x x - - -
    Mutation.inviteContact                         x x - - -
    Mutation.inviteStaffUser                       x - - - -
    Mutation.inviteUninvitedContacts               x x - - -
    Mutation.login                                 public
    Mutation.logout                                x x x x -
    Mutation.logoutEverywhere                      x x x x -
    Mutation.publishPortal                         x - - - -
    Mutation.refreshSession                        public
    Mutation.regenerateRecoveryCodes               x x x x -
    Mutation.register                              public
    Mutation.rejectChangeRequest                   x x - - -
    Mutation.reorderTiles                          x - - - -
    Mutation.requestPasswordReset                  public
    Mutation.resendActivation                      public
    Mutation.resetMeterCounter                     x x - - -
    Mutation.resetPassword                         public
    Mutation.respondToOffer                        - - x - -  order:read
    Mutation.restorePortalVersion                  x - - - -
    Mutation.reviewMeterReading                    x x - - -
    Mutation.sendLoginCode                         public
    Mutation.setPortalDomain                       x - - - -
    Mutation.setPortalUserPassword                 x x - - -
    Mutation.setPortalUserPermissionGroup          x x - - -
    Mutation.submitMeterReading                    x x x x -  meter_reading:create
    Mutation.unassignPortalUser                    x x - - -
    Mutation.updateEmailTemplate                   x - - - -
    Mutation.updateLanguage                        x x x x -
    Mutation.updateMyContact                       - - x - -  contact:update
    Mutation.updatePermissionGroup                 x - - - -
    Mutation.updatePortal                          x - - - -
    Mutation.updatePortalSettings                  x - - - -
    Mutation.updateStaffUser                       x - - - -
    Mutation.updateTile                            x - - - -
    Mutation.uploadDocument                        x x x - -  document:upload
    Mutation.verifyPortalDomain                    x - - - -
    Mutation.verifyTwoFactor                       public
    MutationError.code                             public
    MutationError.field                            public
    MutationError.message                          public
    MyContactUpdated.applied                       public
    MyContactUpdated.changeRequests                public
    MyContactUpdated.contact                       public
    NextJourney.journeyId                          public
    NextJourney.label                              public
    OfferAnswered.journey                          public
    OfferAnswered.order                            public
    Opportunity.contact                            x x x - -  opportunity:read
    Opportunity.createdAt                          x x x - -  opportunity:read
    Opportunity.id                                 public
    Opportunity.number                             x x x - -  opportunity:read
    Opportunity.status                             x x x - -  opportunity:read
    Opportunity.title                              x x x - -  opportunity:read
    OpportunityConnection.edges                    public
    OpportunityConnection.pageInfo                 public
    OpportunityConnection.totalCount               public
    OpportunityEdge.cursor                         public
    OpportunityEdge.node                           public
    Order.contact                                  x x x x -  order:read
    Order.createdAt                                x x x x -  order:read
    Order.id                                       public
    Order.meter                                    x x x x -  meter:read
    Order.number                                   x x x x -  order:read
    Order.offerAnsweredAt                          x x x - -  order:read
    Order.offerDeclineReason                       x x x - -  order:read
    Order.partner                                  x x - x -  order:read
    Order.scheduledFor                             x x x x -  order:read
    Order.status                                   x x x x -  order:read
    Order.title                                    x x x x -  order:read
    Order.totalAmount                              x x x - -  order:read
    OrderConnection.edges                          public
    OrderConnection.pageInfo                       public
    OrderConnection.totalCount                     public
    OrderEdge.cursor                               public
    OrderEdge.node                                 public
    PageInfo.endCursor                             public
    PageInfo.hasNextPage                           public
    PageInfo.hasPreviousPage                       public
    PageInfo.startCursor                           public
    PageTitle.key                                  public
    PageTitle.title                                public
    PasswordChanged.revokedSessions                public
    PasswordReset.email                            public
    Payment.amount                                 x x x - -  payment:read
    Payment.contract                               x x x - -  contract:read
    Payment.dueDate                                x x x - -  payment:read
    Payment.id                                     public
    Payment.kind                                   x x x - -  payment:read
    Payment.paidAt                                 x x x - -  payment:read
    Payment.reference                              x x x - -  payment:read
    Payment.status                                 x x x - -  payment:read
    PaymentConnection.edges                        public
    PaymentConnection.pageInfo                     public
    PaymentConnection.totalCount                   public
    PaymentEdge.cursor                             public
    PaymentEdge.node                               public
    PermissionGroup.grants                         x x x x -
    PermissionGroup.id                             public
    PermissionGroup.isDefault                      x x - - -
    PermissionGroup.name                           x x x x -
    PermissionGroup.portal                         x x - - -
    PermissionGroup.portalUserCount                x x - - -
    PermissionGroup.visibility                     x x - - -
    PermissionGroupPayload.permissionGroup         public
    PermissionGroupVisibility.contractStatuses     public
    PermissionGroupVisibility.documentTypes        public
    Portal.configuration                           public
    Portal.createdAt                               x x - - -
    Portal.domain                                  public
    Portal.domainKind                              x x - - -
    Portal.domainRecords                           x x - - -
    Portal.domainStatus                            x x - - -
    Portal.draftConfiguration                      x x - - -
    Portal.draftSettings                           x x - - -
    Portal.draftTiles                              x x - - -
    Portal.emailTemplates                          x x - - -
    Portal.id                                      public
    Portal.name                                    public
    Portal.permissionGroups                        x x - - -
    Portal.publishedAt                             x x - - -
    Portal.publishedVersion                        x x - - -
    Portal.status                                  public
    Portal.tiles                                   x x x x -
    Portal.type                                    public
    Portal.versions                                x x - - -
    PortalConfiguration.defaultLanguage            public
    PortalConfiguration.design                     public
    PortalConfiguration.identifiers                public
    PortalConfiguration.languages                  public
    PortalConfiguration.privacyUrl                 public
    PortalConfiguration.selfRegistration           public
    PortalConfiguration.termsUrl                   public
    PortalConfiguration.twoFactor                  public
    PortalConnection.edges                         public
    PortalConnection.pageInfo                      public
    PortalConnection.totalCount                    public
    PortalDesign.backgroundColor                   public
    PortalDesign.font                              public
    PortalDesign.logoUrl                           public
    PortalDesign.primaryColor                      public
    PortalDesign.secondaryColor                    public
    PortalEdge.cursor                              public
    PortalEdge.node                                public
    PortalHome.language                            public
    PortalHome.tiles                               public
    PortalPayload.portal                           public
    PortalUser.activatedAt                         x x - - -
    PortalUser.assignmentStatus                    x x x x -
    PortalUser.contact                             x x x x -
    PortalUser.createdAt                           x x - - -
    PortalUser.email                               x x x x -
    PortalUser.id                                  public
    PortalUser.language                            x x x x -
    PortalUser.lastLoginAt                         x x - - -
    PortalUser.permissionGroup                     x x x x -
    PortalUser.portal                              x x x x -
    PortalUser.registrationStatus                  x x x x -
    PortalUser.totpEnabled                         x x x x -
    PortalUserConnection.edges                     public
    PortalUserConnection.pageInfo                  public
    PortalUserConnection.totalCount                public
    PortalUserEdge.cursor                          public
    PortalUserEdge.node                            public
    PortalUserPayload.portalUser                   public
    PortalUserPayload.revokedSessions              public
    PortalUsersImportRefused.errors                public
    PortalUsersImportRefused.message               public
    PortalUsersImported.created                    public
    PortalUsersImported.unchanged                  public
    PortalUsersImported.updated                    public
    PortalVersion.publishedAt                      x x - - -
    PortalVersion.publishedBy                      x x - - -
    PortalVersion.version                          x x - - -
    PublicFooter.enabled                           public
    PublicFooter.leftLinks                         public
    PublicFooter.rightLinks                        public
    PublicFooter.showLogo                          public
    PublicHeader.enabled                           public
    PublicHeader.showLogo                          public
    PublicLayout.footer                            public
    PublicLayout.header                            public
    PublicLayout.leftSide                          public
    PublicLink.label                               public
    PublicLink.url                                 public
    PublicPortal.defaultLanguage                   public
    PublicPortal.design                            public
    PublicPortal.domain                            public
    PublicPortal.id                                public
    PublicPortal.identifiers                       public
    PublicPortal.language                          public
    PublicPortal.languages                         public
    PublicPortal.layout                            public
    PublicPortal.name                              public
    PublicPortal.pageTitles                        public
    PublicPortal.privacyUrl                        public
    PublicPortal.registrationLink                  public
    PublicPortal.selfRegistration                  public
    PublicPortal.termsUrl                          public
    PublicPortal.texts                             public
    PublicPortal.twoFactor                         public
    PublicPortal.type                              public
    PublicSide.bullets                             public
    PublicSide.enabled                             public
    PublicSide.imageUrl                            public
    PublicSide.title                               public
    PublicTexts.activation                         public
    PublicTexts.home                               public
    PublicTexts.login                              public
    PublicTexts.marketingConsent                   public
    PublicTexts.passwordForgotten                  public
    PublicTexts.privacy                            public
    PublicTexts.registration                       public
    Query.auditEvents                              x x - - -
    Query.changeRequests                           x x - - -
    Query.contact                                  x x x x -
    Query.contacts                                 x x x x -
    Query.exportPortalUsers                        x x - - -
    Query.meterReadingsToReview                    x x - - -
    Query.node                                     public
    Query.nodes                                    public
    Query.portal                                   public
    Query.portalHome                               - - x x -
    Query.portalUsers                              x x - - -
    Query.portals                                  x x x x -
    Query.previewEmailTemplate                     x x - - -
    Query.publicPortal                             public
    Query.staffUsers                               x x - - -
    Query.viewer                                   public
    RecoveryCodes.codes                            public
    RegistrationIdentifier.attribute               public
    RegistrationIdentifier.entity                  public
    RegistrationIdentifier.key                     public
    RequestReceived.message                        public
    SecondFactorRequired.enrollmentRequired        public
    SecondFactorRequired.methods                   public
    SecondFactorRequired.mfaToken                  public
    StaffInvitationAccepted.email                  public
    StaffUser.disabledAt                           x x - - -
    StaffUser.email                                x x - - -
    StaffUser.id                                   public
    StaffUser.invitationPending                    x x - - -
    StaffUser.invitedAt                            x x - - -
    StaffUser.isActive                             x x - - -
    StaffUser.language                             x x - - -
    StaffUser.lastLoginAt                          x x - - -
    StaffUser.name                                 x x - - -
    StaffUser.role                                 x x - - -
    StaffUserConnection.edges                      public
    StaffUserConnection.pageInfo                   public
    StaffUserConnection.totalCount                 public
    StaffUserEdge.cursor                           public
    StaffUserEdge.node                             public
    StaffUserPayload.revokedSessions               public
    StaffUserPayload.staffUser                     public
    Tile.content                                   x x x x -
    Tile.id                                        public
    Tile.kind                                      x x x x -
    Tile.permissionGroups                          x x - - -
    Tile.position                                  x x x x -
    Tile.visible                                   x x - - -
    TileConnection.edges                           public
    TileConnection.pageInfo                        public
    TileConnection.totalCount                      public
    TileEdge.cursor                                public
    TileEdge.node                                  public
    TilePayload.tile                               public
    TilesPayload.tiles                             public
    TotpConfirmed.recoveryCodes                    public
    TotpConfirmed.session                          public
    TotpDisabled.disabled                          public
    TotpEnrollment.qrCodeSvg                       public
    TotpEnrollment.secret                          public
    TotpEnrollment.uri                             public
    TwoFactorError.code                            public
    TwoFactorError.field                           public
    TwoFactorError.message                         public
    Viewer.contact                                 - - x x -
    Viewer.contracts                               - - x - -  contract:read
    Viewer.impersonatedBy                          - - x x -
    Viewer.isImpersonation                         public
    Viewer.meters                                  - - x x -  meter:read
    Viewer.myChangeRequests                        - - x - -
    Viewer.orders                                  - - x x -  order:read
    Viewer.portal                                  - - x x -
    Viewer.portalUser                              - - x x -
    Viewer.role                                    public
    Viewer.staffUser                               x x - - -
"""


def parse_matrix(text: str) -> tuple[dict[str, frozenset[Role] | None], dict[str, Grant]]:
    roles: dict[str, frozenset[Role] | None] = {}
    grants: dict[str, Grant] = {}
    for line in text.strip().splitlines():
        key, *marks = line.split()
        if marks and ":" in marks[-1]:
            grants[key] = Grant(marks.pop())
        if marks == ["public"]:
            roles[key] = None
        else:
            assert len(marks) == len(COLUMNS), line
            roles[key] = frozenset(r for r, m in zip(COLUMNS, marks, strict=True) if m == "x")
    return roles, grants


EXPECTED, EXPECTED_GRANTS = parse_matrix(MATRIX)
FIELDS = {field.key: field for field in schema_fields(schema._schema)}


def test_every_field_declares_its_roles_as_the_matrix_says() -> None:
    declared = {key: field.roles for key, field in FIELDS.items()}
    missing = sorted(set(declared) - set(EXPECTED))
    stale = sorted(set(EXPECTED) - set(declared))
    changed = sorted(k for k in set(declared) & set(EXPECTED) if declared[k] != EXPECTED[k])
    assert (missing, stale, changed) == ([], [], []), (
        f"not in MATRIX: {missing}; no longer in schema: {stale}; differ: {changed}"
    )


def test_every_field_declares_its_grant_as_the_matrix_says() -> None:
    declared = {key: field.grant for key, field in FIELDS.items() if field.grant is not None}
    assert declared == EXPECTED_GRANTS


def test_every_customer_row_field_needs_a_grant() -> None:
    """What a customer reads of contracts, meters, orders, opportunities, documents and
    payments always depends on the permission group; a new field can not forget it."""
    granted_types = {"Contract", "Meter", "MeterRegister", "MeterReading", "Order"}
    granted_types |= {"Opportunity", "Document", "Payment"}
    ungranted = [
        key
        for key, field in FIELDS.items()
        if key.split(".")[0] in granted_types
        and field.roles is not None
        and field.roles & PORTAL_USERS
        and field.grant is None
    ]
    assert ungranted == []


def test_role_restricted_fields_are_nullable_so_denial_is_a_field_error() -> None:
    non_null = [
        key
        for key, field in FIELDS.items()
        if field.roles is not None and str(field.graphql_field.type).endswith("!")
    ]
    assert non_null == []


# --- Dynamic: run each field as each role --------------------------------------------------

# How each type is reached; `{id}` is a row of the type the role can see.
LOCATORS: dict[str, str] = {
    **{name: 'node(id: "{id}") {{ ... on ' + name + " {{ %s }} }}" for name in NODE_TYPES_BY_NAME},
    "Address": 'node(id: "{id}") {{ ... on Contact {{ address {{ %s }} }} }}',
    "PortalConfiguration": 'node(id: "{id}") {{ ... on Portal {{ configuration {{ %s }} }} }}',
    "PortalDesign": (
        'node(id: "{id}") {{ ... on Portal {{ configuration {{ design {{ %s }} }} }} }}'
    ),
    "RegistrationIdentifier": (
        'node(id: "{id}") {{ ... on Portal {{ configuration {{ identifiers {{ %s }} }} }} }}'
    ),
    "Viewer": "viewer {{ %s }}",
    # Portal users see tiles only as published: through their portal, not as rows.
    "Tile": (
        'node(id: "{id}") {{ ... on Portal {{ tiles(first: 1) {{ edges {{ node {{ %s }} }} }} }} }}'
    ),
}
SOURCE_TYPE = {
    "Tile": "Portal",
    "Address": "Contact",
    "PortalConfiguration": "Portal",
    "PortalDesign": "Portal",
    "RegistrationIdentifier": "Portal",
}
# Root fields ask for rows the caller can see: its own portal and contact.
ROOT_FIELDS = {
    "node": 'node(id: "{portal}") {{ __typename }}',
    "nodes": 'nodes(ids: ["{portal}"]) {{ __typename }}',
    "viewer": "viewer {{ role }}",
    "portals": "portals {{ totalCount }}",
    "portal": 'portal(id: "{portal}") {{ name }}',
    "contacts": "contacts {{ totalCount }}",
    "contact": 'contact(id: "{contact}") {{ __typename }}',
    "portalUsers": "portalUsers {{ totalCount }}",
    "auditEvents": "auditEvents {{ totalCount }}",
    "staffUsers": "staffUsers {{ totalCount }}",
    "portalHome": "portalHome {{ language }}",
    "meterReadingsToReview": "meterReadingsToReview {{ totalCount }}",
    "changeRequests": "changeRequests {{ totalCount }}",
    "exportPortalUsers": 'exportPortalUsers(portalId: "{portal}") {{ __typename }}',
    "publicPortal": 'publicPortal(domain: "musterstadt.portale.example") {{ name }}',
    "previewEmailTemplate": (
        'previewEmailTemplate(portalId: "{portal}", kind: ACTIVATION, language: "de")'
        " {{ __typename }}"
    ),
}
# Allowed fields that are null on the sampled demo rows (absent data, not denial).
MAY_BE_NULL: frozenset[str] = frozenset(
    {
        "Contact.companyName",  # private customers have none
        "Contract.endDate",  # running contracts
        "Document.order",  # documents of a contract, not of an order
        "PortalConfiguration.privacyUrl",  # the installer portal links none
        "PortalConfiguration.termsUrl",
        "PortalUser.lastLoginAt",  # nobody has logged in yet
        "StaffUser.lastLoginAt",
        "StaffUser.invitedAt",  # the demo staff were never invited
        "StaffUser.disabledAt",  # nor disabled
        "Viewer.impersonatedBy",  # nobody is impersonating
        "ChangeRequest.contract",  # the demo request changes a contact
        "ChangeRequest.decidedAt",  # the demo request waits
        "ChangeRequest.decidedBy",
        "ChangeRequest.reason",
        "Meter.counterResetAt",  # no demo meter rolled over
        "Order.offerAnsweredAt",  # no offer answered yet
        "Order.offerDeclineReason",
    }
)

# Which roles can see any row of a type at all (others are covered by test_isolation).
REACHABLE: dict[str, frozenset[Role]] = {
    "Contact": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "Contract": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Meter": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "MeterRegister": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "MeterReading": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "Order": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "Opportunity": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Document": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Payment": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "ChangeRequest": frozenset({Role.ADMIN, Role.AGENT, Role.CUSTOMER}),
    "Portal": frozenset(COLUMNS),
    "Tile": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "PermissionGroup": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "PortalUser": frozenset(COLUMNS) - {Role.ANONYMOUS},
    "StaffUser": frozenset({Role.ADMIN, Role.AGENT}),
}


def _reachable_roles(key: str) -> frozenset[Role]:
    type_name = key.split(".")[0]
    if type_name in ("Query", "Viewer"):
        return frozenset(COLUMNS)
    if type_name in LOCATORS:
        return REACHABLE.get(type_name) or REACHABLE[SOURCE_TYPE[type_name]]
    return frozenset()  # connections, edges, page info, mutation results: static check only


def _cases() -> list[Any]:
    cases = []
    for key in EXPECTED:
        roles = _reachable_roles(key)
        for role in COLUMNS:
            if role in roles:
                actor = ACTOR_OF_ROLE[role]
                cases.append(pytest.param(actor, key, id=f"{actor}-{key}"))
    return cases


def _grant_cases() -> list[Any]:
    """Every granted field, for every portal user allowed to read it, without its grant."""
    cases = []
    for key, grant in EXPECTED_GRANTS.items():
        roles = (EXPECTED[key] or frozenset(COLUMNS)) & PORTAL_USERS & _reachable_roles(key)
        for role in sorted(roles):
            actor = ACTOR_OF_ROLE[role]
            cases.append(pytest.param(actor, key, grant, id=f"{actor}-without-{grant}-{key}"))
    return cases


async def _visible_row(session: AsyncSession, type_name: str, actor: str) -> str:
    model = NODE_TYPES_BY_NAME[type_name].__model__
    row_id = await session.scalar(
        sa.select(model.id).where(visible(model, ACTORS[actor])).order_by(model.id).limit(1)
    )
    assert row_id is not None, f"{actor} sees no {type_name}: fix REACHABLE or the demo data"
    return global_id(type_name, row_id)


def _selection(field: SchemaField) -> str:
    named = get_named_type(field.graphql_field.type)
    if not field.is_composite:
        return field.name
    if named.name.endswith("Connection"):
        return f"{field.name} {{ totalCount }}"
    return f"{field.name} {{ __typename }}"


def _find(data: Any, name: str) -> Any:
    """The first value under key `name` anywhere in the response."""
    if isinstance(data, dict):
        if name in data:
            return data[name]
        for value in data.values():
            if (found := _find(value, name)) is not None:
                return found
    if isinstance(data, list):
        for item in data:
            if (found := _find(item, name)) is not None:
                return found
    return None


def _dig(data: Any, path: list[str | int]) -> Any:
    for step in path:
        if data is None:
            return None
        data = data[step]
    return data


async def _query(session: AsyncSession, actor: str, key: str) -> str:
    """An operation that reaches `key` on a row `actor` can see."""
    type_name, field_name = key.split(".")
    if type_name == "Query":
        portal = await _visible_row(session, "Portal", actor)
        seer = "admin" if ACTORS[actor].role is Role.ANONYMOUS else actor
        contact = await _visible_row(session, "Contact", seer)
        return "{ " + ROOT_FIELDS[field_name].format(portal=portal, contact=contact) + " }"
    row = ""
    if type_name != "Viewer":
        row = await _visible_row(session, SOURCE_TYPE.get(type_name, type_name), actor)
    return "{ " + LOCATORS[type_name].format(id=row) % _selection(FIELDS[key]) + " }"


def _assert_forbidden(data: Any, errors: list[GraphQLError], field_name: str) -> None:
    codes = [(e.path or [], (e.extensions or {}).get("code")) for e in errors]
    assert any(code == "FORBIDDEN" and path[-1:] == [field_name] for path, code in codes), codes
    assert all(code == "FORBIDDEN" for _, code in codes), codes
    denied_path = next(path for path, code in codes if code == "FORBIDDEN")
    assert _dig(data, denied_path) is None


@pytest.mark.parametrize(("actor", "key"), _cases())
async def test_field_permission(
    gql: GraphQLClient, session: AsyncSession, actor: str, key: str
) -> None:
    field_name = key.split(".")[1]
    data, errors = await gql(await _query(session, actor, key), actor)

    expected = EXPECTED[key]
    if expected is None or ACTORS[actor].role in expected:
        assert errors == [], [(e.path, (e.extensions or {}).get("code")) for e in errors]
        value = _find(data, field_name)
        assert value is not None or key in MAY_BE_NULL, f"{key} is null for {actor}"
    else:
        _assert_forbidden(data, errors, field_name)


@pytest.mark.parametrize(("actor", "key", "grant"), _grant_cases())
async def test_field_needs_its_grant(
    gql: GraphQLClient, session: AsyncSession, actor: str, key: str, grant: Grant
) -> None:
    """The same field as the same portal user, whose group lacks just this grant."""
    full = ACTORS[actor]
    assert grant in full.grants  # with it, test_field_permission reads the field
    without = replace(full, grants=full.grants - {grant})

    data, errors = await gql(await _query(session, actor, key), without)

    _assert_forbidden(data, errors, key.split(".")[1])
    denial = next(e for e in errors if e.path and e.path[-1] == key.split(".")[1])
    assert (denial.extensions or {}).get("grant") == grant.value


def test_staff_need_no_grants() -> None:
    """Staff hold no permission group; a granted field is theirs by role alone."""
    assert ACTORS["admin"].grants == frozenset()
    assert all(ACTORS["admin"].may(grant) for grant in Grant)


def test_matrix_covers_the_demo_world_row_types() -> None:
    assert set(REACHABLE) == set(NODE_TYPES_BY_NAME)
