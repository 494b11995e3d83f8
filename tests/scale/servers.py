"""`portal serve` processes for the scale-out tests and `make bench-scale`: each a
subprocess on a free loopback port, on a database given by URL (so several share one),
with the same keys, as a deployment runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.serve_helpers import stop_served

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_served(self.process)


def serve(
    directory: Path, environment: Mapping[str, str], *, workers: int = 1, timeout: float = 120
) -> Served:
    """Start `portal serve --workers N` on `environment` (DATABASE_URL, keys, ...) and
    wait until it answers `/healthz`.

    Raises:
        RuntimeError: it exited or did not answer in time (its output attached).
    """
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(environment)
    env.setdefault("SMTP_PORT", str(free_port()))
    command = [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)]
    command += ["--data-dir", str(directory / "data"), "--workers", str(workers)]
    command += ["--no-demo", "--no-mail-sink", "--no-worker"]
    log = directory / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    served = Served(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"portal serve exited:\n{served.output()}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            served.stop()
            raise RuntimeError(f"portal serve did not come up:\n{served.output()}")
        time.sleep(0.2)
