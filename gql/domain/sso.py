"""Single sign-on with OpenID Connect, per portal (issue 19).

Staff (ADMIN) configure a portal's identity providers. A login starts on the portal's
login page (`start_login`: an authorization URL with state, nonce and PKCE; the login is
stored server-side) and comes back with a code (`complete_login`): the code is exchanged,
the ID token checked (gql/auth/oidc.py), the external identity (issuer + subject) found
through its link, or - the first time - by its verified email (`match_by` EMAIL) or made
into a new portal user (`auto_provision`, assigned like a self-registration). Then the
login goes on exactly like a password login (`authentication.first_factor_passed`): the
portal's 2FA policy applies, and the session is an ordinary one, so deactivating the
user ends it.

Every refusal of a login is returned (not raised), so that the used-up state and the
audit event (`sso.refused` with the reason) are committed.
"""

from __future__ import annotations

import functools
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from db.portal_settings import SelfRegistration
from gql.auth import oidc
from gql.auth.actor import Actor
from gql.auth.secrets import SecretBox
from gql.domain import audit, authentication, email_address, rate_limit, registration, sessions
from gql.domain.authentication import IdentityConfig, LoginOutcome, Refused
from gql.domain.errors import Conflict, InvalidInput, RuleViolation
from gql.domain.scope import find_visible
from gql.settings import Settings

log = structlog.get_logger(__name__)

LOGIN_TTL = timedelta(minutes=10)
STARTS_PER_ADDRESS = 200  # per LOGIN_TTL
SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
# RFC 6749 3.3: scope tokens are printable ASCII without space, '"' and '\'.
SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,64}$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
# A portal's own domain may receive logins once it is proven to be the utility's.
USABLE_DOMAIN = frozenset(
    {models.DomainStatus.READY, models.DomainStatus.VERIFIED, models.DomainStatus.CONFIGURED}
)

# The refusals of a login: code and the English sentence (`detail`); gql/messages has
# each code's message in every language.
STATE_INVALID = "SSO_STATE_INVALID"
NONCE_MISMATCH = "SSO_NONCE_MISMATCH"
TOKEN_INVALID = "SSO_TOKEN_INVALID"  # noqa: S105 - an error code
PROVIDER_ERROR = "SSO_PROVIDER_ERROR"
PROVIDER_UNKNOWN = "SSO_PROVIDER_UNKNOWN"
REDIRECT_URI_NOT_ALLOWED = "SSO_REDIRECT_URI_NOT_ALLOWED"
EMAIL_NOT_VERIFIED = "SSO_EMAIL_NOT_VERIFIED"
NO_ACCOUNT = "SSO_NO_ACCOUNT"
ACCOUNT_INACTIVE = "SSO_ACCOUNT_INACTIVE"
SENTENCES = {
    STATE_INVALID: "This login is unknown, used already or expired; start again.",
    NONCE_MISMATCH: "The identity provider's answer does not belong to this login.",
    TOKEN_INVALID: "The identity provider's ID token failed its checks.",
    PROVIDER_ERROR: "The identity provider could not be reached or refused the login.",
    PROVIDER_UNKNOWN: "The portal has no such identity provider.",
    REDIRECT_URI_NOT_ALLOWED: "The redirect URI is not on the portal's domain.",
    EMAIL_NOT_VERIFIED: "The identity provider has not verified the email address.",
    NO_ACCOUNT: "No portal access belongs to this identity.",
    ACCOUNT_INACTIVE: "The portal access is not active (deactivated, or waiting for its"
    " assignment to a customer).",
    "RATE_LIMITED": "Too many logins started from this address; try again in a few minutes.",
}


def refused(code: str, field: str | None = None) -> Refused:
    return Refused(code, SENTENCES[code], field)


@dataclass(frozen=True)
class SsoConfig:
    box: SecretBox
    development: bool
    relying_party: oidc.RelyingParty
    login_ttl: timedelta = LOGIN_TTL


@functools.cache
def sso_config(settings: Settings) -> SsoConfig:
    """One per process: the relying party's caches are shared by every request."""
    return SsoConfig(
        box=SecretBox.from_settings(settings),
        development=settings.development,
        relying_party=oidc.RelyingParty(),
    )


# --- Rules ------------------------------------------------------------------------------------


