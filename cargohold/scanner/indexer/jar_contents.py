"""What the indexer keeps of a Java archive (``.jar``, ``.war``, ``.ear``): the Maven
``META-INF/maven/GROUP/ARTIFACT/pom.properties`` files in it and in the archives nested
in it (``BOOT-INF/lib/*.jar``, ``WEB-INF/lib/*.jar``), one level deep.

A zip archive is read from its end (the central directory), so an archive passing by in
a tar stream is copied to a temporary file in the spool directory first (kept in memory
while small) and reduced at once to a small JSON document, which ``java_archives``
parses; the copy is gone when the reduction returns::

    {"poms": {"META-INF/maven/G/A/pom.properties": "<text>",
              "BOOT-INF/lib/x.jar!/META-INF/maven/G/A/pom.properties": "<text>"},
     "problems": ["BOOT-INF/lib/y.jar: not a zip archive"]}
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import IO, Final

from cargohold.scanner.indexer.records import JAVA_ARCHIVE_SUFFIXES

NESTED_SEPARATOR: Final = "!/"
MAX_POM_PROPERTIES_BYTES: Final = 64 * 1024
MAX_NESTED_ARCHIVE_BYTES: Final = 64 * 1024 * 1024
"""A nested archive is read into memory; a larger one is noted as a problem."""
_IN_MEMORY_BYTES: Final = 8 * 1024 * 1024
_COPY_BUFFER_BYTES: Final = 1024 * 1024
_POM_PROPERTIES: Final = re.compile(r"META-INF/maven/[^/]+/[^/]+/pom\.properties")
_ZIP_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    NotImplementedError,  # a compression method zipfile lacks
    RuntimeError,  # an encrypted entry
    ValueError,  # header fields out of range
)


def reduce_archive(content: IO[bytes], spool_dir: Path) -> bytes:
    """The JSON reduction of the archive ``content`` (read to its end)."""
    poms: dict[str, str] = {}
    problems: list[str] = []
    with tempfile.SpooledTemporaryFile(_IN_MEMORY_BYTES, mode="w+b", dir=str(spool_dir)) as copy:
        shutil.copyfileobj(content, copy, _COPY_BUFFER_BYTES)
        copy.seek(0)
        _read_archive(copy, "", poms, problems, nested=True)
    return _document(poms, problems)


def unread(problem: str) -> bytes:
    """The reduction of an archive that was not read, saying why."""
    return _document({}, [problem])


def _read_archive(
    file: IO[bytes], prefix: str, poms: dict[str, str], problems: list[str], *, nested: bool
) -> None:
    try:
        archive = zipfile.ZipFile(file)
    except _ZIP_ERRORS as exc:
        nested_name = prefix.removesuffix(NESTED_SEPARATOR)
        problems.append(f"{nested_name + ': ' if nested_name else ''}not a zip archive ({exc})")
        return
    with archive:
        for entry in archive.infolist():
            try:
                _read_entry(archive, entry, prefix, poms, problems, nested=nested)
            except _ZIP_ERRORS as exc:
                problems.append(f"{prefix}{entry.filename}: unreadable ({exc})")


def _read_entry(
    archive: zipfile.ZipFile,
    entry: zipfile.ZipInfo,
    prefix: str,
    poms: dict[str, str],
    problems: list[str],
    *,
    nested: bool,
) -> None:
    name = prefix + entry.filename
    if _POM_PROPERTIES.fullmatch(entry.filename):
        if entry.file_size > MAX_POM_PROPERTIES_BYTES:
            problems.append(f"{name}: {entry.file_size} bytes, too large to be read")
        else:
            poms[name] = archive.read(entry).decode("utf-8", "replace")
    elif nested and entry.filename.endswith(JAVA_ARCHIVE_SUFFIXES) and not entry.is_dir():
        if entry.file_size > MAX_NESTED_ARCHIVE_BYTES:
            problems.append(f"{name}: {entry.file_size} bytes, too large to be read")
            return
        inner = io.BytesIO(archive.read(entry))
        _read_archive(inner, name + NESTED_SEPARATOR, poms, problems, nested=False)


def _document(poms: dict[str, str], problems: list[str]) -> bytes:
    return json.dumps({"poms": poms, "problems": problems}, sort_keys=True).encode()
