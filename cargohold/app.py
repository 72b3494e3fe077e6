"""Wiring: the one place that picks implementations (database, storage driver) and builds
the ASGI application from settings."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Mount

from cargohold.auth.audit import ROTATE_JOB, AuditLog
from cargohold.auth.ldap import LdapProvider
from cargohold.auth.oidc import OidcProvider
from cargohold.auth.services import AuthServices
from cargohold.auth.tokens import installation_secret
from cargohold.config import Settings, load_settings
from cargohold.content.advisories import REMATCH_JOB, UPDATE_JOB
from cargohold.content.gc import GarbageCollector, GcSettings
from cargohold.content.scans import SBOM_REFERRER_JOB, SCAN_JOB
from cargohold.content.services import Services
from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.errors import NameUnknown, RegistryError, Unsupported
from cargohold.logs import AccessLog, configure_logging
from cargohold.oci.responses import error_response
from cargohold.oci.routes import ROUTES
from cargohold.process_exit import on_parent_exit
from cargohold.scanner.updaters import FeedSources, http_client, update_feeds
from cargohold.storage.driver import StorageDriver
from cargohold.storage.filesystem import FilesystemDriver
from cargohold.worker_signals import stop_at_once_while_starting
from cargohold.workers.runner import Handler, RunnerSettings, StartupHook, WorkerRunner
from cargohold.workers.tag_lifecycle import TagLifecycleJobs

log = logging.getLogger(__name__)

AUDIT_ROTATION_INTERVAL = timedelta(hours=24)

# Set by ``cli serve`` for its HTTP workers: the pid of the server process that made them.
SERVER_PID_VARIABLE = "CARGOHOLD_SERVER_PID"
# How long an HTTP worker whose server is gone may take to stop: in-flight requests may
# finish meanwhile, the rest are abandoned (every write is crash-safe, see content/).
ORPHANED_WORKER_STOP_SECONDS = 5


def create_storage(settings: Settings) -> StorageDriver:
    return FilesystemDriver(settings.blob_dir)


def create_app(settings: Settings, *, server_pid: int | None = None) -> Starlette:
    """The registry application. Its database must already be migrated (``cli serve``
    does that before starting workers). Given ``server_pid``, the pid of the server process
    that made this HTTP worker process, the worker stops by itself once that process is
    gone (``_stop_with_server``)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.effective_database_url, pool_size=settings.db_pool_size)
        storage = create_storage(settings)
        protection = timedelta(seconds=settings.uploaded_blob_protection_seconds)
        app.state.services = services = Services.build(db, storage, protection)
        app.state.auth = auth = create_auth(settings, db)
        await auth.keys.load()
        auth.audit.start()
        runner = create_worker_runner(settings, db, services, auth)
        if settings.background_workers:
            runner.start()
        stop_watching = _stop_with_server(server_pid) if server_pid is not None else None
        try:
            yield
        finally:
            if stop_watching is not None:
                stop_watching()
            await runner.stop()
            await auth.audit.stop()
            await storage.close()
            await db.dispose()

    from cargohold.api.app import create_api  # 2 s of FastAPI models: not for the CLI's commands

    api = create_api()
    app = Starlette(
        routes=[ROUTES, Mount("/api/v1", app=api)],
        lifespan=lifespan,
        middleware=[Middleware(AccessLog, enabled=settings.access_log)],
        exception_handlers={
            RegistryError: _registry_error,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            Exception: _internal_error,
        },
    )
    app.state.settings = settings
    api.state = app.state  # the API's handlers reach the services the lifespan builds
    return app


def freeze_startup_objects() -> None:
    """Exempt everything alive now (modules, the application) from the garbage collector.

    A full collection walks every tracked object: with the scanner, SQLAlchemy and the
    API loaded, that took 30 to 200 ms per worker under load when measured, several times a
    minute, and was the 99th percentile of a manifest GET. Frozen objects are never freed
    and never walked again; what requests create is collected as before. There is no
    collection first: it would write to every object, and copy into each worker the pages
    it shares with the server process that forked it (242 instead of 188 MiB for an idle
    registry of two workers, measured)."""
    gc.freeze()