def redirect_uri_allowed(portal: models.Portal, uri: str, *, development: bool) -> bool:
    """Where the provider may send the browser back: https on the portal's own domain
    once it is usable (managed, or a verified custom domain); in development also
    http on loopback, any port (`make serve`, a front-end's dev server)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or parts.fragment:
        return False
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and port in (None, 443):
        return host == portal.domain and portal.domain_status in USABLE_DOMAIN
    return development and parts.scheme == "http" and host in LOOPBACK_HOSTS


def clean_slug(slug: str) -> str:
    value = slug.strip().lower()
    if not SLUG.match(value):
        raise InvalidInput("identity_provider_slug_invalid", field="slug")
    return value


def clean_issuer(issuer: str, *, development: bool) -> str:
    """An https URL without query or fragment (OpenID Connect Discovery 1.0, 2); http on
    loopback in development, for a provider running locally."""
    value = issuer.strip()
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise InvalidInput("identity_provider_issuer_invalid", field="issuer") from error
    local = development and parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if (
        not (parts.scheme == "https" or local)
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise InvalidInput("identity_provider_issuer_invalid", field="issuer")
    return value


def clean_scopes(scopes: Sequence[str]) -> list[str]:
    """The scopes asked for: `openid` first (it makes the request an OpenID one), each
    once, each an RFC 6749 scope token."""
    cleaned: list[str] = []
    for scope in ["openid", *scopes]:
        value = scope.strip()
        if not SCOPE.match(value):
            raise InvalidInput("identity_provider_scope_invalid", field="scopes")
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > 20:
        raise InvalidInput("identity_provider_scope_invalid", field="scopes")
    return cleaned


def email_verified(claims: dict[str, Any]) -> bool:
    """Whether the provider vouches for the email (some send the claim as a string)."""
    value = claims.get("email_verified")
    return value is True or value == "true"


# --- Configuration by staff -------------------------------------------------------------------


async def _discover(config: SsoConfig, issuer: str) -> None:
    """The issuer must answer its discovery document now, naming itself."""
    try:
        await config.relying_party.metadata(issuer, fresh=True)
    except oidc.ProviderError as error:
        raise RuleViolation(
            f"The issuer's discovery document can not be used: {error}",
            code="SSO_PROVIDER_ERROR",
            field="issuer",
        ) from error


async def _ensure_free(
    db: AsyncSession, provider: models.IdentityProvider, portal_id: uuid.UUID
) -> None:
    table = models.IdentityProvider
    others = sa.select(table.slug, table.issuer).where(
        table.portal_id == portal_id, table.id != provider.id
    )
    for slug, issuer in (await db.execute(others)).all():
        if slug == provider.slug:
            raise Conflict("identity_provider_slug_taken", field="slug")
        if issuer == provider.issuer:
            raise Conflict("identity_provider_issuer_taken", field="issuer")


@dataclass(frozen=True)
class ProviderInput:
    """A provider's values as staff give them; None: unchanged (update)."""

    name: str | None = None
    slug: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: Sequence[str] | None = None
    match_by: models.SsoMatchBy | None = None
    auto_provision: bool | None = None


async def _apply(
    db: AsyncSession, config: SsoConfig, provider: models.IdentityProvider, values: ProviderInput
) -> list[str]:
    """Check and set the given values; returns the names of those that changed."""
    changed: list[str] = []

    def put(name: str, value: object) -> None:
        if getattr(provider, name) != value:
            setattr(provider, name, value)
            changed.append(name)

    if values.name is not None:
        name = " ".join(values.name.split())
        if not 1 <= len(name) <= 80:
            raise InvalidInput("identity_provider_name_invalid", field="name")
        put("name", name)
    if values.slug is not None:
        put("slug", clean_slug(values.slug))
    if values.issuer is not None:
        issuer = clean_issuer(values.issuer, development=config.development)
        if issuer != provider.issuer:
            await _discover(config, issuer)
        put("issuer", issuer)
    if values.client_id is not None:
        client_id = values.client_id.strip()
        if not 1 <= len(client_id) <= 255:
            raise InvalidInput("identity_provider_client_id_invalid", field="clientId")
        put("client_id", client_id)
    if values.client_secret is not None:
        if not values.client_secret or len(values.client_secret) > 1000:
            raise InvalidInput("identity_provider_client_secret_invalid", field="clientSecret")
        provider.client_secret_encrypted = config.box.encrypt(values.client_secret)
        changed.append("client_secret")
    if values.scopes is not None:
        put("scopes", clean_scopes(values.scopes))
    if values.match_by is not None:
        put("match_by", values.match_by)
    if values.auto_provision is not None:
        put("auto_provision", values.auto_provision)
    return changed


