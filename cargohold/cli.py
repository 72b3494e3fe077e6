"""The ``cargohold`` command: ``serve``, ``worker``, ``fsck``, ``migrate``, ``vulndb``,
``admin``."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from cargohold.config import Settings, load_settings
from cargohold.db.migrate import upgrade
from cargohold.errors import ConfigError
from cargohold.logs import configure_logging
from cargohold.process_exit import on_parent_exit
from cargohold.worker_process import WorkerProcess
from cargohold.worker_signals import pass_on_first_stop_signal_only

if TYPE_CHECKING:
    from cargohold.auth.accounts import AccountService
    from cargohold.content.services import Services
    from cargohold.db.session import Database

log = logging.getLogger("cargohold")

# hyper's per-connection buffer; granian's default (~400 KiB) caps blob transfers.
HTTP_BUFFER_BYTES = 4 * 1024 * 1024
WORKER_STOP_SECONDS = 30


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(
            args.config,
            listen=getattr(args, "listen", None),
            data_dir=args.data_dir,
            database_url=args.database_url,
            workers=getattr(args, "workers", None),
        )
    except ConfigError as exc:
        print(f"cargohold: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    code: int = args.run(settings, args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cargohold", description="container image registry")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="YAML file of settings")
    common.add_argument("--data-dir", type=Path, help="where metadata and blobs live")
    common.add_argument("--database-url", help="sqlite:///PATH or postgresql://USER@HOST/DB")

    def command(name: str, help_text: str, *, options: bool = True) -> argparse.ArgumentParser:
        parents = [common] if options else []
        return commands.add_parser(name, help=help_text, description=help_text, parents=parents)

    serve = command("serve", "run the registry (API, background work) in the foreground")
    serve.add_argument("--listen", help="HOST:PORT to listen on (default 127.0.0.1:5000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default: one per core, at most 8)"
    )
    serve.set_defaults(run=_serve)

    fsck = command("fsck", "check blob storage against the database")
    fsck.add_argument("--repair", action="store_true", help="fix what can be fixed")
    fsck.set_defaults(run=_fsck)

    migrate = command("migrate", "apply database migrations and exit")
    migrate.set_defaults(run=_migrate)

    worker = command("worker", "run only the background workers (scans, updaters), no API")
    worker.set_defaults(run=_worker)

    vulndb = command("vulndb", "the advisory database: update from the feeds, import, export")
    vulndb.add_argument("action", choices=["update", "import", "export", "status"])
    vulndb.add_argument("file", nargs="?", type=Path, help="JSON-lines snapshot (import/export)")
    vulndb.set_defaults(run=_vulndb)

    admin = command("admin", "manage accounts and keys from the server's machine", options=False)
    actions = admin.add_subparsers(required=True, metavar="ACTION", dest="action")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=help_text, description=help_text, parents=[common])

    create_user = action(
        "create-user",
        "make a local user; the password is read from a prompt, or from the first line of "
        "standard input when that is not a terminal",
    )
    create_user.add_argument("name")
    create_user.add_argument("--superuser", action="store_true")
    create_user.add_argument("--email")
    create_user.add_argument(
        "--no-password", action="store_true", help="log in only with tokens or a provider"
    )
    set_password = action("set-password", "set a local user's password")
    set_password.add_argument("name")
    create_token = action("create-token", "make a CLI token for a user and print it (shown once)")
    create_token.add_argument("name", help="the user")
    create_token.add_argument("token_name", help="what the token is for")
    create_token.add_argument("--expires-days", type=int, help="default: never")
    action("rotate-signing-key", "retire the token signing keys and make a new one")
    admin.set_defaults(run=_admin)
    return parser


def _prepare(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    _prepare(settings)
    log.info("database is up to date")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings

    import cargohold.app  # loaded once here; the forked workers inherit it

    _prepare(settings)
    asyncio.run(prepare_first_start(settings))
    # Worker processes read their settings from the environment.
    os.environ.update(
        {
            "CARGOHOLD_LISTEN": settings.listen,
            "CARGOHOLD_DATA_DIR": str(settings.data_dir.resolve()),
            "CARGOHOLD_WORKERS": str(settings.workers),
            # They stop when this process is gone, however it went (app._stop_with_server).
            cargohold.app.SERVER_PID_VARIABLE: str(os.getpid()),
        }
    )
    if settings.database_url:
        os.environ["CARGOHOLD_DATABASE_URL"] = settings.database_url
    os.environ.pop("CARGOHOLD_CONFIG", None)
    if args.config:
        os.environ["CARGOHOLD_CONFIG"] = str(args.config.resolve())
    pass_on_first_stop_signal_only()
    cargohold.app.freeze_startup_objects()  # before the fork: shared with every worker
    background = None
    if settings.background_workers:
        background = WorkerProcess(partial(_background_workers, settings, os.getpid()))
        background.start()
        # The HTTP workers serve requests only.
        os.environ["CARGOHOLD_BACKGROUND_WORKERS"] = "false"
    log.info(
        "cargohold listening",
        extra={"fields": {"listen": settings.listen, "data_dir": str(settings.data_dir)}},
    )
    server = Granian(
        "cargohold.app:create_app_from_environment",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        loop=Loops.uvloop,
        factory=True,
        log_access=False,
        respawn_failed_workers=True,
        # A worker that has not stopped this long after SIGTERM is killed: every write is
        # crash-safe (see content/), and a stop must never hang a deployment.
        workers_kill_timeout=WORKER_STOP_SECONDS,
        http1_settings=HTTP1Settings(max_buffer_size=HTTP_BUFFER_BYTES),
    )
    try:
        server.serve()
    finally:
        if background is not None:
            background.stop(WORKER_STOP_SECONDS)
    return 0


def _background_workers(settings: Settings, server_pid: int) -> None:
    """The body of ``serve``'s background worker process: ``worker_concurrency`` jobs at
    once per HTTP worker, at the lower priority."""
    os.nice(settings.worker_niceness)
    concurrency = settings.worker_concurrency * settings.workers
    settings = settings.model_copy(update={"worker_concurrency": concurrency})
    asyncio.run(run_workers(settings, parent_pid=server_pid))


INITIAL_ADMIN = "admin"
INITIAL_ADMIN_FILE = "initial-admin-password"


async def prepare_first_start(settings: Settings) -> None:
    """Before the workers fork, what each of them would otherwise make at once on a new
    registry: the token signing key, and the first superuser."""
    from cargohold.app import create_auth
    from cargohold.db.session import Database

    db = Database(settings.effective_database_url)
    try:
        auth = create_auth(settings, db)
        await auth.keys.load()
        await ensure_first_superuser(settings, auth.accounts)
    finally:
        await db.dispose()


async def ensure_first_superuser(settings: Settings, accounts: AccountService) -> None:
    """On a registry without users, make the superuser ``admin`` with a random password
    written to ``DATA_DIR/initial-admin-password`` (mode 0600), so that a new install can
    be logged in to at once. The password is never logged."""
    import secrets

    from cargohold.errors import AlreadyExists

    if await accounts.count_users():
        return
    password = secrets.token_urlsafe(18)
    path = settings.data_dir / INITIAL_ADMIN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(password + "\n")
    try:
        await accounts.create_user(INITIAL_ADMIN, password=password, superuser=True)
    except AlreadyExists:
        return  # another node made it first
    log.warning(
        "made the first superuser %r; its password is in %s: log in, change it "
        "(or create your own superuser), then delete that file",
        INITIAL_ADMIN,
        path.resolve(),
    )


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    _prepare(settings)
    log.info("cargohold workers running", extra={"fields": {"data_dir": str(settings.data_dir)}})
    os.nice(settings.worker_niceness)
    asyncio.run(run_workers(settings))
    return 0


def _vulndb(settings: Settings, args: argparse.Namespace) -> int:
    if args.action in ("import", "export") and args.file is None:
        print(f"cargohold: vulndb {args.action} needs a FILE", file=sys.stderr)
        return 2
    _prepare(settings)
    return asyncio.run(vulndb_command(settings, args.action, args.file))


def _admin(settings: Settings, args: argparse.Namespace) -> int:
    from cargohold.errors import CargoholdError, RegistryError

    _prepare(settings)
    try:
        return asyncio.run(admin_command(settings, args))
    except (CargoholdError, ValueError) as exc:
        message = exc.message if isinstance(exc, RegistryError) else str(exc)
        print(f"cargohold: {message}", file=sys.stderr)
        return 1


def read_password(prompt: str = "Password: ") -> str:
    """From a prompt (asked twice) on a terminal, else the first line of standard input."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != password:
        raise ValueError("the two passwords differ")
    return password


