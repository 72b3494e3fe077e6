"""Red Hat family packages: the rpm database.

rpm 4.16+ keeps it in SQLite (``rpmdb.sqlite``: a ``Packages`` table of header blobs);
the database is spooled to a temporary file, since SQLite opens files by path, and opened
read-only. The older BerkeleyDB (``Packages``) and ndb (``Packages.db``) backends are not
read: finding one makes the index ``partial``, with the reason.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from cargohold.scanner.indexer import paths
from cargohold.scanner.indexer.errors import RecordInvalid
from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import (
    Findings,
    ParseCache,
    ParsedRecords,
    owns_python_metadata,
)
from cargohold.scanner.indexer.layer_reader import CapturedFile
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import RPM_LEGACY_PATHS, RPM_SQLITE_PATHS
from cargohold.scanner.indexer.rpm_header import RpmHeader, Tag

PSEUDO_PACKAGES = frozenset({"gpg-pubkey"})
"""Entries rpm keeps in its database that are not installed software (imported keys)."""


def read_sqlite_headers(database: Path) -> list[bytes]:
    """The header blobs of an ``rpmdb.sqlite``; ``RecordInvalid`` if it is not one."""
    uri = f"{database.as_uri()}?mode=ro&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            rows = connection.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
    except sqlite3.Error as exc:
        raise RecordInvalid(f"not an rpm SQLite database: {exc}") from exc
    return [bytes(row[0]) for row in rows]


def parse_sqlite_database(database: Path, path: str) -> ParsedRecords:
    """The packages of an ``rpmdb.sqlite`` (recorded under ``path``) and the Python
    metadata they own; headers that cannot be parsed are skipped with a warning."""
    parsed = ParsedRecords()
    for blob in read_sqlite_headers(database):
        try:
            header = RpmHeader(blob)
            package = package_of(header, path)
        except RecordInvalid as exc:
            parsed.warnings.append(f"{path}: {exc}")
            continue
        if package is not None:
            parsed.packages.append(package)
            parsed.os_owned_paths.update(_owned_python_metadata(header))
    return parsed


def package_of(header: RpmHeader, path: str) -> InstalledPackage | None:
    """The package a header describes, or ``None`` for pseudo-packages (``gpg-pubkey``).

    The version is rpm's EVR (``epoch:version-release``, epoch only when set); the source
    name and version come from ``SOURCERPM`` (``name-version-release.src.rpm``), with the
    binary package's epoch.
    """
    name, version = header.string(Tag.NAME), header.string(Tag.VERSION)
    if not name or not version:
        raise RecordInvalid("an rpm header without NAME or VERSION")
    if name in PSEUDO_PACKAGES:
        return None
    epoch = next(iter(header.integers(Tag.EPOCH)), None)
    evr = _evr(epoch, version, header.string(Tag.RELEASE))
    source = split_source_rpm(header.string(Tag.SOURCERPM) or "")
    return InstalledPackage(
        kind=PackageKind.RPM,
        name=name,
        version=evr,
        path=path,
        source_name=source[0] if source else name,
        source_version=_evr(epoch, *source[1:]) if source else evr,
        architecture=header.string(Tag.ARCH),
    )


def split_source_rpm(filename: str) -> tuple[str, str, str] | None:
    """``(name, version, release)`` of a source rpm file name, or ``None`` if it is not
    one (``bash-5.1.8-6.el9.src.rpm`` -> ``("bash", "5.1.8", "6.el9")``)."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if filename.endswith(suffix):
            parts = filename.removesuffix(suffix).rsplit("-", 2)
            if len(parts) == 3 and all(parts):
                return parts[0], parts[1], parts[2]
    return None


def _evr(epoch: int | None, version: str, release: str | None) -> str:
    evr = f"{version}-{release}" if release else version
    return f"{epoch}:{evr}" if epoch else evr


def _owned_python_metadata(header: RpmHeader) -> set[str]:
    directories = header.strings(Tag.DIRNAMES)
    names = header.strings(Tag.BASENAMES)
    indexes = header.integers(Tag.DIRINDEXES)
    files = [directories[i] + name for i, name in zip(indexes, names, strict=False)]
    files += header.strings(Tag.OLDFILENAMES)
    return {paths.normalize(file) for file in files if owns_python_metadata(file)}


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds the packages of the first rpm SQLite database present (Fedora's
    ``usr/lib/sysimage`` place first); without one, notes a legacy database as a reason."""
    for path in reversed(RPM_SQLITE_PATHS):
        file = filesystem.read(path)
        if file is not None and file.spool_path is not None:
            _collect_database(cache, findings, file, file.spool_path, path)
            return
    for path in RPM_LEGACY_PATHS:
        if filesystem.exists(path):
            findings.reasons.append(
                f"{path}: rpm BerkeleyDB/ndb databases are not read (only rpmdb.sqlite)"
            )
            return


def _collect_database(
    cache: ParseCache, findings: Findings, file: CapturedFile, database: Path, path: str
) -> None:
    try:
        findings.add(
            cache.parse(file, ("rpm", path), lambda _: parse_sqlite_database(database, path))
        )
    except RecordInvalid as exc:
        findings.reasons.append(f"{path}: {exc}")
