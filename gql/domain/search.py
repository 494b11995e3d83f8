"""Free-text search as staff type it into a list: case-insensitive parts of names,
emails and numbers; `%` and `_` match themselves, not any text."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from db import models


def contact_matches(text: str) -> Any:
    """Contacts whose name, company, email or customer number contains `text`."""
    contact = models.Contact
    part = text.strip()
    return sa.or_(
        *(
            column.icontains(part, autoescape=True)
            for column in (
                contact.last_name,
                contact.first_name,
                contact.company_name,
                contact.email,
                contact.customer_number,
            )
        )
    )


def portal_user_matches(text: str) -> Any:
    """Portal users whose login email contains `text`, or whose contact matches it."""
    user, contact = models.PortalUser, models.Contact
    of_contact = sa.select(contact.id).where(contact_matches(text))
    return sa.or_(
        user.email.icontains(text.strip(), autoescape=True), user.contact_id.in_(of_contact)
    )