async def admin_command(settings: Settings, args: argparse.Namespace) -> int:
    """The ``admin`` actions, on the configured database."""
    from datetime import UTC, datetime

    from cargohold.app import create_auth
    from cargohold.auth.secrets import TokenKind
    from cargohold.db.session import Database

    db = Database(settings.effective_database_url)
    auth = create_auth(settings, db)
    accounts = auth.accounts
    try:
        if args.action == "rotate-signing-key":
            print(json.dumps({"kid": await auth.keys.rotate()}))
            return 0
        if args.action == "create-user":
            password = None if args.no_password else read_password()
            account_id = await accounts.create_user(
                args.name, password=password, email=args.email, superuser=args.superuser
            )
            print(json.dumps({"user": args.name, "id": account_id, "superuser": args.superuser}))
            return 0
        account = await accounts.find(args.name)
        if account is None or account.kind != "user":
            raise ValueError(f"no user {args.name!r}")
        if args.action == "set-password":
            await accounts.set_password(account.id, read_password())
            return 0
        expires = None
        if args.expires_days is not None:
            expires = datetime.now(UTC) + timedelta(days=args.expires_days)
        token = await accounts.create_token(
            account.id, TokenKind.CLI, args.token_name, expires_at=expires
        )
        print(token.text)
        return 0
    finally:
        await db.dispose()


