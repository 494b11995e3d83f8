"""Marketing consent (seed 001 "Datenschutzeinstellungen"): the portal's configurable
text, and a record of who agreed to which text when.

A consent is only worth what it names: so the text the customer saw is stored with
the time, verbatim (the portal may reword it later; the old wording stays with those
who agreed to it). A consent given while registering waits on the portal user until
the registration is assigned to a contact.
"""

from __future__ import annotations

from datetime import datetime

from db import models
from db.portal_settings import PortalSettings
from gql.domain.errors import InvalidInput


def text_shown(settings: PortalSettings, language: str) -> str | None:
    """The consent text the portal shows in `language`; None when it offers none."""
    text = settings.marketing_consent_text.get(language, "")  # type: ignore[call-overload]
    return text.strip() or None


def agreed_text(
    settings: PortalSettings, language: str, agreed: bool, *, field: str = "marketingConsent"
) -> str | None:
    """The text a person agrees to by `agreed`; None when they do not agree.

    Raises:
        InvalidInput: agreeing on a portal without a consent text in that language
            (there would be nothing on record that they agreed to).
    """
    if not agreed:
        return None
    text = text_shown(settings, language)
    if text is None:
        raise InvalidInput("marketing_consent_without_text", field=field)
    return text


def give(contact: models.Contact, text: str | None, at: datetime) -> None:
    """Record on the contact a consent to `text` given at `at` (None: withdrawn)."""
    contact.marketing_consent = text is not None
    contact.marketing_consent_at = at
    contact.marketing_consent_text = text


def hold(user: models.PortalUser, text: str | None, at: datetime) -> None:
    """Keep a consent given while registering until the user has a contact."""
    user.marketing_consent_at = at if text is not None else None
    user.marketing_consent_text = text


def carry_over(user: models.PortalUser, contact: models.Contact) -> bool:
    """Give the contact the consent its newly assigned user gave while registering;
    no consent given leaves the contact's own as it is (not agreeing is not withdrawing)."""
    if user.marketing_consent_at is None or user.marketing_consent_text is None:
        return False
    give(contact, user.marketing_consent_text, user.marketing_consent_at)
    hold(user, None, user.marketing_consent_at)
    return True
