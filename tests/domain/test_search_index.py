"""A staff search reads what it finds through the trigram indexes of the searched
columns (db/base.py trigram_index), and `ILIKE` folds case exactly as `lower()` did.

The plans are asserted, not timings: with ten thousand rows (in the test's
transaction) and fresh statistics, a selective search is a Bitmap Index Scan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain.search import (
    contact_matches,
    pattern_matches,
    portal_user_matches,
    portal_user_pattern_matches,
    search_pattern,
)

CONTACT = models.Contact
USER = models.PortalUser
CONTACT_COLUMNS = (
    CONTACT.last_name,
    CONTACT.first_name,
    CONTACT.company_name,
    CONTACT.email,
    CONTACT.customer_number,
)
ROWS = 10000


async def _many_rows(session: AsyncSession) -> None:
    """ROWS contacts and their portal users in the demo's first portal, all alike but
    for a number, then ANALYZE so the planner knows how few a search finds."""
    organization_id, portal_id, group_id = (
        await session.execute(
            sa.select(models.Portal.organization_id, USER.portal_id, USER.permission_group_id)
            .join(USER, USER.portal_id == models.Portal.id)
            .limit(1)
        )
    ).one()
    n = sa.func.generate_series(1, ROWS).column_valued("n")
    number = sa.func.lpad(sa.cast(n, sa.Text), 5, "0")
    await session.execute(
        sa.insert(CONTACT).from_select(
            [
                "id",
                "organization_id",
                "last_name",
                "first_name",
                "email",
                "customer_number",
                "country",
                "marketing_consent",
            ],
            sa.select(
                sa.func.gen_random_uuid(),
                sa.literal(organization_id),
                sa.literal("Massenkunde"),
                "Vorname" + number,
                "masse" + number + "@example.org",
                "MK-" + number,
                sa.literal("DE"),
                sa.false(),
            ),
        )
    )
    # Each contact's login: login00001@..., assigned to MK-00001.
    await session.execute(
        sa.insert(USER).from_select(
            [
                "id",
                "organization_id",
                "portal_id",
                "email",
                "language",
                "registration_status",
                "assignment_status",
                "contact_id",
                "permission_group_id",
            ],
            sa.select(
                sa.func.gen_random_uuid(),
                sa.literal(organization_id),
                sa.literal(portal_id),
                "login" + sa.func.substr(CONTACT.customer_number, 4) + "@example.org",
                sa.literal("de"),
                sa.literal("ACTIVE"),
                sa.literal("ASSIGNED"),
                CONTACT.id,
                sa.literal(group_id),
            ).where(CONTACT.customer_number.like("MK-%")),
        )
    )
    # Into the indexes proper what VACUUM would move there from their pending lists (GIN
    # queues new rows; VACUUM cannot run in the test's transaction).
    await session.execute(
        sa.text(
            "SELECT gin_clean_pending_list(indexrelid) FROM pg_index"
            " JOIN pg_class ON pg_class.oid = indexrelid WHERE relname LIKE '%\\_trgm'"
        )
    )
    await session.execute(sa.text("ANALYZE contact, portal_user"))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def _index_scans(session: AsyncSession, statement: sa.Select[Any]) -> set[str]:
    """The indexes the plan of `statement` reads by a Bitmap Index Scan."""
    sql = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
    explained = await session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}"))
    (plan,) = explained.scalar_one()
    return {
        node["Index Name"]
        for node in _nodes(plan["Plan"])
        if node["Node Type"] == "Bitmap Index Scan"
    }


async def test_a_contact_search_reads_the_trigram_indexes(session: AsyncSession) -> None:
    """All the searched columns: their stored joined value's index; some of them (an
    installer reads names only): each one's own."""
    await _many_rows(session)
    condition = contact_matches("mk-01234", CONTACT_COLUMNS)
    statement = sa.select(CONTACT.id).where(condition)
    assert await _index_scans(session, statement) == {"ix_contact_search_text_trgm"}
    found = await session.scalars(sa.select(CONTACT.customer_number).where(condition))
    assert found.all() == ["MK-01234"]
    names = (CONTACT.last_name, CONTACT.first_name)
    by_name = contact_matches("vorname01234", names)
    assert await _index_scans(session, sa.select(CONTACT.id).where(by_name)) == {
        f"ix_contact_{column.key}_trgm" for column in names
    }
    found = await session.scalars(sa.select(CONTACT.customer_number).where(by_name))
    assert found.all() == ["MK-01234"]


