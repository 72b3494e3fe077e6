"""What the filesystem driver does beyond the driver contract: how it publishes."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import pytest

from cargohold.storage import filesystem
from cargohold.storage.filesystem import FilesystemDriver
from cargohold.storage.layout import blob_key, upload_key

DATA = b"layer bytes" * 1000
BLOB = blob_key("sha256", hashlib.sha256(DATA).hexdigest())


async def upload(driver: FilesystemDriver, number: int) -> str:
    key = upload_key(f"{number:032x}")
    writer = await driver.open_writer(key, 0)
    await writer.write(DATA)
    await writer.close()
    return key


async def writeback_done() -> None:
    """Wait until the writeback thread ran everything queued so far."""
    await asyncio.to_thread(filesystem._writeback.submit(lambda: None).result)


def open_descriptors_to(path: Path) -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the listing's own descriptor
            continue
    return [target for target in targets if target.startswith(str(path))]


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(filesystem.os, "fsync", counting_fsync)
    return calls


async def test_a_new_blob_is_fsynced_with_its_directory(tmp_path: Path, fsyncs: list[int]) -> None:
    driver = FilesystemDriver(tmp_path)
    await driver.commit(await upload(driver, 1), BLOB)
    assert len(fsyncs) == 2  # the file, then the directory that names it


async def test_the_upload_of_a_published_blob_is_discarded_without_fsync(
    tmp_path: Path, fsyncs: list[int]
) -> None:
    driver = FilesystemDriver(tmp_path)
    await driver.commit(await upload(driver, 1), BLOB)
    published = (tmp_path / BLOB).stat()
    fsyncs.clear()
    again = await upload(driver, 2)
    await driver.commit(again, BLOB)
    assert fsyncs == []
    assert await driver.stat(again) is None
    assert (tmp_path / BLOB).stat().st_ino == published.st_ino
    await writeback_done()
    assert open_descriptors_to(tmp_path) == []  # the discarded file is freed
