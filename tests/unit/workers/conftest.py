"""``db``: a migrated, empty metadata database (SQLite and PostgreSQL) for queue tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cargohold.config import async_database_url
from cargohold.db.session import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    url = async_database_url(database_url)
    database = Database(url)
    yield database
    await database.dispose()
