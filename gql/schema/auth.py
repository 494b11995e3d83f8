"""Identity mutations: login with a password or a mailed code and a second factor,
what a login page offers, sessions, TOTP set-up."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from db import models
from gql import metrics
from gql.auth import permissions
from gql.auth.permissions import AUTHENTICATED, STAFF, RoleEnum, allow, public
from gql.context import Info
from gql.descriptions import described_enum
from gql.domain import authentication, impersonation, registration, sessions, two_factor
from gql.domain.authentication import Authenticated, Refused
from gql.domain.errors import DomainError, NotFound
from gql.resolvers.computed import Computed, Given
from gql.schema.login_providers import PublicIdentityProvider, offered_providers
from gql.schema.node import node_uuid
from gql.schema.results import INPUT, Error, MutationError, attempt, now, origin, row_id
from gql.schema.scalars import EmailAddress, Line


@strawberry.input(description="Credentials; staff leave out the portal.")
class LoginInput:
    email: EmailAddress = strawberry.field(description="Login email.")
    password: Line = strawberry.field(description="Password.")
    portal_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Portal of a customer or installer login; none for staff."
    )


@strawberry.type(description="A successful login: an access token and a refresh token.")
class LoggedIn:
    access_token: str = public("Bearer token for the Authorization header.")
    refresh_token: str | None = public(
        "Opaque, single-use token for `refreshSession`; none for impersonation."
    )
    token_type: str = public("Always 'Bearer'.")
    expires_in: int = public("Seconds until the access token expires.")
    role: RoleEnum = public("Role the token carries.")


@strawberry.enum(description="A way to finish a login that asks for a second factor.")
class SecondFactorMethod(enum.Enum):
    TOTP = strawberry.enum_value(
        "TOTP", description="A code from the authenticator app (`verifyTwoFactor`)."
    )
    RECOVERY_CODE = strawberry.enum_value(
        "RECOVERY_CODE",
        description="One of the single-use recovery codes shown when TOTP was set up"
        " (`verifyTwoFactor`).",
    )
    EMAIL_CODE = strawberry.enum_value(
        "EMAIL_CODE",
        description="A one-time code mailed on request (`sendLoginCode`, then"
        " `verifyTwoFactor`); portal users without TOTP only.",
    )
    ENROLL_TOTP = strawberry.enum_value(
        "ENROLL_TOTP",
        description="The portal requires a second factor and the user has none: set up TOTP"
        " now (`enrollTotp`, then `confirmTotp`).",
    )


@strawberry.type(description="The password was right; a second factor must follow.")
class SecondFactorRequired:
    mfa_token: str = public(
        "Short-lived, single-purpose token for `verifyTwoFactor` (or, when enrolment is"
        " required, for `enrollTotp` and `confirmTotp`, or `sendLoginCode`)."
    )
    enrollment_required: bool = public(
        "The user has no second factor yet but must set one up before logging in."
    )
    methods: list[SecondFactorMethod] = public(
        "How this login can be finished: a TOTP or recovery code; or, without TOTP, set"
        " one up, or (portal users) a code sent by email (`sendLoginCode`)."
    )


@strawberry.type(
    description="A refused login or session; the same answer whatever was wrong (codes"
    " INVALID_CREDENTIALS, INVALID_EMAIL, INVALID_PASSWORD, INVALID_PORTAL_ID, INVALID_CODE,"
    " INVALID_SESSION, RATE_LIMITED; after single sign-on the SSO_ codes, e.g."
    " SSO_STATE_INVALID)."
)
class LoginError(Error):
    pass


LoginResult = Annotated[
    LoggedIn | SecondFactorRequired | LoginError,
    strawberry.union(
        "LoginResult",
        description="Answer of `login`: LoggedIn with tokens; SecondFactorRequired when a second"
        " factor must follow; or LoginError.",
    ),
]
SessionResult = Annotated[
    LoggedIn | LoginError,
    strawberry.union(
        "SessionResult",
        description="Answer of `verifyTwoFactor` and `refreshSession`: LoggedIn with new tokens,"
        " or LoginError (log in again).",
    ),
]


def _logged_in(info: Info, result: Authenticated) -> LoggedIn:
    tokens = info.context.tokens
    return LoggedIn(
        access_token=tokens.issue(result.actor),
        refresh_token=result.refresh_token,
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=tokens.ttl_seconds,
        role=result.actor.role,
    )


def _login_error(refused: Refused) -> LoginError:
    return LoginError.of(DomainError(refused.message, code=refused.code, field=refused.field))


def login_answer(
    info: Info, outcome: authentication.LoginOutcome
) -> LoggedIn | SecondFactorRequired | LoginError:
    if isinstance(outcome, Authenticated):
        return _logged_in(info, outcome)
    if isinstance(outcome, Refused):
        return _login_error(outcome)
    if not outcome.enrollment_required:
        methods = [SecondFactorMethod.TOTP, SecondFactorMethod.RECOVERY_CODE]
    else:
        methods = [SecondFactorMethod.ENROLL_TOTP]
        if outcome.email_code_allowed:
            methods.append(SecondFactorMethod.EMAIL_CODE)
    return SecondFactorRequired(
        mfa_token=outcome.mfa_token,
        enrollment_required=outcome.enrollment_required,
        methods=methods,
    )


async def login(
    info: Info, input: Annotated[LoginInput, strawberry.argument(description=INPUT)]
) -> LoginResult:
    context = info.context
    portal_id = None
    if input.portal_id is not None:
        portal_id = node_uuid(input.portal_id, "Portal")
        if portal_id is None:
            return LoginError.of(
                DomainError("Unknown portal.", code="INVALID_PORTAL_ID", field="portalId")
            )

    async def work(db: AsyncSession) -> LoggedIn | SecondFactorRequired | LoginError:
        outcome = await authentication.login(
            db,
            context.identity,
            email=input.email,
            password=input.password,
            portal_id=portal_id,
            origin=origin(info),
            now=now(),
        )
        return login_answer(info, outcome)

    result = await attempt(info, work, refusal=LoginError, portal=portal_id)
    metrics.count_login("password", result)
    return result


@strawberry.input(description="A login with a code from `requestLoginCode`, not the password.")
class LoginWithCodeInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    email: EmailAddress = strawberry.field(description="Login email the code was sent to.")
    code: Line = strawberry.field(description="The six digits from the email.")


async def login_with_code(
    info: Info, input: Annotated[LoginWithCodeInput, strawberry.argument(description=INPUT)]
) -> LoginResult:
    context = info.context

    async def work(db: AsyncSession) -> LoggedIn | SecondFactorRequired | LoginError:
        portal = await registration.active_portal(db, row_id(input.portal_id, "Portal", "portalId"))
        outcome = await authentication.login_with_code(
            db,
            context.identity,
            portal=portal,
            email=input.email,
            code=input.code,
            origin=origin(info),
            now=now(),
        )
        # A refusal is returned, not raised: its failure count is committed.
        return login_answer(info, outcome)

    return await attempt(info, work, refusal=LoginError, portal=input.portal_id)


if TYPE_CHECKING:
    LoginMethod = authentication.LoginMethod
else:
    LoginMethod = described_enum(
        authentication.LoginMethod,
        "A way to log in that a portal's login page offers.",
        {
            authentication.LoginMethod.PASSWORD: "Email and password (`login`).",
            authentication.LoginMethod.EMAIL_CODE: "A one-time code by email instead of the"
            " password (`requestLoginCode`, then `loginWithCode`).",
        },
    )


@strawberry.input(description="The login page's portal and the address someone entered.")
class LoginOptionsInput:
    portal_id: relay.GlobalID = strawberry.field(description="The portal.")
    email: EmailAddress | None = strawberry.field(
        default=None,
        description="Optional: the address entered, checked when given; the answer is the"
        " same with or without it and does not depend on whether it has an account, so a"
        " login page may ask before anything is typed.",
    )


@strawberry.type(description="What a portal's login page shows: the same for every address.")
class LoginOptions:
    methods: list[LoginMethod] = public(
        "The ways to log in, from the portal's settings (never from an account, so the"
        " answer does not reveal whether the address has one)."
    )
    providers: list[PublicIdentityProvider] = public(
        "Identity providers to offer as login buttons (startSsoLogin), the portal's"
        " alone: the same for every address."
    )


async def login_options(
    info: Info, input: Annotated[LoginOptionsInput, strawberry.argument(description=INPUT)]
) -> LoginOptions | None:
    """The login options of an active portal; null for anything else (like publicPortal)."""
    portal_id = node_uuid(input.portal_id, "Portal")
    if portal_id is None:
        return None
    portal = models.Portal
    rows = await info.context.scalars(
        sa.select(portal).where(portal.id == portal_id, portal.status == models.PortalStatus.ACTIVE)
    )
    if not rows:
        return None
    return LoginOptions(
        methods=authentication.login_methods(rows[0].live_settings),
        providers=await offered_providers(info, portal_id),
    )


@strawberry.type
class Query:
    """What a login page offers: fields of the root `Query` (merged in root.py)."""

    login_options: LoginOptions | None = public(
        "How one can log in to an active portal (null for any other portal), the same"
        " answer for every address.",
        resolver=login_options,
    )


@strawberry.input(description="The second step of a login.")
class VerifyTwoFactorInput:
    mfa_token: Line = strawberry.field(description="From `SecondFactorRequired`.")
    code: Line = strawberry.field(description="A TOTP code or a recovery code.")


async def verify_two_factor(
    info: Info, input: Annotated[VerifyTwoFactorInput, strawberry.argument(description=INPUT)]
) -> SessionResult:
    context = info.context

    async def work(db: AsyncSession) -> LoggedIn | LoginError:
        outcome = await authentication.verify_second_factor(
            db,
            context.identity,
            mfa_token=input.mfa_token,
            code=input.code,
            origin=origin(info),
            now=now(),
        )
        if isinstance(outcome, Authenticated):
            return _logged_in(info, outcome)
        return _login_error(outcome)  # returned, not raised: the failure count is committed

    result = await attempt(info, work, refusal=LoginError)
    metrics.count_login("second_factor", result)
    return result


@strawberry.input(description="A refresh token from the last login or refresh.")
class RefreshSessionInput:
    refresh_token: Line = strawberry.field(description="Used once; the answer has a new one.")


async def refresh_session(
    info: Info, input: Annotated[RefreshSessionInput, strawberry.argument(description=INPUT)]
) -> SessionResult:
    context = info.context

    async def work(db: AsyncSession) -> LoggedIn | LoginError:
        # A refused refresh still commits: reusing a token revokes its whole family.
        refreshed = await sessions.refresh(
            db,
            input.refresh_token,
            policy=context.identity.sessions,
            origin=origin(info),
            now=now(),
        )
        if refreshed is None:
            return LoginError.of(
                DomainError("The session has ended; log in again.", code="INVALID_SESSION")
            )
        return _logged_in(info, Authenticated(*refreshed))

    return await attempt(info, work, refusal=LoginError)


@strawberry.type(description="Sessions ended by a logout.")
class LogoutResult:
    revoked_sessions: int = public("How many sessions were ended.")


async def logout(info: Info) -> LogoutResult:
    async with info.context.unit_of_work() as db:
        count = await sessions.logout(db, info.context.actor, origin=origin(info), now=now())
    return LogoutResult(revoked_sessions=count)


async def logout_everywhere(info: Info) -> LogoutResult:
    async with info.context.unit_of_work() as db:
        count = await sessions.logout_everywhere(
            db, info.context.actor, origin=origin(info), now=now()
        )
    return LogoutResult(revoked_sessions=count)


@strawberry.type(description="One of the caller's logins (a browser or an app), still active.")
class LoginSession:
    id: relay.GlobalID = public("The session's ID, for `revokeSession`.")
    created_at: datetime = public("When the login happened.")
    last_used_at: datetime = public("When it last logged in or renewed its tokens.")
    expires_at: datetime = public("When it ends at the latest, even if used.")
    user_agent: str | None = public("The browser or app that logged in, as it named itself.")
    ip_address: str | None = public("The network address it logged in from.")
    current: bool = public("Whether this request comes from this session.")


def login_session(row: models.AuthSession, current: uuid.UUID | None) -> LoginSession:
    return LoginSession(
        id=relay.GlobalID("LoginSession", str(row.id)),
        created_at=row.created_at,
        last_used_at=row.last_seen_at,
        expires_at=row.expires_at,
        user_agent=row.user_agent,
        ip_address=None if row.ip_address is None else str(row.ip_address),
        current=row.id == current,
    )


async def viewer_sessions(info: Info) -> list[LoginSession]:
    """The caller's own active logins (gql/domain/sessions.py: own_sessions)."""
    actor = info.context.actor
    rows = await info.context.scalars(sessions.own_sessions(actor, now()))
    return [login_session(row, actor.session_id) for row in rows]


