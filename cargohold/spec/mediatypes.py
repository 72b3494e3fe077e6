"""Media types of the OCI image specification and Docker image manifest v2.

The sets at the bottom are what the rest of cargohold decides with: which manifest kinds it
accepts (:data:`MANIFEST_TYPES`), which of those are indexes (:data:`INDEX_TYPES`), and
which layers may live outside the registry (:data:`FOREIGN_LAYER_TYPES`).
"""

from __future__ import annotations

from typing import Final

# Manifests and indexes.
OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1: Final = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED: Final = "application/vnd.docker.distribution.manifest.v1+prettyjws"

# Image configurations.
OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG: Final = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY: Final = "application/vnd.oci.empty.v1+json"

# Artifacts.
CYCLONEDX_JSON: Final = "application/vnd.cyclonedx+json"

# Layers.
OCI_LAYER: Final = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD: Final = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LAYER: Final = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_NONDISTRIBUTABLE_LAYER: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_NONDISTRIBUTABLE_LAYER_GZIP: Final = (
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
)
OCI_NONDISTRIBUTABLE_LAYER_ZSTD: Final = (
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)
DOCKER_FOREIGN_LAYER: Final = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

IMAGE_MANIFEST_TYPES: Final = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
"""Manifests that describe one image (or artifact): a config and layers."""

INDEX_TYPES: Final = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
"""Manifests that list other manifests, usually one per platform."""

MANIFEST_TYPES: Final = IMAGE_MANIFEST_TYPES | INDEX_TYPES
"""Every manifest media type cargohold accepts on push and serves on pull."""

SCHEMA1_TYPES: Final = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
"""Docker schema 1 manifests: recognised only so they can be refused with a clear message."""

FOREIGN_LAYER_TYPES: Final = frozenset(
    {
        OCI_NONDISTRIBUTABLE_LAYER,
        OCI_NONDISTRIBUTABLE_LAYER_GZIP,
        OCI_NONDISTRIBUTABLE_LAYER_ZSTD,
        DOCKER_FOREIGN_LAYER,
    }
)
"""Layers whose bytes may be fetched from the descriptor's ``urls`` instead of the registry."""


def strip_parameters(content_type: str) -> str:
    """The bare media type of a ``Content-Type`` value: parameters such as
    ``; charset=utf-8`` removed, surrounding space trimmed, lower-cased (media types are
    case-insensitive)."""
    return content_type.split(";", 1)[0].strip().lower()
