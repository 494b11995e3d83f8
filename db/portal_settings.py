"""Portal settings as typed, validated structures, stored as JSONB on the portal.

The draft and every published version are one `PortalSettings` document each, so a
publish is a copy and a restore is a copy back; pydantic validates both on the way in
and on the way out of the database.
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator
from pydantic.alias_generators import to_camel
from sqlalchemy.dialects import postgresql

from db.models.enums import InstallmentInterval, OpportunityStatus, OrderStatus

Language = Literal["de", "en"]
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Settings(BaseModel):
    # Stored with snake_case keys; staff may send camelCase (GraphQL's style) as well.
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Design(_Settings):
    primary_color: str = "#005CA9"
    secondary_color: str = "#F39200"
    background_color: str = "#FFFFFF"
    logo_url: HttpUrl | None = None
    font: Literal["Inter", "Roboto", "Open Sans", "Source Sans 3", "System"] = "Inter"

    @field_validator("primary_color", "secondary_color", "background_color")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX_COLOR.match(value):
            raise ValueError("must be a hex color such as #005CA9")
        return value.upper()


class SelfRegistration(enum.StrEnum):
    ALLOW_WITHOUT_CONTACT = "ALLOW_WITHOUT_CONTACT"
    ALLOW_WITH_CONTACT = "ALLOW_WITH_CONTACT"
    DENY = "DENY"


class IdentifierEntity(enum.StrEnum):
    CONTACT = "CONTACT"
    CONTRACT = "CONTRACT"
    ORDER = "ORDER"
    OPPORTUNITY = "OPPORTUNITY"


# The identifier catalogue: what registration may ask for, with what the pages call it.
# A label in every language is required here, so no identifier can be offered nameless.
IDENTIFIER_LABELS: dict[IdentifierEntity, dict[str, dict[Language, str]]] = {
    IdentifierEntity.CONTACT: {
        "email": {"de": "E-Mail-Adresse", "en": "Email address"},
        "first_name": {"de": "Vorname", "en": "First name"},
        "last_name": {"de": "Nachname", "en": "Last name"},
        "customer_number": {"de": "Kundennummer", "en": "Customer number"},
        "phone": {"de": "Telefonnummer", "en": "Phone number"},
        "postal_code": {"de": "Postleitzahl", "en": "Postal code"},
    },
    IdentifierEntity.CONTRACT: {
        "number": {"de": "Vertragsnummer", "en": "Contract number"},
        "contract_account_number": {"de": "Vertragskontonummer", "en": "Contract account number"},
    },
    IdentifierEntity.ORDER: {"number": {"de": "Auftragsnummer", "en": "Order number"}},
    IdentifierEntity.OPPORTUNITY: {"number": {"de": "Anfragenummer", "en": "Request number"}},
}
IDENTIFIER_ATTRIBUTES: dict[IdentifierEntity, frozenset[str]] = {
    entity: frozenset(labels) for entity, labels in IDENTIFIER_LABELS.items()
}


class Identifier(_Settings):
    entity: IdentifierEntity
    attribute: str

    @model_validator(mode="after")
    def _known_attribute(self) -> Identifier:
        if self.attribute not in IDENTIFIER_ATTRIBUTES[self.entity]:
            allowed = ", ".join(sorted(IDENTIFIER_ATTRIBUTES[self.entity]))
            raise ValueError(f"{self.entity} has no identifier {self.attribute!r} ({allowed})")
        return self

    @property
    def key(self) -> str:
        return f"{self.entity.lower()}.{self.attribute}"

    def label(self, language: Language) -> str:
        return IDENTIFIER_LABELS[self.entity][self.attribute][language]


class Registration(_Settings):
    self_registration: SelfRegistration = SelfRegistration.ALLOW_WITHOUT_CONTACT
    identifiers: list[Identifier] = Field(
        default_factory=lambda: [Identifier(entity=IdentifierEntity.CONTACT, attribute="email")]
    )
    terms_url: HttpUrl | None = None
    privacy_url: HttpUrl | None = None
    registration_link: HttpUrl | None = None

    @field_validator("identifiers")
    @classmethod
    def _identifiers(cls, value: list[Identifier]) -> list[Identifier]:
        # Any attribute may identify, the email among them or not (seed 001: "ein
        # anderes Attribut wie zum Beispiel die Vertragskontonummer"); all of them must
        # match (gql.domain.registration.match_contact).
        if not value:
            raise ValueError("at least one identifier is needed")
        if len({identifier.key for identifier in value}) != len(value):
            raise ValueError("identifiers must not repeat")
        return value


class PeriodType(enum.StrEnum):
    DAYS = "DAYS"
    WEEKS = "WEEKS"
    MONTHS = "MONTHS"


class Cadence(_Settings):
    allowed_changes: Annotated[int, Field(ge=1, le=100)]
    period: Annotated[int, Field(ge=1, le=366)]
    period_type: PeriodType


class InstallmentRules(_Settings):
    enabled: bool = True
    increment_percent: Annotated[Decimal, Field(ge=0, le=1000, decimal_places=2)] | None = None
    decrement_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] | None = None
    cadence: Cadence | None = None


class InstallmentIntervalRules(_Settings):
    """Which intervals customers may choose for their installment (seed 001 "den
    Zahlungsintervall"); off by default, like a rule the utility has to decide on."""

    enabled: bool = False
    allowed_intervals: list[InstallmentInterval] = Field(
        default_factory=lambda: [
            InstallmentInterval.MONTHLY,
            InstallmentInterval.QUARTERLY,
            InstallmentInterval.HALF_YEARLY,
            InstallmentInterval.YEARLY,
        ]
    )
    cadence: Cadence | None = None

    @field_validator("allowed_intervals")
    @classmethod
    def _no_repeats(cls, value: list[InstallmentInterval]) -> list[InstallmentInterval]:
        if len(set(value)) != len(value):
            raise ValueError("intervals must not repeat")
        return value


class PaymentMethodRules(_Settings):
    enabled: bool = True
    block_when_overdue: bool = True
    cadence: Cadence | None = None


class DueDateRules(_Settings):
    enabled: bool = False
    editable_until_days_before: Annotated[int, Field(ge=0, le=60)] = 5


class Rules(_Settings):
    installment: InstallmentRules = InstallmentRules()
    installment_interval: InstallmentIntervalRules = InstallmentIntervalRules()
    payment_method: PaymentMethodRules = PaymentMethodRules()
    due_date: DueDateRules = DueDateRules()


class TwoFactorPolicy(enum.StrEnum):
    OFF = "OFF"
    OPTIONAL = "OPTIONAL"
    REQUIRED = "REQUIRED"


class ExternalLink(_Settings):
    label: dict[Language, Annotated[str, Field(min_length=1, max_length=80)]]
    url: HttpUrl


class JourneyPlacement(enum.StrEnum):
    NAVIGATION = "NAVIGATION"
    FIRST_LOGIN = "FIRST_LOGIN"
    ENTITY = "ENTITY"
    OFFER_ACCEPTED = "OFFER_ACCEPTED"
    OFFER_DECLINED = "OFFER_DECLINED"


class JourneyEntity(enum.StrEnum):
    """What an ENTITY journey starts on (seed 001 "Entitäts-Journeys")."""

    CONTRACT = "CONTRACT"
    ORDER = "ORDER"
    OPPORTUNITY = "OPPORTUNITY"
    METER = "METER"


class Journey(_Settings):
    placement: JourneyPlacement
    journey_id: Annotated[str, Field(min_length=1, max_length=64)]
    label: dict[Language, Annotated[str, Field(max_length=80)]] = Field(default_factory=dict)
    # Only for ENTITY journeys; none offers it on every entity.
    entity: JourneyEntity | None = None

    @model_validator(mode="after")
    def _entity_only_on_entities(self) -> Journey:
        if self.entity is not None and self.placement is not JourneyPlacement.ENTITY:
            raise ValueError("only an ENTITY journey starts on an entity")
        return self


class PageTexts(_Settings):
    login: str = ""
    registration: str = ""
    activation: str = ""
    password_forgotten: str = ""
    home: str = ""


Short = Annotated[str, Field(max_length=120)]


class LinkItem(_Settings):
    label: dict[Language, Annotated[str, Field(min_length=1, max_length=60)]]
    url: HttpUrl


class LayoutHeader(_Settings):
    enabled: bool = True
    show_logo: bool = True


class LayoutSide(_Settings):
    """The left side of the login and registration pages: an image, a title, bullets."""

    enabled: bool = False
    image_url: HttpUrl | None = None
    title: dict[Language, Short] = Field(default_factory=dict)
    bullets: dict[Language, Annotated[list[Short], Field(max_length=6)]] = Field(
        default_factory=dict
    )


class LayoutFooter(_Settings):
    enabled: bool = True
    show_logo: bool = True
    left_links: Annotated[list[LinkItem], Field(max_length=6)] = Field(default_factory=list)
    right_links: Annotated[list[LinkItem], Field(max_length=6)] = Field(default_factory=list)


class Layout(_Settings):
    """Login and registration page layout (seed 001 "Design")."""

    header: LayoutHeader = LayoutHeader()
    left_side: LayoutSide = LayoutSide()
    footer: LayoutFooter = LayoutFooter()


class OrdersTeaser(_Settings):
    """A teaser below the listed requests and orders, e.g. for further offers (seed 001)."""

    title: dict[Language, Short] = Field(default_factory=dict)
    text: dict[Language, Annotated[str, Field(max_length=500)]] = Field(default_factory=dict)
    image_url: HttpUrl | None = None
    link_url: HttpUrl | None = None
    link_label: dict[Language, Annotated[str, Field(max_length=60)]] = Field(default_factory=dict)


class OrdersPage(_Settings):
    """The requests (opportunities) and orders page (seed 003 "Anfragen und Bestellungen
    konfigurieren"): what it lists, its texts and its teaser."""

    show_orders: bool = True
    show_requests: bool = True
    # By default every status, offers and declined ones included: the customer answers
    # offers on this page.
    order_statuses: list[OrderStatus] = Field(default_factory=lambda: list(OrderStatus))
    request_statuses: list[OpportunityStatus] = Field(
        default_factory=lambda: list(OpportunityStatus)
    )
    title: dict[Language, Short] = Field(default_factory=dict)
    text: dict[Language, Annotated[str, Field(max_length=2000)]] = Field(default_factory=dict)
    teaser: OrdersTeaser | None = None

    @field_validator("order_statuses", "request_statuses")
    @classmethod
    def _no_repeats(cls, value: list[Any]) -> list[Any]:
        if len(set(value)) != len(value):
            raise ValueError("statuses must not repeat")
        return value

    def lists_order(self, status: OrderStatus) -> bool:
        return self.show_orders and status in self.order_statuses

    def lists_request(self, status: OpportunityStatus) -> bool:
        return self.show_requests and status in self.request_statuses


ProcessKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,59}$")]


