"""Layer streams: compression, chunking, limits, unsupported content, overlay edge cases."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import threading
from collections.abc import AsyncIterator

import pytest

from cargohold.scanner.indexer import (
    ImageIndex,
    IndexLimits,
    IndexStatus,
    LayerSource,
    LayerStreamFailed,
    index_image,
)
from cargohold.spec import mediatypes

from .conftest import HostDpkg
from .layers import MEDIA_TYPES, LayerBuilder, StreamLog, layer, layer_source

OS_RELEASE = b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
METADATA = b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"


def demo_layer() -> LayerBuilder:
    return LayerBuilder().file("etc/os-release", OS_RELEASE)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
@pytest.mark.parametrize("media_type", [*MEDIA_TYPES.values(), mediatypes.DOCKER_LAYER])
async def test_compression_is_sniffed_whatever_the_media_type_says(
    compression: str, media_type: str
) -> None:
    index = await index_image([layer_source(demo_layer().blob(compression), media_type)])
    assert index.status is IndexStatus.INDEXED
    assert index.distribution is not None and index.distribution.version_id == "12"


async def test_chunks_are_pulled_one_at_a_time_and_the_stream_closed(
    host_dpkg: HostDpkg,
) -> None:
    # Incompressible filler makes the blob span many chunks.
    builder = LayerBuilder().file("var/lib/dpkg/status", host_dpkg.status)
    blob = builder.file("opt/filler.bin", os.urandom(3 * 1024 * 1024)).blob()
    log = StreamLog()

    index = await index_image([layer_source(blob, mediatypes.OCI_LAYER_GZIP, 64 * 1024, log)])

    assert len(index.packages) == len(host_dpkg.installed)
    assert log.chunks_served >= len(blob) // (64 * 1024)
    assert log.closed


async def test_one_byte_chunks() -> None:
    index = await index_image([layer_source(demo_layer().blob("zstd"), MEDIA_TYPES["zstd"], 1)])
    assert index.distribution is not None


async def test_member_paths_are_normalised() -> None:
    tree = (
        LayerBuilder()
        .file("./etc/os-release", OS_RELEASE)
        .file("/usr/../srv/x/y.dist-info/METADATA", METADATA)
    )
    index = await index_image([layer(tree)])
    assert index.distribution is not None
    assert [p.path for p in index.packages] == ["srv/x/y.dist-info/METADATA"]


async def test_oversized_layer_is_unsupported() -> None:
    blob = demo_layer().file("opt/big", b"\0" * 200_000).blob()
    index = await index_image(
        [layer_source(blob, MEDIA_TYPES["gzip"])], IndexLimits(max_layer_bytes=100_000)
    )
    assert index.status is IndexStatus.UNSUPPORTED
    assert index.packages == []
    assert "over the limit of 100000 bytes" in index.reasons[0]


async def test_oversized_record_is_unsupported() -> None:
    index = await index_image([layer(demo_layer())], IndexLimits(max_record_bytes=10))
    assert index.status is IndexStatus.UNSUPPORTED
    assert index.reasons == [
        f"etc/os-release is {len(OS_RELEASE)} bytes, over the limit of 10 bytes"
    ]


async def test_non_image_artifact_is_unsupported() -> None:
    chart = layer_source(
        gzip.compress(b"chart"), "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    )
    index = await index_image([chart])
    assert index.status is IndexStatus.UNSUPPORTED
    assert "is not an image layer" in index.reasons[0]
    assert (await index_image([])).status is IndexStatus.UNSUPPORTED


@pytest.mark.parametrize(
    "blob",
    [os.urandom(4096), gzip.compress(os.urandom(4096)), gzip.compress(b"x" * 4096)[:-20]],
    ids=["random", "gzip-of-random", "truncated-gzip"],
)
async def test_layer_that_is_not_tar_is_unsupported(blob: bytes) -> None:
    index = await index_image([layer_source(blob, MEDIA_TYPES["gzip"])])
    assert index.status is IndexStatus.UNSUPPORTED


async def test_a_failing_stream_is_a_failure_not_unsupported() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield gzip.compress(demo_layer().tar())[:100]
        raise ConnectionResetError("storage went away")

    source = LayerSource("sha256:" + "0" * 64, MEDIA_TYPES["gzip"], broken)
    with pytest.raises(LayerStreamFailed) as raised:
        await index_image([source])
    assert isinstance(raised.value.__cause__, ConnectionResetError)


async def test_hard_link_to_a_record_and_to_an_unread_file() -> None:
    lower = LayerBuilder().file("srv/b.dist-info/METADATA", METADATA.replace(b"demo", b"b"))
    upper = (
        LayerBuilder()
        .file("usr/lib/os-release", OS_RELEASE)
        .hard_link("etc/os-release", "usr/lib/os-release")
        .file("srv/unread.txt", METADATA)
        .hard_link("srv/b.dist-info/METADATA", "srv/unread.txt")
    )
    index = await index_image([layer(lower), layer(upper)])

    assert index.distribution is not None
    assert index.packages == []
    assert index.warnings == [
        "srv/b.dist-info/METADATA: hard link to srv/unread.txt, which was not read"
    ]


async def test_symlink_loop_yields_nothing() -> None:
    tree = (
        LayerBuilder()
        .symlink("etc/os-release", "/usr/lib/os-release")
        .symlink("usr/lib/os-release", "../../etc/os-release")
    )
    index = await index_image([layer(tree)])
    assert index.distribution is None


async def test_whiteout_hides_lower_layers_only() -> None:
    path = "srv/a.dist-info/METADATA"
    same_layer = LayerBuilder().file(path, METADATA).whiteout("srv/a.dist-info")
    index = await index_image([layer(same_layer)])
    assert len(index.packages) == 1

    parent_whiteout = LayerBuilder().whiteout("srv")
    index = await index_image([layer(same_layer), layer(parent_whiteout)])
    assert index.packages == []


async def test_index_round_trips_through_json(host_dpkg: HostDpkg) -> None:
    tree = demo_layer().file("var/lib/dpkg/status", host_dpkg.status)
    tree.file("var/lib/rpm/Packages", b"\0")
    index = await index_image([layer(tree)])

    stored = json.loads(json.dumps(index.to_json_dict()))
    assert ImageIndex.from_json_dict(stored) == index
    assert index.status is IndexStatus.PARTIAL


async def test_cancelling_stops_the_reading_thread() -> None:
    first_chunk_served = asyncio.Event()
    log = StreamLog()

    async def stalls() -> AsyncIterator[bytes]:
        try:
            yield gzip.compress(demo_layer().tar())[:100]
            first_chunk_served.set()
            await asyncio.sleep(3600)
            yield b""
        finally:
            log.closed = True

    source = LayerSource("sha256:" + "1" * 64, MEDIA_TYPES["gzip"], stalls)
    task = asyncio.create_task(index_image([source]))
    await asyncio.wait_for(first_chunk_served.wait(), 5)
    reading_threads = threading.active_count()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if log.closed:
            break
        await asyncio.sleep(0.01)
    assert log.closed
    assert threading.active_count() <= reading_threads
