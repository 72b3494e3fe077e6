"""What the format readers report into, and the cache that spares re-parsing.

The indexer looks at the merged filesystem after every layer that changes a record (to
find the layer that introduced each package), so the same file version is seen many
times; ``ParseCache`` parses each version once.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Final, TypeVar, cast

from cargohold.scanner.indexer.layer_reader import CapturedFile
from cargohold.scanner.indexer.model import Distribution, InstalledPackage

T = TypeVar("T")

PYTHON_METADATA_MARKERS: Final = (".dist-info", ".egg-info")
"""Substrings of the paths worth remembering from an OS package's file list: the Python
metadata directories it owns."""


@dataclass
class Findings:
    """What the readers found in one merged filesystem.

    ``os_owned_paths`` holds paths of Python metadata that OS packages own (so the
    Python reader does not count them twice). ``reasons`` are package databases found but
    not readable (making the index ``partial``); ``warnings`` are single records skipped.
    """

    distribution: Distribution | None = None
    packages: list[InstalledPackage] = field(default_factory=list)
    os_owned_paths: set[str] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, records: ParsedRecords) -> None:
        """Adds what one record file yielded."""
        self.packages += records.packages
        self.os_owned_paths |= records.os_owned_paths
        self.warnings += records.warnings


@dataclass(frozen=True)
class ParsedRecords:
    """What one record file yields: its packages, the Python metadata paths they own,
    and warnings about parts that were skipped."""

    packages: list[InstalledPackage] = field(default_factory=list)
    os_owned_paths: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)


class ParseCache:
    """Parse results per file version (a ``CapturedFile``) and parser; forgotten when the
    file version is."""

    def __init__(self) -> None:
        self._results: weakref.WeakKeyDictionary[CapturedFile, dict[Hashable, object]] = (
            weakref.WeakKeyDictionary()
        )

    def parse(self, file: CapturedFile, key: Hashable, parser: Callable[[CapturedFile], T]) -> T:
        """``parser(file)``, computed once per file version and ``key`` (which names the
        parser and any argument it depends on, such as the path); exceptions are not
        cached."""
        results = self._results.setdefault(file, {})
        if key not in results:
            results[key] = parser(file)
        return cast(T, results[key])


def owns_python_metadata(path: str) -> bool:
    """Whether an OS package's file path is (inside) Python metadata."""
    return any(marker in path for marker in PYTHON_METADATA_MARKERS)
