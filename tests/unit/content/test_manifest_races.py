"""Concurrent pushes into one repository: the same manifest under many tags, and many
manifests under one tag, all at once. None may fail, and one tag stays alive per name."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from sqlalchemy import func, select

from cargohold.db.models import Manifest, Tag
from cargohold.spec.digest import Digest

from .conftest import Backend

REPO = "team/app"


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def manifest_with_config(backend: Backend, label: str) -> bytes:
    config = json.dumps({"architecture": "amd64", "os": "linux", "label": label}).encode()
    state = await backend.services.uploads.start(REPO)
    digest = Digest.of_bytes(config)
    await backend.services.uploads.complete(REPO, state.id, digest, body(config))
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": str(digest),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()


async def test_one_manifest_under_many_tags_at_once(backend: Backend) -> None:
    raw = await manifest_with_config(backend, "shared")
    tags = [f"v{n}" for n in range(12)]
    await asyncio.gather(*(backend.services.manifests.put(REPO, t, raw, None) for t in tags))
    async with backend.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Manifest)) == 1
        alive = await session.scalar(
            select(func.count()).select_from(Tag).where(Tag.lifetime_end.is_(None))
        )
    assert alive == len(tags)


async def test_many_manifests_under_one_tag_at_once(backend: Backend) -> None:
    raws = [await manifest_with_config(backend, f"build {n}") for n in range(8)]
    await asyncio.gather(*(backend.services.manifests.put(REPO, "latest", r, None) for r in raws))
    async with backend.db.read() as session:
        rows = (await session.execute(select(Tag.lifetime_end).where(Tag.name == "latest"))).all()
    assert len(rows) == len(raws), "every push leaves one row of tag history"
    assert sum(row.lifetime_end is None for row in rows) == 1
    current = await backend.services.manifests.get(REPO, "latest")
    assert current.content in raws
