"""Uploads are state in the database and storage, not in one process: any node can
continue or complete an upload that another began."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cargohold.content.services import Services
from cargohold.content.uploads import UploadState
from cargohold.db.models import utcnow
from cargohold.errors import (
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    RangeInvalid,
    SizeInvalid,
    StorageError,
)
from cargohold.spec.digest import Digest
from cargohold.storage.filesystem import FilesystemDriver
from cargohold.storage.layout import upload_key

from .conftest import Backend

REPO = "team/app"


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def broken_body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise ConnectionResetError("client went away")


def other_node(backend: Backend) -> Services:
    """A second node: same database and storage, its own process-local state."""
    return Services.build(backend.db, backend.storage, timedelta(hours=1))


async def test_an_upload_hops_between_nodes_and_still_verifies(backend: Backend) -> None:
    first, second = backend.services, other_node(backend)
    parts = [bytes([n]) * 100_000 for n in range(5)]
    state = await first.uploads.start(REPO)
    await first.uploads.append(REPO, state.id, body(parts[0]), start=0)
    await second.uploads.append(REPO, state.id, body(parts[1]), start=100_000)
    await first.uploads.append(REPO, state.id, body(parts[2]), start=200_000)
    digest = Digest.of_bytes(b"".join(parts))
    blob = await second.uploads.complete(REPO, state.id, digest, body(parts[3], parts[4]))
    assert (blob.digest, blob.size) == (str(digest), 500_000)
    stored = await first.blobs.stat(REPO, digest)
    assert b"".join([c async for c in first.blobs.read(stored)]) == b"".join(parts)


async def test_a_wrong_digest_on_another_node_is_caught(backend: Backend) -> None:
    first, second = backend.services, other_node(backend)
    state = await first.uploads.start(REPO)
    await first.uploads.append(REPO, state.id, body(b"real content"))
    with pytest.raises(DigestInvalid):
        await second.uploads.complete(REPO, state.id, Digest.of_bytes(b"other content"))
    with pytest.raises(BlobUploadUnknown):
        await first.uploads.status(REPO, state.id)


async def test_another_node_completes_with_the_recorded_sha256_without_reading_bytes(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What clients do with several connections: every byte in one PATCH on one node,
    the empty completing PUT on another."""
    first, second = backend.services, other_node(backend)
    content = b"layer bytes" * 10_000
    state = await first.uploads.start(REPO)
    await first.uploads.append(REPO, state.id, body(content))
    reads: list[str] = []
    stock_read = second.uploads.storage.read

    def counting_read(key: str, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        reads.append(key)
        return stock_read(key, offset, length)

    monkeypatch.setattr(second.uploads.storage, "read", counting_read)
    blob = await second.uploads.complete(REPO, state.id, Digest.of_bytes(content))
    assert blob.digest == str(Digest.of_bytes(content))
    assert reads == []


async def test_a_chunk_from_a_node_without_the_running_hash_is_hashed_again(
    backend: Backend,
) -> None:
    first, second = backend.services, other_node(backend)
    state = await first.uploads.start(REPO)
    await first.uploads.append(REPO, state.id, body(b"first part, "), start=0)
    after_hop = await second.uploads.append(REPO, state.id, body(b"second part"), start=12)
    assert after_hop.sha256 is None
    with pytest.raises(DigestInvalid):
        await first.uploads.complete(REPO, state.id, Digest.of_bytes(b"first part, other"))


async def test_a_broken_chunk_keeps_what_arrived_and_the_upload_resumes(backend: Backend) -> None:
    uploads = backend.services.uploads
    state = await uploads.start(REPO)
    with pytest.raises(ConnectionResetError):
        await uploads.append(REPO, state.id, broken_body(b"first half "))
    resumed = await uploads.status(REPO, state.id)
    assert resumed.size == len(b"first half ")
    await uploads.append(REPO, state.id, body(b"second half"), start=resumed.size)
    data = b"first half second half"
    blob = await uploads.complete(REPO, state.id, Digest.of_bytes(data))
    assert blob.size == len(data)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB filesystem (tmpfs), mounted for the test: needs root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mountpoint)]
    subprocess.run(mount, check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "--lazy", str(mountpoint)], check=True)


async def test_a_chunk_that_fills_the_disk_is_not_counted(
    backend: Backend, small_disk: Path
) -> None:
    """The upload keeps the chunks stored before the one the disk had no room for, and
    the client resumes after them (what that chunk left in the file is cut off)."""
    storage = FilesystemDriver(small_disk)
    uploads = Services.build(backend.db, storage, timedelta(hours=1)).uploads
    stored, too_big = b"s" * 100_000, b"b" * 300_000
    state = await uploads.start(REPO)
    with pytest.raises(StorageError, match="No space left on device"):
        await uploads.append(REPO, state.id, body(stored, too_big))
    resumed = await uploads.status(REPO, state.id)
    assert resumed.size == len(stored)
    await uploads.append(REPO, state.id, body(b"rest"), start=resumed.size)
    blob = await uploads.complete(REPO, state.id, Digest.of_bytes(stored + b"rest"))
    assert blob.size == len(stored) + 4


