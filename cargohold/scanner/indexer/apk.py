"""Alpine packages: ``lib/apk/db/installed``.

The file is paragraphs of ``X:value`` lines: ``P`` name, ``V`` version, ``A``
architecture, ``o`` origin (the source package, which shares the version), ``F`` a folder
and ``R`` a file in the last folder.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import (
    Findings,
    ParseCache,
    ParsedRecords,
    owns_python_metadata,
)
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import APK_INSTALLED_PATH


def parse_installed(data: bytes, path: str = APK_INSTALLED_PATH) -> ParsedRecords:
    """The packages of an apk ``installed`` database and the Python metadata they own.
    Paragraphs without ``P`` or ``V`` are skipped with a warning."""
    parsed = ParsedRecords()
    for lines in _paragraphs(data.decode("utf-8", errors="replace")):
        fields = _single_fields(lines)
        if not fields.get("P") or not fields.get("V"):
            parsed.warnings.append(f"{path}: a package without P: or V:")
            continue
        parsed.packages.append(_package_of(fields, path))
        parsed.os_owned_paths.update(_owned_python_metadata(lines))
    return parsed


def _paragraphs(text: str) -> Iterator[list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and len(key) == 1:
            lines.append((key, value))
        elif not line.strip() and lines:
            yield lines
            lines = []
    if lines:
        yield lines


def _single_fields(lines: list[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in lines:
        fields.setdefault(key, value)
    return fields


def _owned_python_metadata(lines: list[tuple[str, str]]) -> Iterator[str]:
    folder = ""
    for key, value in lines:
        if key == "F":
            folder = value
            if owns_python_metadata(folder):
                yield folder
        elif key == "R" and owns_python_metadata(folder + "/" + value):
            yield posixpath.join(folder, value)


def _package_of(fields: dict[str, str], path: str) -> InstalledPackage:
    return InstalledPackage(
        kind=PackageKind.APK,
        name=fields["P"],
        version=fields["V"],
        path=path,
        source_name=fields.get("o") or fields["P"],
        source_version=fields["V"],
        architecture=fields.get("A"),
    )


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds the apk packages and the Python metadata they own to ``findings``."""
    file = filesystem.read(APK_INSTALLED_PATH)
    if file is not None:
        findings.add(cache.parse(file, "apk", lambda f: parse_installed(f.data)))
