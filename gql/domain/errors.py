"""Expected failures of domain services; the GraphQL layer turns them into result types."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import pydantic

from gql import messages
from gql.messages import Parameter as Parameter  # the domain's name for it


class ErrorCode(enum.StrEnum):
    """Every code a refusal can carry, in every domain (gql/schema/results.py describes
    each; gql/messages/ has its message in each language)."""

    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RULE_VIOLATED = "RULE_VIOLATED"
    RATE_LIMITED = "RATE_LIMITED"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105 - an error code
    TEMPLATE_TOO_COSTLY = "TEMPLATE_TOO_COSTLY"
    DISABLED = "DISABLED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    CADENCE_EXCEEDED = "CADENCE_EXCEEDED"
    OVERDUE_PAYMENTS = "OVERDUE_PAYMENTS"
    TOO_CLOSE_TO_DUE_DATE = "TOO_CLOSE_TO_DUE_DATE"
    INTERVAL_NOT_ALLOWED = "INTERVAL_NOT_ALLOWED"
    OFFER_EXPIRED = "OFFER_EXPIRED"
    METER_NOT_FOUND = "METER_NOT_FOUND"
    METER_DECOMMISSIONED = "METER_DECOMMISSIONED"
    REGISTER_UNKNOWN = "REGISTER_UNKNOWN"
    REGISTER_REQUIRED = "REGISTER_REQUIRED"
    INVALID_VALUE = "INVALID_VALUE"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    TOO_MANY_DIGITS = "TOO_MANY_DIGITS"
    READ_AT_IN_FUTURE = "READ_AT_IN_FUTURE"
    OUTSIDE_CONTRACT_PERIOD = "OUTSIDE_CONTRACT_PERIOD"
    DUPLICATE_READING = "DUPLICATE_READING"
    LESS_THAN_PREVIOUS = "LESS_THAN_PREVIOUS"
    GREATER_THAN_LATER = "GREATER_THAN_LATER"
    IMPLAUSIBLE = "IMPLAUSIBLE"
    OUT_OF_ORDER = "OUT_OF_ORDER"
    EMPTY_FILE = "EMPTY_FILE"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    TYPE_NOT_ALLOWED = "TYPE_NOT_ALLOWED"
    EXECUTABLE = "EXECUTABLE"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PASSWORD = "INVALID_PASSWORD"  # noqa: S105 - an error code
    INVALID_PORTAL_ID = "INVALID_PORTAL_ID"
    INVALID_CODE = "INVALID_CODE"
    INVALID_SESSION = "INVALID_SESSION"
    TOTP_NOT_ENROLLED = "TOTP_NOT_ENROLLED"
    TOTP_ALREADY_ENABLED = "TOTP_ALREADY_ENABLED"
    TOTP_NOT_ENABLED = "TOTP_NOT_ENABLED"
    TOTP_ENABLED = "TOTP_ENABLED"
    TOTP_ONLY = "TOTP_ONLY"
    REASON_REQUIRED = "REASON_REQUIRED"
    PORTAL_USER_INACTIVE = "PORTAL_USER_INACTIVE"
    SSO_PROVIDER_UNKNOWN = "SSO_PROVIDER_UNKNOWN"
    SSO_REDIRECT_URI_NOT_ALLOWED = "SSO_REDIRECT_URI_NOT_ALLOWED"
    SSO_STATE_INVALID = "SSO_STATE_INVALID"
    SSO_NONCE_MISMATCH = "SSO_NONCE_MISMATCH"
    SSO_TOKEN_INVALID = "SSO_TOKEN_INVALID"  # noqa: S105 - an error code
    SSO_PROVIDER_ERROR = "SSO_PROVIDER_ERROR"
    SSO_EMAIL_NOT_VERIFIED = "SSO_EMAIL_NOT_VERIFIED"
    SSO_NO_ACCOUNT = "SSO_NO_ACCOUNT"
    SSO_ACCOUNT_INACTIVE = "SSO_ACCOUNT_INACTIVE"
    REGISTRATION_ELSEWHERE = "REGISTRATION_ELSEWHERE"


class DomainError(Exception):
    """Base of every expected failure; `code` is machine-readable, `field` names the input,
    `parameters` are the values of the rule that refused. `key` names the specific
    sentence in the message catalogues (gql/messages/, de and en, filled with
    `parameters`): callers get it in their language. A refusal whose code is specific
    (not INVALID_INPUT, NOT_FOUND, CONFLICT, RULE_VIOLATED) may give an English sentence
    instead, for `detail` only: the code's message says why in every language
    (tests/test_error_contract.py checks which)."""

    code: str = "ERROR"

    def __init__(
        self,
        key: str,
        *,
        code: str | None = None,
        field: str | None = None,
        parameters: Mapping[str, Parameter | None] | None = None,
    ):
        super().__init__(key)
        self.key = key
        if code is not None:
            self.code = code
        self.field = field
        self.parameters = {
            name: value for name, value in (parameters or {}).items() if value is not None
        }

    @property
    def message(self) -> str:
        """The specific sentence in English (logs, CLI, the `detail` field)."""
        return messages.specific(self.key, "en", self.parameters) or self.key


def invalid_document(error: pydantic.ValidationError, field: str) -> InvalidInput:
    """The first problem pydantic found in a JSON document, named by its path below
    `field` (e.g. `changes.design.primaryColor`)."""
    problem = error.errors()[0]
    path = ".".join(str(step) for step in problem["loc"])
    # pydantic's own words are English; German callers get them inside a German sentence.
    return InvalidInput(
        "document_value_invalid",
        field=field + (f".{path}" if path else ""),
        parameters={"problem": str(problem["msg"])},
    )


class RuleViolation(DomainError):
    code = "RULE_VIOLATED"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"
