"""A throwaway PostgreSQL server for one test session, from Debian's binaries.

``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres``
user (``runuser -u postgres --``) on a temporary directory that user owns. The server
trusts every local connection, skips fsync, listens on 127.0.0.1 on a free port (never
on 5432, where a packaged cluster may run) and keeps its unix socket in its own directory.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import tempfile
import uuid
from pathlib import Path

from .processes import free_port, run, tail

DEFAULT_BINDIRS = ("/usr/lib/postgresql/15/bin",)
SERVICE_USER = "postgres"


def find_bindir() -> Path:
    """Locate the PostgreSQL server binaries, or fail with what to install.

    ``CARGOHOLD_TEST_PG_BINDIR`` overrides the search; otherwise Debian's version 15 is
    preferred, then the newest ``/usr/lib/postgresql/*/bin``.
    """
    override = os.environ.get("CARGOHOLD_TEST_PG_BINDIR")
    candidates = [Path(override)] if override else []
    candidates += [Path(d) for d in DEFAULT_BINDIRS]
    others = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(others, key=_major_version, reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise RuntimeError(
        "PostgreSQL server binaries not found (looked for initdb and pg_ctl in "
        f"{', '.join(map(str, candidates)) or '/usr/lib/postgresql/*/bin'}). "
        "Install them with `apt-get install postgresql` (see .ci/run) or set "
        "CARGOHOLD_TEST_PG_BINDIR."
    )


class PostgresServer:
    """One PostgreSQL server in a temporary directory; ``start()``, then ``stop()``.

    ``create_database()`` hands out a fresh, empty database per call, so tests never see
    each other's rows.
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir or find_bindir()
        self.host = "127.0.0.1"
        self.port = 0
        self.user = SERVICE_USER
        self.base_dir = Path(tempfile.mkdtemp(prefix="cargohold-pg-"))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.log_file = self.base_dir / "server.log"
        self._as_root = os.geteuid() == 0
        self._started = False

    def start(self) -> None:
        """Initialise a cluster and start the server; return once it accepts connections."""
        self.socket_dir.mkdir()
        if self._as_root:
            account = pwd.getpwnam(SERVICE_USER)
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        self._run_as_service(
            [self.bindir / "initdb", "-D", self.data_dir, "-A", "trust", "-U", self.user,
             "-E", "UTF8", "--locale=C", "--no-sync"],
            timeout=120,
        )
        last_error: AssertionError | None = None
        for _attempt in range(3):
            self.port = free_port(self.host)
            options = " ".join([
                f"-c listen_addresses={self.host}",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ])
            try:
                self._run_as_service(
                    [self.bindir / "pg_ctl", "start", "-D", self.data_dir, "-w", "-t", "60",
                     "-l", self.log_file, "-o", options],
                    timeout=90,
                )
            except AssertionError as exc:  # most likely the port was taken meanwhile
                last_error = exc
                continue
            self._started = True
            return
        raise AssertionError(
            f"PostgreSQL did not start: {last_error}\n--- server log ---\n{tail(self.log_file)}"
        )

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away) and delete its directory, in
        the background: a session's thousands of databases take 20 s and more to delete."""
        if self._started:
            self._run_as_service(
                [self.bindir / "pg_ctl", "stop", "-D", self.data_dir, "-m", "immediate",
                 "-w", "-t", "60"],
                timeout=90,
                check=False,
            )
            self._started = False
        subprocess.Popen(  # not waited for: it may outlive the test session
            ["rm", "-rf", "--", str(self.base_dir)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def url(self, database: str = "postgres") -> str:
        """The connection URL of ``database``, as cargohold's ``--database-url`` takes it."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """Create a database with a unique name, empty or a copy of the database named
        ``template`` (which nobody may be connected to); return its URL."""
        name = f"cargohold_{uuid.uuid4().hex[:16]}"
        copy = f' TEMPLATE "{template}"' if template else ""
        self.psql(f'CREATE DATABASE "{name}"{copy}')
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL statement with ``psql`` and return its unaligned output."""
        result = run(
            [self.bindir / "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database,
             "-c", sql],
            timeout=60,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        return result.stdout

    def _run_as_service(
        self, command: list[str | Path], *, timeout: float, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        prefix: list[str | Path] = ["runuser", "-u", SERVICE_USER, "--"] if self._as_root else []
        return run([*prefix, *command], timeout=timeout, check=check, cwd=self.base_dir)


def _major_version(bindir: Path) -> int:
    match = re.search(r"/(\d+)/bin$", str(bindir))
    return int(match.group(1)) if match else 0
