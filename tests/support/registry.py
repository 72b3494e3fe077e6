"""``cargohold serve`` as a real subprocess, for tests that drive it from the outside.

A ``RegistryProcess`` owns one data directory and one metadata database. It can be
stopped, SIGKILLed and started again on the same data and port, which is what restart and
crash tests need. The server runs in its own process group, so a kill takes its workers
with it; its stdout and stderr go to a log file that failures print. Before its first start
it gets a superuser (``support.auth.ADMIN``, made with ``cargohold admin create-user``),
whose credentials it exposes for the clients that log in.
"""

from __future__ import annotations

import contextlib
import enum
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from .auth import ADMIN, Credentials, RegistryAuth, sync_token_for
from .processes import free_port, run, tail

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


def cargohold_command() -> list[str]:
    """The command that runs the cargohold CLI of the Python running the tests."""
    script = Path(sys.executable).parent / "cargohold"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "cargohold"]


def server_environment() -> dict[str, str]:
    """The caller's environment without ``CARGOHOLD_*`` settings that could leak in."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}


class RegistryProcess:
    """A cargohold server on ``127.0.0.1`` with its own data directory and database.

    ``host`` is ``"127.0.0.1:PORT"`` (what clients put in image references), ``url`` is
    ``"http://127.0.0.1:PORT"``, ``credentials`` the superuser's username and password.
    The first ``start()`` makes that superuser; every ``start()`` returns once ``GET /v2/``
    answers 200 to an anonymous token and fails with the server's log when it does not
    within ``ready_timeout`` seconds.
    """

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None,
        *,
        log_dir: Path | None = None,
        workers: int | None = None,
        extra_args: Sequence[str] = (),
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.credentials: Credentials = ADMIN
        self.port = free_port()
        self.workers = workers
        self.extra_args = list(extra_args)
        self.ready_timeout = ready_timeout
        self.log_dir = log_dir or data_dir.parent
        self.log_file = self.log_dir / f"cargohold-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.last_exit_code: int | None = None
        self.last_stop_escalated = False

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def http(self, timeout: float = 60.0) -> httpx.Client:
        """An HTTP client whose base URL is this registry, logged in as the superuser
        (``RegistryAuth``); close it, or use ``with``."""
        return httpx.Client(base_url=self.url, timeout=timeout, auth=RegistryAuth(self.credentials))

    def token(self, scope: str) -> str:
        """A bearer token of the superuser for ``scope``, for requests sent by hand."""
        with httpx.Client(base_url=self.url, timeout=30.0) as client:
            return sync_token_for(client, scope, self.credentials)

    def cli(self, *args: str) -> list[str]:
        """The ``cargohold`` command ``args`` on this registry's data and database."""
        argv = [*cargohold_command(), *args, "--data-dir", str(self.data_dir)]
        if self.database_url is not None:
            argv += ["--database-url", self.database_url]
        return argv

    def command(self) -> list[str]:
        argv = [*self.cli("serve"), "--listen", self.host]
        if self.workers is not None:
            argv += ["--workers", str(self.workers)]
        return argv + self.extra_args

    def start(self) -> None:
        """Start the server (again) on the same data and port; wait until it is ready."""
        if self.running:
            raise RuntimeError(f"cargohold on {self.host} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.starts == 0:
            self._create_superuser()
        self.starts += 1
        with self.log_file.open("ab") as log:
            log.write(f"\n=== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=server_environment(),
                start_new_session=True,
            )
        self._wait_ready()

    def stop(self) -> None:
        """Stop the server with SIGTERM (SIGKILL after a grace period) and reap it.

        ``last_exit_code`` then holds its exit code, and ``last_stop_escalated`` tells
        whether it had to be SIGKILLed.
        """
        self._signal_and_wait(signal.SIGTERM, STOP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL the server's whole process group at once, as a crash would."""
        self._signal_and_wait(signal.SIGKILL, STOP_TIMEOUT)

    def logs(self) -> str:
        """Everything the server printed so far, over all its starts."""
        return tail(self.log_file, limit=10_000_000)

    def fsck(
        self, *, repair: bool = False, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``cargohold fsck`` on this registry's data; the caller checks the exit code."""
        argv = self.cli("fsck")
        if repair:
            argv.append("--repair")
        return run(argv, timeout=timeout, env=server_environment(), check=False)

    def _create_superuser(self) -> None:
        username, password = self.credentials
        run(
            self.cli("admin", "create-user", username, "--superuser"),
            env=server_environment(),
            stdin_text=password + "\n",
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last_problem = "no answer yet"
        with httpx.Client(timeout=2.0, auth=RegistryAuth()) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                code = self.process.poll()
                if code is not None:
                    raise AssertionError(
                        f"cargohold exited with {code} before it was ready\n"
                        f"--- command ---\n{' '.join(self.command())}\n"
                        f"--- log ---\n{tail(self.log_file)}"
                    )
                try:
                    response = client.get(f"{self.url}/v2/")
                except httpx.TransportError as exc:
                    last_problem = repr(exc)
                else:
                    if response.status_code == 200:
                        return
                    last_problem = f"GET /v2/ answered {response.status_code}: {response.text}"
                time.sleep(0.05)
        self.kill()
        raise AssertionError(
            f"cargohold was not ready within {self.ready_timeout}s ({last_problem})\n"
            f"--- command ---\n{' '.join(self.command())}\n--- log ---\n{tail(self.log_file)}"
        )

    def _signal_and_wait(self, signum: signal.Signals, timeout: float) -> None:
        process = self.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        self.last_stop_escalated = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.last_stop_escalated = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
        self.last_exit_code = process.returncode
        _kill_group_leftovers(process.pid)
        self.process = None


def _kill_group_leftovers(pgid: int) -> None:
    """SIGKILL what is left of a process group whose leader has exited (e.g. workers)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + 3.0  # members already dead may linger as zombies
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


class Fresh(enum.Enum):
    """Marker for "a new, empty database of the kind under test"."""

    DATABASE = "fresh database"


class RegistryFactory:
    """Makes ``RegistryProcess``es on fresh data under ``base_dir``; ``close()`` kills them.

    ``factory()`` gives a started server on a new database of the kind under test;
    ``database_url=None`` leaves the server on its default (SQLite in its data dir), and
    ``start=False`` returns it unstarted. Each function of ``on_made`` is called with every
    server made from then on, before it starts.
    """

    def __init__(self, base_dir: Path, fresh_database_url: Callable[[Path], str]) -> None:
        self.base_dir = base_dir
        self.fresh_database_url = fresh_database_url
        self.made: list[RegistryProcess] = []
        self.on_made: list[Callable[[RegistryProcess], None]] = []

    def __call__(
        self,
        *,
        database_url: str | Fresh | None = Fresh.DATABASE,
        start: bool = True,
        workers: int | None = None,
    ) -> RegistryProcess:
        base = self.base_dir / f"registry-{len(self.made)}"
        base.mkdir(parents=True)
        url = self.fresh_database_url(base) if database_url is Fresh.DATABASE else database_url
        server = RegistryProcess(base / "data", url, log_dir=base, workers=workers)
        self.made.append(server)
        for hook in self.on_made:
            hook(server)
        if start:
            server.start()
        return server

    def close(self) -> None:
        for server in self.made:
            server.kill()