def create_auth(settings: Settings, db: Database) -> AuthServices:
    """Identity and access on ``db``, with the LDAP directory and the OIDC provider that
    are configured."""
    return AuthServices.build(
        db,
        secret=installation_secret(settings),
        service=settings.token_service,
        token_lifetime=settings.token_lifetime_seconds,
        ldap=LdapProvider(settings.ldap) if settings.ldap else None,
        oidc=OidcProvider(settings.oidc) if settings.oidc else None,
    )


def create_worker_runner(
    settings: Settings, db: Database, services: Services, auth: AuthServices
) -> WorkerRunner:
    """The background workers: image scans, SBOM referrers, re-matches after advisory
    updates, garbage collection, the audit log's rotation (when ``audit_retention_days``
    is set) and, when ``vulndb_update`` is on, the scheduled updaters. Not started."""
    handlers: dict[str, Handler] = {
        SCAN_JOB: services.scans.scan,
        SBOM_REFERRER_JOB: services.sbom_referrers.attach,
        REMATCH_JOB: services.scans.rematch,
    }
    collector = create_collector(settings, db, services.blobs.storage)
    handlers.update(collector.handlers())
    startup: list[StartupHook] = [services.scans.requeue_stale, collector.schedule]
    tag_jobs = create_tag_jobs(db, services, auth)
    handlers.update(tag_jobs.handlers())
    startup.append(tag_jobs.schedule)
    if settings.audit_retention_days:
        handlers[ROTATE_JOB] = _audit_rotation_job(settings, auth.audit)

        async def schedule_rotation() -> None:
            await auth.audit.schedule_rotation(None, if_absent=True)

        startup.append(schedule_rotation)
    if settings.vulndb_update:
        handlers[UPDATE_JOB] = _vulndb_update_job(settings, services)

        async def schedule_updates() -> None:
            await services.advisories.schedule_update(None, if_absent=True)

        startup.append(schedule_updates)
    runner_settings = RunnerSettings(
        concurrency=settings.worker_concurrency, poll_seconds=settings.worker_poll_seconds
    )
    return WorkerRunner(db, handlers, runner_settings, startup)


def create_collector(settings: Settings, db: Database, storage: StorageDriver) -> GarbageCollector:
    """Garbage collection's job handlers, with the settings' windows."""
    return GarbageCollector(
        db,
        storage,
        GcSettings(
            protection=timedelta(seconds=settings.uploaded_blob_protection_seconds),
            grace=timedelta(seconds=settings.gc_grace_seconds),
            abandon=timedelta(seconds=settings.upload_abandon_seconds),
            interval=timedelta(seconds=settings.gc_interval_seconds),
        ),
    )


def create_tag_jobs(db: Database, services: Services, auth: AuthServices) -> TagLifecycleJobs:
    """Tag expiry and auto-prune, audited."""
    return TagLifecycleJobs(db, services.tag_history, services.prune_policies, auth.audit)


def feed_sources(settings: Settings) -> FeedSources:
    """The advisory feeds the settings ask for."""
    return FeedSources(
        debian_url=settings.vulndb_debian_url,
        alpine_url=settings.vulndb_alpine_url,
        alpine_releases=tuple(settings.vulndb_alpine_releases),
        alpine_repositories=tuple(settings.vulndb_alpine_repositories),
        osv_url=settings.vulndb_osv_url,
        osv_ecosystems=tuple(settings.vulndb_osv_ecosystems),
    )


def _vulndb_update_job(settings: Settings, services: Services) -> Handler:
    interval = timedelta(seconds=settings.vulndb_update_interval_seconds)

    async def run(key: str, attempt: int) -> None:
        try:
            async with http_client() as client:
                await update_feeds(services.advisories, feed_sources(settings), client)
        finally:
            await services.advisories.schedule_update(utcnow() + interval, if_absent=False)

    return run