async def test_the_joined_value_matches_where_one_column_does(session: AsyncSession) -> None:
    """`Contact.search_text` (the searched columns lower-cased, joined by line breaks)
    finds exactly the contacts an ILIKE of each column finds, whatever the case, and
    no text across two columns."""
    await _many_rows(session)
    organization_id = await session.scalar(sa.select(models.Organization.id).limit(1))
    session.add(
        CONTACT(
            organization_id=organization_id,
            last_name="Müller",
            company_name=None,
            email="grosse.strasse@example.org",
            customer_number="UML-1",
        )
    )
    await session.flush()
    for text in ("mk-0123", "MÜLLER", "müller", "Strasse@", "massenkunde", "01234", "ller uml"):
        pattern = search_pattern(text)
        each = sa.or_(*(column.ilike(pattern, escape="/") for column in CONTACT_COLUMNS))
        joined = pattern_matches(pattern, CONTACT_COLUMNS)
        assert "search_text" in str(joined.compile())
        by_each = await session.scalars(sa.select(CONTACT.id).where(each).order_by(CONTACT.id))
        by_joined = await session.scalars(sa.select(CONTACT.id).where(joined).order_by(CONTACT.id))
        assert by_joined.all() == by_each.all(), text


async def test_a_portal_user_search_finds_its_contacts_by_their_indexes(
    session: AsyncSession,
) -> None:
    """The contacts and logins a rare portal-user search matches are found once,
    through their trigram indexes; the users themselves stay in their list's order (an
    `IN`, not an index OR: a frequent text then stops after a page instead of sorting
    all it finds)."""
    await _many_rows(session)
    condition = portal_user_matches("mk-01234", [USER.email], CONTACT_COLUMNS)
    statement = sa.select(USER.id).where(condition)
    scans = await _index_scans(session, statement)
    assert {"ix_contact_search_text_trgm", "ix_portal_user_email_trgm"} <= scans
    emails = await session.scalars(sa.select(USER.email).where(condition))
    assert emails.all() == ["login01234@example.org"]
    by_login = portal_user_matches("LOGIN01234", [USER.email], CONTACT_COLUMNS)
    emails = await session.scalars(sa.select(USER.email).where(by_login))
    assert emails.all() == ["login01234@example.org"]


async def test_ilike_folds_case_as_lower_did(session: AsyncSession) -> None:
    """Umlauts included: whatever `lower()` folds under the database's ctype (the
    former match), `ILIKE` folds the same, and `müller` finds `Müller`."""
    names = ["Müller", "MÜLLER", "müller", "Mueller", "MULLER", "Straße", "STRASSE", "Ärger"]
    organization_id = await session.scalar(sa.select(models.Organization.id).limit(1))
    session.add_all(
        CONTACT(organization_id=organization_id, last_name=name, customer_number=f"UML-{i}")
        for i, name in enumerate(names)
    )
    await session.flush()
    mine = CONTACT.customer_number.like("UML-%")
    for text in ("müller", "MÜLLER", "Müller", "mul", "straße", "STRASSE", "ärger", "ÄRGER"):
        pattern = search_pattern(text)
        former = sa.func.lower(CONTACT.last_name).like(sa.func.lower(pattern), escape="/")
        before = await session.scalars(sa.select(CONTACT.last_name).where(mine, former))
        now = await session.scalars(
            sa.select(CONTACT.last_name).where(mine, pattern_matches(pattern, [CONTACT.last_name]))
        )
        assert sorted(map(str, now.all())) == sorted(map(str, before.all())), text
    found = await session.scalars(
        sa.select(CONTACT.last_name).where(mine, contact_matches("müller", [CONTACT.last_name]))
    )
    assert {"Müller", "müller"} <= set(found.all())


def _page(portal_id: Any, condition: Any) -> sa.Select[Any]:
    """A page of 50 of the portal's users matching `condition`, newest first (the
    list's order and its index)."""
    return (
        sa.select(USER.id)
        .where(USER.portal_id == portal_id, condition)
        .order_by(USER.created_at.desc(), USER.id.desc())
        .limit(50)
    )


