"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from cargohold.config import async_database_url
from cargohold.db.migrate import upgrade
from cargohold.db.models import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_the_models(empty_database_url: str) -> None:
    url = async_database_url(empty_database_url)
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert differences == []


OLD_ROWS = [
    "INSERT INTO namespace (id, name, kind, quota_warning_percent, usage_bytes, sbom_referrers,"
    " created_at) VALUES (1, 'team', 'organization', 80, 0, false, '2026-01-01 00:00:00')",
    "INSERT INTO repository (id, namespace_id, name, visibility, created_at) VALUES"
    " (7, 1, 'team/a', 'private', '2026-01-01 00:00:00'),"
    " (9, 1, 'team/b', 'private', '2026-01-01 00:00:00')",
    "INSERT INTO blob (id, digest, size, created_at) VALUES"
    " (1, 'sha256:1', 1, '2026-01-01 00:00:00'), (2, 'sha256:2', 2, '2026-01-01 00:00:00')",
    "INSERT INTO manifest (id, repository_id, digest, media_type, size, content, created_at)"
    " VALUES (3, 7, 'sha256:3', 'x', 1, {byte}, '2026-01-01 00:00:00'),"
    " (4, 9, 'sha256:4', 'x', 1, {byte}, '2026-01-01 00:00:00')",
    "INSERT INTO manifest_blob (manifest_id, blob_id) VALUES (3, 1), (3, 2), (4, 2)",
]


async def test_0008_gives_each_manifest_blob_its_manifests_repository(
    empty_database_url: str,
) -> None:
    url = async_database_url(empty_database_url)
    await asyncio.to_thread(upgrade, url, "0007")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in OLD_ROWS:
                await connection.execute(text(statement.format(byte=_byte_literal(url))))
        await asyncio.to_thread(upgrade, url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT manifest_id, blob_id, repository_id FROM manifest_blob")
            )
            assert sorted(tuple(row) for row in rows) == [(3, 1, 7), (3, 2, 7), (4, 2, 9)]
    finally:
        await engine.dispose()


def _byte_literal(url: str) -> str:
    """A one-byte binary literal in the database's own syntax."""
    return "'\\x78'::bytea" if url.startswith("postgresql") else "x'78'"
