"""skopeo pushes, pulls, inspects, lists and deletes; every byte must come back unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.clients import ClientSandbox
from support.images import (
    INDEX_MEDIA_TYPES,
    OCI_INDEX,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    TestImage,
    assert_same_blobs,
)
from support.registry import RegistryProcess

pytestmark = pytest.mark.clients

ACCEPT_ALL = ", ".join([
    OCI_MANIFEST, OCI_INDEX,
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])


def assert_served_as_pushed(registry: RegistryProcess, name: str, reference: str,
                            image: TestImage) -> None:
    """GET of the manifest answers the pushed bytes, digest and media type."""
    with registry.http() as http:
        response = http.get(f"/v2/{name}/manifests/{reference}", headers={"Accept": ACCEPT_ALL})
    assert response.status_code == 200, response.text
    assert response.content == image.manifest_bytes
    assert response.headers["Docker-Content-Digest"] == image.digest
    assert response.headers["Content-Type"].split(";")[0].strip() == image.media_type


def test_push_then_pull_keeps_every_byte(
    registry: RegistryProcess, client_sandbox: ClientSandbox, multilayer_image: TestImage,
    tmp_path: Path,
) -> None:
    reference = f"{registry.host}/skopeo/multilayer:v1"
    client_sandbox.push(multilayer_image, reference)

    pulled = client_sandbox.pull(reference, tmp_path / "pulled")

    assert_same_blobs(multilayer_image, pulled)
    assert len(pulled.layer_digests) == 4
    assert_served_as_pushed(registry, "skopeo/multilayer", "v1", multilayer_image)
    assert_served_as_pushed(registry, "skopeo/multilayer", multilayer_image.digest,
                            multilayer_image)


def test_manifest_without_media_type_is_kept_verbatim(
    registry: RegistryProcess, client_sandbox: ClientSandbox, busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    assert "mediaType" not in busybox_image.manifest
    reference = f"{registry.host}/skopeo/umoci-busybox:1.0"
    client_sandbox.push(busybox_image, reference)

    raw = client_sandbox.skopeo("inspect", "--tls-verify=false", "--raw",
                                f"docker://{reference}").stdout
    pulled = client_sandbox.pull(reference, tmp_path / "pulled")

    assert raw.encode() == busybox_image.manifest_bytes
    assert_same_blobs(busybox_image, pulled)
    assert_served_as_pushed(registry, "skopeo/umoci-busybox", "1.0", busybox_image)


def test_inspect_reports_digest_layers_and_config(
    registry: RegistryProcess, client_sandbox: ClientSandbox, multilayer_image: TestImage,
) -> None:
    reference = f"docker://{registry.host}/skopeo/inspect:latest"
    client_sandbox.push(multilayer_image, reference.removeprefix("docker://"))

    info = client_sandbox.skopeo_inspect(reference)
    raw_config = client_sandbox.skopeo("inspect", "--tls-verify=false", "--config", "--raw",
                                       reference).stdout

    assert info["Digest"] == multilayer_image.digest
    assert info["Layers"] == multilayer_image.layer_digests
    assert info["Architecture"] == "amd64"
    assert info["Os"] == "linux"
    assert info["Name"] == f"{registry.host}/skopeo/inspect"
    assert "latest" in info["RepoTags"]
    assert raw_config.encode() == multilayer_image.layout.read_blob(
        multilayer_image.config_digest)


def test_list_tags_lists_every_tag_in_lexical_order(
    registry: RegistryProcess, client_sandbox: ClientSandbox, busybox_image: TestImage,
) -> None:
    repository = f"{registry.host}/skopeo/tags"
    tags = ["v2", "1.0", "latest", "v10", "a-b_c.d"]
    client_sandbox.push(busybox_image, f"{repository}:{tags[0]}")
    for tag in tags[1:]:
        client_sandbox.skopeo("copy", "--quiet", "--src-tls-verify=false",
                              "--dest-tls-verify=false", f"docker://{repository}:{tags[0]}",
                              f"docker://{repository}:{tag}")

    listed = client_sandbox.skopeo("list-tags", "--tls-verify=false",
                                   f"docker://{repository}").stdout

    assert json.loads(listed)["Tags"] == sorted(tags)


def test_delete_removes_the_manifest_and_keeps_shared_layers(
    registry: RegistryProcess, client_sandbox: ClientSandbox, busybox_image: TestImage,
    multilayer_image: TestImage, tmp_path: Path,
) -> None:
    repository = f"{registry.host}/skopeo/delete"
    client_sandbox.push(busybox_image, f"{repository}:gone")
    client_sandbox.push(multilayer_image, f"{repository}:kept")

    client_sandbox.skopeo("delete", "--tls-verify=false", f"docker://{repository}:gone")

    missing = client_sandbox.skopeo("inspect", "--tls-verify=false",
                                    f"docker://{repository}:gone", check=False)
    assert missing.returncode != 0, "the deleted tag still resolves"
    assert "manifest unknown" in missing.stderr.lower(), missing.stderr
    with registry.http() as http:
        by_digest = http.get(f"/v2/skopeo/delete/manifests/{busybox_image.digest}",
                             headers={"Accept": ACCEPT_ALL})
    assert by_digest.status_code == 404, by_digest.text
    assert by_digest.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    listed = client_sandbox.skopeo("list-tags", "--tls-verify=false",
                                   f"docker://{repository}").stdout
    assert json.loads(listed)["Tags"] == ["kept"]
    # The busybox layer is shared with the image that stays: it must still be whole.
    assert_same_blobs(multilayer_image,
                      client_sandbox.pull(f"{repository}:kept", tmp_path / "kept"))


def test_copy_all_pushes_and_pulls_a_multi_arch_index(
    registry: RegistryProcess, client_sandbox: ClientSandbox, multiarch_image: TestImage,
    tmp_path: Path,
) -> None:
    reference = f"{registry.host}/skopeo/multiarch:v1"
    client_sandbox.push(multiarch_image, reference, all_images=True)

    raw = client_sandbox.skopeo("inspect", "--tls-verify=false", "--raw",
                                f"docker://{reference}").stdout
    assert raw.encode() == multiarch_image.manifest_bytes
    assert multiarch_image.media_type in INDEX_MEDIA_TYPES
    assert_served_as_pushed(registry, "skopeo/multiarch", "v1", multiarch_image)
    for child in multiarch_image.manifest["manifests"]:
        architecture = child["platform"]["architecture"]
        info = client_sandbox.skopeo_inspect(f"docker://{reference}", "--override-arch",
                                             architecture, "--override-os", "linux")
        child_manifest = multiarch_image.layout.read_json(child["digest"])
        # skopeo reports the index's digest, and the layers of the platform's image.
        assert info["Digest"] == multiarch_image.digest
        assert info["Layers"] == [layer["digest"] for layer in child_manifest["layers"]]
        assert info["Architecture"] == architecture

    pulled = client_sandbox.pull(reference, tmp_path / "pulled", all_images=True)

    assert_same_blobs(multiarch_image, pulled)


def test_zstd_layers_round_trip(
    registry: RegistryProcess, client_sandbox: ClientSandbox, zstd_image: TestImage,
    tmp_path: Path,
) -> None:
    reference = f"{registry.host}/skopeo/zstd:v1"
    client_sandbox.push(zstd_image, reference)

    pulled = client_sandbox.pull(reference, tmp_path / "pulled")

    assert_same_blobs(zstd_image, pulled)
    assert {layer["mediaType"] for layer in pulled.manifest["layers"]} == {OCI_LAYER_ZSTD}
    with registry.http() as http:
        for digest in zstd_image.layer_digests:
            blob = http.get(f"/v2/skopeo/zstd/blobs/{digest}")
            assert blob.status_code == 200, blob.text
            assert blob.content[:4] == b"\x28\xb5\x2f\xfd", "not a zstd frame"
            assert blob.content == zstd_image.layout.read_blob(digest)


def test_repository_names_with_several_components(
    registry: RegistryProcess, client_sandbox: ClientSandbox, busybox_image: TestImage,
    multilayer_image: TestImage, tmp_path: Path,
) -> None:
    nested = f"{registry.host}/a/b/c"
    parent = f"{registry.host}/a/b"
    client_sandbox.push(busybox_image, f"{nested}:deep")
    client_sandbox.push(multilayer_image, f"{parent}:shallow")

    nested_tags = client_sandbox.skopeo("list-tags", "--tls-verify=false",
                                        f"docker://{nested}").stdout
    parent_tags = client_sandbox.skopeo("list-tags", "--tls-verify=false",
                                        f"docker://{parent}").stdout
    info = client_sandbox.skopeo_inspect(f"docker://{nested}:deep")

    assert json.loads(nested_tags)["Tags"] == ["deep"]
    assert json.loads(parent_tags)["Tags"] == ["shallow"]
    assert info["Digest"] == busybox_image.digest
    assert_same_blobs(busybox_image, client_sandbox.pull(f"{nested}:deep", tmp_path / "deep"))
    assert_same_blobs(multilayer_image,
                      client_sandbox.pull(f"{parent}:shallow", tmp_path / "shallow"))