async def test_a_chunk_at_the_wrong_offset_is_refused(backend: Backend) -> None:
    uploads = backend.services.uploads
    state = await uploads.start(REPO)
    await uploads.append(REPO, state.id, body(b"0123456789"))
    with pytest.raises(RangeInvalid):
        await uploads.append(REPO, state.id, body(b"overlap"), start=5)
    assert (await uploads.status(REPO, state.id)).size == 10


async def test_a_body_longer_than_declared_keeps_nothing_of_the_chunk(backend: Backend) -> None:
    uploads = backend.services.uploads
    state = await uploads.start(REPO)
    await uploads.append(REPO, state.id, body(b"kept"))
    with pytest.raises(SizeInvalid):
        await uploads.append(REPO, state.id, body(b"too ", b"long"), length=4)
    await uploads.append(REPO, state.id, body(b"!"), start=4)
    blob = await uploads.complete(REPO, state.id, Digest.of_bytes(b"kept!"))
    assert blob.size == 5


async def test_sha512_uploads_verify(backend: Backend) -> None:
    uploads = backend.services.uploads
    state = await uploads.start(REPO)
    data = b"sha512 content"
    digest = Digest("sha512", hashlib.sha512(data).hexdigest())
    blob = await uploads.complete(REPO, state.id, digest, body(data))
    assert blob.digest == str(digest)


async def test_an_upload_whose_bytes_are_gone_is_unknown(backend: Backend) -> None:
    """A crash between publishing an upload and deleting its row leaves such a row."""
    uploads = backend.services.uploads
    state = await uploads.start(REPO)
    await uploads.append(REPO, state.id, body(b"0123"))
    await backend.storage.delete(upload_key(state.id))
    with pytest.raises(BlobUploadUnknown):
        await uploads.append(REPO, state.id, body(b"4567"), start=4)


async def test_an_upload_cancelled_while_it_is_published_records_no_blob(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another node's DELETE lands between this node publishing the bytes and recording
    the blob: the completion fails as unknown and the repository gets no blob."""
    first, second = backend.services, other_node(backend)
    state = await first.uploads.start(REPO)
    data = b"raced content"
    digest = Digest.of_bytes(data)
    publish = backend.storage.commit

    async def publish_then_cancel_elsewhere(upload: str, blob: str) -> None:
        await publish(upload, blob)
        await second.uploads.cancel(REPO, state.id)

    monkeypatch.setattr(backend.storage, "commit", publish_then_cancel_elsewhere)
    with pytest.raises(BlobUploadUnknown, match="no longer in progress"):
        await first.uploads.complete(REPO, state.id, digest, body(data))
    assert await backend.db.hot.accessible_blob(REPO, str(digest)) is None


async def test_an_upload_is_unknown_in_another_repository(backend: Backend) -> None:
    uploads = backend.services.uploads
    state = await uploads.start(REPO)
    await uploads.append(REPO, state.id, body(b"0123"))
    for act in (
        uploads.status("team/other", state.id),
        uploads.cancel("team/other", state.id),
        uploads.complete("team/other", state.id, Digest.of_bytes(b"0123")),
    ):
        with pytest.raises(BlobUploadUnknown):
            await act
    assert (await uploads.status(REPO, state.id)).size == 4


async def test_a_size_recorded_by_another_request_meanwhile_is_refused(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two PATCHes of one upload at once (a client retrying too early): the one that
    records its size second finds the size changed and keeps nothing of its chunk."""
    first, second = backend.services, other_node(backend)
    state = await first.uploads.start(REPO)
    read_status = first.uploads.status

    async def status_then_another_chunk_lands(repository: str, upload_id: str) -> UploadState:
        seen = await read_status(repository, upload_id)
        await second.uploads.append(REPO, state.id, body(b"other"), start=0)
        return seen

    monkeypatch.setattr(first.uploads, "status", status_then_another_chunk_lands)
    with pytest.raises(BlobUploadInvalid, match="changed by another request"):
        await first.uploads.append(REPO, state.id, body(b"mine"), start=0)
    progress = await backend.db.hot.upload_progress(REPO, state.id)
    assert progress is not None and progress.size == len(b"other")


async def test_the_first_upload_makes_the_repository_and_the_next_ones_find_it(
    backend: Backend,
) -> None:
    uploads = backend.services.uploads
    assert not await backend.db.hot.repository_exists(REPO)
    first = await uploads.start(REPO)
    second = await uploads.start(REPO)
    assert first.repository_id == second.repository_id
    for state in (first, second):
        assert (await uploads.status(REPO, state.id)).size == 0
    assert await backend.db.hot.start_upload("0" * 32, "team/none", utcnow()) is None
    assert not await backend.db.hot.repository_exists("team/none")
