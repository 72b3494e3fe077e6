"""What the indexer reads (``LayerSource``) and what it returns (``ImageIndex``).

An ``ImageIndex`` is plain data: it round-trips through ``to_json_dict`` /
``from_json_dict`` so that the storage that keeps it per manifest needs no knowledge of it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

INDEXER_VERSION = 3
"""Bump on every change that changes an ``ImageIndex`` for the same image: a stored index
with another version is stale and the image is indexed again."""


class PackageKind(StrEnum):
    """The ecosystem a package belongs to, which decides how its versions compare."""

    DPKG = "dpkg"
    APK = "apk"
    RPM = "rpm"
    PYTHON = "python"
    NPM = "npm"
    GO = "go"
    MAVEN = "maven"


class IndexStatus(StrEnum):
    """How far the indexer could see into an image.

    ``indexed``: every package database found was read. ``partial``: some were found but
    could not be read (``reasons`` says which); the packages listed are still right.
    ``unsupported``: nothing was indexed (not an image, or past the size limits); this is
    an answer, not a failure, and retrying does not change it.
    """

    INDEXED = "indexed"
    PARTIAL = "partial"
    UNSUPPORTED = "unsupported"


LayerOpener = Callable[[], AsyncIterator[bytes]]
"""Opens a layer blob's bytes, as stored (compressed), from the start, in chunks of any
size. Each call starts a new stream."""


@dataclass(frozen=True)
class LayerSource:
    """One layer of an image manifest, in manifest order (base layer first)."""

    digest: str
    media_type: str
    open: LayerOpener


@dataclass(frozen=True)
class Distribution:
    """The operating system an image says it is, from ``os-release``."""

    id: str
    version_id: str | None = None
    version_codename: str | None = None
    pretty_name: str | None = None


@dataclass(frozen=True)
class InstalledPackage:
    """One installed package.

    ``path`` is the record the package was read from, relative to the image root (the
    dpkg status file, a ``.dist-info/METADATA``, a ``package.json``). ``source_name`` and
    ``source_version`` are set for OS packages (dpkg ``Source:``, apk origin, rpm source
    rpm), defaulting to the binary package's own. ``layer_digest`` is the layer from which
    on this exact record has been present without a break: the layer that introduced (or
    last upgraded) it.
    """

    kind: PackageKind
    name: str
    version: str
    path: str
    source_name: str | None = None
    source_version: str | None = None
    architecture: str | None = None
    layer_digest: str = ""


@dataclass(frozen=True)
class ImageIndex:
    """Everything the indexer learned about one image manifest."""

    status: IndexStatus
    distribution: Distribution | None = None
    packages: list[InstalledPackage] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    """Why the index is ``partial`` or ``unsupported``; empty when ``indexed``."""
    warnings: list[str] = field(default_factory=list)
    """Records that were skipped because they could not be parsed."""
    indexer_version: int = INDEXER_VERSION

    def to_json_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form that ``from_json_dict`` reads back unchanged."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json_dict(cls, data: Mapping[str, Any]) -> ImageIndex:
        """Reads what ``to_json_dict`` wrote (raises ``KeyError``/``ValueError`` if not)."""
        distribution = data.get("distribution")
        return cls(
            status=IndexStatus(data["status"]),
            distribution=Distribution(**distribution) if distribution else None,
            packages=[_package_from_json(item) for item in data.get("packages", [])],
            reasons=list(data.get("reasons", [])),
            warnings=list(data.get("warnings", [])),
            indexer_version=int(data["indexer_version"]),
        )

    @classmethod
    def unsupported(cls, reason: str) -> ImageIndex:
        """The index of an image this indexer cannot read, with the reason why."""
        return cls(status=IndexStatus.UNSUPPORTED, reasons=[reason])


def _package_from_json(item: Mapping[str, Any]) -> InstalledPackage:
    return InstalledPackage(**{**item, "kind": PackageKind(item["kind"])})
