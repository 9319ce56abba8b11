"""A real PostgreSQL server (the OS package's binaries) in a temporary directory, on a
free loopback port, for a test session or a single test.

``initdb`` refuses to run as root, so under root the cluster belongs to the ``postgres``
user (made by the Debian package) and its programs run as that user. Trust
authentication on 127.0.0.1 only; no fsync (a crash may lose the cluster: it is thrown
away anyway). Stopped by PID (a fast shutdown, then SIGKILL). ``./run tests`` installs
the package; without it these tests fail (never skip).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.processes import free_port

USER = "postgres"


def postgres_bin() -> Path:
    """The newest installed ``/usr/lib/postgresql/<version>/bin``."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(path.split("/")[4])
    )
    assert found, "PostgreSQL is not installed (./run tests installs the postgresql package)"
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="uiwire-postgres-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam(USER)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self._as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self._run(
            [
                "initdb", "-D", "data", "-U", USER, "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions",
            ]
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://{USER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """For asyncpg itself."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        assert self._process is None
        self._process = subprocess.Popen(
            [
                str(self.bin / "postgres"), "-D", "data", "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.directory}",
                "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                "-c", "max_connections=200",
            ],
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            **self._as_user,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode() if self._process.stderr else ""
                raise AssertionError(f"postgres exited: {stderr}")
            ready = subprocess.run(
                [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            assert time.monotonic() < deadline, "postgres did not answer"
            time.sleep(0.05)

    def stop(self) -> None:
        """A fast shutdown (SIGINT: sessions are ended), SIGKILL after 10 s."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stderr:
            process.stderr.close()

    def remove(self) -> None:
        """Stop, and delete the cluster's directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, args: Sequence[str]) -> None:
        done = subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.directory,
            capture_output=True,
            check=False,
            **self._as_user,
        )
        assert done.returncode == 0, f"{args[0]} failed: {done.stderr.decode()}"
