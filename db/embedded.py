"""An embedded PostgreSQL server for `portal serve` and the test suite.

Uses the machine's PostgreSQL binaries (Debian's `/usr/lib/postgresql/<n>/bin`, or
`postgres` on `PATH`, or `PG_BIN`). PostgreSQL refuses to run as root, so as root the
server runs as the unprivileged `postgres` user (or `nobody`). It listens only on a
Unix socket inside its own data directory, so several checkouts can run side by side,
and it is stopped together with the process that started it.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict
from urllib.parse import quote

DATABASE = "portal"
DATABASE_EXISTS = "SELECT 1 FROM pg_database WHERE datname = 'portal'"
SUPERUSER = "portal"


class EmbeddedPostgresError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """Where `initdb` and `postgres` live, newest major version first."""
    if env := os.environ.get("PG_BIN"):
        return Path(env)
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    if debian:
        return debian[0].parent
    if found := shutil.which("postgres"):
        return Path(found).resolve().parent
    raise EmbeddedPostgresError(
        "no PostgreSQL server binaries found: install Debian's 'postgresql' package "
        "(the Makefile does this), set PG_BIN, or set DATABASE_URL"
    )


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise EmbeddedPostgresError("running as root and no unprivileged user to run PostgreSQL as")


class _RunAs(TypedDict, total=False):
    user: int
    group: int
    extra_groups: list[int]


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL cluster in `<data_dir>/pg`, reachable through a socket in that directory."""

    data_dir: Path
    fast: bool = False  # fsync off: for throwaway test clusters only
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir.resolve() / "pg"

    @property
    def socket_dir(self) -> Path:
        return self.cluster_dir

    @property
    def url(self) -> str:
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql+asyncpg://{SUPERUSER}@/{DATABASE}?host={host}"

    def _popen_user(self) -> _RunAs:
        user = _run_as()
        if user is None:
            return {}
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        if user is not None:
            # The unprivileged server user must reach its directory through every parent.
            for parent in [self.data_dir.resolve(), *self.data_dir.resolve().parents]:
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        self.cluster_dir.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            os.chown(self.cluster_dir, user.pw_uid, user.pw_gid)

    def initialized(self) -> bool:
        return (self.cluster_dir / "PG_VERSION").exists()

    def _stop_orphan(self, timeout: float) -> None:
        """Stop a server left running on this cluster by a process that was killed
        (SIGKILL gives it no chance to stop its server)."""
        pid_file = self.cluster_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return  # no pid file, or its process is gone: nothing runs
        if b"postgres" not in command:
            return  # the pid was reused by something else; postgres handles the stale file
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        raise EmbeddedPostgresError(f"a PostgreSQL (pid {pid}) still runs on {self.cluster_dir}")

    def start(self, timeout: float = 30.0) -> str:
        """Initialise the cluster if needed, start the server, create the database.

        Returns:
            The SQLAlchemy URL of the database.
        Raises:
            EmbeddedPostgresError: binaries missing, or the server did not come up.
        """
        bin_dir = find_bin_dir()
        self._prepare_dirs()
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        run_kwargs = self._popen_user()
        if self.initialized():
            self._stop_orphan(timeout)
        else:
            subprocess.run(  # noqa: S603 - fixed binary, arguments under our control
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.cluster_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                env=env,
                **run_kwargs,
            )
        options = [
            "-c",
            "listen_addresses=",
            "-c",
            f"unix_socket_directories={self.socket_dir}",
            "-c",
            "max_connections=200",
        ]
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            options += ["-c", "full_page_writes=off"]
        with (self.data_dir / "postgres.log").open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603
                [str(bin_dir / "postgres"), "-D", str(self.cluster_dir), *options],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Own session: a terminal's Ctrl-C reaches us, and we stop the server in order.
                start_new_session=True,
                **run_kwargs,
            )
        self._wait_ready(bin_dir, timeout)
        self._create_database(bin_dir)
        return self.url

    def _psql(self, bin_dir: Path, sql: str, database: str = "postgres") -> str:
        psql = bin_dir / "psql"
        command = str(psql) if psql.exists() else (shutil.which("psql") or "psql")
        result = subprocess.run(  # noqa: S603
            [command, "-h", str(self.socket_dir), "-U", SUPERUSER, "-d", database, "-Atc", sql],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(result.stderr.strip())
        return result.stdout.strip()

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited with {self._process.returncode}; "
                    f"see {self.data_dir / 'postgres.log'}"
                )
            with contextlib.suppress(EmbeddedPostgresError):
                self._psql(bin_dir, "SELECT 1")
                return
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedPostgresError("PostgreSQL did not accept connections in time")
            time.sleep(0.1)

    def _create_database(self, bin_dir: Path) -> None:
        exists = self._psql(bin_dir, DATABASE_EXISTS)
        if not exists:
            self._psql(bin_dir, f'CREATE DATABASE "{DATABASE}"')

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown: roll back open transactions, then exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def replica_url(self, primary_url: str) -> str:
        """`primary_url` (a database of the primary) on this server."""
        base, _, query = primary_url.partition("?")
        params = [p for p in query.split("&") if p and not p.startswith("host=")]
        params.append("host=" + quote(str(self.socket_dir), safe=""))
        return f"{base}?{'&'.join(params)}"

    @classmethod
    def replica_of(cls, primary_socket_dir: Path, data_dir: Path) -> EmbeddedPostgres:
        """A streaming replica (hot standby) of the embedded server whose socket is in
        `primary_socket_dir`: a base backup with the replication settings written
        (`pg_basebackup -R`), not started yet (`start()`). The primary's defaults
        allow it: `wal_level=replica`, ten WAL senders, and initdb's `trust` for local
        replication connections."""
        bin_dir = find_bin_dir()
        replica = cls(data_dir, fast=True)
        replica.data_dir.mkdir(parents=True, exist_ok=True)
        replica._prepare_dirs()
        subprocess.run(  # noqa: S603 - fixed binary, arguments under our control
            [
                str(bin_dir / "pg_basebackup"),
                "-h",
                str(primary_socket_dir),
                "-U",
                SUPERUSER,
                "-D",
                str(replica.cluster_dir),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"},
            **replica._popen_user(),
        )
        # The primary's socket lives in its cluster directory, so the backup holds
        # the primary's socket lock file, which would stop the replica from starting.
        for lock in replica.cluster_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink()
        return replica

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
