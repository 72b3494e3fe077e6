"""How much the indexer reads before it calls an image unsupported."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class IndexLimits:
    """Size caps; passing one marks the image ``unsupported`` instead of failing.

    ``max_layer_bytes`` caps a layer's uncompressed tar stream (it also stops
    decompression bombs). ``max_record_bytes`` caps one file of interest held in memory
    (a dpkg status, a ``METADATA``); ``max_spooled_record_bytes`` caps one file spooled to
    a temporary file instead (an ``rpmdb.sqlite``). ``max_captured_bytes_per_layer`` caps
    the sum of a layer's files held in memory. ``max_executable_bytes`` caps an
    executable searched for Go build info (a larger one is skipped with a warning); the
    search reads only its writable data, but a cap keeps its cost known.
    ``max_java_archive_bytes`` caps a Java archive copied aside to be read (a larger one
    is skipped with a warning).
    """

    max_layer_bytes: int = 16 * GiB
    max_record_bytes: int = 32 * MiB
    max_spooled_record_bytes: int = 1 * GiB
    max_captured_bytes_per_layer: int = 256 * MiB
    max_executable_bytes: int = 1 * GiB
    max_java_archive_bytes: int = 512 * MiB
