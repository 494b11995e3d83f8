"""Development only: a local SMTP sink (aiosmtpd) that keeps the last mails in memory
(and, for `portal serve`, in a JSON-lines file in the data directory, so every worker
process can list them), prints each to the log and lists them at `/dev/mails`, so a
person running `make serve` can click an activation or invitation link without a real
mail server."""

from __future__ import annotations

import email
import email.policy
import json
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
from aiosmtpd.controller import Controller
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = structlog.get_logger(__name__)

MAILBOX = "dev-mails.jsonl"  # in the data directory


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

    def __init__(self, keep: int = 200, path: Path | None = None) -> None:
        self.mails: deque[ReceivedMail] = deque(maxlen=keep)
        self.path = path

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
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(asdict(mail)) + "\n")
        log.info("dev_mail.received", to=mail.recipients, subject=mail.subject, text=mail.text)
        return "250 Message accepted for delivery"


def start_sink(host: str, port: int, path: Path | None = None) -> tuple[MailSink, Controller]:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")  # the mails of this run only
    sink = MailSink(path=path)
    controller = Controller(sink, hostname=host, port=port)
    controller.start()
    return sink, controller


def read_mailbox(path: Path, keep: int = 200) -> list[dict[str, Any]]:
    """The last `keep` mails a sink wrote to `path`, newest first."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in reversed(lines[-keep:]) if line.strip()]


def mails_endpoint(path: Path) -> Any:
    async def mails(request: Request) -> Response:
        return JSONResponse(read_mailbox(path))

    return mails
