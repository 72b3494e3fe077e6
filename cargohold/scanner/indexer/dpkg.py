"""Debian packages: ``var/lib/dpkg/status``, distroless ``var/lib/dpkg/status.d/*``, and
``var/lib/dpkg/info/*.list`` (which Python metadata the packages own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from cargohold.scanner.indexer import paths
from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import (
    Findings,
    ParseCache,
    ParsedRecords,
    owns_python_metadata,
)
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import RecordKind

_SOURCE_FIELD: Final = re.compile(r"^(?P<name>\S+)(?:\s+\((?P<version>[^)]+)\))?$")


def parse_paragraphs(text: str) -> Iterator[dict[str, str]]:
    """The RFC 822-style paragraphs of a Debian control file, as field -> value
    (continuation lines joined with newlines)."""
    paragraph: dict[str, str] = {}
    last_field = ""
    for line in text.splitlines():
        if not line.strip():
            if paragraph:
                yield paragraph
            paragraph, last_field = {}, ""
        elif line[0] in " \t":
            if last_field:
                paragraph[last_field] += "\n" + line.strip()
        else:
            name, _, value = line.partition(":")
            last_field = name.strip()
            paragraph[last_field] = value.strip()
    if paragraph:
        yield paragraph


def parse_status(data: bytes, path: str, *, status_required: bool = True) -> ParsedRecords:
    """The installed packages of a dpkg status file (``path`` is recorded in each).

    A package counts when its ``Status`` says ``installed`` (``install ok installed`` or
    ``hold ok installed``); with ``status_required=False`` (distroless ``status.d``
    files, which may omit it) a missing ``Status`` counts too. Paragraphs without
    ``Package`` or ``Version`` are skipped with a warning.
    """
    parsed = ParsedRecords()
    for paragraph in parse_paragraphs(data.decode("utf-8", errors="replace")):
        status = paragraph.get("Status")
        if status is None and status_required:
            continue
        if status is not None and status.split()[-1:] != ["installed"]:
            continue
        if not paragraph.get("Package") or not paragraph.get("Version"):
            parsed.warnings.append(f"{path}: a paragraph without Package or Version")
            continue
        parsed.packages.append(_package_of(paragraph, path))
    return parsed


def _package_of(paragraph: dict[str, str], path: str) -> InstalledPackage:
    name, version = paragraph["Package"], paragraph["Version"]
    source_name, source_version = name, version
    source = _SOURCE_FIELD.match(paragraph.get("Source", ""))
    if source:
        source_name = source["name"]
        source_version = source["version"] or version
    return InstalledPackage(
        kind=PackageKind.DPKG,
        name=name,
        version=version,
        path=path,
        source_name=source_name,
        source_version=source_version,
        architecture=paragraph.get("Architecture"),
    )


def parse_file_list(data: bytes) -> ParsedRecords:
    """The Python metadata paths named in a dpkg ``.list`` file, normalised."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    owned = {paths.normalize(line) for line in lines if owns_python_metadata(line)}
    return ParsedRecords(os_owned_paths=owned)


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds the dpkg packages and the Python metadata they own to ``findings``."""
    for kind, required in ((RecordKind.DPKG_STATUS, True), (RecordKind.DPKG_STATUS_D, False)):
        for path in filesystem.paths_of(kind):
            _collect_status(filesystem, cache, findings, path, status_required=required)
    for path in filesystem.paths_of(RecordKind.DPKG_FILE_LIST):
        file = filesystem.read(path)
        if file is not None:
            findings.add(cache.parse(file, "dpkg-list", lambda f: parse_file_list(f.data)))


def _collect_status(
    filesystem: MergedFilesystem,
    cache: ParseCache,
    findings: Findings,
    path: str,
    *,
    status_required: bool,
) -> None:
    file = filesystem.read(path)
    if file is not None:
        key = ("dpkg-status", path, status_required)
        findings.add(
            cache.parse(
                file, key, lambda f: parse_status(f.data, path, status_required=status_required)
            )
        )
