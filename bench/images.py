"""Test content, generated once per run: a big random blob file, a tiny image for small
requests, and OCI image layouts (random, incompressible layers) for skopeo."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from bench.client import MiB

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT_MANIFESTS = ", ".join(
    [
        OCI_MANIFEST,
        OCI_INDEX,
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        left = size
        while left:
            step = min(4 * MiB, left)
            f.write(os.urandom(step))
            left -= step
    return path


def file_digest(path: Path, prefix: bytes = b"") -> str:
    """Digest of the file with its first ``len(prefix)`` bytes replaced by ``prefix``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        first = f.read(MiB)
        h.update(prefix + first[len(prefix) :])
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


@dataclass
class Image:
    """An image as bytes: its blobs by digest and its manifest."""

    blobs: dict[str, bytes]
    manifest: bytes
    config_digest: str
    layer_digests: list[str]

    @property
    def manifest_digest(self) -> str:
        return sha256(self.manifest)


def _layer(name: str, payload: bytes) -> tuple[bytes, str]:
    """A gzip'd tar holding one file; returns (compressed bytes, diff_id)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mode = 0o644
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, compresslevel=1, mtime=0), sha256(uncompressed)


def build_image(layers: list[tuple[str, bytes]]) -> Image:
    blobs: dict[str, bytes] = {}
    descriptors, diff_ids = [], []
    for name, payload in layers:
        data, diff_id = _layer(name, payload)
        digest = sha256(data)
        blobs[digest] = data
        descriptors.append({"mediaType": OCI_LAYER, "digest": digest, "size": len(data)})
        diff_ids.append(diff_id)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    config_digest = sha256(config)
    blobs[config_digest] = config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": descriptors,
        },
        indent=2,
    ).encode()
    return Image(blobs, manifest, config_digest, [d["digest"] for d in descriptors])


def tiny_image() -> Image:
    return build_image([("hello.txt", b"hello from the cargohold benchmark\n")])


def write_layout(image: Image, directory: Path, tag: str = "latest") -> Path:
    """An OCI image layout that ``skopeo copy oci:DIR:TAG`` reads."""
    blob_dir = directory / "blobs" / "sha256"
    blob_dir.mkdir(parents=True)
    for digest, data in {**image.blobs, image.manifest_digest: image.manifest}.items():
        (blob_dir / digest.removeprefix("sha256:")).write_bytes(data)
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": image.manifest_digest,
                "size": len(image.manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (directory / "index.json").write_text(json.dumps(index))
    return directory


def multi_layer_image(total_mib: float) -> Image:
    """Six random layers of decreasing size (40/26/17/10/6/1 % of ``total_mib``)."""
    shares = [0.40, 0.26, 0.17, 0.10, 0.06, 0.01]
    return build_image(
        [
            (f"layer{i}.bin", os.urandom(max(1024, int(total_mib * MiB * s))))
            for i, s in enumerate(shares)
        ]
    )


def family(count: int, base_mib: float, own_mib: float) -> list[Image]:
    """``count`` images sharing one base layer, each with one layer of its own."""
    base = os.urandom(int(base_mib * MiB))
    return [
        build_image([("base.bin", base), (f"own{i}.bin", os.urandom(int(own_mib * MiB)))])
        for i in range(count)
    ]
