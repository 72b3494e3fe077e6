"""Python distributions: ``*.dist-info/METADATA``, ``*.egg-info/PKG-INFO`` and single-file
``*.egg-info``, wherever they are in the image.

A distribution installed by the OS package manager is already counted as an OS package,
so it is skipped: when its ``INSTALLER`` names one, or when an OS package's file list owns
its metadata (Debian's ``python3-*`` packages write no ``INSTALLER``).
"""

from __future__ import annotations

import posixpath
from typing import Final

from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache, ParsedRecords
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import RecordKind, python_metadata_dir

OS_INSTALLERS: Final = frozenset({"dpkg", "apt", "debian", "rpm", "dnf", "yum", "apk"})
"""``INSTALLER`` values written by OS package builds (lower-cased)."""


def parse_metadata(data: bytes, path: str) -> ParsedRecords:
    """The distribution described by core metadata (``METADATA``/``PKG-INFO``: email-style
    headers, of which ``Name`` and ``Version`` are read). Without both, a warning."""
    headers: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and not line[0].isspace():
            headers.setdefault(key.strip().lower(), value.strip())
    name, version = headers.get("name"), headers.get("version")
    if not name or not version:
        return ParsedRecords(warnings=[f"{path}: Python metadata without Name or Version"])
    package = InstalledPackage(kind=PackageKind.PYTHON, name=name, version=version, path=path)
    return ParsedRecords(packages=[package])


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds the Python distributions not owned by the OS; call after the OS readers."""
    candidates = filesystem.paths_of(RecordKind.PYTHON_METADATA)
    candidates += filesystem.paths_of(RecordKind.PYTHON_EGG_INFO)
    for path in candidates:
        if _installed_by_os(filesystem, findings, path):
            continue
        _collect_metadata(filesystem, cache, findings, path)


def _collect_metadata(
    filesystem: MergedFilesystem, cache: ParseCache, findings: Findings, path: str
) -> None:
    file = filesystem.read(path)
    if file is not None:
        findings.add(cache.parse(file, ("python", path), lambda f: parse_metadata(f.data, path)))


def _installed_by_os(filesystem: MergedFilesystem, findings: Findings, path: str) -> bool:
    metadata_dir = python_metadata_dir(path)
    if metadata_dir in findings.os_owned_paths or path in findings.os_owned_paths:
        return True
    installer = filesystem.read(posixpath.join(metadata_dir, "INSTALLER"))
    return installer is not None and _installer_name(installer.data) in OS_INSTALLERS


def _installer_name(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").strip().lower()