# What login_session reads of a session row, as a plan reads it.
_SESSION_COLUMNS = ("id", "created_at", "last_seen_at", "expires_at", "user_agent", "ip_address")


def _planned_sessions(given: Given, rows: list[dict[str, Any]] | None) -> list[LoginSession]:
    """`viewer_sessions` from the rows a plan read (JSON: ids and times as text)."""

    def moment(value: str) -> datetime:
        return datetime.fromisoformat(value).astimezone(UTC)

    read = [
        models.AuthSession(
            id=uuid.UUID(row["id"]),
            created_at=moment(row["created_at"]),
            last_seen_at=moment(row["last_seen_at"]),
            expires_at=moment(row["expires_at"]),
            user_agent=row["user_agent"],
            ip_address=row["ip_address"],
        )
        for row in rows or ()
    ]
    return [login_session(row, given.actor.session_id) for row in read]


# Viewer.sessions: the caller's own logins read by a plan (sessions.own_sessions_json,
# the same rule and order as the executor's own_sessions), answered by login_session.
VIEWER_SESSIONS = Computed(
    (),
    _planned_sessions,
    lambda _row, actor: [sessions.own_sessions_json(actor, sa.func.now(), _SESSION_COLUMNS)],
)


@strawberry.input(description="One of the caller's sessions to end.")
class RevokeSessionInput:
    session_id: relay.GlobalID = strawberry.field(
        description="From `viewer.sessions`; another account's is refused as NOT_FOUND."
    )


