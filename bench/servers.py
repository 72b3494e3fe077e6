"""Start and stop the registries under test, each on loopback in its own temp directory.

- ``reference``: Debian's ``docker-registry`` (CNCF Distribution 2.8), filesystem storage,
  no auth, deletes enabled, its stock in-memory blob descriptor cache, logs to a file.
- ``cargohold``: ``cargohold serve`` as shipped, the embedded default (SQLite WAL, blobs
  on disk, one worker process per core, access log on), logs to a file.
- ``cargohold_postgresql``: the same with ``--database-url`` pointing at a PostgreSQL 15
  that this module starts with its default settings (fsync on, synchronous_commit on).

Every server exposes ``base_url``, ``pid`` (the root of its process tree, for memory and
CPU accounting) and ``auth_headers(scope)``: ``{"Authorization": "Bearer ..."}`` granting
``scope``, or ``{}`` for a registry without auth (the reference). cargohold asks for tokens
on every /v2 request: each cargohold server gets a superuser with a CLI token before it
starts (a token, not a password: a password costs an argon2 verification per token, which
seeding 10,000 repositories would pay 10,000 times), and issues tokens that live a day, so
that no token expires during a run.
"""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.client import TokenSource

PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
CARGOHOLD = Path(sys.executable).with_name("cargohold")
BENCH_USER = "bench"
TOKEN_LIFETIME_SECONDS = 24 * 3600  # the longest cargohold allows


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(
    host: str, port: int, path: str, timeout: float, proc: subprocess.Popen | None, log: Path | None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{tail(log)}")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            if status in (200, 401):
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"server on {host}:{port} not ready after {timeout}s:\n{tail(log)}")


def tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- process tree accounting --------------------------------------------------------------


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ')'
        rest = data[data.rindex(b")") + 2 :].split()
        children.setdefault(int(rest[1]), []).append(int(entry))
    return children


def process_tree(pid: int) -> list[int]:
    children = _children_map()
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def tree_memory_bytes(pid: int) -> tuple[int, int]:
    """(PSS, RSS) summed over the process tree. PSS splits each page among the processes
    that map it, so its sum is what the tree holds in memory; the RSS sum counts a page the
    workers share with the master (the application loaded before forking) once per
    process."""
    pss = rss = 0
    for member in process_tree(pid):
        try:
            pss += _kib_field(f"/proc/{member}/smaps_rollup", "Pss:") * 1024
            rss += _kib_field(f"/proc/{member}/status", "VmRSS:") * 1024
        except OSError:
            continue
    return pss, rss


def _kib_field(path: str, name: str) -> int:
    with open(path) as f:
        for line in f:
            if line.startswith(name):
                return int(line.split()[1])
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """utime + stime (and that of reaped children) over the process tree."""
    ticks = 0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rindex(b")") + 2 :].split()
        # fields 14-17 of stat (utime stime cutime cstime) are rest[11:15]
        ticks += sum(int(x) for x in rest[11:15])
    return ticks / _TICK


# --- servers ------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    label: str
    host: str = "127.0.0.1"
    port: int = 0
    workdir: Path = field(default_factory=Path)
    proc: subprocess.Popen | None = None
    log: Path | None = None
    extra_pids: dict[str, int] = field(default_factory=dict)  # e.g. the PostgreSQL server
    tokens: TokenSource | None = None  # None: the registry has no auth

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def auth_headers(self, scope: str) -> dict[str, str]:
        """Headers that grant ``scope`` (e.g. ``repository:bench/x:pull,push``; several
        scopes space-separated): a bearer token, or ``{}`` when the registry has no auth."""
        return {} if self.tokens is None else self.tokens.headers(scope)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def _popen(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _wait_or_stop(server: Server, timeout: float) -> None:
    try:
        wait_http(server.host, server.port, "/v2/", timeout, server.proc, server.log)
    except BaseException:
        server.stop()
        raise


def start_reference(root: Path) -> Server:
    server = Server("reference", "docker-registry 2.8 (filesystem)")
    server.workdir = root / "reference"
    (server.workdir / "storage").mkdir(parents=True)
    server.port = free_port()
    debug_port = free_port()
    config = server.workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  fields:\n    service: registry\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {server.workdir / 'storage'}\n"
        "  delete:\n    enabled: true\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        "http:\n"
        f"  addr: 127.0.0.1:{server.port}\n"
        f"  debug:\n    addr: 127.0.0.1:{debug_port}\n"
    )
    server.log = server.workdir / "registry.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    server.proc = _popen(["docker-registry", "serve", str(config)], server.log, env)
    _wait_or_stop(server, 30)
    return server


