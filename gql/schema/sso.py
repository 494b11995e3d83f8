"""Single sign-on with OpenID Connect: a portal's identity providers (configured by
ADMIN), and the two steps of a login through one (`startSsoLogin`, `completeSsoLogin`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql.auth.actor import Role
from gql.auth.permissions import STAFF, allow, public
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import sso
from gql.domain.authentication import Refused
from gql.domain.errors import DomainError
from gql.schema import auth
from gql.schema.node import RowNode, node_uuid, row_of
from gql.schema.results import INPUT, Error, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import Line

if TYPE_CHECKING:
    from db.models.enums import SsoMatchBy as SsoMatchBy
else:
    SsoMatchBy = described_enum(
        models.SsoMatchBy,
        "How an identity of a provider finds its portal user the first time it logs in"
        " (afterwards the link of issuer and subject does).",
        {
            models.SsoMatchBy.EMAIL: "The portal user with the same email, but only when the"
            " provider says the email is verified (`email_verified`).",
            models.SsoMatchBy.NONE: "None: only identities linked before (or created by"
            " autoProvision) log in.",
        },
    )


@strawberry.type(description="An OpenID Connect provider a portal's users may log in with.")
class IdentityProvider(RowNode):
    __model__ = models.IdentityProvider

    name: str | None = allow(STAFF, description="Shown on the login page, e.g. 'Microsoft'.")
    slug: str | None = allow(
        STAFF, description="What the login page passes to startSsoLogin, e.g. 'entra'."
    )
    issuer: str | None = allow(STAFF, description="The provider's issuer URL (discovery).")
    client_id: str | None = allow(STAFF, description="Our client ID at the provider.")
    scopes: list[str] | None = allow(STAFF, description="Scopes asked for; openid first.")
    match_by: SsoMatchBy | None = allow(
        STAFF, description="How a first login finds its portal user."
    )
    auto_provision: bool | None = allow(
        STAFF, description="Whether a first login that finds nobody creates a portal user."
    )
    created_at: datetime | None = allow(STAFF, description="When it was configured.")

    @allow(STAFF, description="The portal it belongs to (its global ID).")
    def portal_id(self) -> relay.GlobalID | None:
        return relay.GlobalID("Portal", str(row_of(self).portal_id))


@strawberry.input(description="A new identity provider of a portal.")
class CreateIdentityProviderInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    name: Line = strawberry.field(description="Shown on the login page (1-80 characters).")
    slug: Line = strawberry.field(
        description="Lower-case letters, digits and hyphens; unique on the portal."
    )
    issuer: Line = strawberry.field(
        description="Issuer URL; its /.well-known/openid-configuration must answer now."
    )
    client_id: Line = strawberry.field(description="Our client ID at the provider.")
    client_secret: Line = strawberry.field(
        description="Our client secret; stored encrypted, never shown again."
    )
    scopes: list[Line] = strawberry.field(
        default_factory=lambda: ["openid", "email", "profile"],
        description="Scopes to ask for; openid is always added.",
    )
    match_by: SsoMatchBy = strawberry.field(description="How a first login finds its portal user.")
    auto_provision: bool = strawberry.field(
        default=False,
        description="Create a portal user (assigned by the portal's registration rules) when"
        " a first login finds nobody.",
    )


@strawberry.input(description="Changes of an identity provider; what is left out stays.")
class UpdateIdentityProviderInput:
    id: relay.GlobalID = strawberry.field(description="The identity provider.")
    name: Line | None = strawberry.field(default=None, description="New name.")
    slug: Line | None = strawberry.field(default=None, description="New slug.")
    issuer: Line | None = strawberry.field(
        default=None, description="New issuer; drops the links of the old one."
    )
    client_id: Line | None = strawberry.field(default=None, description="New client ID.")
    client_secret: Line | None = strawberry.field(
        default=None, description="New client secret (stored encrypted)."
    )
    scopes: list[Line] | None = strawberry.field(default=None, description="New scopes.")
    match_by: SsoMatchBy | None = strawberry.field(default=None, description="New matching.")
    auto_provision: bool | None = strawberry.field(
        default=None, description="New auto-provisioning."
    )


@strawberry.input(description="An identity provider to remove, with its links.")
class DeleteIdentityProviderInput:
    id: relay.GlobalID = strawberry.field(description="The identity provider.")


@strawberry.type(description="The identity provider as saved.")
class IdentityProviderSaved:
    identity_provider: IdentityProvider = public("The identity provider.")


@strawberry.type(description="A removed identity provider.")
class IdentityProviderDeleted:
    deleted_id: relay.GlobalID = public("ID of the removed identity provider.")


SaveIdentityProviderResult = Annotated[
    IdentityProviderSaved | MutationError,
    strawberry.union(
        "SaveIdentityProviderResult",
        description="Answer of `createIdentityProvider` and `updateIdentityProvider`:"
        " IdentityProviderSaved, or MutationError (e.g. CONFLICT for a slug or issuer the"
        " portal has, SSO_PROVIDER_ERROR for an issuer without a usable discovery document).",
    ),
]
DeleteIdentityProviderResult = Annotated[
    IdentityProviderDeleted | MutationError,
    strawberry.union(
        "DeleteIdentityProviderResult",
        description="Answer of `deleteIdentityProvider`: IdentityProviderDeleted, or"
        " MutationError (NOT_FOUND).",
    ),
]


def _values(input: CreateIdentityProviderInput | UpdateIdentityProviderInput) -> sso.ProviderInput:
    return sso.ProviderInput(
        name=input.name,
        slug=input.slug,
        issuer=input.issuer,
        client_id=input.client_id,
        client_secret=input.client_secret,
        scopes=input.scopes,
        match_by=input.match_by,
        auto_provision=input.auto_provision,
    )


async def create_identity_provider(
    info: Info,
    input: Annotated[CreateIdentityProviderInput, strawberry.argument(description=INPUT)],
) -> SaveIdentityProviderResult:
    context = info.context

    async def work(db: AsyncSession) -> IdentityProviderSaved:
        provider = await sso.create_provider(
            db,
            context.actor,
            sso.sso_config(context.settings),
            portal_id=row_id(input.portal_id, "Portal", "portalId"),
            values=_values(input),
            origin=origin(info),
        )
        return IdentityProviderSaved(identity_provider=cast(IdentityProvider, provider))

    return await attempt(info, work)


async def update_identity_provider(
    info: Info,
    input: Annotated[UpdateIdentityProviderInput, strawberry.argument(description=INPUT)],
) -> SaveIdentityProviderResult:
    context = info.context

    async def work(db: AsyncSession) -> IdentityProviderSaved:
        provider = await sso.update_provider(
            db,
            context.actor,
            sso.sso_config(context.settings),
            provider_id=row_id(input.id, "IdentityProvider", "id"),
            values=_values(input),
            origin=origin(info),
        )
        return IdentityProviderSaved(identity_provider=cast(IdentityProvider, provider))

    return await attempt(info, work)


async def delete_identity_provider(
    info: Info,
    input: Annotated[DeleteIdentityProviderInput, strawberry.argument(description=INPUT)],
) -> DeleteIdentityProviderResult:
    async def work(db: AsyncSession) -> IdentityProviderDeleted:
        await sso.delete_provider(
            db,
            info.context.actor,
            provider_id=row_id(input.id, "IdentityProvider", "id"),
            origin=origin(info),
        )
        return IdentityProviderDeleted(deleted_id=input.id)

    return await attempt(info, work)


# --- The login --------------------------------------------------------------------------------


@strawberry.input(description="Start a login through an identity provider of a portal.")
class StartSsoLoginInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    provider: Line = strawberry.field(
        description="The provider's slug (publicPortal.identityProviders)."
    )
    redirect_uri: Line = strawberry.field(
        description="Where the provider sends the browser back with `code` and `state`:"
        " https on the portal's domain (in development also http://127.0.0.1:* and"
        " http://localhost:*)."
    )


@strawberry.type(description="The login is under way: send the browser to the provider.")
class SsoLoginStarted:
    authorization_url: str = public("The provider's login page, with state, nonce and PKCE.")
    state: str = public(
        "The login's `state` (also in the URL): keep it in the browser tab and complete only"
        " a callback that carries the same one."
    )
    expires_at: datetime = public("Complete the login before this time (10 minutes).")


@strawberry.type(
    description="A refused start of a single sign-on (codes SSO_PROVIDER_UNKNOWN,"
    " SSO_REDIRECT_URI_NOT_ALLOWED, SSO_PROVIDER_ERROR, RATE_LIMITED, INVALID_INPUT for a"
    " portal that is not active)."
)
class SsoError(Error):
    pass


StartSsoLoginResult = Annotated[
    SsoLoginStarted | SsoError,
    strawberry.union(
        "StartSsoLoginResult",
        description="Answer of `startSsoLogin`: SsoLoginStarted with the URL to send the"
        " browser to, or SsoError.",
    ),
]


@strawberry.input(description="What the provider sent back to the redirect URI.")
class CompleteSsoLoginInput:
    code: Line = strawberry.field(description="The `code` query parameter.")
    state: Line = strawberry.field(description="The `state` query parameter.")


def _sso_error(refusal: Refused) -> SsoError:
    return SsoError.of(DomainError(refusal.message, code=refusal.code, field=refusal.field))


async def start_sso_login(
    info: Info, input: Annotated[StartSsoLoginInput, strawberry.argument(description=INPUT)]
) -> StartSsoLoginResult:
    context = info.context
    portal_id = node_uuid(input.portal_id, "Portal")

    async def work(db: AsyncSession) -> SsoLoginStarted | SsoError:
        started = await sso.start_login(
            db,
            sso.sso_config(context.settings),
            portal_id=portal_id,
            slug=input.provider,
            redirect_uri=input.redirect_uri,
            origin=origin(info),
            now=now(),
        )
        if isinstance(started, Refused):
            return _sso_error(started)  # returned, not raised: its audit event is kept
        return SsoLoginStarted(
            authorization_url=started.authorization_url,
            state=started.state,
            expires_at=started.expires_at,
        )

    return await attempt(info, work, refusal=SsoError, portal=portal_id)


async def complete_sso_login(
    info: Info, input: Annotated[CompleteSsoLoginInput, strawberry.argument(description=INPUT)]
) -> auth.LoginResult:
    context = info.context

    async def work(db: AsyncSession) -> auth.LoggedIn | auth.SecondFactorRequired | auth.LoginError:
        outcome = await sso.complete_login(
            db,
            sso.sso_config(context.settings),
            context.identity,
            code=input.code,
            state=input.state,
            origin=origin(info),
            now=now(),
        )
        # A refusal is answered, not raised: the used-up state and the audit event stay.
        return auth.login_answer(info, outcome)

    return await attempt(info, work, refusal=auth.LoginError)


@strawberry.type
class Mutation:
    """Single sign-on: fields of the root `Mutation` (merged in root.py)."""

    create_identity_provider: SaveIdentityProviderResult | None = allow(
        Role.ADMIN,
        description="Add an OpenID Connect provider to a portal (its discovery document must"
        " answer).",
        resolver=create_identity_provider,
    )
    update_identity_provider: SaveIdentityProviderResult | None = allow(
        Role.ADMIN,
        description="Change an identity provider; the client secret can only be replaced.",
        resolver=update_identity_provider,
    )
    delete_identity_provider: DeleteIdentityProviderResult | None = allow(
        Role.ADMIN,
        description="Remove an identity provider and its links (the users stay).",
        resolver=delete_identity_provider,
    )
    start_sso_login: StartSsoLoginResult = public(
        "Start a login through one of a portal's identity providers: answers the URL to send"
        " the browser to.",
        resolver=start_sso_login,
    )
    complete_sso_login: auth.LoginResult = public(
        "Finish a login through an identity provider with the `code` and `state` it sent"
        " back; answers like `login` (a second factor may follow).",
        resolver=complete_sso_login,
    )
