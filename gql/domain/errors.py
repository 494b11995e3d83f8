"""Expected failures of domain services; the GraphQL layer turns them into result types."""

from __future__ import annotations

import pydantic


class DomainError(Exception):
    """Base of every expected failure; `code` is machine-readable, `field` names the input."""

    code: str = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field


def invalid_document(error: pydantic.ValidationError, field: str) -> InvalidInput:
    """The first problem pydantic found in a JSON document, named by its path below
    `field` (e.g. `changes.design.primaryColor`)."""
    problem = error.errors()[0]
    path = ".".join(str(step) for step in problem["loc"])
    return InvalidInput(str(problem["msg"]), field=field + (f".{path}" if path else ""))


class RuleViolation(DomainError):
    code = "RULE_VIOLATED"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"
