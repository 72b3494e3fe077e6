"""Fixtures every test folder shares: databases, a real cargohold process, test images.

Contracts:

- ``pg_server`` (session): a real PostgreSQL 15 started for the session from Debian's
  binaries, on 127.0.0.1 and a free port; ``create_database()`` returns the URL of a new,
  empty database. Fails (never skips) when the binaries are missing.
- ``database_kind`` (module, parametrized ``sqlite`` / ``postgresql``): which metadata
  database this module's tests run on. PostgreSQL params carry ``pytest.mark.postgres``.
- ``database_url`` (function): a fresh database of that kind, already migrated (a copy of
  a template, see ``support.databases``): for SQLite ``sqlite:///{tmp_path}/meta.db``, for
  PostgreSQL ``postgresql://postgres@127.0.0.1:PORT/<unique>``. A test that uses it runs
  on both. ``empty_database_url`` (function): the same, not migrated.
- ``registry`` (module): a running ``cargohold serve`` (``RegistryProcess``) on a fresh
  migrated database of ``database_kind``, shared by a module's tests: use distinct repository names.
  It has a superuser whose username and password are ``registry.credentials``
  (``support.auth.ADMIN``); ``registry.http()`` is logged in as it.
- ``registry_factory`` (function): a ``RegistryFactory``; ``registry_factory()`` starts
  one more server on fresh data and a fresh database of ``database_kind``, for tests that
  stop, kill or restart it (``database_url=None``: the server's default, SQLite in its data
  dir; ``start=False``: not started). Each has a superuser, as ``registry`` has. All are
  killed at teardown.
- ``busybox_image``, ``multilayer_image``, ``multiarch_image``, ``zstd_image`` (session):
  offline ``TestImage``s in OCI layouts (see ``support.images``), built once per session.
- ``client_sandbox`` (function): a ``ClientSandbox`` with private state for skopeo,
  podman, buildah and the docker CLI, logged in as the superuser to the registries the
  test uses: ``registry``, and every server ``registry_factory`` makes. For a server made
  otherwise, call ``client_sandbox.login(server.host, server.credentials)``.

When a test that used a registry fails, the registry's log is added to the report.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.clients import ClientSandbox
from support.databases import MigratedDatabases
from support.images import (
    TestImage,
    build_busybox,
    build_multiarch,
    build_multilayer,
    build_zstd,
)
from support.postgres import PostgresServer
from support.registry import RegistryFactory, RegistryProcess

DATABASE_KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def database_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> MigratedDatabases:
    return MigratedDatabases(tmp_path_factory.mktemp("database-templates"))


def _fresh_database_url(request: pytest.FixtureRequest, kind: str, directory: Path) -> str:
    """A fresh, migrated database of ``kind`` (SQLite: ``directory/meta.db``)."""
    databases: MigratedDatabases = request.getfixturevalue("migrated_databases")
    if kind == "sqlite":
        return databases.sqlite(directory / "meta.db")
    return databases.postgres(request.getfixturevalue("pg_server"))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, database_kind: str, tmp_path: Path) -> str:
    return _fresh_database_url(request, database_kind, tmp_path)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, database_kind: str, tmp_path: Path) -> str:
    if database_kind == "sqlite":
        return f"sqlite:///{tmp_path}/meta.db"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture(scope="module")
def registry(
    request: pytest.FixtureRequest,
    database_kind: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RegistryProcess]:
    base = tmp_path_factory.mktemp(f"registry-{database_kind}")
    server = RegistryProcess(
        base / "data", _fresh_database_url(request, database_kind, base), log_dir=base
    )
    try:
        server.start()
        yield server
    finally:
        server.kill()


@pytest.fixture
def registry_factory(
    request: pytest.FixtureRequest, database_kind: str, tmp_path: Path
) -> Iterator[RegistryFactory]:
    factory = RegistryFactory(
        tmp_path, lambda base: _fresh_database_url(request, database_kind, base)
    )
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="session")
def test_images_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images")


@pytest.fixture(scope="session")
def busybox_image(test_images_dir: Path) -> TestImage:
    return build_busybox(test_images_dir / "busybox")


@pytest.fixture(scope="session")
def multilayer_image(test_images_dir: Path, busybox_image: TestImage) -> TestImage:
    return build_multilayer(test_images_dir / "multilayer", busybox_image)


@pytest.fixture(scope="session")
def multiarch_image(test_images_dir: Path, busybox_image: TestImage) -> TestImage:
    return build_multiarch(test_images_dir / "multiarch", busybox_image)


@pytest.fixture(scope="session")
def zstd_image(test_images_dir: Path) -> TestImage:
    with ClientSandbox(test_images_dir / "zstd-clients") as sandbox:
        return build_zstd(test_images_dir / "zstd", sandbox.skopeo)


@pytest.fixture
def client_sandbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClientSandbox]:
    with ClientSandbox(tmp_path / "clients") as sandbox:

        def log_in(server: RegistryProcess) -> None:
            sandbox.login(server.host, server.credentials)

        if "registry" in request.fixturenames:
            log_in(request.getfixturevalue("registry"))
        if "registry_factory" in request.fixturenames:
            factory: RegistryFactory = request.getfixturevalue("registry_factory")
            factory.on_made.append(log_in)
            for server in factory.made:
                log_in(server)
        yield sandbox


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.failed:
        for server in _registries_of(item):
            report.sections.append((f"cargohold log ({server.host})", server.logs()[-30_000:]))
    return report


def _registries_of(item: pytest.Item) -> list[RegistryProcess]:
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    found: list[RegistryProcess] = []
    for value in funcargs.values():
        if isinstance(value, RegistryProcess):
            found.append(value)
        elif isinstance(value, RegistryFactory):
            found.extend(value.made)
    return found
