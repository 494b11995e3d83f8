"""Free-text search rules (gql.domain.search) against the demo data."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import AssignmentStatus
from gql.domain.search import (
    contact_matches,
    portal_user_matches,
    portal_user_pattern_matches,
    search_pattern,
)

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


async def _copies_out_of_step(session: AsyncSession) -> list[Any]:
    """Portal users whose copy of their contact's search text is not the contact's."""
    user, contact = models.PortalUser, models.Contact
    statement = (
        sa.select(user.email)
        .outerjoin(contact, contact.id == user.contact_id)
        .where(user.contact_search_text.is_distinct_from(contact.search_text))
    )
    return list((await session.scalars(statement)).all())


async def test_a_users_copy_of_its_contacts_search_text_follows_every_change(
    session: AsyncSession,
) -> None:
    """The database keeps each user's copy (migration 0025's triggers): the contact's
    searched columns changed, the user assigned to another contact or none, a writer
    sending a copy of its own; and a search finds the user by the contact's new name
    whichever way it takes."""
    user, contact = models.PortalUser, models.Contact
    assert await _copies_out_of_step(session) == []
    assigned = (
        await session.scalars(sa.select(user).where(user.contact_id.is_not(None)).limit(2))
    ).all()
    first, second = assigned
    await session.execute(
        sa.update(contact).where(contact.id == first.contact_id).values(last_name="Quaestorix")
    )
    assert await _copies_out_of_step(session) == []
    for frequent in (None, True, False):
        found = sa.select(user.id).where(
            portal_user_pattern_matches(
                search_pattern("QUAESTORIX"), [user.email], CONTACT_COLUMNS, frequent
            )
        )
        assert set((await session.scalars(found)).all()) == {first.id}, frequent
    await session.execute(
        sa.update(user).where(user.id == second.id).values(contact_id=first.contact_id)
    )
    await session.execute(
        sa.update(user).where(user.id == first.id).values(contact_search_text="erfunden")
    )
    assert await _copies_out_of_step(session) == []
    await session.execute(
        sa.update(user)
        .where(user.id == second.id)
        .values(contact_id=None, assignment_status=AssignmentStatus.PENDING)
    )
    assert await _copies_out_of_step(session) == []
    copied = await session.scalar(sa.select(user.contact_search_text).where(user.id == second.id))
    assert copied is None