class SharedProcess(_Settings):
    """A kind of process the portal shows its users, and how (seed 003 "Prozesse
    transparent machen"): which steps, with or without dates. Kinds not listed stay
    with staff."""

    kind: ProcessKey
    # Only these steps (by key); none: every step.
    steps: Annotated[list[ProcessKey], Field(max_length=50)] | None = None
    show_dates: bool = True
    notify_on_step_done: bool = True

    @field_validator("steps")
    @classmethod
    def _no_repeated_steps(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("steps must not repeat")
        return value

    def shows_step(self, key: str) -> bool:
        return self.steps is None or key in self.steps


class PortalSettings(_Settings):
    languages: list[Language] = Field(default_factory=lambda: list[Language](["de"]))
    default_language: Language = "de"
    design: Design = Design()
    layout: Layout = Layout()
    registration: Registration = Registration()
    rules: Rules = Rules()
    two_factor: TwoFactorPolicy = TwoFactorPolicy.OPTIONAL
    # Portal users may log in with a one-time code mailed to them instead of their
    # password (requestLoginCode, loginWithCode); off unless the utility wants it.
    passwordless_login: bool = False
    # Where the portal's pages are (the reference portal in web/, or the utility's own
    # front-end): every link in a mail points below it (gql.domain.portal_mail.page_link).
    # None: https://<domain>/portal, where `portal serve` serves web/.
    pages_url: HttpUrl | None = None
    # A confirmed change of the login email (confirmEmailChange) also changes the
    # contact's email in the CRM, as `updateMyContact` would (approval included).
    email_change_updates_contact: bool = False
    # Staff impersonating a portal user may also change what that user may change
    # (never credentials, 2FA, email or sessions); off: impersonation is read-only.
    impersonation_writes: bool = False
    approval_required_attributes: list[str] = Field(default_factory=list)
    notify_staff_user_ids: list[str] = Field(default_factory=list)
    external_links: list[ExternalLink] = Field(default_factory=list)
    journeys: list[Journey] = Field(default_factory=list)
    orders_page: OrdersPage = OrdersPage()
    processes: Annotated[list[SharedProcess], Field(max_length=50)] = Field(default_factory=list)
    page_titles: dict[Language, dict[str, str]] = Field(default_factory=dict)
    texts: dict[Language, PageTexts] = Field(default_factory=dict)
    privacy_text: dict[Language, str] = Field(default_factory=dict)
    marketing_consent_text: dict[Language, str] = Field(default_factory=dict)

    @field_validator("processes")
    @classmethod
    def _one_entry_per_kind(cls, value: list[SharedProcess]) -> list[SharedProcess]:
        if len({shared.kind for shared in value}) != len(value):
            raise ValueError("each process kind is shared once")
        return value

    def shared_process(self, kind: str) -> SharedProcess | None:
        """How the portal shows processes of `kind`; none: it does not."""
        return next((shared for shared in self.processes if shared.kind == kind), None)

    @field_validator("pages_url")
    @classmethod
    def _pages_url(cls, value: HttpUrl | None) -> HttpUrl | None:
        # A base the links' paths and `?token=` are appended to.
        if value is not None and (value.query or value.fragment):
            raise ValueError("the pages' address takes no query or fragment")
        return value

    @model_validator(mode="after")
    def _languages(self) -> PortalSettings:
        if not self.languages or len(set(self.languages)) != len(self.languages):
            raise ValueError("languages must be a non-empty list without repeats")
        if self.default_language not in self.languages:
            raise ValueError("the default language must be one of the portal's languages")
        return self


class SettingsColumn(sa.types.TypeDecorator[PortalSettings]):
    """JSONB column holding a validated `PortalSettings` document."""

    # SQL NULL for None (not the JSON value null), so "not published" is IS NULL.
    impl = postgresql.JSONB(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: PortalSettings | None, dialect: Any) -> Any:
        return None if value is None else value.model_dump(mode="json")

    def process_result_value(self, value: Any, dialect: Any) -> PortalSettings | None:
        return None if value is None else PortalSettings.model_validate(value)


def settings_parts(settings: Any, name: str, **types: Any) -> Any:
    """The settings `types` names (as those SQL types) of the JSONB `settings` (a column
    or expression of a row the statement reads) as the columns of one row: a FROM item
    (`jsonb_to_record`, implicitly lateral) that unpacks the document once. A portal's
    settings are about 5 kB: the draft is stored compressed and out of line, the
    published settings in the row (db/models/portal.py), and every `settings -> 'key'`
    detoasts the whole document again (a draft's: fetched and decompressed, 10-15 us
    each); a statement that reads several settings reads them here instead. A missing
    setting, like a JSON null, is SQL NULL.

    Raises:
        KeyError: a name `PortalSettings` does not have.
    """
    for key in types:
        if key not in PortalSettings.model_fields:
            raise KeyError(f"PortalSettings has no setting {key!r}")
    columns = [sa.column(key, type_) for key, type_ in types.items()]
    record = sa.func.jsonb_to_record(settings).table_valued(*columns, joins_implicitly=True)
    return record.render_derived(name, with_types=True)
