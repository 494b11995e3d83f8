"""What an email address is, in one place: exactly one mailbox (no list, no display
name), RFC 5321 lengths, an internet domain, checked by email-validator; and its
canonical form (the domain in ASCII by IDNA, everything lower case), so that what is
registered, logged in with, imported or mailed to is compared alike."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from gql.domain import text
from gql.domain.errors import InvalidInput

MAX_LENGTH = 254  # RFC 5321: a path of 256 octets with its angle brackets
MAX_LOCAL_LENGTH = 64


def canonical(raw: str, *, field: str = "email") -> str:
    """The one mailbox `raw` names, in canonical form.

    Raises:
        InvalidInput (code INVALID_EMAIL): anything else.
    """
    value = unicodedata.normalize("NFKC", raw).strip()

    def refused(reason: str) -> InvalidInput:
        return InvalidInput(
            f"Not one valid email address: {reason}", code="INVALID_EMAIL", field=field
        )

    if len(value) > MAX_LENGTH:
        raise refused(f"at most {MAX_LENGTH} characters.")
    if text.unwanted_character(value, multiline=False) is not None:
        raise refused("it contains a control character.")
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise refused(str(error)) from None
    if len(checked.local_part) > MAX_LOCAL_LENGTH:
        raise refused(f"at most {MAX_LOCAL_LENGTH} characters before the @.")
    address = (checked.ascii_email or checked.normalized).lower()
    if len(address) > MAX_LENGTH:
        raise refused(f"at most {MAX_LENGTH} characters.")
    return address
