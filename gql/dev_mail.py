"""Development only: a local SMTP sink (aiosmtpd) that keeps the last mails in memory,
prints each to the log and lists them at `/dev/mails`, so a person running `make
serve` can click an activation or invitation link without a real mail server."""

from __future__ import annotations

import email
import email.policy
from collections import deque
from dataclasses import dataclass
from typing import Any

import structlog
from aiosmtpd.controller import Controller
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ReceivedMail:
    message_id: str
    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str


class MailSink:
    """aiosmtpd handler that keeps what it receives."""

    def __init__(self, keep: int = 200) -> None:
        self.mails: deque[ReceivedMail] = deque(maxlen=keep)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        mail = ReceivedMail(
            message_id=str(message.get("Message-ID", "")),
            sender=envelope.mail_from,
            recipients=list(envelope.rcpt_tos),
            # A long subject arrives folded; unfolded, it starts with the folding space.
            subject=" ".join(str(message.get("Subject", "")).split()),
            text=text.get_content() if text is not None else "",
            html=html.get_content() if html is not None else "",
        )
        self.mails.append(mail)
        log.info("dev_mail.received", to=mail.recipients, subject=mail.subject, text=mail.text)
        return "250 Message accepted for delivery"


def start_sink(host: str, port: int) -> tuple[MailSink, Controller]:
    sink = MailSink()
    controller = Controller(sink, hostname=host, port=port)
    controller.start()
    return sink, controller


def mails_endpoint(sink: MailSink) -> Any:
    async def mails(request: Request) -> Response:
        return JSONResponse([mail.__dict__ for mail in reversed(sink.mails)])

    return mails
