"""The image's files of interest as the container would see them: layers merged in order.

Overlay rules (OCI image spec, "Applying changesets"): a layer's whiteouts and opaque
directories remove lower layers' paths first, then its own entries replace whatever lower
layers had at the same path. Only records are tracked, so a whiteout of a directory
removes the records below it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Final

from cargohold.scanner.indexer import paths
from cargohold.scanner.indexer.layer_reader import CapturedFile, Entry, LayerChanges
from cargohold.scanner.indexer.records import RecordKind

MAX_SYMLINK_HOPS: Final = 16


@dataclass(frozen=True)
class FileVersion:
    """A path's current entry and the index of the layer that wrote it."""

    entry: Entry
    layer_index: int


class MergedFilesystem:
    """Records of the layers applied so far; ``apply`` one layer at a time, base first."""

    def __init__(self) -> None:
        self._files: dict[str, FileVersion] = {}
        self._records_below: Counter[str] = Counter()

    def apply(self, layer_index: int, changes: LayerChanges) -> bool:
        """Applies one layer's changes; whether any record was added, replaced or removed."""
        changed = False
        for hidden in changes.hidden:
            changed |= self._remove_tree(hidden, keep_root=False)
        for directory in changes.opaque_dirs:
            changed |= self._remove_tree(directory, keep_root=True)
        for path, entry in changes.entries.items():
            self._put(path, FileVersion(entry, layer_index))
            changed = True
        return changed

    def paths_of(self, kind: RecordKind) -> list[str]:
        """The paths holding records of ``kind`` (symlinks included), sorted."""
        return sorted(path for path, version in self._files.items() if version.entry.kind is kind)

    def read(self, path: str) -> CapturedFile | None:
        """The record at ``path``, following symlinks; ``None`` if there is none or the
        links loop or lead to a file that is not a record."""
        for _ in range(MAX_SYMLINK_HOPS):
            version = self._files.get(path)
            if version is None:
                return None
            if isinstance(version.entry, CapturedFile):
                return version.entry
            path = version.entry.target
        return None

    def file_at(self, path: str) -> CapturedFile | None:
        """The record stored at ``path`` itself: ``None`` if there is none or it is a
        symlink (for readers that find a record by its own path and would otherwise
        count it once more per link)."""
        version = self._files.get(path)
        return version.entry if version and isinstance(version.entry, CapturedFile) else None

    def exists(self, path: str) -> bool:
        """Whether a record (or a symlink to one) is at ``path``."""
        return path in self._files

    def _put(self, path: str, version: FileVersion) -> None:
        if path not in self._files:
            self._records_below.update(paths.ancestors(path))
        self._files[path] = version

    def _remove_tree(self, root: str, *, keep_root: bool) -> bool:
        doomed = [] if keep_root or root not in self._files else [root]
        if not root or self._records_below[root] > 0:
            prefix = root + "/" if root else ""
            doomed.extend(path for path in self._files if path.startswith(prefix))
        for path in doomed:
            del self._files[path]
            self._records_below.subtract(paths.ancestors(path))
        return bool(doomed)
