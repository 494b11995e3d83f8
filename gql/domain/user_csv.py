"""Export and import of a portal's users as CSV (seed 000).

Export: one row per portal user; cells that a spreadsheet would run as a formula are
neutralised. Import: every row is validated first and all problems are reported with
their line numbers; a file with any problem writes nothing; otherwise new users are
created (INVITED: they have no password; `inviteContact` sends the link) and existing
ones updated, in bulk statements, so importing the same file twice changes nothing the
second time.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from gql import messages
from gql.auth.actor import Actor
from gql.domain import audit, email_address, sessions, text
from gql.domain.errors import DomainError, InvalidInput, Parameter
from gql.domain.scope import find_visible

COLUMNS = [
    "email",
    "language",
    "registration_status",
    "assignment_status",
    "customer_number",
    "permission_group",
    "created_at",
    "last_login_at",
]
IMPORT_COLUMNS = {"email", "language", "customer_number", "permission_group"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ERRORS = 100
CHUNK = 5000


def neutralise(value: str) -> str:
    """A cell a spreadsheet would evaluate (=, +, -, @, tab, CR first) as plain text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


async def _portal(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> models.Portal:
    return await find_visible(db, models.Portal, portal_id, actor, what="portal", field="portalId")


async def export(db: AsyncSession, actor: Actor, portal_id: uuid.UUID | None) -> str:
    portal = await _portal(db, actor, portal_id)
    user, contact, group = models.PortalUser, models.Contact, models.PermissionGroup
    rows = await db.execute(
        sa.select(user, contact.customer_number, group.name)
        .outerjoin(contact, contact.id == user.contact_id)
        .join(group, group.id == user.permission_group_id)
        .where(user.portal_id == portal.id)
        .order_by(user.created_at, user.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row, customer_number, group_name in rows:
        cells = [
            row.email,
            row.language,
            row.registration_status.value,
            row.assignment_status.value,
            customer_number or "",
            group_name,
            row.created_at.isoformat(),
            row.last_login_at.isoformat() if row.last_login_at else "",
        ]
        writer.writerow([neutralise(str(cell)) for cell in cells])
    return out.getvalue()


@dataclass(frozen=True)
class RowError:
    """A problem of one line: `key` names its sentence in the message catalogues
    (gql/messages/), filled with `parameters`."""

    line: int
    column: str
    key: str
    parameters: Mapping[str, Parameter] = field(default_factory=dict)

    @property
    def message(self) -> str:
        """The sentence in English (the CLI, logs)."""
        return messages.specific(self.key, "en", self.parameters) or self.key


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class ImportRefused(DomainError):
    code = "INVALID_INPUT"

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        super().__init__(
            "csv_rows_refused",
            field="file",
            parameters={"problems": len(errors), "line": first.line, "column": first.column},
        )
        self.errors = errors


@dataclass(frozen=True)
class _Row:
    line: int
    email: str
    language: str
    contact_id: uuid.UUID | None
    group_id: uuid.UUID


def _read(content: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the rows with their line numbers. A file holding characters no
    cell may have (NUL, other control characters) is refused whole, naming the line."""
    content = content.lstrip("\ufeff")
    bad = text.unwanted_character(content, multiline=True)
    if bad is not None:
        line = content.count("\n", 0, content.index(bad)) + 1
        raise InvalidInput(
            "csv_control_character",
            field="file",
            parameters={"line": line, "character": f"U+{ord(bad):04X}"},
        )
    reader = csv.DictReader(io.StringIO(content))
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    return header, [(reader.line_num, row) for row in reader]


async def import_users(
    db: AsyncSession,
    actor: Actor,
    portal_id: uuid.UUID | None,
    text: str,
    *,
    origin: audit.Origin,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Validate every row, then create and update in bulk; raise ImportRefused (nothing
    written) if any row is wrong. Users moved to another contact lose their sessions."""
    portal = await _portal(db, actor, portal_id)
    header, rows = _read(text)
    if "email" not in header:
        raise InvalidInput("csv_header_required", field="file")
    unknown = sorted(set(header) - IMPORT_COLUMNS - set(COLUMNS))
    if unknown:
        raise InvalidInput(
            "csv_columns_unknown", field="file", parameters={"columns": ", ".join(unknown)}
        )

    settings = portal.live_settings
    groups = {
        name.lower(): group_id
        for group_id, name in (
            await db.execute(
                sa.select(models.PermissionGroup.id, models.PermissionGroup.name).where(
                    models.PermissionGroup.portal_id == portal.id
                )
            )
        ).all()
    }
    default_group = await db.scalar(
        sa.select(models.PermissionGroup.id).where(
            models.PermissionGroup.portal_id == portal.id, models.PermissionGroup.is_default
        )
    )
    numbers = {(row.get("customer_number") or "").strip() for _, row in rows} - {""}
    contacts: dict[str, uuid.UUID] = {}
    for chunk in _chunks(sorted(numbers)):
        found = await db.execute(
            sa.select(models.Contact.customer_number, models.Contact.id).where(
                models.Contact.organization_id == portal.organization_id,
                models.Contact.customer_number.in_(chunk),
            )
        )
        contacts.update({number: contact_id for number, contact_id in found.all() if number})

    errors: list[RowError] = []
    valid: list[_Row] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        problem = len(errors)
        raw_email = (row.get("email") or "").strip()
        email = ""
        try:
            email = email_address.canonical(raw_email)
        except DomainError:
            errors.append(
                RowError(line, "email", "csv_email_invalid", {"value": repr(raw_email[:80])})
            )
        if email and email in seen:
            errors.append(RowError(line, "email", "csv_email_repeated", {"firstLine": seen[email]}))
        seen.setdefault(email, line)
        language = (row.get("language") or "").strip() or settings.default_language
        if language not in settings.languages:
            errors.append(
                RowError(
                    line,
                    "language",
                    "csv_language_not_spoken",
                    {"languages": ", ".join(settings.languages)},
                )
            )
        number = (row.get("customer_number") or "").strip()
        contact_id = contacts.get(number) if number else None
        if number and contact_id is None:
            errors.append(
                RowError(line, "customer_number", "csv_customer_unknown", {"number": repr(number)})
            )
        group_name = (row.get("permission_group") or "").strip()
        group_id = groups.get(group_name.lower()) if group_name else default_group
        if group_id is None:
            errors.append(
                RowError(line, "permission_group", "csv_group_unknown", {"group": repr(group_name)})
            )
        if len(errors) == problem and group_id is not None:
            valid.append(_Row(line, email, language, contact_id, group_id))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        raise ImportRefused(errors)

    report = ImportReport()
    user = models.PortalUser
    # Plain tuples, not ORM objects: 100,000 rows stay cheap.
    existing: dict[str, tuple[uuid.UUID, str, uuid.UUID | None, uuid.UUID]] = {}
    for chunk in _chunks([row.email for row in valid]):
        found_users = await db.execute(
            sa.select(
                user.email, user.id, user.language, user.contact_id, user.permission_group_id
            ).where(user.portal_id == portal.id, user.email.in_(chunk))
        )
        existing.update(
            {
                email: (uid, lang, contact, group)
                for email, uid, lang, contact, group in found_users.all()
            }
        )
    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    moved: list[uuid.UUID] = []  # to another contact: what their sessions show changes
    for done, item in enumerate(valid, start=1):
        current = existing.get(item.email)
        if current is None:
            new_rows.append(
                {
                    "id": uuid.uuid4(),
                    "organization_id": portal.organization_id,
                    "portal_id": portal.id,
                    "email": item.email,
                    "language": item.language,
                    "registration_status": models.RegistrationStatus.INVITED,
                    "assignment_status": models.AssignmentStatus.ASSIGNED
                    if item.contact_id
                    else models.AssignmentStatus.PENDING,
                    "contact_id": item.contact_id,
                    "permission_group_id": item.group_id,
                }
            )
        elif (change := _change(current, item)) is not None:
            changes.append(change)
            if change["contact_id"] != current[2]:
                moved.append(change["id"])
        else:
            report.unchanged += 1
        if progress is not None and done % CHUNK == 0:
            progress(done, len(valid))
    for chunk in _chunks(new_rows):
        await db.execute(insert(user), chunk)
    ended = await sessions.end_portal_user_sessions(db, moved, reason="CONTACT_CHANGED", now=now)
    for chunk in _chunks(changes):
        await db.execute(sa.update(user), chunk)  # executemany by primary key
    report.updated = len(changes)
    report.created = len(new_rows)
    await db.flush()
    if progress is not None:
        progress(len(valid), len(valid))
    if report.created or report.updated:
        audit.about(
            db,
            actor,
            portal,
            "portal_users.imported",
            origin,
            {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "revoked_sessions": ended,
            },
        )
    return report


def _change(
    current: tuple[uuid.UUID, str, uuid.UUID | None, uuid.UUID], row: _Row
) -> dict[str, Any] | None:
    """The update that brings an existing user in line with its row, or None. A row
    without a customer number leaves the assignment as it is."""
    user_id, language, contact_id, group_id = current
    wanted_contact = row.contact_id or contact_id
    if (language, contact_id, group_id) == (row.language, wanted_contact, row.group_id):
        return None
    change: dict[str, Any] = {
        "id": user_id,
        "language": row.language,
        "permission_group_id": row.group_id,
        "contact_id": wanted_contact,
    }
    if wanted_contact is not None:
        change["assignment_status"] = models.AssignmentStatus.ASSIGNED
    return change


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
