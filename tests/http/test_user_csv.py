"""Export and import of portal users: a good file, a file with bad rows (nothing
written), the same file twice, CSV injection in exported cells, multipart upload."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql.domain import user_csv
from gql.domain.audit import Origin
from gql.domain.errors import InvalidInput, NotFound
from tests.conftest import ACTORS, CUSTOMER_PORTAL, contact_id, global_id
from tests.http_helpers import staff_token

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
GOOD = """email,language,customer_number,permission_group
neu.eins@example.org,de,,
Neu.Zwei@Example.org ,en,K-100007,Nur lesen
anna.becker@example.org,en,,
"""


async def count_users(session: AsyncSession) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(models.PortalUser.portal_id == CUSTOMER_PORTAL)
        )
        or 0
    )


async def run_import(session: AsyncSession, text: str) -> user_csv.ImportReport:
    return await user_csv.import_users(
        session, ACTORS["agent"], CUSTOMER_PORTAL, text, origin=Origin(), now=datetime.now(UTC)
    )


async def test_a_good_file_then_the_same_file_again(session: AsyncSession) -> None:
    before = await count_users(session)
    first = await run_import(session, GOOD)
    assert (first.created, first.updated, first.unchanged) == (2, 1, 0)  # Anna: language en
    assert await count_users(session) == before + 2
    zwei = await session.scalar(
        sa.select(models.PortalUser).where(models.PortalUser.email == "neu.zwei@example.org")
    )
    assert zwei is not None
    assert zwei.contact_id == contact_id("musterstadt", "c06")
    state = (zwei.registration_status, zwei.assignment_status, zwei.language)
    assert state == (models.RegistrationStatus.INVITED, models.AssignmentStatus.ASSIGNED, "en")
    again = await run_import(session, GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert await count_users(session) == before + 2


async def test_a_file_with_bad_rows_writes_nothing(session: AsyncSession) -> None:
    before = await count_users(session)
    bad = GOOD + "kein-email,de,,\nneu.eins@example.org,de,,\nx@example.org,fr,K-0,Gibt es nicht\n"
    bad += '"a@x.de,b@y.de",de,,\n'  # a list of addresses is not one
    with pytest.raises(user_csv.ImportRefused) as refused:
        await run_import(session, bad)
    problems = [(e.line, e.column) for e in refused.value.errors]
    assert problems == [
        (5, "email"),
        (6, "email"),
        (7, "language"),
        (7, "customer_number"),
        (7, "permission_group"),
        (8, "email"),
    ]
    assert "already on line 2" in refused.value.errors[1].message
    assert await count_users(session) == before


@pytest.mark.parametrize(
    "text",
    [
        "",
        "name,city\nx,y\n",
        "email,password\nx@example.org,geheim\n",
        # Characters no cell may have: refused whole, never sent to the database.
        "email,customer_number\nx@example.org,K-1\x00\n",
        "email,language\nx@example.org,d\x1be\n",
    ],
)
async def test_files_without_the_right_columns_are_refused(
    session: AsyncSession, text: str
) -> None:
    with pytest.raises(InvalidInput):
        await run_import(session, text)


async def test_export_neutralises_formulas(session: AsyncSession) -> None:
    anna = await session.get_one(models.PortalUser, ACTORS["customer"].subject_id)
    contact = await session.get_one(models.Contact, anna.contact_id)
    contact.customer_number = '=HYPERLINK("http://evil.example")'
    await session.commit()
    text = await user_csv.export(session, ACTORS["agent"], CUSTOMER_PORTAL)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == user_csv.COLUMNS
    anna_row = next(r for r in rows if r["email"] == "anna.becker@example.org")
    assert anna_row["customer_number"].startswith("'=")
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
    assert user_csv.neutralise("-1+2") == "'-1+2"
    assert user_csv.neutralise("ok") == "ok"


async def test_export_then_import_changes_nothing(session: AsyncSession) -> None:
    text = await user_csv.export(session, ACTORS["agent"], CUSTOMER_PORTAL)
    report = await run_import(session, text)
    assert (report.created, report.updated) == (0, 0)
    assert report.unchanged == await count_users(session)


async def test_over_http_as_a_multipart_upload(client: httpx.AsyncClient) -> None:
    token = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    operations = {
        "query": """mutation($portal: ID!, $file: Upload!) {
          importPortalUsers(portalId: $portal, file: $file) { __typename
          ... on PortalUsersImported { created updated unchanged }
          ... on PortalUsersImportRefused { message errors { line column message } } } }""",
        "variables": {"portal": PORTAL, "file": None},
    }
    response = await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("users.csv", GOOD.encode(), "text/csv")},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["importPortalUsers"] == {
        "__typename": "PortalUsersImported",
        "created": 2,
        "updated": 1,
        "unchanged": 0,
    }
    export = await client.post(
        "/graphql",
        json={
            "query": f'{{ exportPortalUsers(portalId: "{PORTAL}")'
            " { ... on ExportedFile { filename content } } }"
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert "errors" not in export.json(), export.json()
    exported = export.json()["data"]["exportPortalUsers"]
    assert exported["filename"] == "portal-users.csv"
    assert "neu.zwei@example.org" in exported["content"]


async def test_another_organization_can_not_import(session: AsyncSession) -> None:
    with pytest.raises(NotFound):
        await user_csv.import_users(
            session,
            ACTORS["other_admin"],
            CUSTOMER_PORTAL,
            GOOD,
            origin=Origin(),
            now=datetime.now(UTC),
        )


async def test_a_refused_import_names_each_lines_problem_in_the_callers_language(
    client: httpx.AsyncClient,
) -> None:
    """The row problems are message keys like every refusal: German by default for staff,
    English on Accept-Language: en; the same problems either way."""
    token = await staff_token(client, "agent@musterstadt.example", "Demo-Agent-1")
    bad = GOOD + "neu.eins@example.org,fr,,\n"
    operations = {
        "query": """mutation($portal: ID!, $file: Upload!) {
          importPortalUsers(portalId: $portal, file: $file) { __typename
          ... on PortalUsersImportRefused { message detail errors { line column message } } } }""",
        "variables": {"portal": PORTAL, "file": None},
    }
    answers = {}
    for language in ("de", "en"):
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.file"]}),
            },
            files={"0": ("users.csv", bad.encode(), "text/csv")},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": language},
        )
        answers[language] = response.json()["data"]["importPortalUsers"]
    german, english = answers["de"], answers["en"]
    assert german["errors"] == [
        {"line": 5, "column": "email", "message": "schon in Zeile 2"},
        {
            "line": 5,
            "column": "language",
            "message": "Das Portal ist in diesen Sprachen verfügbar: de, en",
        },
    ]
    assert [e["message"] for e in english["errors"]] == [
        "already on line 2",
        "the portal speaks de, en",
    ]
    assert german["message"] == (
        "2 Problem(e); nichts wurde importiert. Das erste: Zeile 5, Spalte email."
    )
    assert german["detail"] == english["message"] == english["detail"]