@strawberry.type(description="The session has ended; its tokens no longer work.")
class SessionRevoked:
    session: LoginSession = public("The session, as it was.")


RevokeSessionResult = Annotated[
    SessionRevoked | MutationError,
    strawberry.union(
        "RevokeSessionResult",
        description="Answer of `revokeSession`: SessionRevoked, or MutationError (NOT_FOUND:"
        " no active session of the caller has that ID).",
    ),
]


async def revoke_session(
    info: Info, input: Annotated[RevokeSessionInput, strawberry.argument(description=INPUT)]
) -> RevokeSessionResult:
    actor = info.context.actor

    async def work(db: AsyncSession) -> SessionRevoked:
        session_id = row_id(input.session_id, "LoginSession", "sessionId")
        assert session_id is not None
        row = await sessions.revoke_own(db, actor, session_id, origin=origin(info), now=now())
        return SessionRevoked(session=login_session(row, actor.session_id))

    return await attempt(info, work)


# --- TOTP set-up ----------------------------------------------------------------------------


@strawberry.type(
    description="A refused second-factor change (codes INVALID_CODE, TOTP_NOT_ENROLLED,"
    " TOTP_ALREADY_ENABLED, TOTP_NOT_ENABLED, NOT_AUTHENTICATED, RATE_LIMITED; for login codes"
    " INVALID_SESSION, TOTP_ENABLED, TOTP_ONLY or RULE_VIOLATED, too many codes)."
)
class TwoFactorError(Error):
    pass


