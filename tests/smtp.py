"""A real SMTP server on loopback for the tests (aiosmtpd), stoppable to simulate an
outage, and able to refuse given recipients as a real server does (`550 No such
mailbox`); what it receives is kept by the development mail sink's handler."""

from __future__ import annotations

import socket
from typing import Any

from aiosmtpd.controller import Controller

from gql.delivery import SmtpTransport
from gql.dev_mail import MailSink


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RefusingSink(MailSink):
    """The mail sink, answering RCPT TO for the addresses in `refused` with their reply."""

    def __init__(self, refused: dict[str, str]) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


class SmtpServer:
    """aiosmtpd on loopback that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.refused: dict[str, str] = {}
        self.sink: MailSink = RefusingSink(self.refused)
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def refuse(self, address: str, reply: str = "550 5.1.1 No such mailbox") -> None:
        self.refused[address] = reply

    @property
    def transport(self) -> SmtpTransport:
        return SmtpTransport("127.0.0.1", self.port, timeout=5)
