"""Development only: a local SMTP sink (aiosmtpd) that keeps the last mails in memory
(and, for `portal serve`, in a JSON-lines file in the data directory, so every worker
process can list them), prints each to the log and lists them at `/dev/mails`, so a
person running `make serve` can click an activation or invitation link without a real
mail server."""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import structlog
from aiosmtpd.controller import Controller
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

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


LINK = re.compile(r"https?://[^\s<>\"']+")
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _linked(text: str) -> str:
    """The text escaped for HTML, with its URLs as links."""
    parts, last = [], 0
    for match in LINK.finditer(text):
        parts.append(html.escape(text[last : match.start()]))
        url = html.escape(match.group(0))
        parts.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


def mails_page(mails: list[dict[str, Any]]) -> str:
    """The mails as a page a person reads: newest first, links clickable."""
    items = "".join(
        "<article><h2>{subject}</h2><p>To {to} &middot; from {sender}</p><pre>{text}</pre>"
        "</article>".format(
            subject=html.escape(mail["subject"]),
            to=html.escape(", ".join(mail["recipients"])),
            sender=html.escape(mail["sender"]),
            text=_linked(mail["text"]),
        )
        for mail in mails
    )
    empty = "<p>No mails yet. Register or request a password reset to get one.</p>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Mails of the development sink</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "article{border-bottom:1px solid #ccc;padding:.5rem 0}"
        "pre{white-space:pre-wrap;font-family:inherit}h2{font-size:1.1rem;margin:.5rem 0}"
        "p{color:#555;margin:.25rem 0}</style></head><body>"
        f"<h1>Mails ({len(mails)})</h1>"
        '<p>Newest first. As JSON: <a href="?format=json">?format=json</a>.</p>'
        f"{items or empty}</body></html>"
    )


def mails_endpoint(path: Path) -> Any:
    """`/dev/mails`: an HTML page for a browser (Accept: text/html), JSON otherwise or
    with `?format=json`."""

    async def mails(request: Request) -> Response:
        found = read_mailbox(path)
        wants_page = "text/html" in request.headers.get("accept", "")
        if wants_page and request.query_params.get("format") != "json":
            return HTMLResponse(mails_page(found), headers={"content-security-policy": PAGE_CSP})
        return JSONResponse(found)

    return mails
