"""A real SMTP server on loopback for the tests (aiosmtpd), stoppable to simulate an
outage; what it receives is kept by the development mail sink's handler."""

from __future__ import annotations

import socket

from aiosmtpd.controller import Controller

from gql.delivery import SmtpTransport
from gql.dev_mail import MailSink


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    """aiosmtpd on loopback that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink = MailSink()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def transport(self) -> SmtpTransport:
        return SmtpTransport("127.0.0.1", self.port, timeout=5)