def _fsck(settings: Settings, args: argparse.Namespace) -> int:
    from cargohold.app import create_storage
    from cargohold.content.fsck import check_storage
    from cargohold.db.session import Database

    async def run() -> int:
        db = Database(settings.effective_database_url)
        storage = create_storage(settings)
        try:
            report = await check_storage(db, storage, repair=args.repair)
        finally:
            await db.dispose()
        for line in report.lines():
            print(line)
        return 1 if report.problems and not args.repair else 0

    _prepare(settings)
    return asyncio.run(run())


# Processes without the HTTP application: the workers, and the vulndb commands.


@asynccontextmanager
async def _services(settings: Settings) -> AsyncIterator[tuple[Database, Services]]:
    from cargohold.app import create_storage
    from cargohold.content.services import Services
    from cargohold.db.session import Database

    db = Database(settings.effective_database_url, pool_size=settings.db_pool_size)
    storage = create_storage(settings)
    protection = timedelta(seconds=settings.uploaded_blob_protection_seconds)
    try:
        yield db, Services.build(db, storage, protection)
    finally:
        await storage.close()
        await db.dispose()


async def run_workers(settings: Settings, parent_pid: int | None = None) -> None:
    """Run the background workers until SIGINT or SIGTERM (or, given ``parent_pid``,
    until that process exits: a server killed without stopping us), then stop them
    cleanly."""
    from cargohold.app import create_auth, create_worker_runner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stop_watching = on_parent_exit(loop, parent_pid, stop.set) if parent_pid is not None else None
    async with _services(settings) as (db, services):
        runner = create_worker_runner(settings, db, services, create_auth(settings, db))
        runner.start()
        try:
            await stop.wait()
        finally:
            await runner.stop()
            if stop_watching is not None:
                stop_watching()


async def vulndb_command(settings: Settings, action: str, file: Path | None) -> int:
    """``update`` (fetch the configured feeds now), ``import FILE``, ``export FILE``,
    ``status``. Each change queues a re-match that the workers run."""
    from cargohold.app import feed_sources
    from cargohold.scanner.updaters import http_client, update_feeds

    async with _services(settings) as (_, services):
        store = services.advisories
        if action == "update":
            async with http_client() as client:
                report = await update_feeds(store, feed_sources(settings), client)
            print(json.dumps({"stored": report.stored, "failed": report.failed}))
            return 1 if report.failed else 0
        if action == "export":
            assert file is not None
            count = 0
            with file.open("w", encoding="utf-8") as out:
                async for line in store.export_lines():
                    out.write(line + "\n")
                    count += 1
            print(json.dumps({"exported": count}))
            return 0
        if action == "import":
            assert file is not None
            with file.open(encoding="utf-8") as lines:
                stored = await store.import_lines(list(lines))
            print(json.dumps({"imported": stored}))
            return 0
        print(json.dumps({"advisories": await store.sources()}))
        return 0
