"""The distribution an image says it is: ``etc/os-release`` or ``usr/lib/os-release``.

The format (os-release(5)) is shell-like ``KEY=value`` lines with optional quoting.
"""

from __future__ import annotations

import re
import shlex
from typing import Final

from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache
from cargohold.scanner.indexer.layer_reader import CapturedFile
from cargohold.scanner.indexer.model import Distribution
from cargohold.scanner.indexer.records import OS_RELEASE_PATHS

_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_os_release(data: bytes) -> dict[str, str]:
    """The assignments of an os-release file; malformed lines are skipped."""
    fields = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        key, sep, raw_value = line.strip().partition("=")
        if sep and _KEY.fullmatch(key):
            fields[key] = _unquote(raw_value)
    return fields


def _unquote(raw_value: str) -> str:
    try:
        return " ".join(shlex.split(raw_value))
    except ValueError:  # an unbalanced quote: keep what is there
        return raw_value.strip("\"'")


def distribution_of(fields: dict[str, str]) -> Distribution:
    """The distribution described by parsed os-release fields (``ID`` defaults to
    ``linux``, as os-release(5) says)."""
    return Distribution(
        id=fields.get("ID") or "linux",
        version_id=fields.get("VERSION_ID"),
        version_codename=fields.get("VERSION_CODENAME"),
        pretty_name=fields.get("PRETTY_NAME"),
    )


def _parse(file: CapturedFile) -> Distribution:
    return distribution_of(parse_os_release(file.data))


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Sets ``findings.distribution`` from the first os-release file present."""
    for path in OS_RELEASE_PATHS:
        file = filesystem.read(path)
        if file is not None:
            findings.distribution = cache.parse(file, "os-release", _parse)
            return
