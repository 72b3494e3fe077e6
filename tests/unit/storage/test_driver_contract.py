"""The contract of ``cargohold.storage.driver``, run against every driver."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cargohold.errors import PathNotFound, StorageError
from cargohold.storage.driver import StorageDriver
from cargohold.storage.filesystem import FilesystemDriver
from cargohold.storage.layout import blob_key, upload_key

UPLOAD = upload_key("0" * 31 + "1")


@pytest.fixture(params=["filesystem"])
async def driver(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StorageDriver]:
    created = FilesystemDriver(tmp_path / "store")
    yield created
    await created.close()


async def read_all(
    driver: StorageDriver, key: str, offset: int = 0, length: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in driver.read(key, offset, length)])


async def write(driver: StorageDriver, key: str, offset: int, *chunks: bytes) -> int:
    writer = await driver.open_writer(key, offset)
    for chunk in chunks:
        await writer.write(chunk)
    await writer.close()
    return writer.size


def key_of(data: bytes) -> str:
    return blob_key("sha256", hashlib.sha256(data).hexdigest())


async def test_missing_object_has_no_size_and_cannot_be_read(driver: StorageDriver) -> None:
    assert await driver.stat(UPLOAD) is None
    assert await driver.modified_at(UPLOAD) is None
    with pytest.raises(PathNotFound):
        await read_all(driver, UPLOAD)


async def test_writers_append_across_sessions(driver: StorageDriver) -> None:
    assert await write(driver, UPLOAD, 0, b"hello ", b"wor") == 9
    assert await write(driver, UPLOAD, 9, b"ld") == 11
    assert await read_all(driver, UPLOAD) == b"hello world"
    assert await driver.stat(UPLOAD) == 11


async def test_writer_drops_bytes_past_its_offset(driver: StorageDriver) -> None:
    """What a broken connection left past the committed size is discarded."""
    await write(driver, UPLOAD, 0, b"committed", b"+torn chunk")
    await write(driver, UPLOAD, 9, b"!")
    assert await read_all(driver, UPLOAD) == b"committed!"


async def test_writer_refuses_an_offset_past_the_end(driver: StorageDriver) -> None:
    await write(driver, UPLOAD, 0, b"abc")
    with pytest.raises(PathNotFound):
        await driver.open_writer(UPLOAD, 4)


async def test_writer_refuses_to_continue_a_missing_object(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await driver.open_writer(UPLOAD, 3)
    assert await driver.stat(UPLOAD) is None


async def test_ranged_reads(driver: StorageDriver) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB: more than one read chunk
    await write(driver, UPLOAD, 0, data)
    assert await read_all(driver, UPLOAD, 100, 10) == data[100:110]
    assert await read_all(driver, UPLOAD, len(data) - 5) == data[-5:]
    assert await read_all(driver, UPLOAD, 1_000_000, 1_500_000) == data[1_000_000:2_500_000]


async def test_commit_publishes_and_consumes_the_upload(driver: StorageDriver) -> None:
    data = b"layer bytes"
    await write(driver, UPLOAD, 0, data)
    await driver.commit(UPLOAD, key_of(data))
    assert await read_all(driver, key_of(data)) == data
    assert await driver.stat(UPLOAD) is None


async def test_commit_keeps_an_existing_blob(driver: StorageDriver) -> None:
    data = b"same content twice"
    await write(driver, UPLOAD, 0, data)
    await driver.commit(UPLOAD, key_of(data))
    second = upload_key("0" * 31 + "2")
    await write(driver, second, 0, data)
    await driver.commit(second, key_of(data))
    assert await read_all(driver, key_of(data)) == data
    assert await driver.stat(second) is None


async def test_a_new_upload_at_the_same_key_cannot_change_a_published_blob(
    driver: StorageDriver,
) -> None:
    data = b"published"
    await write(driver, UPLOAD, 0, data)
    await driver.commit(UPLOAD, key_of(data))
    await write(driver, UPLOAD, 0, b"XXXXXXXXXXXXXXX")
    assert await read_all(driver, key_of(data)) == data


async def test_commit_of_a_missing_upload_fails(driver: StorageDriver) -> None:
    with pytest.raises(PathNotFound):
        await driver.commit(UPLOAD, key_of(b"x"))


async def test_delete_is_idempotent(driver: StorageDriver) -> None:
    await write(driver, UPLOAD, 0, b"x")
    await driver.delete(UPLOAD)
    await driver.delete(UPLOAD)
    assert await driver.stat(UPLOAD) is None


async def test_list_by_prefix(driver: StorageDriver) -> None:
    await write(driver, UPLOAD, 0, b"a")
    for number, data in enumerate((b"one", b"two"), start=2):
        other = upload_key(f"{number:032x}")
        await write(driver, other, 0, data)
        await driver.commit(other, key_of(data))
    blobs = sorted([key async for key in driver.list("blobs/")])
    assert blobs == sorted([key_of(b"one"), key_of(b"two")])
    assert [key async for key in driver.list("uploads/")] == [UPLOAD]


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a/."])
async def test_keys_that_could_escape_are_refused(driver: StorageDriver, key: str) -> None:
    with pytest.raises(StorageError):
        await driver.stat(key)
