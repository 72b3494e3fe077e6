"""``check_storage`` finds rows without bytes and bytes without rows, and repairs them."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator

from cargohold.content.fsck import GRACE_SECONDS, check_storage
from cargohold.spec.digest import Digest
from cargohold.storage.layout import blob_key, upload_key

from .conftest import Backend


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def push_blob(backend: Backend, repository: str, data: bytes) -> Digest:
    uploads = backend.services.uploads
    state = await uploads.start(repository)
    digest = Digest.of_bytes(data)
    await uploads.complete(repository, state.id, digest, body(data))
    return digest


def age(path: os.PathLike[str] | str) -> None:
    old = time.time() - GRACE_SECONDS - 60
    os.utime(path, (old, old))


async def test_a_consistent_store_is_clean(backend: Backend) -> None:
    await push_blob(backend, "team/app", b"layer one")
    state = await backend.services.uploads.start("team/app")
    await backend.services.uploads.append("team/app", state.id, body(b"partial"))
    report = await check_storage(backend.db, backend.storage, repair=False)
    assert report.problems == [] and report.garbage == []
    assert (report.checked_blobs, report.checked_uploads) == (1, 1)


async def test_missing_blob_bytes_are_a_problem_and_an_unused_row_is_repaired(
    backend: Backend,
) -> None:
    digest = await push_blob(backend, "team/app", b"will vanish")
    await backend.storage.delete(blob_key(digest.algorithm, digest.hex))
    report = await check_storage(backend.db, backend.storage, repair=False)
    assert report.problems == [f"blob {digest}: bytes missing"]
    repaired = await check_storage(backend.db, backend.storage, repair=True)
    assert repaired.problems == [] and len(repaired.repaired) == 1
    again = await check_storage(backend.db, backend.storage, repair=False)
    assert again.problems == [] and again.checked_blobs == 0
    assert (await backend.services.blobs.mount("other/app", "team/app", digest)) is None


async def test_an_upload_whose_bytes_are_gone_is_stale_and_removed_by_repair(
    backend: Backend,
) -> None:
    """What a crash between publishing an upload and deleting its row leaves behind."""
    state = await backend.services.uploads.start("team/app")
    await backend.services.uploads.append("team/app", state.id, body(b"some bytes"))
    await backend.storage.delete(upload_key(state.id))
    report = await check_storage(backend.db, backend.storage, repair=False)
    assert report.stale == [f"upload {state.id}: bytes missing"] and report.problems == []
    await check_storage(backend.db, backend.storage, repair=True)
    assert (await check_storage(backend.db, backend.storage, repair=False)).stale == []


async def test_old_unreferenced_bytes_are_garbage_and_recent_ones_are_left_alone(
    backend: Backend,
) -> None:
    stray = b"bytes whose row was never written"
    key = blob_key("sha256", hashlib.sha256(stray).hexdigest())
    path = backend.storage.local_path(key)
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_bytes(stray)
    fresh = await check_storage(backend.db, backend.storage, repair=True)
    assert fresh.garbage == [] and fresh.repaired == [] and path.exists()
    age(path)
    report = await check_storage(backend.db, backend.storage, repair=False)
    assert report.garbage == [f"{key}: nothing references it"] and report.problems == []
    await check_storage(backend.db, backend.storage, repair=True)
    assert not path.exists()
