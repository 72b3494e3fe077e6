"""Media type constants and the sets the rest of cargohold decides with."""

from __future__ import annotations

import pytest

from cargohold.spec import mediatypes as mt


def test_manifest_media_type_values() -> None:
    assert mt.OCI_MANIFEST == "application/vnd.oci.image.manifest.v1+json"
    assert mt.OCI_INDEX == "application/vnd.oci.image.index.v1+json"
    assert mt.DOCKER_MANIFEST == "application/vnd.docker.distribution.manifest.v2+json"
    assert mt.DOCKER_MANIFEST_LIST == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert mt.DOCKER_SCHEMA1 == "application/vnd.docker.distribution.manifest.v1+json"
    assert mt.DOCKER_SCHEMA1_SIGNED == "application/vnd.docker.distribution.manifest.v1+prettyjws"


def test_config_media_type_values() -> None:
    assert mt.OCI_CONFIG == "application/vnd.oci.image.config.v1+json"
    assert mt.DOCKER_CONFIG == "application/vnd.docker.container.image.v1+json"
    assert mt.OCI_EMPTY == "application/vnd.oci.empty.v1+json"


def test_manifest_sets() -> None:
    assert frozenset({mt.OCI_MANIFEST, mt.DOCKER_MANIFEST}) == mt.IMAGE_MANIFEST_TYPES
    assert frozenset({mt.OCI_INDEX, mt.DOCKER_MANIFEST_LIST}) == mt.INDEX_TYPES
    assert mt.IMAGE_MANIFEST_TYPES | mt.INDEX_TYPES == mt.MANIFEST_TYPES
    assert not mt.IMAGE_MANIFEST_TYPES & mt.INDEX_TYPES
    assert not mt.SCHEMA1_TYPES & mt.MANIFEST_TYPES


def test_foreign_layer_types() -> None:
    assert "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" in mt.FOREIGN_LAYER_TYPES
    assert all("nondistributable" in t or "foreign" in t for t in mt.FOREIGN_LAYER_TYPES)
    assert mt.OCI_NONDISTRIBUTABLE_LAYER_GZIP in mt.FOREIGN_LAYER_TYPES
    assert mt.DOCKER_LAYER not in mt.FOREIGN_LAYER_TYPES
    assert mt.OCI_LAYER_GZIP not in mt.FOREIGN_LAYER_TYPES


@pytest.mark.parametrize(
    ("content_type", "bare"),
    [
        (mt.OCI_MANIFEST, mt.OCI_MANIFEST),
        (f"{mt.OCI_MANIFEST}; charset=utf-8", mt.OCI_MANIFEST),
        (f"  {mt.OCI_INDEX} ;charset=UTF-8", mt.OCI_INDEX),
        ("Application/JSON", "application/json"),
        ("", ""),
    ],
)
def test_strip_parameters(content_type: str, bare: str) -> None:
    assert mt.strip_parameters(content_type) == bare
