"""Offline test images, as OCI image layouts on disk, and ways to compare them.

Each builder writes one OCI layout (``oci-layout``, ``index.json``, ``blobs/sha256``)
holding one tagged image, so skopeo can read it as ``oci:DIR:TAG``:

- ``build_busybox``: ``/bin/busybox`` (busybox-static) put in a layer by umoci. umoci
  writes manifests without a top-level ``mediaType``, as many real ones are.
- ``build_multilayer``: the busybox layer plus three layers of seeded random files.
- ``build_multiarch``: an OCI index with an amd64 and an arm64 image manifest.
- ``build_zstd``: an image of its own content with zstd-compressed layers, converted by
  skopeo. Its content is never pushed gzip-compressed, so no client can swap a gzip twin in.

Everything but umoci's gzip stream is deterministic: the same seed gives the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import shutil
import subprocess
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .processes import StrPath, run

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
REF_NAME = "org.opencontainers.image.ref.name"
BUSYBOX = Path("/bin/busybox")

Json = dict[str, Any]


class SkopeoRunner(Protocol):
    def __call__(self, *args: StrPath) -> subprocess.CompletedProcess[str]: ...


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class OciLayout:
    """An OCI image layout directory: content-addressed blobs and an ``index.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path) -> OciLayout:
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        if not (path / "index.json").exists():
            (path / "index.json").write_bytes(
                canonical_json({"schemaVersion": 2, "manifests": []})
            )
        return cls(path)

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        return self.path / "blobs" / algorithm / hexdigest

    def read_blob(self, digest: str) -> bytes:
        data = self.blob_path(digest).read_bytes()
        assert sha256_digest(data) == digest, f"blob {digest} in {self.path} is corrupt"
        return data

    def write_blob(self, data: bytes) -> str:
        digest = sha256_digest(data)
        self.blob_path(digest).write_bytes(data)
        return digest

    def read_json(self, digest: str) -> Json:
        value: Json = json.loads(self.read_blob(digest))
        return value

    def index(self) -> Json:
        value: Json = json.loads((self.path / "index.json").read_text())
        return value

    def resolve(self, tag: str) -> Json:
        """The descriptor that ``index.json`` names ``tag``."""
        found = [d for d in self.index()["manifests"]
                 if d.get("annotations", {}).get(REF_NAME) == tag]
        assert len(found) == 1, f"{self.path} has {len(found)} manifests tagged {tag!r}"
        descriptor: Json = found[0]
        return descriptor

    def tag(self, descriptor: Mapping[str, Any], tag: str) -> None:
        """Name ``descriptor`` ``tag`` in ``index.json`` (replacing an older ``tag``)."""
        index = self.index()
        index["manifests"] = [d for d in index["manifests"]
                              if d.get("annotations", {}).get(REF_NAME) != tag]
        entry = dict(descriptor)
        entry["annotations"] = {**entry.get("annotations", {}), REF_NAME: tag}
        index["manifests"].append(entry)
        (self.path / "index.json").write_bytes(canonical_json(index))

    def closure(self, digest: str, media_type: str | None = None) -> dict[str, bytes]:
        """Every blob reachable from the manifest or index ``digest``, itself included."""
        blobs: dict[str, bytes] = {}
        self._collect(digest, media_type, blobs)
        return blobs

    def _collect(self, digest: str, media_type: str | None, blobs: dict[str, bytes]) -> None:
        data = self.read_blob(digest)
        blobs[digest] = data
        document: Json = json.loads(data)
        kind = document.get("mediaType") or media_type
        if kind in INDEX_MEDIA_TYPES or "manifests" in document:
            for child in document["manifests"]:
                self._collect(child["digest"], child.get("mediaType"), blobs)
            return
        for descriptor in [document["config"], *document.get("layers", [])]:
            blobs[descriptor["digest"]] = self.read_blob(descriptor["digest"])


