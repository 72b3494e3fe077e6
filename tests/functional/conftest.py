"""Fixtures for the in-process protocol tests: a registry application on a fresh database
(SQLite and PostgreSQL, via ``database_url``) reached through ``httpx`` without a socket.

Contract:

- ``registry_client`` (function): an ``httpx.AsyncClient`` bound to ``create_app`` over
  ``httpx.ASGITransport``. The database is migrated first, blobs live under ``tmp_path``,
  the application's lifespan runs for the whole test. Application exceptions that escape
  every handler reach the test (``raise_app_exceptions``), as a broken request body does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cargohold.app import create_app
from cargohold.config import load_settings
from cargohold.db.migrate import upgrade

BASE_URL = "http://registry.test"


@pytest.fixture
async def registry_client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings(
        data_dir=tmp_path / "data", database_url=database_url, access_log=False
    )
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client
