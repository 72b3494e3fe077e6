"""oras pushes and pulls artifacts; an artifact with a ``subject`` shows up as a referrer."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import oras.client  # type: ignore[import-untyped]
import oras.oci  # type: ignore[import-untyped]
import pytest
from support.clients import ClientSandbox
from support.distribution import upload_blob
from support.images import OCI_INDEX, OCI_MANIFEST, TestImage, sha256_digest
from support.processes import wait_until
from support.registry import RegistryProcess

pytestmark = pytest.mark.clients

SBOM_TYPE = "application/vnd.example.sbom.v1+json"
SIGNATURE_TYPE = "application/vnd.example.signature.v1"
EMPTY_CONFIG = "application/vnd.oci.empty.v1+json"
CYCLONEDX = "application/vnd.cyclonedx+json"
SCAN_SECONDS = 120.0


def oras_client(registry: RegistryProcess) -> oras.client.OrasClient:
    """An oras client logged in as the registry's superuser: its token backend answers
    the registry's Bearer challenges with tokens fetched with these basic credentials."""
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.auth.set_basic_auth(*registry.credentials)
    return client


def test_push_and_pull_files_byte_for_byte(registry: RegistryProcess, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    contents = {
        "notes.txt": b"hello from oras\n",
        "payload.bin": random.Random(7).randbytes(1536 * 1024),
        "empty.dat": b"",
    }
    for name, data in contents.items():
        (source / name).write_bytes(data)
    target = f"{registry.host}/oras/files:v1"
    client = oras_client(registry)

    pushed = client.push(
        target=target,
        files=[str(source / n) for n in contents],
        disable_path_validation=True,
        manifest_annotations={"org.example.kind": "files"},
    )
    pulled = client.pull(target=target, outdir=str(tmp_path / "pulled"))

    assert pushed.status_code == 201
    assert sorted(Path(p).name for p in pulled) == sorted(contents)
    for path in pulled:
        assert Path(path).read_bytes() == contents[Path(path).name], path
    manifest = client.get_manifest(target)
    assert manifest["annotations"]["org.example.kind"] == "files"
    titles = {
        layer["annotations"]["org.opencontainers.image.title"]: layer["digest"]
        for layer in manifest["layers"]
    }
    assert titles == {name: sha256_digest(data) for name, data in contents.items()}
    assert client.get_tags(f"{registry.host}/oras/files") == ["v1"]


def test_referrers_list_artifacts_that_name_an_image_as_subject(
    registry: RegistryProcess,
    client_sandbox: ClientSandbox,
    busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    name = "oras/subject"
    client_sandbox.push(busybox_image, f"{registry.host}/{name}:v1")
    subject = {
        "mediaType": OCI_MANIFEST,
        "digest": busybox_image.digest,
        "size": len(busybox_image.manifest_bytes),
    }

    # 1. A signature pushed by oras-py, which sets ``subject`` (no artifactType).
    signature = tmp_path / "signature.sig"
    signature.write_bytes(b"not really a signature\n")
    client = oras_client(registry)
    client.push(
        target=f"{registry.host}/{name}:signature",
        files=[f"{signature}:{SIGNATURE_TYPE}"],
        disable_path_validation=True,
        subject=oras.oci.Subject(**subject),
    )
    with registry.http() as http:
        stored = http.get(f"/v2/{name}/manifests/signature", headers={"Accept": OCI_MANIFEST})
    assert stored.status_code == 200, stored.text
    signature_digest = sha256_digest(stored.content)
    assert stored.headers["Docker-Content-Digest"] == signature_digest
    signature_manifest = stored.json()
    assert signature_manifest["subject"] == subject

    # 2. An SBOM artifact (artifactType, empty config) PUT by digest, without a tag.
    sbom = b'{"packages": ["busybox"]}'
    with registry.http() as http:
        sbom_manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": SBOM_TYPE,
            "config": {
                "mediaType": EMPTY_CONFIG,
                "digest": upload_blob(http, name, b"{}"),
                "size": 2,
            },
            "layers": [
                {"mediaType": SBOM_TYPE, "digest": upload_blob(http, name, sbom), "size": len(sbom)}
            ],
            "subject": subject,
            "annotations": {"org.example.kind": "sbom"},
        }
        sbom_bytes = json.dumps(sbom_manifest).encode()
        sbom_digest = sha256_digest(sbom_bytes)
        put = http.put(
            f"/v2/{name}/manifests/{sbom_digest}",
            content=sbom_bytes,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert put.status_code == 201, put.text
        assert put.headers.get("OCI-Subject") == busybox_image.digest
        listed = http.get(f"/v2/{name}/referrers/{busybox_image.digest}")
        filtered = http.get(
            f"/v2/{name}/referrers/{busybox_image.digest}", params={"artifactType": SBOM_TYPE}
        )
        unrelated = http.get(f"/v2/{name}/referrers/{sbom_digest}")

    assert listed.status_code == 200, listed.text
    assert listed.headers["Content-Type"].startswith(OCI_INDEX)
    index = listed.json()
    assert index["mediaType"] == OCI_INDEX
    by_digest = {d["digest"]: d for d in index["manifests"]}
    assert set(by_digest) == {signature_digest, sbom_digest}
    assert by_digest[sbom_digest] == {
        "mediaType": OCI_MANIFEST,
        "digest": sbom_digest,
        "size": len(sbom_bytes),
        "artifactType": SBOM_TYPE,
        "annotations": {"org.example.kind": "sbom"},
    }
    # Without artifactType the config's media type stands in for it.
    assert by_digest[signature_digest]["artifactType"] == signature_manifest["config"]["mediaType"]

    assert filtered.status_code == 200, filtered.text
    filtered_digests = {d["digest"] for d in filtered.json()["manifests"]}
    if "artifactType" in filtered.headers.get("OCI-Filters-Applied", ""):
        assert filtered_digests == {sbom_digest}
    else:
        assert filtered_digests == {signature_digest, sbom_digest}

    assert unrelated.status_code == 200, unrelated.text
    assert unrelated.json()["manifests"] == []


def test_oras_pulls_the_sbom_a_scan_attached(
    registry: RegistryProcess,
    client_sandbox: ClientSandbox,
    busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    """In a namespace with ``sbom-referrers`` on, the scan's SBOM is an artifact oras
    pulls as a file, byte for byte the API's ``.../sbom``."""
    name, digest = "sbomtown/busybox", busybox_image.digest
    with registry.http() as http:
        assert http.post("/api/v1/organization", json={"name": "sbomtown"}).status_code == 201
        setting = http.put("/api/v1/namespace/sbomtown/sbom-referrers", json={"attach": True})
        assert setting.status_code == 200, setting.text
    client_sandbox.push(busybox_image, f"{registry.host}/{name}:v1")

    def attached() -> list[dict[str, Any]]:
        with registry.http() as http:
            response = http.get(
                f"/v2/{name}/referrers/{digest}", params={"artifactType": CYCLONEDX}
            )
        manifests: list[dict[str, Any]] = response.json()["manifests"]
        return manifests

    wait_until(lambda: bool(attached()), timeout=SCAN_SECONDS,
               message=lambda: registry.logs()[-3000:])
    [sbom] = attached()
    pulled = oras_client(registry).pull(
        target=f"{registry.host}/{name}@{sbom['digest']}", outdir=str(tmp_path / "pulled")
    )
    with registry.http() as http:
        served = http.get(f"/api/v1/repository/{name}/manifest/{digest}/sbom")

    assert served.status_code == 200, served.text
    assert [Path(p).name for p in pulled] == ["sbom.cyclonedx.json"]
    assert Path(pulled[0]).read_bytes() == served.content
    assert json.loads(served.content)["metadata"]["component"]["version"] == digest