@strawberry.type(description="A new TOTP secret; scan it, then confirm with a code.")
class TotpEnrollment:
    secret: str = public("Base32 secret for manual entry.")
    uri: str = public("The otpauth:// URI (what the QR code holds).")
    qr_code_svg: str = public("The URI as a QR code (SVG).")


@strawberry.type(description="TOTP is active; the recovery codes are shown only now.")
class TotpConfirmed:
    recovery_codes: list[str] = public("10 single-use recovery codes.")
    session: LoggedIn | None = public("When enrolment finished a login (mfaToken), its tokens.")


@strawberry.type(description="New recovery codes; the old ones no longer work.")
class RecoveryCodes:
    codes: list[str] = public("10 single-use recovery codes.")


@strawberry.type(description="TOTP and the recovery codes were removed.")
class TotpDisabled:
    disabled: bool = public("Always true.")


EnrollResult = Annotated[
    TotpEnrollment | TwoFactorError,
    strawberry.union(
        "EnrollTotpResult",
        description="Answer of `enrollTotp`: TotpEnrollment with the new secret to scan, or"
        " TwoFactorError.",
    ),
]
ConfirmResult = Annotated[
    TotpConfirmed | TwoFactorError,
    strawberry.union(
        "ConfirmTotpResult",
        description="Answer of `confirmTotp`: TotpConfirmed with the recovery codes, or"
        " TwoFactorError (e.g. a wrong code).",
    ),
]
RecoveryResult = Annotated[
    RecoveryCodes | TwoFactorError,
    strawberry.union(
        "RecoveryCodesResult",
        description="Answer of `regenerateRecoveryCodes`: RecoveryCodes (the old ones stop"
        " working), or TwoFactorError.",
    ),
]
DisableResult = Annotated[
    TotpDisabled | TwoFactorError,
    strawberry.union(
        "DisableTotpResult",
        description="Answer of `disableTotp`: TotpDisabled, or TwoFactorError (e.g. a wrong code,"
        " or TOTP is not set up).",
    ),
]


