"""`publicPortal(domain)`: what a login or registration page needs, from the published
version only, in one language; nothing internal."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any, cast

import sqlalchemy as sa
import strawberry
from strawberry import relay

from db import models
from db.portal_settings import LinkItem, PortalSettings
from gql.auth.permissions import public
from gql.context import Info
from gql.domain import password_policy
from gql.domain.portal_texts import chosen_language, in_language
from gql.domain.scope import public_portals
from gql.schema import enums
from gql.schema.login_providers import PublicIdentityProvider, offered_providers
from gql.schema.portal import PortalDesign, RegistrationIdentifier, registration_identifiers
from gql.schema.scalars import Line


@strawberry.type(description="A link of the page footer.")
class PublicLink:
    label: str = public("Label in the chosen language.")
    url: str = public("Target.")


@strawberry.type(description="Header of the login and registration pages.")
class PublicHeader:
    enabled: bool = public("Shown at all.")
    show_logo: bool = public("With the logo.")


@strawberry.type(description="Left side of the login and registration pages.")
class PublicSide:
    enabled: bool = public("Shown at all.")
    image_url: str | None = public("Image.")
    title: str | None = public("Title in the chosen language.")
    bullets: list[str] = public("Bullet points in the chosen language.")


@strawberry.type(description="Footer of the login and registration pages.")
class PublicFooter:
    enabled: bool = public("Shown at all.")
    show_logo: bool = public("With the logo.")
    left_links: list[PublicLink] = public("First link section.")
    right_links: list[PublicLink] = public("Second link section.")


@strawberry.type(description="Layout of the login and registration pages.")
class PublicLayout:
    header: PublicHeader = public("Header.")
    left_side: PublicSide = public("Left side.")
    footer: PublicFooter = public("Footer.")


@strawberry.type(description="Texts of the public pages in the chosen language.")
class PublicTexts:
    login: str = public("Login page.")
    registration: str = public("Registration page.")
    activation: str = public("Activation page.")
    password_forgotten: str = public("Password forgotten page.")
    home: str = public("Home page.")
    privacy: str = public("Privacy consent text.")
    marketing_consent: str = public("Marketing consent text.")


@strawberry.type(description="A page title in the chosen language.")
class PageTitle:
    key: str = public("Page, e.g. contracts.")
    title: str = public("Title.")


@strawberry.type(description="What a new password must be, to explain it before it is refused.")
class PasswordPolicy:
    min_length: int = public("At least this many characters (after Unicode normalization).")
    max_length: int = public("At most this many characters.")
    rejects_email: bool = public("Whether the email address (or its local part) is refused.")
    rejects_common: bool = public(
        "Whether well-known passwords and ones of only one or two different characters are refused."
    )


@strawberry.type(description="A portal as its public pages show it (the published version).")
class PublicPortal:
    id: relay.GlobalID = public("The portal (for register, login, ...).")
    name: str = public("Name.")
    type: enums.PortalType = public("Customer or installer portal.")
    domain: str = public("Host name.")
    language: str = public("The language of the texts below.")
    languages: list[str] = public("Languages offered.")
    default_language: str = public("Language used when none is chosen.")
    design: PortalDesign = public("Colors, logo and font.")
    layout: PublicLayout = public("Login and registration page layout.")
    texts: PublicTexts = public("Page texts.")
    page_titles: list[PageTitle] = public("Page titles.")
    identifiers: list[RegistrationIdentifier] = public("What registration asks for, in order.")
    self_registration: enums.SelfRegistration = public(
        "Whether people without a known contact may register."
    )
    registration_link: str | None = public("Registration elsewhere, replacing the built-in one.")
    terms_url: str | None = public("Terms to accept at registration.")
    privacy_url: str | None = public("Privacy notice.")
    two_factor: enums.TwoFactorPolicy = public("Second factor policy.")

    @public("Identity providers to offer as login buttons, by name (startSsoLogin).")
    async def identity_providers(self, info: Info) -> list[PublicIdentityProvider]:
        return await offered_providers(info, uuid.UUID(self.id.node_id))

    @public("What a new password must be (registration, password change and reset).")
    def password_policy(self) -> PasswordPolicy:
        return cast(PasswordPolicy, password_policy.POLICY)


def _text(values: Mapping[Any, str], language: str, settings: PortalSettings) -> str:
    return in_language(values, language, settings) or ""


def _links(items: list[LinkItem], language: str, settings: PortalSettings) -> list[PublicLink]:
    return [
        PublicLink(label=_text(item.label, language, settings), url=str(item.url)) for item in items
    ]


def public_view(portal: models.Portal, settings: PortalSettings, language: str) -> PublicPortal:
    chosen = chosen_language(settings, language)
    fallback = settings.default_language
    layout = settings.layout
    texts = settings.texts.get(chosen) or settings.texts.get(fallback)
    side = layout.left_side
    registration = settings.registration
    return PublicPortal(
        id=relay.GlobalID("Portal", str(portal.id)),
        name=portal.name,
        type=portal.type,
        domain=portal.domain,
        language=chosen,
        languages=list(settings.languages),
        default_language=settings.default_language,
        design=cast(PortalDesign, settings.design),
        layout=PublicLayout(
            header=PublicHeader(enabled=layout.header.enabled, show_logo=layout.header.show_logo),
            left_side=PublicSide(
                enabled=side.enabled,
                image_url=str(side.image_url) if side.image_url else None,
                title=_text(side.title, chosen, settings) or None,
                bullets=list(side.bullets.get(chosen) or side.bullets.get(fallback) or []),
            ),
            footer=PublicFooter(
                enabled=layout.footer.enabled,
                show_logo=layout.footer.show_logo,
                left_links=_links(layout.footer.left_links, chosen, settings),
                right_links=_links(layout.footer.right_links, chosen, settings),
            ),
        ),
        texts=PublicTexts(
            login=texts.login if texts else "",
            registration=texts.registration if texts else "",
            activation=texts.activation if texts else "",
            password_forgotten=texts.password_forgotten if texts else "",
            home=texts.home if texts else "",
            privacy=_text(settings.privacy_text, chosen, settings),
            marketing_consent=_text(settings.marketing_consent_text, chosen, settings),
        ),
        page_titles=[
            PageTitle(key=key, title=title)
            for key, title in sorted(
                (
                    settings.page_titles.get(chosen) or settings.page_titles.get(fallback) or {}
                ).items()
            )
        ],
        identifiers=registration_identifiers(settings, chosen),
        self_registration=registration.self_registration,
        registration_link=str(registration.registration_link)
        if registration.registration_link
        else None,
        terms_url=str(registration.terms_url) if registration.terms_url else None,
        privacy_url=str(registration.privacy_url) if registration.privacy_url else None,
        two_factor=settings.two_factor,
    )


async def public_portal(
    info: Info,
    domain: Annotated[
        Line,
        strawberry.argument(
            description="The host name the browser is on, e.g. portal.stadtwerke.de."
        ),
    ],
    language: Annotated[
        Line | None,
        strawberry.argument(
            description="Language code, de or en; the portal's default if left out or not offered."
        ),
    ] = None,
) -> PublicPortal | None:
    """The active portal on `domain`, as published, in `language` (else its default)."""
    portal = models.Portal
    rows = await info.context.scalars(
        sa.select(portal).where(
            portal.domain == domain.strip().lower().rstrip("."),
            public_portals(),
            portal.published_settings.is_not(None),
        )
    )
    if not rows:
        return None
    row = rows[0]
    assert row.published_settings is not None
    return public_view(row, row.published_settings, language or "")


@strawberry.type
class Query:
    """Public pages: fields of the root `Query` (merged in root.py)."""

    public_portal: PublicPortal | None = public(
        "What the login and registration pages of an active portal show (its published"
        " version) in a language (default: the portal's).",
        resolver=public_portal,
    )
