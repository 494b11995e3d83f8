"""Signed download links: `/documents/<id>?user=..&staff=..&session=..&expires=..&sig=..`.

The signature (HMAC-SHA256) covers the document, the holder (portal user and/or staff
user, and the session the link was issued in) and the expiry, so a link works only for
that document, is attributed to the user it was issued to, and only for
DOCUMENT_URL_TTL_SECONDS and while that session is valid (the download checks that).
Checking the signature needs no database: a tampered link is refused (403), an expired
one is gone (410). The HMAC keys are derived from the Fernet SECRET_KEYS (the first
signs, every one verifies), so rotating those rotates these.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from gql.auth.secrets import secret_keys
from gql.domain.documents import Holder
from gql.settings import Settings

PATH = "/documents/"
_PURPOSE = b"kundenportal document download links v1"


class LinkRefused(Exception):
    status = 403


class LinkInvalid(LinkRefused):
    """Malformed, or signed by no key we have (tampered)."""

    status = 403


class LinkExpired(LinkRefused):
    """Genuine, but past its expiry."""

    status = 410


@dataclass(frozen=True)
class VerifiedLink:
    document_id: uuid.UUID
    holder: Holder


def _message(document_id: str, user: str, staff: str, session: str, expires: str) -> bytes:
    return "\n".join(("document", document_id, user, staff, session, expires)).encode()


@dataclass(frozen=True)
class DocumentLinks:
    keys: tuple[bytes, ...]
    ttl: timedelta

    def _signature(self, key: bytes, message: bytes) -> str:
        digest = hmac.new(key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(self, document_id: uuid.UUID, holder: Holder, now: datetime) -> str:
        """A link for `holder`, valid for the configured time from `now`."""
        return self.signed(document_id, holder, int((now + self.ttl).timestamp()))

    def signed(self, document_id: uuid.UUID, holder: Holder, expires: int) -> str:
        """A link that expires at `expires` (a Unix time)."""
        user = str(holder.portal_user_id or "")
        staff = str(holder.staff_user_id or "")
        session = str(holder.session_id or "")
        message = _message(str(document_id), user, staff, session, str(expires))
        sig = self._signature(self.keys[0], message)
        query = {
            "user": user,
            "staff": staff,
            "session": session,
            "expires": str(expires),
            "sig": sig,
        }
        return PATH + str(document_id) + "?" + urlencode({k: v for k, v in query.items() if v})

    def verify(self, document_id: str, query: Mapping[str, str], now: datetime) -> VerifiedLink:
        """The document and holder of a link.

        Raises:
            LinkInvalid: malformed or not signed by one of our keys.
            LinkExpired: genuine but expired.
        """
        user, staff = query.get("user", ""), query.get("staff", "")
        session, expires, sig = (
            query.get("session", ""),
            query.get("expires", ""),
            query.get("sig", ""),
        )
        message = _message(document_id, user, staff, session, expires)
        if not sig or not any(
            hmac.compare_digest(self._signature(key, message), sig) for key in self.keys
        ):
            raise LinkInvalid("This download link is not valid.")
        try:
            holder = Holder(
                portal_user_id=uuid.UUID(user) if user else None,
                staff_user_id=uuid.UUID(staff) if staff else None,
                session_id=uuid.UUID(session) if session else None,
            )
            verified = VerifiedLink(uuid.UUID(document_id), holder)
            expiry = int(expires)
        except ValueError as exc:  # signed by us, so never; but never trust a parse either
            raise LinkInvalid("This download link is not valid.") from exc
        if now.timestamp() >= expiry:
            raise LinkExpired("This download link has expired; open the document again.")
        return verified


def _derive(fernet_key: str) -> bytes:
    return hmac.new(base64.urlsafe_b64decode(fernet_key), _PURPOSE, hashlib.sha256).digest()


@functools.cache
def links_for(settings: Settings) -> DocumentLinks:
    return DocumentLinks(
        keys=tuple(_derive(key) for key in secret_keys(settings)),
        ttl=timedelta(seconds=settings.document_url_ttl_seconds),
    )