def start_cargohold(
    root: Path,
    database_url: str | None = None,
    name: str = "cargohold",
    label: str = "cargohold (SQLite)",
) -> Server:
    server = Server(name, label)
    server.workdir = root / name
    server.workdir.mkdir(parents=True)
    server.port = free_port()
    server.log = server.workdir / "cargohold.log"
    storage = ["--data-dir", str(server.workdir / "data")]
    if database_url:
        storage += ["--database-url", database_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    token = _bench_superuser(storage, env)
    env["CARGOHOLD_TOKEN_LIFETIME_SECONDS"] = str(TOKEN_LIFETIME_SECONDS)
    server.tokens = TokenSource(server.host, server.port, (BENCH_USER, token))
    argv = [str(CARGOHOLD), "serve", "--listen", server.hostport, *storage]
    server.proc = _popen(argv, server.log, env)
    _wait_or_stop(server, 60)
    return server


def _bench_superuser(storage: list[str], env: dict[str, str]) -> str:
    """Make the superuser ``bench`` (no password) on the data and database that
    ``storage`` (``--data-dir``, ``--database-url``) names; return a CLI token of it."""
    admin = [str(CARGOHOLD), "admin"]
    for action in (["create-user", BENCH_USER, "--superuser", "--no-password"],
                   ["create-token", BENCH_USER, "bench"]):  # fmt: skip
        result = subprocess.run(
            [*admin, *action, *storage],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"cargohold admin {action[0]} failed: {result.stderr[-2000:]}")
    return result.stdout.strip()


class Postgres:
    """A PostgreSQL 15 cluster with default settings, owned by the postgres user."""

    def __init__(self, root: Path) -> None:
        self.base = root / "postgresql"
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.log = self.base / "server.log"
        self.port = 0
        self.pid = 0
        self._as_root = os.geteuid() == 0

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        result = subprocess.run(
            prefix + argv, capture_output=True, text=True, cwd=self.base, timeout=120, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed: {result.stdout}\n{result.stderr}\n{tail(self.log)}"
            )
        return result

    def start(self) -> str:
        self.base.mkdir(parents=True)
        self.sock.mkdir()
        if self._as_root:
            account = pwd.getpwnam("postgres")
            for path in (self.base, self.sock):
                os.chown(path, account.pw_uid, account.pw_gid)
        # --no-sync only skips initdb's own final fsync; the server keeps its defaults.
        self._run(
            [
                str(PG_BINDIR / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        self.port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.sock}"
        )
        self._run(
            [
                str(PG_BINDIR / "pg_ctl"),
                "start",
                "-D",
                str(self.data),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log),
                "-o",
                options,
            ]
        )
        self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        subprocess.run(
            [
                str(PG_BINDIR / "psql"),
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-c",
                "CREATE DATABASE cargohold",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/cargohold"

    def stop(self) -> None:
        if self.pid:
            try:
                self._run(
                    [
                        str(PG_BINDIR / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.data),
                        "-m",
                        "fast",
                        "-w",
                        "-t",
                        "60",
                    ]
                )
            except RuntimeError as exc:
                print(f"warning: {exc}", file=sys.stderr)
            self.pid = 0


class Fleet:
    """All servers of one benchmark run; ``stop()`` always, also after a failure."""

    def __init__(self, with_postgres: bool = True, keep: bool = False) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cargohold-bench-"))
        self.root.chmod(0o755)  # the postgres user must reach its directory inside
        self.with_postgres = with_postgres
        self.keep = keep
        self.servers: list[Server] = []
        self.postgres: Postgres | None = None

    def start(self) -> list[Server]:
        self.servers.append(start_reference(self.root))
        self.servers.append(start_cargohold(self.root))
        if self.with_postgres:
            self.postgres = Postgres(self.root)
            url = self.postgres.start()
            server = start_cargohold(
                self.root, url, "cargohold_postgresql", "cargohold (PostgreSQL)"
            )
            server.extra_pids["postgresql"] = self.postgres.pid
            self.servers.append(server)
        return self.servers

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        if self.postgres is not None:
            self.postgres.stop()
        if self.keep:
            print(f"kept {self.root}", file=sys.stderr)
        else:
            shutil.rmtree(self.root, ignore_errors=True)
