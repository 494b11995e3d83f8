"""Running wrk (https://github.com/wg/wrk) with bench/wrk_bench.lua and reading what
its done() prints."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

SCRIPT = Path(__file__).with_name("wrk_bench.lua")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    bad_responses: int  # not 2xx, GraphQL errors, or the expected marker missing
    error_sample: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> int:
        return self.bad_responses + self.socket_errors


def ensure_wrk(console: Console) -> str | None:
    """wrk's path; installs Debian's `wrk` package when it is missing and we may."""
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        console.print("[yellow]wrk is missing and can not be installed (needs root and apt-get).")
        return None
    console.print("Installing wrk (Debian package 'wrk')...")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        if done.returncode != 0:
            console.print(f"[yellow]{' '.join(command)} failed:[/yellow] {done.stderr[-500:]}")
            return None
    return shutil.which("wrk")


def parse(output: str) -> WrkResult:
    values: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith("WRK "):
            _, key, *rest = line.split(" ", 2)
            values[key] = rest[0] if rest else ""
    if "requests" not in values:
        raise RuntimeError(f"wrk printed no results:\n{output[-2000:]}")

    def ms(key: str) -> float:
        return int(values[key]) / 1000

    return WrkResult(
        requests=int(values["requests"]),
        seconds=int(values["duration_us"]) / 1e6,
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        max_ms=ms("max_us"),
        non_2xx=int(values["non_2xx"]),
        socket_errors=int(values["socket_errors"]),
        bad_responses=int(values["bad_responses"]),
        error_sample=values.get("error_sample", ""),
    )


async def run(
    wrk: str,
    url: str,
    *,
    mode: str,
    rows: Path,
    marker: str,
    connections: int,
    threads: int,
    seconds: float,
) -> WrkResult:
    """One wrk run against `url` (scheme, host and port; paths come from `rows`)."""
    threads = min(threads, connections)
    process = await asyncio.create_subprocess_exec(
        wrk,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
        "--",
        mode,
        str(rows),
        marker,
        str(threads),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}:\n{text[-2000:]}")
    return parse(text)