@dataclass(frozen=True)
class TestImage:
    """One tagged image (or index) in an OCI layout, and what it is made of."""

    __test__ = False  # not a pytest test class

    layout: OciLayout
    tag: str

    @property
    def reference(self) -> str:
        """The skopeo reference: ``oci:DIR:TAG``."""
        return f"oci:{self.layout.path}:{self.tag}"

    @property
    def descriptor(self) -> Json:
        return self.layout.resolve(self.tag)

    @property
    def digest(self) -> str:
        digest: str = self.descriptor["digest"]
        return digest

    @property
    def media_type(self) -> str:
        media_type: str = self.descriptor["mediaType"]
        return media_type

    @property
    def manifest_bytes(self) -> bytes:
        return self.layout.read_blob(self.digest)

    @property
    def manifest(self) -> Json:
        return self.layout.read_json(self.digest)

    @property
    def blobs(self) -> dict[str, bytes]:
        """Digest to bytes of every manifest, config and layer this image is made of."""
        return self.layout.closure(self.digest, self.media_type)

    @property
    def config_digest(self) -> str:
        digest: str = self.manifest["config"]["digest"]
        return digest

    @property
    def layer_digests(self) -> list[str]:
        return [layer["digest"] for layer in self.manifest["layers"]]

    def copy_to(self, path: Path) -> TestImage:
        """A private copy of the layout, for tests that add to it."""
        shutil.copytree(self.layout.path, path)
        return TestImage(OciLayout(path), self.tag)


def assert_same_blobs(expected: TestImage, actual: TestImage) -> None:
    """Assert that ``actual`` has the same digest and byte-identical blobs as ``expected``."""
    assert actual.digest == expected.digest, (
        f"manifest digest changed: {expected.digest} -> {actual.digest}\n"
        f"expected {expected.manifest_bytes!r}\nactual   {actual.manifest_bytes!r}"
    )
    want, got = expected.blobs, actual.blobs
    assert sorted(got) == sorted(want), f"blob sets differ: {sorted(want)} != {sorted(got)}"
    for digest, data in want.items():
        assert got[digest] == data, f"blob {digest} differs byte for byte"


# --- layers and images written in Python --------------------------------------------


@dataclass(frozen=True)
class Layer:
    """A compressed layer blob and the digest of its uncompressed tar (its diff id)."""

    blob: bytes
    diff_id: str
    media_type: str = OCI_LAYER_GZIP


def tar_layer(files: Mapping[str, bytes], *, mode: int = 0o644) -> Layer:
    """A deterministic gzip-compressed tar of ``files`` (path -> content)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        directories = sorted({str(Path(name).parent) for name in files} - {"."})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            archive.addfile(info)
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), mode, 0
            archive.addfile(info, io.BytesIO(files[name]))
    tar_bytes = raw.getvalue()
    return Layer(gzip.compress(tar_bytes, compresslevel=1, mtime=0), sha256_digest(tar_bytes))


def random_layer(seed: int, sizes: Sequence[int], directory: str) -> Layer:
    """A layer of incompressible files whose bytes depend only on ``seed`` and ``sizes``."""
    generator = random.Random(seed)
    files = {f"{directory}/file-{n}.bin": generator.randbytes(size)
             for n, size in enumerate(sizes)}
    return tar_layer(files)


def layer_from_layout(layout: OciLayout, descriptor: Mapping[str, Any], diff_id: str) -> Layer:
    return Layer(layout.read_blob(descriptor["digest"]), diff_id, descriptor["mediaType"])


def write_image(
    layout: OciLayout,
    tag: str | None,
    layers: Sequence[Layer],
    *,
    architecture: str = "amd64",
    annotations: Mapping[str, str] | None = None,
    command: Sequence[str] = ("sh",),
) -> Json:
    """Write config, layers and an OCI manifest (with ``mediaType``); return its descriptor."""
    config = {
        "architecture": architecture,
        "os": "linux",
        "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": list(command), "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": f"layer {n}"}
                    for n in range(len(layers))],
    }
    config_bytes = canonical_json(config)
    manifest: Json = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": layout.write_blob(config_bytes),
                   "size": len(config_bytes)},
        "layers": [{"mediaType": layer.media_type, "digest": layout.write_blob(layer.blob),
                    "size": len(layer.blob)} for layer in layers],
    }
    if annotations:
        manifest["annotations"] = dict(annotations)
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    descriptor: Json = {"mediaType": OCI_MANIFEST, "digest": layout.write_blob(manifest_bytes),
                        "size": len(manifest_bytes)}
    if tag is not None:
        layout.tag(descriptor, tag)
    return descriptor


# --- the session's images ---------------------------------------------------------------


def build_busybox(path: Path, tag: str = "busybox") -> TestImage:
    """``/bin/busybox`` with an ``sh`` link, layered and configured by umoci."""
    if not BUSYBOX.is_file():
        raise AssertionError(f"{BUSYBOX} is missing: apt-get install busybox-static")
    stage = path.parent / f"{path.name}-rootfs"
    (stage / "bin").mkdir(parents=True)
    shutil.copy2(BUSYBOX, stage / "bin" / "busybox")
    (stage / "bin" / "sh").symlink_to("busybox")
    image = f"{path}:{tag}"
    run(["umoci", "init", "--layout", path], timeout=60)
    run(["umoci", "new", "--image", image], timeout=60)
    run(["umoci", "insert", "--image", image, stage, "/"], timeout=60)
    run(["umoci", "config", "--image", image, "--config.cmd", "sh", "--os", "linux",
         "--architecture", "amd64", "--config.env", "PATH=/bin"], timeout=60)
    run(["umoci", "gc", "--layout", path], timeout=60)
    shutil.rmtree(stage)
    built = TestImage(OciLayout(path), tag)
    assert "mediaType" not in built.manifest, "umoci now writes mediaType: find another way"
    return built


def busybox_layer(busybox: TestImage) -> Layer:
    config = busybox.layout.read_json(busybox.config_digest)
    return layer_from_layout(
        busybox.layout, busybox.manifest["layers"][0], config["rootfs"]["diff_ids"][0]
    )


def build_multilayer(path: Path, busybox: TestImage, tag: str = "multilayer") -> TestImage:
    """busybox's layer plus three layers of random files (about 2, 3 and 4 MiB)."""
    layout = OciLayout.create(path)
    mib = 1024 * 1024
    layers = [
        busybox_layer(busybox),
        random_layer(1, [mib, mib], "data/one"),
        random_layer(2, [2 * mib, mib, 7], "data/two"),
        random_layer(3, [4 * mib], "data/three"),
    ]
    write_image(layout, tag, layers, annotations={"org.example.purpose": "multilayer"})
    return TestImage(layout, tag)