async def _reads(session: AsyncSession, statement: sa.Select[Any]) -> set[tuple[str, str, str]]:
    """What the plan of `statement` read: (relation, node type, index) of the scans
    that ran (EXPLAIN ANALYZE); a bitmap's index scan under the relation's heap scan."""
    sql = statement.compile(session.bind, compile_kwargs={"literal_binds": True})
    explained = await session.execute(sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
    (plan,) = explained.scalar_one()
    found = set()
    for node in _nodes(plan["Plan"]):
        if node.get("Actual Loops", 0) == 0:
            continue
        if "Relation Name" in node:
            found.add((node["Relation Name"], node["Node Type"], node.get("Index Name", "")))
        for child in node.get("Plans", ()):
            if child["Node Type"] == "Bitmap Index Scan" and "Relation Name" in node:
                found.add((node["Relation Name"], "Bitmap Index Scan", child["Index Name"]))
    return found


@pytest.mark.parametrize("frequent", [None, True], ids=["decided-by-sample", "known-frequent"])
async def test_a_frequent_portal_user_search_compares_each_user_in_its_own_row(
    session: AsyncSession, frequent: bool | None
) -> None:
    """A text most contacts match (the trigram indexes cannot narrow it) is not matched
    against every contact first: the page walks the users in their list's order and
    compares each one's login and the copy of its contact's search text in the user's
    row (no lookup of the contact per user), stopping after the page's rows; whether
    the statement's sample finds it frequent or the caller knows it is."""
    await _many_rows(session)
    portal_id = await session.scalar(sa.select(USER.portal_id).where(USER.email.like("login%")))
    pattern = search_pattern("vorname0")
    condition = portal_user_pattern_matches(pattern, [USER.email], CONTACT_COLUMNS, frequent)
    reads = await _reads(session, _page(portal_id, condition))
    contact_reads = {(kind, index) for relation, kind, index in reads if relation == "contact"}
    assert contact_reads <= {("Sample Scan", "")}, "only the sample deciding the way"
    assert ("portal_user", "Index Scan", "ix_portal_user_portal_id_created_at") in reads
    found_ids = (await session.scalars(_page(portal_id, condition))).all()
    assert len(found_ids) == 50
    by_contact = sa.select(USER.id).join(CONTACT, CONTACT.id == USER.contact_id)
    matching = by_contact.where(
        USER.id.in_(found_ids), sa.or_(USER.email.like(pattern), CONTACT.search_text.like(pattern))
    )
    assert set((await session.scalars(matching)).all()) == set(found_ids)


async def test_a_rare_portal_user_search_known_rare_finds_the_users_first(
    session: AsyncSession,
) -> None:
    """A text known to be rare finds its logins and its contacts' users through their
    indexes and reads the listed users by key: it does not walk the list's index
    (every user of the portal, when fewer than a page match)."""
    await _many_rows(session)
    portal_id = await session.scalar(sa.select(USER.portal_id).where(USER.email.like("login%")))
    for text in ("mk-01234", "LOGIN0123"):
        pattern = search_pattern(text)
        condition = portal_user_pattern_matches(pattern, [USER.email], CONTACT_COLUMNS, False)
        reads = await _reads(session, _page(portal_id, condition))
        assert {
            ("portal_user", "Bitmap Index Scan", "ix_portal_user_email_trgm"),
            ("contact", "Bitmap Index Scan", "ix_contact_search_text_trgm"),
        } <= reads, text
        listed = {index for relation, _, index in reads if relation == "portal_user"}
        assert "ix_portal_user_portal_id_created_at" not in listed, text
        assert not {read for read in reads if read[1] == "Seq Scan"}, text


async def test_a_portal_user_search_answers_the_same_users_whichever_way(
    session: AsyncSession,
) -> None:
    """Decided by the statement's sample, known frequent or known rare: the way only
    chooses how the users are found, never which (a frequent, a rare, a login's,
    a missing and a differently cased text, and texts whose `_`, `%` and `/` match
    themselves; a page and all)."""
    await _many_rows(session)
    portal_id = await session.scalar(sa.select(USER.portal_id).where(USER.email.like("login%")))
    found_by_none = ("nobody", "MK-0123_", "0%", "/")
    for text in ("vorname0", "mk-01234", "LOGIN0123", "MASSENKUNDE", "0", *found_by_none):
        pattern = search_pattern(text)
        answers = []
        for frequent in (None, True, False):
            condition = portal_user_pattern_matches(
                pattern, [USER.email], CONTACT_COLUMNS, frequent
            )
            page = await session.scalars(_page(portal_id, condition))
            every = await session.scalars(sa.select(USER.id).where(condition).order_by(USER.id))
            answers.append((page.all(), every.all()))
        assert answers[0] == answers[1] == answers[2], text
        assert bool(answers[0][1]) == (text not in found_by_none), text
