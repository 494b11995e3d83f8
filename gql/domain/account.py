"""The caller's own account, staff or portal user: password and language; a portal user
closing their access."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.models.enums import EmailTemplateKind
from gql.auth.actor import Actor
from gql.domain import (
    audit,
    authentication,
    email_change,
    password_policy,
    portal_mail,
    sessions,
    throttle,
)
from gql.domain.errors import InvalidInput, NotFound
from gql.domain.registration import AccessConfig
from gql.domain.staff import clean_language


async def _account(db: AsyncSession, actor: Actor) -> sessions.Account:
    found = await sessions.load_account(db, **sessions.owner(actor))
    if found is None:
        raise NotFound("account_not_found")
    return found[0]


WRONG_PASSWORD = authentication.Refused(
    "INVALID_INPUT", "The current password is wrong.", field="currentPassword"
)


async def change_password(
    db: AsyncSession,
    actor: Actor,
    config: authentication.IdentityConfig,
    *,
    current_password: str,
    new_password: str,
    origin: audit.Origin,
    now: datetime,
) -> int | authentication.Refused:
    """Change the caller's own password; every other session of the account ends.
    Returns how many ended. The current password is checked under the login's lockout
    (a stolen access token must not let anyone guess it); a wrong one, or a lock, is
    answered as `Refused`, not raised, so that its failure count is written.

    Raises:
        InvalidInput: the new password breaks the policy or is the current one.
        passwords.Busy: no admission to the hash within its wait.
    """
    # Refused before anything costs: a new password that is the current one (the
    # current one must match the stored hash, so the new one would too: no hash needed
    # to tell), and one that breaks the rules.
    if new_password == current_password:
        raise InvalidInput("password_unchanged", field="newPassword")
    hashing = config.hashing
    new_hash = await password_policy.checked_and_hashed(hashing, new_password, field="newPassword")
    # Admitted to the hash before the first statement: the check of the current password
    # holds the connection (and the account's lock) only while its hash runs.
    async with hashing.admission() as hasher:
        found = await sessions.load_account(db, **sessions.owner(actor))
        if found is None:
            raise NotFound("account_not_found")
        account, portal = found
        # Judged before the current password is checked: a refusal here rolls back, and
        # must not roll back a counted failure.
        password_policy.check_password(new_password, account.email, field="newPassword")
        keys = throttle.Keys.of_account(account, origin.ip_address)
        checked = await authentication.check_password(
            db, config, keys, account, portal, current_password, now, hasher=hasher
        )
    if not checked.accepted:
        if not checked.locked:
            data = {"failures": checked.failures, "locked_out": checked.locked_out}
            audit.record_by(db, actor, "password.check_failed", origin, data)
        return authentication.refusal(checked, WRONG_PASSWORD)
    account.password_hash = new_hash
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


async def delete_my_account(
    db: AsyncSession,
    actor: Actor,
    identity: authentication.IdentityConfig,
    access: AccessConfig,
    *,
    password: str,
    origin: audit.Origin,
    now: datetime,
) -> str | authentication.Refused:
    """A portal user closes their own access, with their password (under the login's
    lockout; a refusal is returned so its count is committed). The portal user goes
    with its sessions, refresh tokens, codes, links and second factors (ON DELETE
    CASCADE, after its sessions are ended like every change of access); the CRM
    contact stays. The audit trail stays, pseudonymised (`audit.pseudonymise`), with
    the closing as its last event; the failure counters that name the email go; a
    confirmation is mailed to the address (which is returned).

    Raises:
        NotFound: the caller is no portal user.
        passwords.Busy: no admission to the hash within its wait.
    """
    # Admitted to the hash before the first statement (`authentication.login`).
    async with identity.hashing.admission() as hasher:
        user, portal = await email_change.own_portal_user(db, actor)
        refused = await email_change.checked_password(
            db, identity, actor, user, portal, password, "account_deletion", origin, now, hasher
        )
    if refused is not None:
        return refused
    email, language = user.email, user.language
    contact = await db.get(models.Contact, user.contact_id) if user.contact_id else None
    await sessions.end_portal_user_sessions(db, [user.id], reason="ACCOUNT_DELETED", now=now)
    await throttle.forget_account(db, throttle.Keys.of_account(user, origin.ip_address))
    pseudonym = await audit.pseudonymise(db, user.organization_id, user.id)
    audit.record(
        db,
        organization_id=user.organization_id,
        actor=replace(actor, subject_id=pseudonym, session_id=None),
        action="portal_user.deleted_by_self",
        origin=audit.Origin(),  # no address: it would be personal data again
        data={"portal_id": str(portal.id), "portal_user": str(pseudonym)},
    )
    await db.delete(user)
    await db.flush()
    await portal_mail.send(
        db,
        portal,
        EmailTemplateKind.ACCOUNT_DELETED,
        sender=access.sender,
        email=email,
        language=language,
        contact=contact,
    )
    return email
