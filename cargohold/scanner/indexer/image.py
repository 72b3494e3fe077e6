"""``index_image``: from an image's layers to its ``ImageIndex``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from cargohold.scanner.indexer.blocking_stream import BlockingChunkReader
from cargohold.scanner.indexer.decompression import is_layer_media_type
from cargohold.scanner.indexer.errors import ImageUnsupported
from cargohold.scanner.indexer.extraction import collect_findings
from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache
from cargohold.scanner.indexer.layer_reader import LayerChanges, read_layer
from cargohold.scanner.indexer.limits import IndexLimits
from cargohold.scanner.indexer.model import (
    ImageIndex,
    IndexStatus,
    InstalledPackage,
    LayerSource,
)
from cargohold.scanner.indexer.records import RecordKind


async def index_image(
    layers: Sequence[LayerSource], limits: IndexLimits | None = None
) -> ImageIndex:
    """What is installed in the image made of ``layers`` (base layer first).

    Each layer is opened once and streamed: decompressed and read as tar on a worker
    thread, with only package records kept. An image that cannot be indexed (no layers,
    a blob that is not a layer, a layer that is not tar or is past ``limits``) is returned
    as ``unsupported`` with the reason, never raised. Raises ``LayerStreamFailed`` when a
    layer's stream itself raises; the image should be indexed again later.
    """
    problem = _not_an_image(layers)
    if problem:
        return ImageIndex.unsupported(problem)
    with tempfile.TemporaryDirectory(prefix="cargohold-index-") as spool_dir:
        try:
            return await _index_layers(layers, limits or IndexLimits(), Path(spool_dir))
        except ImageUnsupported as exc:
            return ImageIndex.unsupported(exc.reason)


def _not_an_image(layers: Sequence[LayerSource]) -> str | None:
    if not layers:
        return "the manifest has no layers"
    for layer in layers:
        if not is_layer_media_type(layer.media_type):
            return f"{layer.digest} is not an image layer (media type {layer.media_type!r})"
    return None


async def _index_layers(
    layers: Sequence[LayerSource], limits: IndexLimits, spool_dir: Path
) -> ImageIndex:
    filesystem, cache = MergedFilesystem(), ParseCache()
    findings, layer_warnings = Findings(), []
    history: list[frozenset[InstalledPackage]] = []
    for layer_index, layer in enumerate(layers):
        go_binaries = frozenset(filesystem.paths_of(RecordKind.GO_BINARY))
        changes = await _read_layer(layer, limits, spool_dir, go_binaries)
        layer_warnings += changes.warnings
        if filesystem.apply(layer_index, changes):
            findings = await asyncio.to_thread(collect_findings, filesystem, cache)
        history.append(frozenset(findings.packages))
    return ImageIndex(
        status=IndexStatus.PARTIAL if findings.reasons else IndexStatus.INDEXED,
        distribution=findings.distribution,
        packages=attribute_layers(findings.packages, history, [x.digest for x in layers]),
        reasons=findings.reasons,
        warnings=layer_warnings + findings.warnings,
    )


def attribute_layers(
    packages: Sequence[InstalledPackage],
    history: Sequence[frozenset[InstalledPackage]],
    layer_digests: Sequence[str],
) -> list[InstalledPackage]:
    """``packages`` with ``layer_digest`` set to the first layer of the unbroken run of
    layers, ending with the last, after each of which the package was present
    (``history[i]``: the packages after layer ``i``)."""
    attributed = []
    for package in packages:
        introduced = len(history) - 1
        while introduced > 0 and package in history[introduced - 1]:
            introduced -= 1
        attributed.append(dataclasses.replace(package, layer_digest=layer_digests[introduced]))
    return attributed


async def _read_layer(
    layer: LayerSource, limits: IndexLimits, spool_dir: Path, go_binaries_below: frozenset[str]
) -> LayerChanges:
    chunks = layer.open()
    reader = BlockingChunkReader(chunks, asyncio.get_running_loop())
    try:
        return await asyncio.to_thread(read_layer, reader, limits, spool_dir, go_binaries_below)
    finally:
        reader.close()
        await _close_stream(chunks)


async def _close_stream(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        # Still running only when the indexing task was cancelled mid-read.
        with contextlib.suppress(RuntimeError):
            await aclose()
