"""Java packages: the Maven coordinates in the ``pom.properties`` files of Java archives
(``jar_contents`` keeps them), named as OSV's Maven ecosystem does: ``GROUP:ARTIFACT``.

An archive without Maven metadata yields nothing; one nested in another (a Spring Boot
``BOOT-INF/lib`` jar) is reported at ``OUTER!/INNER``. Archives are read by their own
path, not through symlinks (Debian links ``guava.jar`` to ``guava-31.1-jre.jar``).
"""

from __future__ import annotations

import json
from typing import Final

from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache, ParsedRecords
from cargohold.scanner.indexer.jar_contents import NESTED_SEPARATOR
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import RecordKind

_COMMENT_MARKERS: Final = ("#", "!")
_REQUIRED_KEYS: Final = ("groupId", "artifactId", "version")


def parse_pom_properties(text: str) -> dict[str, str]:
    """The ``key=value`` (or ``key: value``) pairs of a ``pom.properties`` file, as Java
    properties without escapes and continuation lines (Maven writes neither)."""
    properties = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith(_COMMENT_MARKERS):
            continue
        cut = min((line.find(mark) for mark in "=:" if mark in line), default=-1)
        if cut > 0:
            properties[line[:cut].strip()] = line[cut + 1 :].strip()
    return properties


def read_java_archive(data: bytes, path: str) -> ParsedRecords:
    """The Maven packages a ``jar_contents`` reduction of the archive at ``path`` names;
    its problems, and ``pom.properties`` files without usable coordinates, as warnings."""
    reduction = json.loads(data)
    packages, warnings = [], [f"{path}: {problem}" for problem in reduction["problems"]]
    for pom_path, text in sorted(reduction["poms"].items()):
        archive = path + _nested_archive(pom_path)
        properties = parse_pom_properties(text)
        group, artifact, version = (properties.get(key, "") for key in _REQUIRED_KEYS)
        if not group or not artifact or not version or "${" in version:
            warnings.append(f"{archive}: {pom_path} has no usable Maven coordinates")
            continue
        packages.append(
            InstalledPackage(
                kind=PackageKind.MAVEN, name=f"{group}:{artifact}", version=version, path=archive
            )
        )
    return ParsedRecords(packages=packages, warnings=warnings)


def _nested_archive(pom_path: str) -> str:
    """``!/INNER.jar`` for a ``pom.properties`` of a nested archive, else ``""``."""
    inner, separator, _ = pom_path.partition(NESTED_SEPARATOR)
    return NESTED_SEPARATOR + inner if separator else ""


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds the Maven packages of every Java archive in the image."""
    for path in filesystem.paths_of(RecordKind.JAVA_ARCHIVE):
        _collect_archive(filesystem, cache, findings, path)


def _collect_archive(
    filesystem: MergedFilesystem, cache: ParseCache, findings: Findings, path: str
) -> None:
    file = filesystem.file_at(path)
    if file is not None:
        findings.add(cache.parse(file, ("java", path), lambda f: read_java_archive(f.data, path)))
