"""The caller's own account, staff or portal user: password and language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gql.auth.actor import Actor
from gql.auth.passwords import PasswordProfile, hash_password, verify_password
from gql.domain import audit, sessions
from gql.domain.errors import InvalidInput, NotFound
from gql.domain.password_policy import check_password
from gql.domain.staff import clean_language


async def _account(db: AsyncSession, actor: Actor) -> sessions.Account:
    found = await sessions.load_account(db, **sessions.owner(actor))
    if found is None:
        raise NotFound("No such account.")
    return found[0]


async def change_password(
    db: AsyncSession,
    actor: Actor,
    *,
    current_password: str,
    new_password: str,
    password_profile: PasswordProfile,
    origin: audit.Origin,
    now: datetime,
) -> int:
    """Change the caller's own password; every other session of the account ends.
    Returns how many ended."""
    account = await _account(db, actor)
    profile = password_profile
    if not verify_password(account.password_hash, current_password, profile):
        raise InvalidInput("The current password is wrong.", field="currentPassword")
    check_password(new_password, account.email, field="newPassword")
    if verify_password(account.password_hash, new_password, profile):
        raise InvalidInput("Choose a password you did not use now.", field="newPassword")
    account.password_hash = hash_password(new_password, profile)
    revoked = await sessions.revoke_all(
        db, actor, reason="PASSWORD_CHANGED", now=now, keep=actor.session_id
    )
    audit.record_by(db, actor, "password.changed", origin, {"revoked_sessions": revoked})
    return revoked


async def set_language(
    db: AsyncSession, actor: Actor, language: str, *, origin: audit.Origin
) -> str:
    """The language of the caller's emails (and, for portal users, of the portal)."""
    account = await _account(db, actor)
    cleaned = clean_language(language)
    if cleaned != account.language:
        audit.record_by(
            db, actor, "account.language_changed", origin, {"from": account.language, "to": cleaned}
        )
        account.language = cleaned
    return cleaned
