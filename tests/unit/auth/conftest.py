"""An ``AuthServices`` on a fresh, migrated database of each kind (``database_url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cargohold.auth.services import AuthServices
from cargohold.config import async_database_url
from cargohold.db.session import Database

SECRET = b"unit-test installation secret"


@pytest.fixture
async def auth_db(database_url: str) -> AsyncIterator[Database]:
    url = async_database_url(database_url)
    db = Database(url)
    yield db
    await db.dispose()


@pytest.fixture
async def auth(auth_db: Database) -> AuthServices:
    services = AuthServices.build(auth_db, secret=SECRET, service="cargohold", token_lifetime=300)
    await services.keys.load()
    return services