async def create_provider(
    db: AsyncSession,
    actor: Actor,
    config: SsoConfig,
    *,
    portal_id: uuid.UUID | None,
    values: ProviderInput,
    origin: audit.Origin,
) -> models.IdentityProvider:
    """A new identity provider of a portal of the actor's organization; its issuer must
    serve its discovery document.

    Raises:
        NotFound: the portal is not the organization's.
        InvalidInput, Conflict: a value; the slug or issuer is used on the portal.
        RuleViolation: SSO_PROVIDER_ERROR, the discovery document can not be used.
    """
    portal = await find_visible(
        db, models.Portal, portal_id, actor, what="portal", field="portalId", lock=True
    )
    if values.client_secret is None or values.match_by is None:
        raise InvalidInput("identity_provider_client_secret_invalid", field="clientSecret")
    provider = models.IdentityProvider(
        organization_id=portal.organization_id,
        portal_id=portal.id,
        scopes=[],
        auto_provision=False,
    )
    await _apply(db, config, provider, values)
    await _ensure_free(db, provider, portal.id)
    db.add(provider)
    await db.flush()
    audit.about(
        db,
        actor,
        provider,
        "identity_provider.created",
        origin,
        {"portal_id": str(portal.id), "slug": provider.slug, "issuer": provider.issuer},
    )
    return provider


async def _provider(
    db: AsyncSession, actor: Actor, provider_id: uuid.UUID | None
) -> models.IdentityProvider:
    return await find_visible(
        db,
        models.IdentityProvider,
        provider_id,
        actor,
        what="identity provider",
        field="id",
        lock=True,
    )


async def update_provider(
    db: AsyncSession,
    actor: Actor,
    config: SsoConfig,
    *,
    provider_id: uuid.UUID | None,
    values: ProviderInput,
    origin: audit.Origin,
) -> models.IdentityProvider:
    """Change the given values. A new issuer drops the provider's links (a subject
    means someone only at its own issuer) and its logins under way.

    Raises:
        NotFound, InvalidInput, Conflict, RuleViolation: as `create_provider`.
    """
    provider = await _provider(db, actor, provider_id)
    changed = await _apply(db, config, provider, values)
    await _ensure_free(db, provider, provider.portal_id)
    if "issuer" in changed:
        for model in (models.IdentityLink, models.SsoLogin):
            await db.execute(sa.delete(model).where(model.provider_id == provider.id))
    await db.flush()
    audit.about(db, actor, provider, "identity_provider.updated", origin, {"changed": changed})
    return provider


async def delete_provider(
    db: AsyncSession, actor: Actor, *, provider_id: uuid.UUID | None, origin: audit.Origin
) -> None:
    """Remove a provider with its links and logins under way; users it created keep
    their access (a password reset gives them a password)."""
    provider = await _provider(db, actor, provider_id)
    audit.about(
        db,
        actor,
        provider,
        "identity_provider.deleted",
        origin,
        {"portal_id": str(provider.portal_id), "slug": provider.slug, "issuer": provider.issuer},
    )
    await db.delete(provider)
    await db.flush()


