"""Micro-benchmark of the image indexer (not a test): how fast ``index_image`` reads layers.

    /opt/chvenv/bin/python bench/index_speed.py [--megabytes 70] [--chunk-kib 64] [--runs 3]

It builds a synthetic image in memory: gzip layers of files of random sizes (half random
bytes, half compressible text) with the host's real ``/var/lib/dpkg/status`` in the first
layer, then indexes it, streaming each layer in chunks as a storage driver would. It prints
the median throughput over compressed (blob) and uncompressed (tar) bytes, and, as a
ceiling, Python's own gzip decompression of the same blobs.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import io
import random
import statistics
import tarfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from cargohold.scanner.indexer import LayerSource, index_image
from cargohold.spec import mediatypes

MiB = 1024 * 1024
LAYER_COUNT = 4
DPKG_STATUS = Path("/var/lib/dpkg/status")


def build_layers(total_bytes: int, seed: int = 7) -> list[bytes]:
    """``LAYER_COUNT`` gzip blobs whose tar streams add up to about ``total_bytes``."""
    rng = random.Random(seed)
    text = b" ".join(b"word%d" % rng.randrange(5000) for _ in range(200_000))
    blobs = []
    for number in range(LAYER_COUNT):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            if number == 0 and DPKG_STATUS.exists():
                _add(archive, "var/lib/dpkg/status", DPKG_STATUS.read_bytes())
            written = 0
            while written < total_bytes // LAYER_COUNT:
                size = rng.randrange(1024, 2 * MiB)
                data = rng.randbytes(size) if rng.random() < 0.5 else text[:size]
                _add(archive, f"opt/filler/{number}/{written}.bin", data)
                written += size
        blobs.append(gzip.compress(buffer.getvalue(), compresslevel=6))
    return blobs


def _add(archive: tarfile.TarFile, path: str, data: bytes) -> None:
    info = tarfile.TarInfo(path)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def layer_source(blob: bytes, chunk_size: int) -> LayerSource:
    async def chunks() -> AsyncIterator[bytes]:
        view = memoryview(blob)
        for start in range(0, len(blob), chunk_size):
            yield bytes(view[start : start + chunk_size])

    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    return LayerSource(digest, mediatypes.OCI_LAYER_GZIP, chunks)


async def time_index(blobs: list[bytes], chunk_size: int) -> tuple[float, int]:
    started = time.perf_counter()
    index = await index_image([layer_source(blob, chunk_size) for blob in blobs])
    return time.perf_counter() - started, len(index.packages)


def time_gunzip(blobs: list[bytes]) -> float:
    started = time.perf_counter()
    for blob in blobs:
        gzip.decompress(blob)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=70, help="uncompressed image size")
    parser.add_argument("--chunk-kib", type=int, default=64, help="stream chunk size")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()

    blobs = build_layers(options.megabytes * MiB)
    compressed = sum(len(blob) for blob in blobs)
    uncompressed = sum(len(gzip.decompress(blob)) for blob in blobs)
    runs = [asyncio.run(time_index(blobs, options.chunk_kib * 1024)) for _ in range(options.runs)]
    seconds = statistics.median(run[0] for run in runs)
    gunzip_seconds = statistics.median(time_gunzip(blobs) for _ in range(options.runs))

    print(f"image: {LAYER_COUNT} gzip layers, {compressed / MiB:.1f} MiB compressed, "
          f"{uncompressed / MiB:.1f} MiB uncompressed, {runs[0][1]} packages found")  # fmt: skip
    print(f"index_image ({options.chunk_kib} KiB chunks, median of {options.runs}): "
          f"{seconds:.3f} s = {compressed / MiB / seconds:.0f} MiB/s compressed, "
          f"{uncompressed / MiB / seconds:.0f} MiB/s uncompressed")  # fmt: skip
    print(f"ceiling, gzip.decompress alone: {uncompressed / MiB / gunzip_seconds:.0f} MiB/s "
          "uncompressed")  # fmt: skip


if __name__ == "__main__":
    main()
