"""Wiring: the one place that picks implementations (database, storage driver) and builds
the ASGI application from settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from cargohold.config import Settings, load_settings
from cargohold.content.services import Services
from cargohold.db.session import Database
from cargohold.errors import NameUnknown, RegistryError, Unsupported
from cargohold.logs import AccessLog, configure_logging
from cargohold.oci.responses import error_response
from cargohold.oci.routes import ROUTES
from cargohold.storage.driver import StorageDriver
from cargohold.storage.filesystem import FilesystemDriver

log = logging.getLogger(__name__)


def create_storage(settings: Settings) -> StorageDriver:
    return FilesystemDriver(settings.blob_dir)


def create_app(settings: Settings) -> Starlette:
    """The registry application. Its database must already be migrated (``cli serve``
    does that before starting workers)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = Database(settings.effective_database_url, pool_size=settings.db_pool_size)
        storage = create_storage(settings)
        protection = timedelta(seconds=settings.uploaded_blob_protection_seconds)
        app.state.services = Services.build(db, storage, protection)
        try:
            yield
        finally:
            await storage.close()
            await db.dispose()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        middleware=[Middleware(AccessLog, enabled=settings.access_log)],
        exception_handlers={
            RegistryError: error_response,
            HTTPException: _http_error,
            ClientDisconnect: _client_gone,
            Exception: _internal_error,
        },
    )
    return app


def create_app_from_environment() -> Starlette:
    """Factory for the ASGI server's worker processes: settings from ``CARGOHOLD_*``."""
    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error: RegistryError = Unsupported(
            f"{request.method} is not supported on {request.url.path}"
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