@strawberry.input(description="Set up TOTP, as the logged-in user or with an mfaToken.")
class EnrollTotpInput:
    mfa_token: Line | None = strawberry.field(
        default=None, description="When a login requires enrolment first."
    )


@strawberry.input(description="A code from the authenticator app.")
class ConfirmTotpInput:
    code: Line = strawberry.field(description="6-digit TOTP code.")
    mfa_token: Line | None = strawberry.field(
        default=None, description="When a login requires enrolment first."
    )


@strawberry.input(description="A current TOTP code (or, to disable, a recovery code).")
class TotpCodeInput:
    code: Line = strawberry.field(description="TOTP or recovery code.")


def _not_authenticated() -> TwoFactorError:
    return TwoFactorError.of(
        DomainError("Log in (or pass the mfaToken of the login).", code="NOT_AUTHENTICATED")
    )


async def _account(
    info: Info, db: AsyncSession, mfa_token: str | None
) -> tuple[two_factor.Account, models.Portal | None, models.OneTimeCode | None] | None:
    """The account whose second factor is set up: the viewer's (never under
    impersonation), or the one of a login that requires enrolment."""
    if mfa_token is not None:
        purpose = authentication.MFA_PURPOSE_ENROLL
        pending = await authentication.pending_login(db, mfa_token, purpose, now())
        return None if pending is None else (pending[1], pending[2], pending[0])
    actor = info.context.actor
    if actor.subject_id is None or actor.is_impersonated:
        return None
    found = await sessions.load_account(db, **sessions.owner(actor))
    return None if found is None else (*found, None)


async def _issuer(db: AsyncSession, account: two_factor.Account) -> str:
    organization = await db.get_one(models.Organization, account.organization_id)
    return organization.name


async def enroll_totp(
    info: Info, input: Annotated[EnrollTotpInput, strawberry.argument(description=INPUT)]
) -> EnrollResult:
    async def work(db: AsyncSession) -> TotpEnrollment | TwoFactorError:
        found = await _account(info, db, input.mfa_token)
        if found is None:
            return _not_authenticated()
        account = found[0]
        enrollment = await two_factor.enroll(
            db, account, info.context.identity.box, await _issuer(db, account)
        )
        return TotpEnrollment(
            secret=enrollment.secret, uri=enrollment.uri, qr_code_svg=enrollment.qr_svg
        )

    return await attempt(info, work, refusal=TwoFactorError)


