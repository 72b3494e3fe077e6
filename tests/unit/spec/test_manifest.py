"""Manifest and index parsing, on documents shaped like the ones real clients push."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from cargohold.errors import ManifestInvalid, PayloadTooLarge
from cargohold.spec import mediatypes as mt
from cargohold.spec.digest import Digest
from cargohold.spec.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ParsedManifest,
    parse_manifest,
)

# docker push of alpine:3.19 (linux/amd64): Docker schema 2, three-space indent.
DOCKER_ALPINE = b"""{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1471,
      "digest": "sha256:05455a08881ea9cf0e752bc48e61bbd71a34c029bb13df01e40e3e70e0d007bd"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 3408729,
         "digest": "sha256:4abcf20661432fb2d719aaf90656f55c287f8ca915dc1c92ec14ff61e67fbaf8"
      }
   ]
}"""

# buildkit (docker buildx --output type=image,oci-mediatypes=true): OCI, compact JSON.
OCI_BUILDKIT = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
    b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json",'
    b'"digest":"sha256:7e2b5a4d1e2fa8a1c4b47a9d6b1f0e9d1a3f8e7c6b5a4d3e2f1a0b9c8d7e6f5a",'
    b'"size":2287},"layers":['
    b'{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",'
    b'"digest":"sha256:c6a83fedfae6ed8a4f5f7cbb6a7b6f1c8a4e5a7d0e4b3c2d1f0e9a8b7c6d5e4f",'
    b'"size":29124181},'
    b'{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",'
    b'"digest":"sha256:1f0e9a8b7c6d5e4fc6a83fedfae6ed8a4f5f7cbb6a7b6f1c8a4e5a7d0e4b3c2d",'
    b'"size":120},'
    b'{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd",'
    b'"digest":"sha256:a4e5a7d0e4b3c2d1f0e9a8b7c6d5e4fc6a83fedfae6ed8a4f5f7cbb6a7b6f1c8",'
    b'"size":4481223,"annotations":{"io.github.containers.zstd-chunked.manifest-checksum":'
    b'"sha256:5e4fc6a83fedfae6ed8a4f5f7cbb6a7b6f1c8a4e5a7d0e4b3c2d1f0e9a8b7c6d"}}],'
    b'"annotations":{"org.opencontainers.image.created":"2024-03-07T10:21:44Z",'
    b'"org.opencontainers.image.source":"https://github.com/example/api"}}'
)

# umoci writes image manifests with no top-level mediaType.
UMOCI = b"""{
  "schemaVersion": 2,
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:e3a7f35e6cbbc8e4d0a5fbb33b2cd25b6e0a2b9e6b8a0b1b5e47c1c4c9f3d2a1",
    "size": 658
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:0a2b9e6b8a0b1b5e47c1c4c9f3d2a1e3a7f35e6cbbc8e4d0a5fbb33b2cd25b6e",
      "size": 2813316
    }
  ],
  "annotations": {
    "org.opencontainers.image.ref.name": "latest"
  }
}"""

# docker manifest inspect of a multi-platform image: a Docker manifest list.
DOCKER_LIST = b"""{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:6457d53fb065d6f250e1504b9bc42d5b6c65941d57532c072d929dd0628977d0",
         "platform": {
            "architecture": "amd64",
            "os": "linux"
         }
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:b229a85166aadbde58e73e03c5e2b9737fb4642ffb2d98ba453adc90d144c1d8",
         "platform": {
            "architecture": "arm",
            "os": "linux",
            "variant": "v7"
         }
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "sha256:ea5f8f5e1e8a1c5fb2f7a93f8e6c1f1eb0a0b0f2f7e6c4d3b2a1f0e9d8c7b6a5",
         "platform": {
            "architecture": "arm64",
            "os": "linux",
            "variant": "v8"
         }
      }
   ]
}"""

# The index.json of an OCI image layout, pushed as is: no mediaType.
OCI_LAYOUT_INDEX = b"""{
  "schemaVersion": 2,
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:f1e9d8c7b6a5ea5f8f5e1e8a1c5fb2f7a93f8e6c1f1eb0a0b0f2f7e6c4d3b2a0",
      "size": 1024,
      "platform": {"architecture": "amd64", "os": "linux"},
      "annotations": {"org.opencontainers.image.ref.name": "v1.0"}
    }
  ]
}"""

SUBJECT_DIGEST = "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0"

# oras attach --artifact-type application/spdx+json: an SBOM pointing at an image.
ORAS_SBOM = b"""{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/spdx+json",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30="
  },
  "layers": [
    {
      "mediaType": "application/spdx+json",
      "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
      "size": 18,
      "annotations": {"org.opencontainers.image.title": "sbom.spdx.json"}
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
    "size": 1062
  },
  "annotations": {"org.opencontainers.image.created": "2024-03-07T10:21:44Z"}
}"""

# helm push: an artifact typed by its config, no artifactType field.
HELM_CHART = b"""{
  "schemaVersion": 2,
  "config": {
    "mediaType": "application/vnd.cncf.helm.config.v1+json",
    "digest": "sha256:8ec7c0f2f6860037c19b54c3cfbab48d9b4b21b485a93d87b64690fdb68c2111",
    "size": 117
  },
  "layers": [
    {
      "mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
      "digest": "sha256:1b251d38cfe948dfc0a5745b7af5ca574ecb61e52aed10b19039db39af6e1617",
      "size": 3602
    }
  ],
  "annotations": {
    "org.opencontainers.image.title": "mychart",
    "org.opencontainers.image.version": "0.1.0"
  }
}"""

# A Windows Server Core image: the base layers live on Microsoft's servers.
WINDOWS = b"""{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 3476,
      "digest": "sha256:d1a4a6e2b4b8ba0d7b5b6b34f6f1b8f0c2e0c9a1c8d7e6f5a4b3c2d1e0f9a8b7"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1718332879,
         "digest": "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548",
         "urls": [
            "https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548"
         ]
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1040,
         "digest": "sha256:8b6f1c8a4e5a7d0e4b3c2d1f0e9a8b7c6d5e4fc6a83fedfae6ed8a4f5f7cbb6a"
      },
      {
         "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
         "size": 2048,
         "digest": "sha256:c2d1f0e9a8b7c6d5e4fc6a83fedfae6ed8a4f5f7cbb6a8b6f1c8a4e5a7d0e4b3",
         "urls": ["https://example.com/layer.tar.gz"]
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 1290,
         "digest": "sha256:a7d0e4b3c2d1f0e9a8b7c6d5e4fc6a83fedfae6ed8a4f5f7cbb6a8b6f1c8a4e5"
      }
   ]
}"""

# docker pull of an ancient image: Docker schema 1, signed.
DOCKER_SCHEMA1 = b"""{
   "schemaVersion": 1,
   "name": "library/busybox",
   "tag": "1.0",
   "architecture": "amd64",
   "fsLayers": [
      {"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}
   ],
   "history": [{"v1Compatibility": "{}"}],
   "signatures": []
}"""


def parse(raw: bytes, content_type: str | None = None, **kwargs: Any) -> ParsedManifest:
    return parse_manifest(raw, content_type, **kwargs)


def edited(raw: bytes, edit: Any) -> bytes:
    """``raw`` decoded, changed by ``edit`` (which mutates the dict), re-encoded."""
    body = json.loads(raw)
    edit(body)
    return json.dumps(body).encode()


def document(**fields: Any) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def descriptor(media_type: str = mt.OCI_LAYER_GZIP, **extra: Any) -> dict[str, Any]:
    body = {
        "mediaType": media_type,
        "digest": str(Digest.of_bytes(json.dumps(extra).encode())),
        "size": 1234,
    }
    return {**body, **extra}


# What each kind of manifest parses to.


def test_docker_schema2_manifest() -> None:
    manifest = parse(DOCKER_ALPINE, mt.DOCKER_MANIFEST)
    assert manifest.media_type == mt.DOCKER_MANIFEST
    assert not manifest.is_index
    assert manifest.config is not None
    assert manifest.config.media_type == mt.DOCKER_CONFIG
    assert manifest.config.size == 1471
    assert [layer.size for layer in manifest.layers] == [3408729]
    assert manifest.manifests == ()
    assert manifest.subject is None
    assert manifest.annotations is None
    assert manifest.artifact_type == mt.DOCKER_CONFIG


def test_digest_and_size_are_of_the_exact_bytes() -> None:
    manifest = parse(DOCKER_ALPINE, mt.DOCKER_MANIFEST)
    assert manifest.digest.hex == hashlib.sha256(DOCKER_ALPINE).hexdigest()
    assert manifest.size == len(DOCKER_ALPINE)
    compact = json.dumps(json.loads(DOCKER_ALPINE)).encode()
    assert parse(compact, mt.DOCKER_MANIFEST).digest != manifest.digest


def test_digest_with_sha512() -> None:
    manifest = parse(OCI_BUILDKIT, mt.OCI_MANIFEST, algorithm="sha512")
    assert manifest.digest == Digest("sha512", hashlib.sha512(OCI_BUILDKIT).hexdigest())


def test_descriptors_may_use_sha512() -> None:
    layer = descriptor()
    layer["digest"] = str(Digest.of_bytes(b"layer", "sha512"))
    manifest = parse(document(config=descriptor(mt.OCI_CONFIG), layers=[layer]))
    assert manifest.layers[0].digest.algorithm == "sha512"


def test_oci_manifest_from_buildkit() -> None:
    manifest = parse(OCI_BUILDKIT, mt.OCI_MANIFEST)
    assert manifest.media_type == mt.OCI_MANIFEST
    assert [layer.media_type for layer in manifest.layers] == [
        mt.OCI_LAYER_GZIP,
        mt.OCI_LAYER_GZIP,
        mt.OCI_LAYER_ZSTD,
    ]
    assert manifest.annotations == {
        "org.opencontainers.image.created": "2024-03-07T10:21:44Z",
        "org.opencontainers.image.source": "https://github.com/example/api",
    }
    zstd_layer = manifest.layers[2]
    assert zstd_layer.annotations is not None
    assert list(zstd_layer.annotations) == ["io.github.containers.zstd-chunked.manifest-checksum"]
    assert manifest.artifact_type == mt.OCI_CONFIG


@pytest.mark.parametrize("content_type", [None, "", "application/json", "application/octet-stream"])
def test_umoci_manifest_without_media_type_is_detected(content_type: str | None) -> None:
    manifest = parse(UMOCI, content_type)
    assert manifest.media_type == mt.OCI_MANIFEST
    assert manifest.config is not None
    assert len(manifest.layers) == 1
    assert manifest.annotations == {"org.opencontainers.image.ref.name": "latest"}


def test_umoci_manifest_takes_the_content_type() -> None:
    manifest = parse(UMOCI, f"{mt.OCI_MANIFEST}; charset=utf-8")
    assert manifest.media_type == mt.OCI_MANIFEST


def test_docker_manifest_list() -> None:
    manifest = parse(DOCKER_LIST, mt.DOCKER_MANIFEST_LIST)
    assert manifest.is_index
    assert manifest.media_type == mt.DOCKER_MANIFEST_LIST
    assert manifest.config is None
    assert manifest.layers == ()
    assert manifest.required_blobs == ()
    assert manifest.artifact_type is None
    platforms = [dict(child.platform or {}) for child in manifest.manifests]
    assert platforms == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm", "os": "linux", "variant": "v7"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    assert {child.media_type for child in manifest.manifests} == {mt.DOCKER_MANIFEST}


@pytest.mark.parametrize("content_type", [None, mt.OCI_INDEX, "application/json"])
def test_oci_index_without_media_type(content_type: str | None) -> None:
    manifest = parse(OCI_LAYOUT_INDEX, content_type)
    assert manifest.media_type == mt.OCI_INDEX
    assert manifest.is_index
    (child,) = manifest.manifests
    assert child.annotations == {"org.opencontainers.image.ref.name": "v1.0"}


def test_artifact_with_artifact_type_and_subject() -> None:
    manifest = parse(ORAS_SBOM, mt.OCI_MANIFEST)
    assert manifest.artifact_type == "application/spdx+json"
    assert manifest.subject == Descriptor(
        media_type=mt.OCI_MANIFEST, digest=Digest.parse(SUBJECT_DIGEST), size=1062
    )
    assert manifest.config is not None
    assert manifest.config.media_type == mt.OCI_EMPTY
    assert manifest.config.size == 2


def test_artifact_type_falls_back_to_the_config_media_type() -> None:
    manifest = parse(HELM_CHART, mt.OCI_MANIFEST)
    assert manifest.artifact_type == "application/vnd.cncf.helm.config.v1+json"


def test_artifact_with_no_layers() -> None:
    raw = edited(ORAS_SBOM, lambda body: body.update(layers=[]))
    manifest = parse(raw, mt.OCI_MANIFEST)
    assert manifest.layers == ()
    assert manifest.config is not None
    assert manifest.required_blobs == (manifest.config,)


def test_index_with_artifact_type_and_subject() -> None:
    raw = document(
        mediaType=mt.OCI_INDEX,
        artifactType="application/vnd.example.signature.bundle",
        manifests=[descriptor(mt.OCI_MANIFEST, artifactType="application/vnd.dev.cosign")],
        subject={"mediaType": mt.OCI_INDEX, "digest": SUBJECT_DIGEST, "size": 7682},
    )
    manifest = parse(raw, mt.OCI_INDEX)
    assert manifest.artifact_type == "application/vnd.example.signature.bundle"
    assert manifest.manifests[0].artifact_type == "application/vnd.dev.cosign"
    assert manifest.subject is not None
    assert str(manifest.subject.digest) == SUBJECT_DIGEST


def test_null_subject_is_no_subject() -> None:
    raw = edited(ORAS_SBOM, lambda body: body.update(subject=None))
    assert parse(raw).subject is None


# Which blobs a manifest needs.


def test_required_blobs_are_config_then_layers() -> None:
    manifest = parse(OCI_BUILDKIT, mt.OCI_MANIFEST)
    assert manifest.config is not None
    assert manifest.required_blobs == (manifest.config, *manifest.layers)


def test_foreign_layers_with_urls_are_not_required() -> None:
    manifest = parse(WINDOWS, mt.DOCKER_MANIFEST)
    required = [str(blob.digest)[7:15] for blob in manifest.required_blobs]
    # config, the foreign layer without urls, the ordinary layer.
    assert required == ["d1a4a6e2", "8b6f1c8a", "a7d0e4b3"]
    assert manifest.layers[0].urls == (
        "https://mcr.microsoft.com/v2/windows/servercore/blobs/"
        "sha256:3889bb8d808bbae6fa5a33e07093e65c31371bcf9e4c38c21be6b9af52ad1548",
    )


# Descriptors.


def test_descriptor_to_json_round_trips() -> None:
    manifest = parse(WINDOWS, mt.DOCKER_MANIFEST)
    originals = json.loads(WINDOWS)["layers"]
    assert [layer.to_json() for layer in manifest.layers] == originals


def test_descriptor_to_json_writes_optional_fields_only_when_set() -> None:
    digest = Digest.of_bytes(b"{}")
    minimal = Descriptor(mt.OCI_EMPTY, digest, 2)
    assert minimal.to_json() == {"mediaType": mt.OCI_EMPTY, "digest": str(digest), "size": 2}
    full = Descriptor(
        mt.OCI_MANIFEST,
        digest,
        2,
        artifact_type="application/vnd.example",
        annotations={"a": "b"},
        platform={"os": "linux", "architecture": "arm64"},
        urls=("https://example.com/x",),
    )
    assert full.to_json() == {
        "mediaType": mt.OCI_MANIFEST,
        "digest": str(digest),
        "size": 2,
        "artifactType": "application/vnd.example",
        "annotations": {"a": "b"},
        "platform": {"os": "linux", "architecture": "arm64"},
        "urls": ["https://example.com/x"],
    }
    assert json.loads(json.dumps(full.to_json())) == full.to_json()


def test_parsed_descriptors_are_immutable_and_hashable() -> None:
    manifest = parse(OCI_BUILDKIT, mt.OCI_MANIFEST)
    assert len(set(manifest.layers)) == 3
    annotations = manifest.layers[2].annotations
    assert annotations is not None
    with pytest.raises(TypeError):
        annotations["x"] = "y"  # type: ignore[index]


# Media type resolution.


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (OCI_BUILDKIT, mt.DOCKER_MANIFEST),
        (DOCKER_ALPINE, mt.OCI_MANIFEST),
        (DOCKER_LIST, mt.OCI_INDEX),
        (OCI_BUILDKIT, mt.OCI_INDEX),
    ],
)
def test_media_type_contradicting_content_type(raw: bytes, content_type: str) -> None:
    declared = json.loads(raw)["mediaType"]
    with pytest.raises(ManifestInvalid) as caught:
        parse(raw, content_type)
    assert declared in caught.value.message
    assert content_type in caught.value.message


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", "application/vnd.example+json"]
)
def test_body_media_type_wins_over_a_non_manifest_content_type(content_type: str) -> None:
    assert parse(DOCKER_ALPINE, content_type).media_type == mt.DOCKER_MANIFEST


def test_content_type_parameters_and_case_are_ignored() -> None:
    content_type = "application/vnd.docker.distribution.manifest.v2+JSON; charset=utf-8"
    assert parse(DOCKER_ALPINE, content_type).media_type == mt.DOCKER_MANIFEST


def test_unknown_body_media_type_lists_the_accepted_ones() -> None:
    raw = edited(OCI_BUILDKIT, lambda body: body.update(mediaType="application/vnd.example+json"))
    with pytest.raises(ManifestInvalid) as caught:
        parse(raw)
    assert "'application/vnd.example+json'" in caught.value.message
    for media_type in mt.MANIFEST_TYPES:
        assert media_type in caught.value.message


def test_unknown_content_type_without_body_media_type() -> None:
    with pytest.raises(ManifestInvalid, match="unsupported manifest media type") as caught:
        parse(UMOCI, "application/vnd.oci.artifact.manifest.v1+json")
    assert mt.OCI_MANIFEST in caught.value.message


def test_the_withdrawn_oci_artifact_manifest_is_refused() -> None:
    raw = document(
        mediaType="application/vnd.oci.artifact.manifest.v1+json",
        artifactType="application/vnd.example",
        blobs=[descriptor()],
    )
    with pytest.raises(ManifestInvalid, match="unsupported manifest media type"):
        parse(raw, "application/vnd.oci.artifact.manifest.v1+json")


def test_undetectable_kind() -> None:
    with pytest.raises(ManifestInvalid, match="cannot tell the manifest kind"):
        parse(document(layers=[descriptor()]))


def test_media_type_must_be_a_string() -> None:
    raw = edited(OCI_BUILDKIT, lambda body: body.update(mediaType=["x"]))
    with pytest.raises(ManifestInvalid, match="mediaType must be a string"):
        parse(raw)


@pytest.mark.parametrize(
    ("media_type", "fields", "forbidden"),
    [
        (mt.OCI_MANIFEST, {"manifests": []}, "manifests"),
        (mt.OCI_INDEX, {"config": descriptor(mt.OCI_CONFIG)}, "config"),
        (mt.DOCKER_MANIFEST_LIST, {"layers": []}, "layers"),
    ],
)
def test_ambiguous_documents_are_refused(
    media_type: str, fields: dict[str, Any], forbidden: str
) -> None:
    body: dict[str, Any] = {"config": descriptor(mt.OCI_CONFIG), "layers": [], "manifests": []}
    if media_type in mt.INDEX_TYPES:
        body = {"manifests": []}
    raw = document(mediaType=media_type, **{**body, **fields})
    with pytest.raises(ManifestInvalid, match=f"cannot have a '{forbidden}' field"):
        parse(raw)


def test_index_content_type_on_an_image_manifest() -> None:
    with pytest.raises(ManifestInvalid, match="cannot have a 'config' field"):
        parse(UMOCI, mt.OCI_INDEX)


# Schema versions.


@pytest.mark.parametrize("content_type", [None, mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED])
def test_docker_schema1_is_refused(content_type: str | None) -> None:
    with pytest.raises(ManifestInvalid, match="Docker schema 1 manifests are not supported"):
        parse(DOCKER_SCHEMA1, content_type)


@pytest.mark.parametrize("content_type", [mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED])
def test_schema1_content_type_is_refused_even_for_schema2_bodies(content_type: str) -> None:
    with pytest.raises(ManifestInvalid, match="schema 2 or OCI"):
        parse(UMOCI, content_type)


def test_schema1_media_type_in_the_body_is_refused() -> None:
    raw = edited(UMOCI, lambda body: body.update(mediaType=mt.DOCKER_SCHEMA1))
    with pytest.raises(ManifestInvalid, match="schema 1"):
        parse(raw)


@pytest.mark.parametrize("version", ["2", 2.0, True, 3, 0, -2, [2]])
def test_schema_version_must_be_the_integer_2(version: Any) -> None:
    raw = edited(UMOCI, lambda body: body.update(schemaVersion=version))
    with pytest.raises(ManifestInvalid, match="schemaVersion must be 2"):
        parse(raw)


def test_schema_version_is_required() -> None:
    raw = edited(UMOCI, lambda body: body.pop("schemaVersion"))
    with pytest.raises(ManifestInvalid, match="no schemaVersion"):
        parse(raw)


# Bytes that are not a manifest at all.


def test_oversized_manifest() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        parse(b" " * (MAX_MANIFEST_SIZE + 1))
    assert caught.value.status == 413
    assert "4194305 bytes" in caught.value.message


def test_manifest_of_exactly_the_limit_is_accepted() -> None:
    assert MAX_MANIFEST_SIZE == 4 * 1024 * 1024
    padding = MAX_MANIFEST_SIZE - len(UMOCI)
    raw = UMOCI + b" " * padding
    assert parse(raw).size == MAX_MANIFEST_SIZE


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{",
        b"[]",
        b'"manifest"',
        b"2",
        b"null",
        b'{"schemaVersion": 2,}',
        DOCKER_ALPINE[:-1],
        "\ufeff".encode() + UMOCI,
        UMOCI.decode().encode("utf-16"),
        b'{"schemaVersion": 2, "config": "\xff"}',
        b'{"schemaVersion": 2, "schemaVersion": 2, "config": {}}',
        b'{"schemaVersion": NaN}',
        b'{"schemaVersion": 2, "x": Infinity}',
        b'{"schemaVersion": 2, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_not_a_json_object(raw: bytes) -> None:
    with pytest.raises(ManifestInvalid, match="manifest is not valid JSON"):
        parse(raw)


def test_duplicate_keys_are_named() -> None:
    raw = b'{"schemaVersion": 2, "mediaType": "a", "mediaType": "b"}'
    with pytest.raises(ManifestInvalid, match="duplicate key 'mediaType'"):
        parse(raw)


# Required fields and descriptor rules.


def test_image_manifest_needs_a_config() -> None:
    raw = edited(DOCKER_ALPINE, lambda body: body.pop("config"))
    with pytest.raises(ManifestInvalid, match="no 'config' descriptor"):
        parse(raw)


def test_image_manifest_needs_layers() -> None:
    raw = edited(DOCKER_ALPINE, lambda body: body.pop("layers"))
    with pytest.raises(ManifestInvalid, match="no 'layers' list"):
        parse(raw)


def test_index_needs_manifests() -> None:
    raw = edited(DOCKER_LIST, lambda body: body.pop("manifests"))
    with pytest.raises(ManifestInvalid, match="no 'manifests' list"):
        parse(raw)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (edited(DOCKER_ALPINE, lambda body: body.update(layers={"0": {}})), "layers"),
        (edited(DOCKER_LIST, lambda body: body.update(manifests=None)), "manifests"),
    ],
)
def test_descriptor_lists_must_be_lists(raw: bytes, key: str) -> None:
    with pytest.raises(ManifestInvalid, match=f"{key} must be a list"):
        parse(raw)


def _set_layer(index: int, **changes: Any) -> bytes:
    def edit(body: dict[str, Any]) -> None:
        layer = body["layers"][index]
        for key, value in changes.items():
            if value is _REMOVE:
                layer.pop(key)
            else:
                layer[key] = value

    return edited(OCI_BUILDKIT, edit)


_REMOVE = object()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"digest": "sha256:abc"}, "layers[2].digest is invalid: a sha256 digest has 64"),
        ({"digest": "md5:d41d8cd98f00b204e9800998ecf8427e"}, "layers[2].digest is invalid"),
        ({"digest": "sha256:" + "A" * 64}, "uses upper-case hex"),
        ({"digest": "not a digest"}, "layers[2].digest is invalid: 'not a digest'"),
        ({"digest": _REMOVE}, "layers[2].digest must be a digest string, not null"),
        ({"digest": 42}, "layers[2].digest must be a digest string, not a number"),
        ({"mediaType": _REMOVE}, "layers[2].mediaType is missing"),
        ({"mediaType": 7}, "layers[2].mediaType must be a non-empty string"),
        ({"mediaType": ""}, "layers[2].mediaType must be a non-empty string"),
        ({"size": -1}, "layers[2].size must be a non-negative integer, not -1"),
        ({"size": True}, "layers[2].size must be a non-negative integer, not a boolean"),
        ({"size": 12.0}, "layers[2].size must be a non-negative integer, not 12.0"),
        ({"size": "12"}, "layers[2].size must be a non-negative integer, not a string"),
        ({"size": _REMOVE}, "layers[2].size must be a non-negative integer, not null"),
        ({"annotations": {"a": 1}}, "layers[2].annotations['a'] must be a string"),
        ({"annotations": ["a"]}, "layers[2].annotations must be an object, not a list"),
        ({"platform": "linux/amd64"}, "layers[2].platform must be an object"),
        ({"urls": "https://x"}, "layers[2].urls must be a list of strings"),
        ({"urls": [1]}, "layers[2].urls must be a list of strings"),
        ({"artifactType": 1}, "layers[2].artifactType must be a string"),
    ],
)
def test_invalid_descriptor_fields_are_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestInvalid) as caught:
        parse(_set_layer(2, **changes))
    assert caught.value.message.startswith("layers[2].")
    assert message in caught.value.message


def test_descriptor_must_be_an_object() -> None:
    raw = edited(DOCKER_ALPINE, lambda body: body["layers"].append("sha256:abc"))
    with pytest.raises(ManifestInvalid, match=r"layers\[1\] must be a descriptor object"):
        parse(raw)


def test_zero_size_descriptor_is_valid() -> None:
    assert parse(_set_layer(0, size=0)).layers[0].size == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (edited(DOCKER_ALPINE, lambda body: body.update(config=[])), "config must be a descriptor"),
        (
            edited(DOCKER_ALPINE, lambda body: body["config"].update(digest="sha256:1")),
            "config.digest is invalid",
        ),
        (
            edited(ORAS_SBOM, lambda body: body["subject"].update(size=-5)),
            r"subject.size must be a non-negative integer",
        ),
        (
            edited(DOCKER_LIST, lambda body: body["manifests"][1].pop("digest")),
            r"manifests\[1\].digest must be a digest string",
        ),
        (
            edited(ORAS_SBOM, lambda body: body.update(artifactType=5)),
            "artifactType must be a string",
        ),
        (
            edited(ORAS_SBOM, lambda body: body.update(annotations={"k": None})),
            r"annotations\['k'\] must be a string, not null",
        ),
    ],
)
def test_other_invalid_fields_are_named(raw: bytes, message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        parse(raw)
