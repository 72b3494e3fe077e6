"""Which blobs a repository may read. The rule is written twice, in SQLAlchemy
(``content.blobs.accessible_blobs``, used by pushes, mounts and deletes) and in plain SQL
(``db.hot``, used by pulls): both must give the same answer in every case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import update

from cargohold.content.blobs import accessible_blobs
from cargohold.content.repositories import find_repository_id
from cargohold.db.models import UploadedBlob, utcnow
from cargohold.spec.digest import Digest

from .conftest import Backend


async def body(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def push_blob(backend: Backend, repository: str, data: bytes) -> Digest:
    state = await backend.services.uploads.start(repository)
    digest = Digest.of_bytes(data)
    await backend.services.uploads.complete(repository, state.id, digest, body(data))
    return digest


async def orm_sees(backend: Backend, repository: str, digest: Digest) -> bool:
    async with backend.db.read() as session:
        repository_id = await find_repository_id(session, repository)
        if repository_id is None:
            return False
        query = accessible_blobs(repository_id, [str(digest)], utcnow())
        return (await session.execute(query)).first() is not None


async def hot_sees(backend: Backend, repository: str, digest: Digest) -> bool:
    return await backend.db.hot.accessible_blob(repository, str(digest)) is not None


async def both_see(backend: Backend, repository: str, digest: Digest) -> bool:
    orm, hot = (
        await orm_sees(backend, repository, digest),
        await hot_sees(backend, repository, digest),
    )
    assert orm == hot, f"ORM says {orm}, hot path says {hot} for {digest} in {repository}"
    return orm


async def push_manifest(backend: Backend, repository: str, config: Digest, size: int) -> None:
    manifest = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json",'
        f'"digest":"{config}","size":{size}}},"layers":[]}}'
    ).encode()
    await backend.services.manifests.put(repository, "v1", manifest, None)


async def test_visibility_follows_uploads_manifests_and_expiry(backend: Backend) -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    digest = await push_blob(backend, "team/app", config)
    assert await both_see(backend, "team/app", digest)
    assert not await both_see(backend, "team/other", digest)
    assert not await both_see(backend, "no/such-repo", digest)

    async with backend.db.write() as session:
        await session.execute(
            update(UploadedBlob).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert not await both_see(backend, "team/app", digest)

    mounted = await push_blob(backend, "team/app", config)
    assert mounted == digest
    await push_manifest(backend, "team/app", digest, len(config))
    async with backend.db.write() as session:
        await session.execute(
            update(UploadedBlob).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert await both_see(backend, "team/app", digest), "a manifest's blob stays readable"
    assert not await both_see(backend, "team/other", digest)