def build_multiarch(path: Path, busybox: TestImage, tag: str = "multiarch") -> TestImage:
    """An OCI index of an amd64 and an arm64 image that share busybox's layer."""
    layout = OciLayout.create(path)
    base = busybox_layer(busybox)
    children = []
    for seed, architecture in ((11, "amd64"), (12, "arm64")):
        extra = tar_layer({"etc/architecture": architecture.encode(),
                           "etc/noise": random.Random(seed).randbytes(64 * 1024)})
        descriptor = write_image(layout, None, [base, extra], architecture=architecture)
        descriptor["platform"] = {"architecture": architecture, "os": "linux"}
        children.append(descriptor)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children,
             "annotations": {"org.example.purpose": "multiarch"}}
    index_bytes = json.dumps(index, indent=2).encode()
    layout.tag({"mediaType": OCI_INDEX, "digest": layout.write_blob(index_bytes),
                "size": len(index_bytes)}, tag)
    return TestImage(layout, tag)


def build_zstd(path: Path, skopeo: SkopeoRunner, tag: str = "zstd") -> TestImage:
    """An image whose layers skopeo recompressed with zstd, in an OCI layout.

    ``skopeo`` runs skopeo with the given arguments (in a client sandbox, so the
    conversion leaves nothing in the machine's shared blob-info cache).
    """
    source = OciLayout.create(path.parent / f"{path.name}-gzip")
    layers = [random_layer(21, [1024 * 1024, 300 * 1024], "zstd/one"),
              tar_layer({"zstd/hello.txt": b"compressed with zstd\n"})]
    write_image(source, tag, layers)
    skopeo("copy", "--quiet", "--dest-compress", "--dest-compress-format", "zstd",
           f"oci:{source.path}:{tag}", f"oci:{path}:{tag}")
    shutil.rmtree(source.path)
    built = TestImage(OciLayout(path), tag)
    media_types = {layer["mediaType"] for layer in built.manifest["layers"]}
    assert media_types == {OCI_LAYER_ZSTD}, f"skopeo wrote {media_types}, not zstd"
    return built


def iter_tar_members(layer_blob: bytes) -> Iterator[tuple[str, bytes | None]]:
    """Names and contents (None for non-files) in a gzip, zstd or plain tar layer."""
    if layer_blob[:2] == b"\x1f\x8b":
        data = gzip.decompress(layer_blob)
    elif layer_blob[:4] == b"\x28\xb5\x2f\xfd":
        import zstandard

        data = zstandard.ZstdDecompressor().decompressobj().decompress(layer_blob)
    else:
        data = layer_blob
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        for member in archive:
            handle = archive.extractfile(member) if member.isfile() else None
            yield member.name, handle.read() if handle is not None else None
