"""Schemathesis against the published OpenAPI document, in process, on SQLite and
PostgreSQL: every operation gets generated inputs, valid and invalid (negative mode, NUL
characters included), as a superuser whose API token holds every scope, and must never
answer 5xx, and must answer what the document says.

Bounded for CI: ``MAX_EXAMPLES`` per operation in the fuzzing phase (plus schemathesis'
examples and coverage phases), no deadline, derandomized so that a failure reproduces.
The application is shared by a module's operations and keeps what earlier ones made
(``conftest`` runs the DELETE operations last). The superuser's name is one the generator
will not come up with; when a generated request revokes its token, the next case logs in
again.

The operations are parametrized at collection from ``create_api().openapi()``, and the
fixture checks that the application publishes that same document at
``/api/v1/openapi.json``: schemathesis' fixture-based loader (``from_fixture``) does not
run under pytest 9.2 (it sets ``request.node._nodeid``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.applications import Starlette
from support.postgres import PostgresServer

from cargohold.api.app import create_api
from cargohold.app import create_app
from cargohold.auth.access import API_SCOPES, create_organization, create_repository
from cargohold.auth.accounts import AccountService
from cargohold.config import load_settings
from cargohold.db.migrate import upgrade
from cargohold.db.session import Database

MAX_EXAMPLES = 5
BASE_URL = f"http://{asgi.HOST}/api/v1"
SUPERUSER = "fuzzing-superuser-0x5eed"
PASSWORD = "fuzzing password, never generated"


@dataclass
class FuzzTarget:
    app: Starlette
    headers: dict[str, str] = field(default_factory=dict)

    def log_in(self) -> None:
        """A new API token with every scope (the password costs argon2: only when needed)."""
        with asgi.get_client(self.app) as client:
            response = client.post(
                "/api/v1/user/apitokens",
                json={"name": "fuzz", "scopes": list(API_SCOPES)},
                auth=(SUPERUSER, PASSWORD),
            )
        assert response.status_code == 201, response.text
        self.headers = {"Authorization": f"Bearer {response.json()['token']}"}

    def after(self, status: int) -> None:
        if status == 401:
            self.log_in()


def _database_url(request: pytest.FixtureRequest, kind: str, directory: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{directory}/meta.db"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


def _prepare_database(url: str) -> None:
    """Migrate; make the superuser, and the organization and repository ``0`` (the name
    the generator tries first), so that the operations on them get past ``404``. In a
    thread of its own: the test session's event loop is not for ``asyncio.run``."""

    async def seed() -> None:
        db = Database(url)
        try:
            accounts = AccountService(db)
            account_id = await accounts.create_user(SUPERUSER, password=PASSWORD, superuser=True)
            principal = await accounts.principal(account_id)
            assert principal is not None
            async with db.write() as session:
                await create_organization(session, "0", account_id)
                await create_repository(session, principal, "0", "private")
        finally:
            await db.dispose()

    def prepare() -> None:
        upgrade(url)
        asyncio.run(seed())

    with ThreadPoolExecutor(1) as thread:
        thread.submit(prepare).result()


@pytest.fixture(scope="module")
def fuzz_target(
    request: pytest.FixtureRequest,
    database_kind: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FuzzTarget]:
    base = tmp_path_factory.mktemp(f"fuzz-{database_kind}")
    config = load_settings(
        data_dir=base / "data",
        database_url=_database_url(request, database_kind, base),
        access_log=False,
        background_workers=False,
    )
    _prepare_database(config.effective_database_url)
    target = FuzzTarget(create_app(config))
    target.log_in()  # starts the application's lifespan in schemathesis' event loop thread
    with asgi.get_client(target.app) as client:
        published = client.get("/api/v1/openapi.json").json()
    assert published == {**schema.raw_schema, "servers": [{"url": "/api/v1"}]}
    yield target
    asgi.shutdown_lifespans()


schema = schemathesis.openapi.from_dict(create_api().openapi())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Case, fuzz_target: FuzzTarget) -> None:
    response = case.call(BASE_URL, headers=fuzz_target.headers, app=fuzz_target.app)
    fuzz_target.after(response.status_code)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
