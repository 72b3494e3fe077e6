"""Pushing a whole image through /v2 with an httpx client, for the in-process benchmarks
(``scan_speed``, ``gc_speed``): each blob by POST then one monolithic PUT, then an OCI
image manifest."""

from __future__ import annotations

import hashlib
import json

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def push_image(
    client: httpx.AsyncClient, name: str, tag: str, config: bytes, layers: list[bytes]
) -> str:
    """Push ``config`` and ``layers``, then the manifest as ``name:tag``; its digest."""
    for blob in [config, *layers]:
        started = await client.post(f"/v2/{name}/blobs/uploads/")
        location = started.headers["location"]
        separator = "&" if "?" in location else "?"
        done = await client.put(f"{location}{separator}digest={digest_of(blob)}", content=blob)
        assert done.status_code == 201, done.text
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config),
            "layers": [_descriptor(OCI_LAYER_GZIP, blob) for blob in layers],
        }
    ).encode()
    response = await client.put(
        f"/v2/{name}/manifests/{tag}", content=manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 201, response.text
    return digest_of(manifest)


def _descriptor(media_type: str, blob: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": digest_of(blob), "size": len(blob)}