async def is_linked(db: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the portal user can log in through an identity provider."""
    link = models.IdentityLink
    found = await db.scalar(sa.select(link.id).where(link.portal_user_id == user_id).limit(1))
    return found is not None


# --- The login --------------------------------------------------------------------------------


def _audit_refusal(
    db: AsyncSession,
    portal: models.Portal,
    entity: Any,
    code: str,
    origin: audit.Origin,
    data: dict[str, Any] | None = None,
) -> Refused:
    audit.about(
        db,
        registration.anonymous_on(portal),
        entity,
        "sso.refused",
        origin,
        {"code": code, **(data or {})},
    )
    return refused(code, field=_FIELD.get(code))


_FIELD = {PROVIDER_UNKNOWN: "provider", REDIRECT_URI_NOT_ALLOWED: "redirectUri"}


@dataclass(frozen=True)
class Started:
    authorization_url: str
    state: str
    expires_at: datetime


async def start_login(
    db: AsyncSession,
    config: SsoConfig,
    *,
    portal_id: uuid.UUID | None,
    slug: str,
    redirect_uri: str,
    origin: audit.Origin,
    now: datetime,
) -> Started | Refused:
    """Store a new login and answer where to send the browser. Refused (and audited):
    a provider the portal does not have (another portal's too), a redirect URI off the
    portal's domain, a provider that can not be reached.

    Raises:
        InvalidInput: not an active portal.
    """
    portal = await registration.active_portal(db, portal_id)
    # Each start stores a row: one address may not fill the table (a whole office
    # behind one address still logs in: 200 starts in 10 minutes).
    if origin.ip_address and not await rate_limit.hit(
        db, f"sso_start:address:{origin.ip_address}", STARTS_PER_ADDRESS, LOGIN_TTL, now
    ):
        return refused("RATE_LIMITED")
    table = models.IdentityProvider
    provider = await db.scalar(
        sa.select(table).where(table.portal_id == portal.id, table.slug == slug.strip().lower())
    )
    if provider is None:
        return _audit_refusal(db, portal, portal, PROVIDER_UNKNOWN, origin, {"provider": slug})
    if not redirect_uri_allowed(portal, redirect_uri, development=config.development):
        data = {"redirect_uri": redirect_uri[:300]}
        return _audit_refusal(db, portal, provider, REDIRECT_URI_NOT_ALLOWED, origin, data)
    try:
        metadata = await config.relying_party.metadata(provider.issuer)
    except oidc.ProviderError as error:
        data = {"reason": str(error)[:300]}
        return _audit_refusal(db, portal, provider, PROVIDER_ERROR, origin, data)
    # Logins never completed are forgotten once expired.
    await db.execute(
        sa.delete(models.SsoLogin).where(
            models.SsoLogin.provider_id == provider.id, models.SsoLogin.expires_at <= now
        )
    )
    state, nonce, verifier = oidc.new_secret(), oidc.new_secret(), oidc.new_secret()
    expires_at = now + config.login_ttl
    db.add(
        models.SsoLogin(
            organization_id=provider.organization_id,
            provider_id=provider.id,
            state_hash=sessions.token_hash(state),
            nonce_hash=sessions.token_hash(nonce),
            code_verifier_encrypted=config.box.encrypt(verifier),
            redirect_uri=redirect_uri,
            expires_at=expires_at,
        )
    )
    url = oidc.authorization_url(
        metadata,
        _client(config, provider),
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        verifier=verifier,
    )
    return Started(url, state, expires_at)


def _client(config: SsoConfig, provider: models.IdentityProvider) -> oidc.ClientRegistration:
    return oidc.ClientRegistration(
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=config.box.decrypt(provider.client_secret_encrypted),
        scopes=tuple(provider.scopes),
    )


async def complete_login(
    db: AsyncSession,
    config: SsoConfig,
    identity: IdentityConfig,
    *,
    code: str,
    state: str,
    origin: audit.Origin,
    now: datetime,
) -> LoginOutcome:
    """Finish a login the provider sent back: the state is used up whatever follows;
    the ID token is checked, the portal user found (or linked, or created), and the
    login goes on as any other (second factor, session)."""
    login = await db.scalar(
        sa.select(models.SsoLogin)
        .where(models.SsoLogin.state_hash == sessions.token_hash(state))
        .with_for_update()
    )
    if login is None:
        # Not ours (or long expired): no organization to write it to.
        log.warning("sso.unknown_state", ip_address=origin.ip_address)
        return refused(STATE_INVALID)
    provider = await db.get_one(models.IdentityProvider, login.provider_id)
    portal = await db.get_one(models.Portal, provider.portal_id)
    if login.used_at is not None or login.expires_at <= now:
        reason = "replayed" if login.used_at is not None else "expired"
        return _audit_refusal(db, portal, provider, STATE_INVALID, origin, {"reason": reason})
    login.used_at = now
    try:
        client = _client(config, provider)
        rp = config.relying_party
        metadata = await rp.metadata(provider.issuer)
        id_token = await rp.exchange(
            metadata,
            client,
            code=code,
            redirect_uri=login.redirect_uri,
            verifier=config.box.decrypt(login.code_verifier_encrypted),
        )
        claims = await rp.verify_id_token(id_token, metadata, client, now=int(now.timestamp()))
    except (oidc.ProviderError, ValueError) as error:
        data = {"reason": str(error)[:300]}
        return _audit_refusal(db, portal, provider, PROVIDER_ERROR, origin, data)
    except oidc.TokenRejected as error:
        return _audit_refusal(db, portal, provider, TOKEN_INVALID, origin, {"reason": error.reason})
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(
        sessions.token_hash(nonce), login.nonce_hash
    ):
        return _audit_refusal(db, portal, provider, NONCE_MISMATCH, origin)

    found = await _portal_user(db, provider, portal, claims, origin, now)
    if isinstance(found, Refused):
        return found
    user, link = found
    if not sessions.may_log_in(user, portal):
        return _audit_refusal(db, portal, user, ACCOUNT_INACTIVE, origin, _who(provider, claims))
    link.last_login_at = now
    actor = sessions.actor_for(user, portal)
    audit.about(db, actor, user, "sso.login", origin, _who(provider, claims))
    return await authentication.first_factor_passed(
        db, identity, user, portal, origin, now, email_code_allowed=True
    )


def _who(provider: models.IdentityProvider, claims: dict[str, Any]) -> dict[str, Any]:
    return {"provider": provider.slug, "issuer": provider.issuer, "subject": claims["sub"]}


async def _portal_user(
    db: AsyncSession,
    provider: models.IdentityProvider,
    portal: models.Portal,
    claims: dict[str, Any],
    origin: audit.Origin,
    now: datetime,
) -> tuple[models.PortalUser, models.IdentityLink] | Refused:
    """The portal user of the identity: linked before; else the one with the verified
    email (match_by EMAIL); else a new one (auto_provision). A new link is audited."""
    subject = str(claims["sub"])
    link_table = models.IdentityLink
    link = await db.scalar(
        sa.select(link_table)
        .where(link_table.provider_id == provider.id, link_table.subject == subject)
        .with_for_update()
    )
    if link is not None:
        return await db.get_one(models.PortalUser, link.portal_user_id), link

    who = _who(provider, claims)
    verified = email_verified(claims)
    try:
        address = email_address.canonical(str(claims.get("email") or ""))
    except InvalidInput:
        address = None
    if provider.match_by is models.SsoMatchBy.EMAIL and not verified:
        return _audit_refusal(db, portal, provider, EMAIL_NOT_VERIFIED, origin, who)
    user_table = models.PortalUser
    user = None
    if verified and address is not None:  # an unverified email finds nobody
        user = await db.scalar(
            sa.select(user_table)
            .where(user_table.portal_id == portal.id, user_table.email == address)
            .with_for_update()
        )
    if provider.match_by is models.SsoMatchBy.NONE and user is not None:
        # The address has an access that never linked this identity: it is not taken
        # over by subject-only matching, nor duplicated.
        return _audit_refusal(db, portal, provider, NO_ACCOUNT, origin, {**who, "reason": "email"})
    if user is None:
        if not provider.auto_provision:
            return _audit_refusal(db, portal, provider, NO_ACCOUNT, origin, who)
        if not verified or address is None:
            return _audit_refusal(db, portal, provider, EMAIL_NOT_VERIFIED, origin, who)
        user = await _provision(db, provider, portal, address, claims, origin, now)
        if user is None:
            data = {**who, "reason": "registration_denied"}
            return _audit_refusal(db, portal, provider, NO_ACCOUNT, origin, data)
    elif await db.scalar(
        sa.select(link_table.id).where(
            link_table.provider_id == provider.id, link_table.portal_user_id == user.id
        )
    ):
        data = {**who, "reason": "linked_to_another_subject"}
        return _audit_refusal(db, portal, user, NO_ACCOUNT, origin, data)
    link = models.IdentityLink(
        organization_id=portal.organization_id,
        provider_id=provider.id,
        portal_user_id=user.id,
        issuer=provider.issuer,
        subject=subject,
    )
    db.add(link)
    await db.flush()
    audit.about(db, registration.anonymous_on(portal), user, "sso.linked", origin, who)
    return user, link


async def _provision(
    db: AsyncSession,
    provider: models.IdentityProvider,
    portal: models.Portal,
    address: str,
    claims: dict[str, Any],
    origin: audit.Origin,
    now: datetime,
) -> models.PortalUser | None:
    """A new portal user for a verified email, assigned by the portal's rules of
    self-registration: to the one contact the email finds; else, as the portal allows,
    to a new contact, left waiting for staff (PENDING), or not at all (None)."""
    settings = portal.live_settings
    contact = await registration.match_contact(db, portal, address, {})
    if contact is None:
        policy = settings.registration.self_registration
        if policy is SelfRegistration.DENY:
            return None
        if policy is SelfRegistration.ALLOW_WITH_CONTACT:
            names = {
                "first_name": _claim(claims, "given_name", 100),
                "last_name": _claim(claims, "family_name", 100) or address.split("@")[0][:100],
            }
            contact = models.Contact(organization_id=portal.organization_id, email=address, **names)
            db.add(contact)
            await db.flush()
    locale = str(claims.get("locale") or "")[:2].lower()
    language = locale if locale in settings.languages else settings.default_language
    user = await registration.new_portal_user(
        db,
        portal,
        email=address,
        language=language,
        status=models.RegistrationStatus.ACTIVE,
        contact=contact,
    )
    user.activated_at = now
    data = {**_who(provider, claims), "assigned": contact is not None}
    audit.about(db, registration.anonymous_on(portal), user, "sso.provisioned", origin, data)
    return user


def _claim(claims: dict[str, Any], name: str, limit: int) -> str | None:
    value = claims.get(name)
    if not isinstance(value, str):
        return None
    return " ".join(value.split())[:limit] or None
