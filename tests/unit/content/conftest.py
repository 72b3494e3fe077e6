from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from cargohold.config import async_database_url
from cargohold.content.services import Services
from cargohold.db.session import Database
from cargohold.storage.filesystem import FilesystemDriver


@dataclass
class Backend:
    """The domain services on a fresh database and a fresh blob directory."""

    services: Services
    db: Database
    storage: FilesystemDriver


@pytest.fixture
async def backend(database_url: str, tmp_path: Path) -> AsyncIterator[Backend]:
    url = async_database_url(database_url)
    db = Database(url)
    storage = FilesystemDriver(tmp_path / "blobs")
    yield Backend(Services.build(db, storage, timedelta(hours=1)), db, storage)
    await db.dispose()
