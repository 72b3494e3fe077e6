"""Fresh, migrated metadata databases for tests, copied from one migrated template per kind.

Migrating an empty database costs 0.25 s on SQLite and more on PostgreSQL; most tests
need a migrated one. ``MigratedDatabases`` migrates one template per kind, on first use,
and gives each test a copy: a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for
PostgreSQL.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cargohold.config import async_database_url
from cargohold.db.migrate import upgrade
from support.postgres import PostgresServer


class MigratedDatabases:
    """Templates kept under ``directory`` (SQLite) and on the PostgreSQL server given."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite_template: Path | None = None
        self._postgres_template: str | None = None

    def sqlite(self, target: Path) -> str:
        """A copy of the migrated SQLite template at ``target``; its URL."""
        if self._sqlite_template is None:
            template = self._directory / "template.db"
            upgrade(async_database_url(f"sqlite:///{template}"))
            self._sqlite_template = template
        shutil.copyfile(self._sqlite_template, target)
        return f"sqlite:///{target}"

    def postgres(self, server: PostgresServer) -> str:
        """A new database on ``server``, a copy of the migrated template; its URL."""
        if self._postgres_template is None:
            url = server.create_database()
            upgrade(async_database_url(url))
            self._postgres_template = url.rsplit("/", 1)[1]
        return server.create_database(template=self._postgres_template)
