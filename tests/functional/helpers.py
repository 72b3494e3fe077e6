"""Building blocks for protocol tests: content digests, OCI errors, pushing blobs,
manifests and whole images through the /v2 API the way a client does.

Media types are spelled out here from the OCI image spec and the Docker manifest v2
spec, not imported from cargohold, so that the tests check the server against the specs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from cargohold.config import Settings, load_settings

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

EMPTY_JSON = b"{}"
"""The OCI empty descriptor's content (image-spec "Guidance for an Empty Descriptor")."""

_UPLOAD_RANGE = re.compile(r"^(?:bytes=)?0-(\d+)$")


def functional_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """The application's settings in these tests: blobs under ``tmp_path``, the test's
    database, no access log, and ``overrides`` (what a module's ``registry_settings``
    changes)."""
    return load_settings(
        data_dir=tmp_path / "data", database_url=database_url, access_log=False, **overrides
    )


class ClientFactory(Protocol):
    """The ``client_as`` fixture: a client logged in as ``username`` with ``secret``."""

    def __call__(self, username: str | None, secret: str | None = None) -> httpx.AsyncClient: ...


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def random_bytes(size: int) -> bytes:
    return os.urandom(size)


def error_code(response: httpx.Response) -> str:
    """The first OCI error code of an error response, checking the body's shape."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    errors = response.json()["errors"]
    assert isinstance(errors, list) and errors, response.text
    assert {"code", "message"} <= set(errors[0]), errors
    code: str = errors[0]["code"]
    return code


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert error_code(response) == code, response.text


def upload_end(response: httpx.Response) -> int:
    """The last byte offset an upload response's ``Range: 0-<end>`` reports."""
    match = _UPLOAD_RANGE.match(response.headers["range"])
    assert match, response.headers["range"]
    return int(match.group(1))


async def start_upload(client: httpx.AsyncClient, repository: str) -> str:
    """POST an upload; return its ``Location`` (an opaque URL, as the spec asks)."""
    response = await client.post(f"/v2/{repository}/blobs/uploads/")
    assert response.status_code == 202, response.text
    location: str = response.headers["location"]
    return location


def with_digest(location: str, digest: str) -> str:
    """The upload URL with ``digest=`` added, whether or not it already has a query."""
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}digest={digest}"


async def push_blob(client: httpx.AsyncClient, repository: str, data: bytes) -> str:
    """Push ``data`` as a blob, POST then one monolithic PUT; return its digest."""
    digest = sha256(data)
    location = await start_upload(client, repository)
    response = await client.put(
        with_digest(location, digest),
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest
    return digest


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, indent=3).encode()


def image_manifest(
    config: dict[str, Any],
    layers: Sequence[dict[str, Any]],
    *,
    media_type: str | None = OCI_MANIFEST,
    **extra: Any,
) -> bytes:
    """An image manifest's bytes; ``media_type=None`` leaves the field out (umoci style).
    ``extra`` adds top-level fields such as ``subject``, ``artifactType``, ``annotations``."""
    body: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        body["mediaType"] = media_type
    body |= {"config": config, "layers": list(layers), **extra}
    return canonical(body)


def index_manifest(
    manifests: Sequence[dict[str, Any]], *, media_type: str = OCI_INDEX, **extra: Any
) -> bytes:
    return canonical(
        {"schemaVersion": 2, "mediaType": media_type, "manifests": list(manifests), **extra}
    )


async def put_manifest(
    client: httpx.AsyncClient,
    repository: str,
    reference: str,
    body: bytes,
    media_type: str = OCI_MANIFEST,
) -> httpx.Response:
    return await client.put(
        f"/v2/{repository}/manifests/{reference}",
        content=body,
        headers={"Content-Type": media_type},
    )


@dataclass
class PushedImage:
    """An image pushed by :func:`push_image`: its manifest bytes and what they reference."""

    repository: str
    manifest: bytes
    media_type: str
    config: bytes
    layers: list[bytes] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return descriptor(self.media_type, self.manifest, **extra)


async def push_image(
    client: httpx.AsyncClient,
    repository: str,
    reference: str,
    *,
    layers: int = 2,
    layer_size: int = 1024,
    docker: bool = False,
    **extra: Any,
) -> PushedImage:
    """Push an image of ``layers`` random layers and a config, then its manifest (OCI, or
    Docker schema 2 with ``docker=True``) under ``reference``. ``extra`` goes into the
    manifest's top level."""
    layer_type, config_type, media_type = (
        (DOCKER_LAYER, DOCKER_CONFIG, DOCKER_MANIFEST)
        if docker
        else (OCI_LAYER_GZIP, OCI_CONFIG, OCI_MANIFEST)
    )
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "nonce": random_bytes(8).hex()}
    ).encode()
    blobs = [random_bytes(layer_size) for _ in range(layers)]
    for blob in [config, *blobs]:
        await push_blob(client, repository, blob)
    manifest = image_manifest(
        descriptor(config_type, config),
        [descriptor(layer_type, blob) for blob in blobs],
        media_type=media_type,
        **extra,
    )
    response = await put_manifest(client, repository, reference, manifest, media_type)
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == sha256(manifest)
    return PushedImage(repository, manifest, media_type, config, blobs)


async def push_artifact(
    client: httpx.AsyncClient,
    repository: str,
    subject: PushedImage,
    artifact_type: str,
    *,
    annotations: dict[str, str] | None = None,
    reference: str | None = None,
) -> PushedImage:
    """Push an OCI artifact manifest (empty config, one blob) whose ``subject`` is
    ``subject``, by digest unless ``reference`` is given."""
    await push_blob(client, repository, EMPTY_JSON)
    payload = random_bytes(64)
    await push_blob(client, repository, payload)
    extra: dict[str, Any] = {"artifactType": artifact_type, "subject": subject.descriptor()}
    if annotations is not None:
        extra["annotations"] = annotations
    manifest = image_manifest(
        descriptor(OCI_EMPTY, EMPTY_JSON),
        [descriptor("application/octet-stream", payload)],
        **extra,
    )
    response = await put_manifest(client, repository, reference or sha256(manifest), manifest)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == subject.digest
    return PushedImage(repository, manifest, OCI_MANIFEST, EMPTY_JSON, [payload])
