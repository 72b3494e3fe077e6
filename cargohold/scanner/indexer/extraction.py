"""Running every format reader over a merged filesystem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from cargohold.scanner.indexer import (
    apk,
    dpkg,
    go_binaries,
    java_archives,
    npm,
    os_release,
    python_packages,
    rpmdb,
)
from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache

Collector = Callable[[MergedFilesystem, ParseCache, Findings], None]

COLLECTORS: Final[tuple[Collector, ...]] = (
    os_release.collect,
    dpkg.collect,
    apk.collect,
    rpmdb.collect,
    # After the OS readers: it skips Python metadata that OS packages own.
    python_packages.collect,
    npm.collect,
    go_binaries.collect,
    java_archives.collect,
)


def collect_findings(filesystem: MergedFilesystem, cache: ParseCache) -> Findings:
    """Everything the readers find in ``filesystem``, packages without duplicates, in
    reader order and then path order. Blocking (it may open an rpm database)."""
    findings = Findings()
    for collect in COLLECTORS:
        collect(filesystem, cache, findings)
    findings.packages = list(dict.fromkeys(findings.packages))
    return findings
