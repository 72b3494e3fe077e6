"""Which files in a layer the indexer reads, and how it keeps them.

Everything else in a layer is skipped unread (tar is read as a stream, so skipping still
passes the bytes by, but nothing is kept). ``classify`` runs on every tar member, so it
looks at the file name first and the directories only when the name can match.

Go executables are the one record found by content, not by name: any regular file with
an executable bit (``may_be_go_binary``) has its first bytes read, and an ELF file is
searched for Go build info (``go_buildinfo``); only the build info is kept.
"""

from __future__ import annotations

import posixpath
from enum import Enum, StrEnum
from typing import Final


class RecordKind(StrEnum):
    """A kind of file the indexer reads."""

    OS_RELEASE = "os-release"
    DPKG_STATUS = "dpkg-status"
    DPKG_STATUS_D = "dpkg-status.d"
    DPKG_FILE_LIST = "dpkg-file-list"
    APK_INSTALLED = "apk-installed"
    RPM_SQLITE = "rpm-sqlite"
    RPM_LEGACY_DB = "rpm-legacy-db"
    PYTHON_METADATA = "python-metadata"
    PYTHON_INSTALLER = "python-installer"
    PYTHON_EGG_INFO = "python-egg-info"
    NPM_PACKAGE_JSON = "npm-package-json"
    NPM_LOCKFILE = "npm-lockfile"
    GO_BINARY = "go-binary"
    """Found by content; the captured data is the build info blob, not the file."""
    JAVA_ARCHIVE = "java-archive"
    """A ``.jar``/``.war``/``.ear``; the captured data is its Maven metadata, not the file."""


class Capture(Enum):
    """How a record's content is kept: in memory, spooled to a temporary file (large
    databases opened by path), not at all (only its presence matters), or reduced to
    what matters through a temporary copy (a zip archive needs random access)."""

    MEMORY = "memory"
    SPOOL = "spool"
    PRESENCE = "presence"
    ARCHIVE = "archive"


CAPTURE: Final = {kind: Capture.MEMORY for kind in RecordKind} | {
    RecordKind.RPM_SQLITE: Capture.SPOOL,
    RecordKind.RPM_LEGACY_DB: Capture.PRESENCE,
    RecordKind.JAVA_ARCHIVE: Capture.ARCHIVE,
}

OS_RELEASE_PATHS: Final = ("etc/os-release", "usr/lib/os-release")
"""In order of precedence, as os-release(5) says."""
DPKG_STATUS_PATH: Final = "var/lib/dpkg/status"
DPKG_STATUS_D_DIR: Final = "var/lib/dpkg/status.d"
DPKG_INFO_DIR: Final = "var/lib/dpkg/info"
APK_INSTALLED_PATH: Final = "lib/apk/db/installed"
RPM_SQLITE_PATHS: Final = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite")
"""Fedora 36+ keeps the database under ``/usr/lib/sysimage`` with ``/var/lib/rpm`` a
symlink to it, so both places are read."""
RPM_LEGACY_PATHS: Final = (
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
)
NPM_LOCKFILE_NAMES: Final = frozenset({"package-lock.json", "npm-shrinkwrap.json"})
JAVA_ARCHIVE_SUFFIXES: Final = (".jar", ".war", ".ear")

_FIXED_PATHS: Final = {
    **dict.fromkeys(OS_RELEASE_PATHS, RecordKind.OS_RELEASE),
    DPKG_STATUS_PATH: RecordKind.DPKG_STATUS,
    APK_INSTALLED_PATH: RecordKind.APK_INSTALLED,
    **dict.fromkeys(RPM_SQLITE_PATHS, RecordKind.RPM_SQLITE),
    **dict.fromkeys(RPM_LEGACY_PATHS, RecordKind.RPM_LEGACY_DB),
}


def classify(path: str) -> RecordKind | None:
    """The kind of record at a normalised ``path``, or ``None`` if the indexer skips it."""
    fixed = _FIXED_PATHS.get(path)
    if fixed is not None:
        return fixed
    directory, name = posixpath.split(path)
    if name == "package.json":
        return RecordKind.NPM_PACKAGE_JSON if _is_installed_npm_package(directory) else None
    if name in NPM_LOCKFILE_NAMES:
        return None if "node_modules" in directory.split("/") else RecordKind.NPM_LOCKFILE
    if name.endswith(JAVA_ARCHIVE_SUFFIXES):
        return RecordKind.JAVA_ARCHIVE
    return _classify_python(directory, name) or _classify_dpkg(directory, name)


def _classify_python(directory: str, name: str) -> RecordKind | None:
    if directory.endswith(".dist-info"):
        if name == "METADATA":
            return RecordKind.PYTHON_METADATA
        if name == "INSTALLER":
            return RecordKind.PYTHON_INSTALLER
        return None
    if name == "PKG-INFO" and directory.endswith(".egg-info"):
        return RecordKind.PYTHON_EGG_INFO
    if name.endswith(".egg-info"):
        # A single-file egg-info (distutils); a directory of that name yields no file.
        return RecordKind.PYTHON_EGG_INFO
    return None


def _classify_dpkg(directory: str, name: str) -> RecordKind | None:
    if directory == DPKG_STATUS_D_DIR and not name.endswith(".md5sums"):
        return RecordKind.DPKG_STATUS_D
    if directory == DPKG_INFO_DIR and name.endswith(".list"):
        return RecordKind.DPKG_FILE_LIST
    return None


def _is_installed_npm_package(directory: str) -> bool:
    """``.../node_modules/NAME`` or ``.../node_modules/@SCOPE/NAME``: a package's own
    manifest, not a nested ``package.json`` inside a package's files."""
    parts = directory.split("/")
    if len(parts) >= 2 and parts[-2] == "node_modules":
        return not parts[-1].startswith(".")
    return len(parts) >= 3 and parts[-3] == "node_modules" and parts[-2].startswith("@")


MIN_EXECUTABLE_BYTES: Final = 64
"""Smaller files cannot hold an ELF header."""
_ANY_EXECUTE_BIT: Final = 0o111


def may_be_go_binary(mode: int, size: int) -> bool:
    """Whether a regular file of this permission ``mode`` and ``size`` is worth reading to
    see if it is a Go executable: any execute bit set (as Trivy decides too; an image's
    binaries are executable, its data files mostly not), and room for an ELF header."""
    return bool(mode & _ANY_EXECUTE_BIT) and size >= MIN_EXECUTABLE_BYTES


def python_metadata_dir(path: str) -> str:
    """The ``.dist-info``/``.egg-info`` path a Python record belongs to (itself, for a
    single-file egg-info)."""
    return path if path.endswith(".egg-info") else posixpath.dirname(path)


_PYTHON_METADATA_MARKERS: Final = (b".dist-info", b".egg-info")


def reduce_content(kind: RecordKind, data: bytes) -> bytes:
    """What of a record is worth keeping: all of it, except dpkg's file lists, of which
    only the lines naming Python metadata are kept (they are read to tell distro-packaged
    Python packages from pip-installed ones, and would otherwise be megabytes)."""
    if kind is not RecordKind.DPKG_FILE_LIST:
        return data
    lines = data.splitlines(keepends=True)
    return b"".join(line for line in lines if any(m in line for m in _PYTHON_METADATA_MARKERS))