def _audit_rotation_job(settings: Settings, audit: AuditLog) -> Handler:
    retention = timedelta(days=settings.audit_retention_days)

    async def run(key: str, attempt: int) -> None:
        try:
            removed = await audit.rotate(utcnow() - retention)
            log.info("audit log rotated", extra={"fields": {"removed": removed}})
        finally:
            await audit.schedule_rotation(utcnow() + AUDIT_ROTATION_INTERVAL, if_absent=False)

    return run


def create_app_from_environment() -> Starlette:
    """Factory for the ASGI server's worker processes: settings from ``CARGOHOLD_*``, and
    from ``SERVER_PID_VARIABLE`` the server process to stop with."""
    stop_at_once_while_starting()
    settings = load_settings()
    configure_logging(settings.log_level)
    server_pid = os.environ.get(SERVER_PID_VARIABLE)
    app = create_app(settings, server_pid=int(server_pid) if server_pid else None)
    freeze_startup_objects()
    return app


def _stop_with_server(server_pid: int) -> Callable[[], None]:
    """Stop this HTTP worker, as a clean stop of the server would, once its server
    process ``server_pid`` (granian's master, its parent) is gone, however it went;
    within ``ORPHANED_WORKER_STOP_SECONDS``. Return a function that stops watching.

    Without this a SIGKILLed server (the OOM killer, a runtime's hard stop of the main PID)
    left its workers serving: they kept the port, and with SO_REUSEPORT (granian sets it) a
    new server on that port shared its connections with them.

    Why a pidfd on this worker's loop: granian forks its workers with multiprocessing from
    the master, so the parent is the server process, and the worker's loop runs until the
    worker stops. ``prctl(PR_SET_PDEATHSIG)`` fires when the *thread* that forked the child
    exits, not the process: granian forks from its main thread today, but a worker forked
    from another thread would be stopped, healthy, when that thread ends (and Python has
    no binding for prctl). multiprocessing's parent sentinel (a pipe) never reads EOF while
    any later child of the master (the next worker, a respawned one) holds its write end.
    The background worker process watches the server the same way (``cli.run_workers``).
    """
    stop = partial(_stop_orphaned_worker, server_pid)
    return on_parent_exit(asyncio.get_running_loop(), server_pid, stop)


def _stop_orphaned_worker(server_pid: int) -> None:
    log.warning(
        "the server process is gone; this HTTP worker stops",
        extra={"fields": {"pid": os.getpid(), "server_pid": server_pid}},
    )
    # Nobody enforces the master's workers_kill_timeout on an orphan. SIGALRM's default
    # action ends the process: the kernel keeps this deadline even if the loop is stuck.
    signal.alarm(ORPHANED_WORKER_STOP_SECONDS)
    # How granian asks a worker to stop (the master's Process.terminate()): the handler on
    # this loop (granian._signals.set_loop_signals) stops accepting, lets connections
    # finish, and then the lifespan shuts down.
    os.kill(os.getpid(), signal.SIGTERM)


async def _registry_error(request: Request, exc: Exception) -> Response:
    # A coroutine because Starlette runs a plain function handler on a worker thread: that
    # hop was ~5% of a worker's time in concurrent pushes, whose every layer starts with a
    # HEAD answered 404 (issue 5).
    return error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error: RegistryError = Unsupported(
            f"{request.method} is not supported on {request.url.path}",
            headers=dict(exc.headers or {}),
        )
    else:
        error = NameUnknown(f"no registry endpoint at {request.url.path}", status=exc.status_code)
    return error_response(request, error)


async def _client_gone(request: Request, exc: Exception) -> Response:
    log.info("client went away during %s %s", request.method, request.url.path)
    return Response(None, 400)


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, RegistryError("internal error; the server log has details"))
