"""Registration, activation, password reset and invitations as operations, and the mails
they send: shared by the tests that walk these flows (registration, secrets in logs,
fuzzing)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gql import delivery
from gql.delivery import RetryPolicy
from gql.dev_mail import ReceivedMail
from gql.domain import registration
from gql.domain.registration import AccessConfig
from gql.settings import Settings
from tests.conftest import CUSTOMER_PORTAL, global_id
from tests.smtp import SmtpServer

PORTAL = global_id("Portal", CUSTOMER_PORTAL)
PASSWORD = "Zählerstand-2026!"
# The mail worker's view of the settings: the defaults, as in the app under test.
WORKER = AccessConfig.from_settings(Settings(environment="test", password_profile="test"))

FRAGMENTS = {
    "RequestReceived": "message",
    "AccountActivated": "email canLogIn",
    "PasswordReset": "email",
    "PortalUserPayload": "revokedSessions portalUser { email registrationStatus"
    " assignmentStatus contact { customerNumber } }",
    "BulkInvitationPayload": "invited skipped remaining",
}


def mutation(name: str, input_type: str, result: str) -> str:
    return (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename"
        f" ... on {result} {{ {FRAGMENTS[result]} }}"
        " ... on MutationError { code message field } } }"
    )


REGISTER = mutation("register", "RegisterInput", "RequestReceived")
ACTIVATE = mutation("activateAccount", "TokenInput", "AccountActivated")
RESEND = mutation("resendActivation", "PortalEmailInput", "RequestReceived")
REQUEST_RESET = mutation("requestPasswordReset", "PortalEmailInput", "RequestReceived")
RESET = mutation("resetPassword", "TokenPasswordInput", "PasswordReset")
ACCEPT = mutation("acceptInvitation", "TokenPasswordInput", "AccountActivated")
INVITE = mutation("inviteContact", "InviteContactInput", "PortalUserPayload")
INVITE_ALL = mutation(
    "inviteUninvitedContacts", "InviteUninvitedContactsInput", "BulkInvitationPayload"
)
SET_PASSWORD = mutation("setPortalUserPassword", "SetPortalUserPasswordInput", "PortalUserPayload")
ACTIVATE_USER = mutation("activatePortalUser", "PortalUserIdInput", "PortalUserPayload")
DEACTIVATE_USER = mutation("deactivatePortalUser", "PortalUserIdInput", "PortalUserPayload")
ASSIGN = mutation("assignPortalUser", "AssignPortalUserInput", "PortalUserPayload")


async def mails(smtp: SmtpServer, sessions: async_sessionmaker[AsyncSession]) -> list[ReceivedMail]:
    """What the mail worker sends: it answers the queued requests, then delivers."""
    await registration.answer_requests(sessions, WORKER)
    await delivery.deliver_due(sessions, smtp.transport, RetryPolicy())
    return list(smtp.sink.mails)


def token_of(mail: ReceivedMail, path: str) -> str:
    pages = r"https://musterstadt\.portale\.example/portal"
    match = re.search(rf"{pages}/{path}\?token=([\w-]+)", mail.text)
    assert match, mail.text
    return match.group(1)
