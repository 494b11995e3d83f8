"""Child processes of the benchmark (servers under test) and what they cost in CPU.

Every server runs in its own session (process group), so a terminal's Ctrl-C reaches
only the benchmark, which then stops each group in order: SIGTERM, and SIGKILL for
whatever still runs after a grace period. Nothing outlives the benchmark.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    return text.rsplit(")", 1)[1].split()


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children = _children_by_parent()
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process tree: utime + stime of every live process, plus
    cutime + cstime (the CPU of children that exited and were reaped)."""
    ticks = 0
    for pid in process_tree(root):
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / CLOCK_TICKS


@dataclass
class Server:
    """A server under test: a command, the port it listens on, how to see it is up."""

    name: str
    command: list[str]
    port: int
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_path: str = "/healthz"
    ready: Callable[[httpx.Response], bool] = lambda response: response.status_code == 200
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.pid

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
                cwd=self.cwd,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float, probe: Callable[[str], httpx.Response]) -> None:
        """Until `probe(url + ready_path)` satisfies `ready`; raises with the log's tail
        when the process exits or the time is up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if self.ready(probe(self.url + self.ready_path)):
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not come up in {timeout:.0f} s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to the whole process group, SIGKILL after `grace` seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # workers that outlived their parent
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """The server started for the block and stopped however it ends."""
    try:
        server.start()
        yield server
    finally:
        server.stop()


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C (through `finally`), so children are stopped."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