async def confirm_totp(
    info: Info, input: Annotated[ConfirmTotpInput, strawberry.argument(description=INPUT)]
) -> ConfirmResult:
    context = info.context

    async def work(db: AsyncSession) -> TotpConfirmed | TwoFactorError:
        found = await _account(info, db, input.mfa_token)
        if found is None:
            return _not_authenticated()
        account, portal, pending = found
        codes, session = await authentication.confirm_totp(
            db,
            context.identity,
            account,
            portal,
            code=input.code,
            caller=None if pending else context.actor,
            pending=pending,
            origin=origin(info),
            now=now(),
        )
        return TotpConfirmed(
            recovery_codes=codes, session=_logged_in(info, session) if session else None
        )

    return await attempt(info, work, refusal=TwoFactorError)


async def _viewer_account(info: Info, db: AsyncSession) -> two_factor.Account:
    found = await _account(info, db, None)
    if found is None:
        raise GraphQLError("Log in first.", extensions={"code": "FORBIDDEN"})
    return found[0]


async def disable_totp(
    info: Info, input: Annotated[TotpCodeInput, strawberry.argument(description=INPUT)]
) -> DisableResult:
    context = info.context

    async def work(db: AsyncSession) -> TotpDisabled | TwoFactorError:
        # A wrong code is answered, not raised: its failure count must be committed.
        refused = await authentication.disable_totp(
            db,
            context.identity,
            context.actor,
            await _viewer_account(info, db),
            code=input.code,
            origin=origin(info),
            now=now(),
        )
        if refused is not None:
            return _two_factor_refusal(refused)
        return TotpDisabled(disabled=True)

    return await attempt(info, work, refusal=TwoFactorError)


async def regenerate_recovery_codes(
    info: Info, input: Annotated[TotpCodeInput, strawberry.argument(description=INPUT)]
) -> RecoveryResult:
    context = info.context

    async def work(db: AsyncSession) -> RecoveryCodes | TwoFactorError:
        codes = await authentication.regenerate_recovery_codes(
            db,
            context.identity,
            context.actor,
            await _viewer_account(info, db),
            code=input.code,
            origin=origin(info),
            now=now(),
        )
        if isinstance(codes, Refused):
            return _two_factor_refusal(codes)  # returned: the failure count is committed
        return RecoveryCodes(codes=codes)

    return await attempt(info, work, refusal=TwoFactorError)


def _two_factor_refusal(refused: Refused) -> TwoFactorError:
    return TwoFactorError.of(DomainError(refused.message, code=refused.code, field=refused.field))


# --- Login codes by email -------------------------------------------------------------------


@strawberry.input(description="A login waiting for its second factor.")
class SendLoginCodeInput:
    mfa_token: Line = strawberry.field(description="From `SecondFactorRequired`.")


@strawberry.type(description="A one-time code is on its way by email.")
class LoginCodeSent:
    email: str = public("The address it was sent to, masked (a***@example.org).")
    expires_in: int = public("Seconds the code is valid.")


SendLoginCodeResult = Annotated[
    LoginCodeSent | TwoFactorError,
    strawberry.union(
        "SendLoginCodeResult",
        description="Answer of `sendLoginCode`: LoginCodeSent, or TwoFactorError (e.g. the login"
        " has expired, or too many codes).",
    ),
]


async def send_login_code(
    info: Info, input: Annotated[SendLoginCodeInput, strawberry.argument(description=INPUT)]
) -> SendLoginCodeResult:
    context = info.context

    async def work(db: AsyncSession) -> LoginCodeSent:
        sent = await authentication.send_login_code(
            db, context.identity, mfa_token=input.mfa_token, origin=origin(info), now=now()
        )
        return LoginCodeSent(email=sent.masked_email, expires_in=sent.expires_in)

    return await attempt(info, work, refusal=TwoFactorError)


# --- Impersonation ---------------------------------------------------------------------------


@strawberry.input(description="Log in as a portal user of the own organization.")
class ImpersonatePortalUserInput:
    portal_user_id: relay.GlobalID = strawberry.field(description="The portal user.")
    reason: Line = strawberry.field(description="Why (audited), e.g. a ticket number.")


