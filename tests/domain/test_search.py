"""Free-text search rules (gql.domain.search) against the demo data."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain.search import contact_matches, portal_user_matches

CONTACT = models.Contact
CONTACT_COLUMNS = (
    CONTACT.last_name,
    CONTACT.first_name,
    CONTACT.company_name,
    CONTACT.email,
    CONTACT.customer_number,
)


async def numbers(session: AsyncSession, text: str) -> list[str | None]:
    contact = models.Contact
    statement = sa.select(contact.customer_number).where(contact_matches(text, CONTACT_COLUMNS))
    return list((await session.scalars(statement.order_by(contact.customer_number))).all())


async def test_any_case_of_a_customer_number_finds_it(session: AsyncSession) -> None:
    assert await numbers(session, "k-100002") == ["K-100002"]
    assert await numbers(session, "  K-100002 ") == ["K-100002"]


async def test_email_and_name_parts_ignore_case(session: AsyncSession) -> None:
    by_email = await numbers(session, "MONTAGE@ELEKTRO")
    assert by_email == ["P-9001"]
    assert await numbers(session, "BECKER") == await numbers(session, "becker") != []


async def test_like_wildcards_match_only_themselves(session: AsyncSession) -> None:
    assert len(await numbers(session, "K-1")) > 1  # the same text without wildcards
    assert await numbers(session, "%") == []
    assert await numbers(session, "K_1") == []


async def test_portal_users_by_login_email_or_their_contact(session: AsyncSession) -> None:
    user, contact = models.PortalUser, models.Contact
    statement = (
        sa.select(contact.customer_number)
        .join(user, user.contact_id == contact.id)
        .where(portal_user_matches("k-100002", [user.email], CONTACT_COLUMNS))
    )
    assert set((await session.scalars(statement)).all()) == {"K-100002"}
    by_email = sa.select(user.email).where(
        portal_user_matches("ANNA", [user.email], CONTACT_COLUMNS)
    )
    emails = (await session.scalars(by_email)).all()
    assert emails != []
    assert all("anna" in email for email in emails)


async def test_no_columns_match_nothing(session: AsyncSession) -> None:
    contact, user = models.Contact, models.PortalUser
    assert (
        await session.scalars(sa.select(contact.id).where(contact_matches("a", [])))
    ).all() == []
    nothing = portal_user_matches("anna", [], [])
    assert (await session.scalars(sa.select(user.id).where(nothing))).all() == []