@strawberry.type(description="A scoped, read-only access token acting as the portal user.")
class Impersonation:
    access_token: str = public("Bearer token; no refresh token, at most 15 minutes.")
    expires_in: int = public("Seconds until it expires.")
    role: RoleEnum = public("Role of the impersonated portal user.")


@strawberry.type(
    description="A refused impersonation (codes REASON_REQUIRED, NOT_FOUND or"
    " PORTAL_USER_INACTIVE)."
)
class ImpersonationError(Error):
    pass


ImpersonateResult = Annotated[
    Impersonation | ImpersonationError,
    strawberry.union(
        "ImpersonateResult",
        description="Answer of `impersonatePortalUser`: Impersonation with a short-lived token"
        " acting as the portal user, or ImpersonationError.",
    ),
]


async def impersonate_portal_user(
    info: Info, input: Annotated[ImpersonatePortalUserInput, strawberry.argument(description=INPUT)]
) -> ImpersonateResult:
    context = info.context
    user_id = node_uuid(input.portal_user_id, "PortalUser")
    if user_id is None:
        return ImpersonationError.of(NotFound("portal_user_not_found", field="portalUserId"))
    ttl = min(context.settings.impersonation_ttl_seconds, context.tokens.ttl_seconds)

    async def work(db: AsyncSession) -> Impersonation:
        actor = await impersonation.start(
            db,
            context.actor,
            portal_user_id=user_id,
            reason=input.reason,
            policy=context.identity.sessions,
            lifetime_seconds=ttl,
            origin=origin(info),
            now=now(),
        )
        return Impersonation(
            access_token=context.tokens.issue(actor, ttl=ttl), expires_in=ttl, role=actor.role
        )

    return await attempt(info, work, refusal=ImpersonationError)


@strawberry.type
class Mutation:
    """Login, 2FA, sessions, impersonation: fields of the root `Mutation` (merged in root.py)."""

    login: LoginResult = public(
        "Log in with email and password; staff without, portal users with a portal.",
        resolver=login,
    )
    login_with_code: LoginResult = public(
        "Log in to a portal that offers it with a code from `requestLoginCode` instead of"
        " the password; a second factor follows as after `login`.",
        resolver=login_with_code,
    )
    verify_two_factor: SessionResult = public(
        "Finish a login that asked for a second factor.", resolver=verify_two_factor
    )
    send_login_code: SendLoginCodeResult = public(
        "Mail a one-time code that finishes a login waiting for a second factor (portal"
        " users without TOTP).",
        resolver=send_login_code,
    )
    refresh_session: SessionResult = public(
        "New tokens for a refresh token (which is used up).", resolver=refresh_session
    )
    logout: LogoutResult | None = allow(
        AUTHENTICATED,
        description="End the current session.",
        resolver=logout,
        impersonation=permissions.Impersonation.ALWAYS,
    )
    logout_everywhere: LogoutResult | None = allow(
        AUTHENTICATED,
        description="End all sessions of the caller.",
        resolver=logout_everywhere,
    )
    revoke_session: RevokeSessionResult | None = allow(
        AUTHENTICATED,
        description="End one of the caller's own sessions (e.g. of a lost phone); audited.",
        resolver=revoke_session,
    )
    enroll_totp: EnrollResult = public(
        "Start setting up TOTP (logged in, or with the mfaToken of a login that requires it).",
        resolver=enroll_totp,
    )
    confirm_totp: ConfirmResult = public(
        "Activate TOTP with a first code; returns the recovery codes.",
        resolver=confirm_totp,
    )
    disable_totp: DisableResult | None = allow(
        AUTHENTICATED,
        description="Remove TOTP (needs a current or a recovery code).",
        resolver=disable_totp,
    )
    regenerate_recovery_codes: RecoveryResult | None = allow(
        AUTHENTICATED,
        description="Replace the recovery codes (needs a current TOTP code).",
        resolver=regenerate_recovery_codes,
    )
    impersonate_portal_user: ImpersonateResult | None = allow(
        STAFF,
        description="Log in as a portal user (AGENT or ADMIN, own organization, audited).",
        resolver=impersonate_portal_user,
    )
