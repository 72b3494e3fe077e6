"""podman pulls what skopeo pushed, re-tags it, pushes it elsewhere and pulls it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.clients import ClientSandbox
from support.images import TestImage
from support.registry import RegistryProcess

pytestmark = pytest.mark.clients


def inspect_image(sandbox: ClientSandbox, reference: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(sandbox.podman("image", "inspect", reference).stdout)
    assert len(found) == 1, found
    return found[0]


def registry_digest(registry: RegistryProcess, name: str, tag: str) -> str:
    accept = (
        "application/vnd.oci.image.manifest.v1+json, "
        "application/vnd.docker.distribution.manifest.v2+json"
    )
    with registry.http() as http:
        response = http.head(f"/v2/{name}/manifests/{tag}", headers={"Accept": accept})
    assert response.status_code == 200, f"HEAD {name}:{tag} -> {response.status_code}"
    digest: str = response.headers["Docker-Content-Digest"]
    return digest


def test_pull_tag_push_pull_keeps_image_id_and_digest(
    registry: RegistryProcess,
    client_sandbox: ClientSandbox,
    multilayer_image: TestImage,
    tmp_path: Path,
) -> None:
    source = f"{registry.host}/podman/source:v1"
    copy = f"{registry.host}/podman/copy:v2"
    client_sandbox.push(multilayer_image, source)
    image_id = multilayer_image.config_digest.removeprefix("sha256:")

    client_sandbox.podman("pull", "--quiet", "--tls-verify=false", source)
    pulled = inspect_image(client_sandbox, source)
    assert pulled["Id"] == image_id
    assert pulled["Digest"] == multilayer_image.digest
    assert f"{registry.host}/podman/source@{multilayer_image.digest}" in pulled["RepoDigests"]

    client_sandbox.podman("tag", source, copy)
    digest_file = tmp_path / "pushed.digest"
    client_sandbox.podman(
        "push", "--quiet", "--tls-verify=false", "--digestfile", digest_file, copy
    )
    pushed_digest = digest_file.read_text().strip()
    assert registry_digest(registry, "podman/copy", "v2") == pushed_digest

    with ClientSandbox(tmp_path / "second-client") as fresh:
        fresh.login(registry.host, registry.credentials)
        fresh.podman("pull", "--quiet", "--tls-verify=false", copy)
        again = inspect_image(fresh, copy)
        info = fresh.skopeo_inspect(f"docker://{copy}")
    assert again["Id"] == image_id, "the config changed on the way through podman"
    assert again["Digest"] == pushed_digest
    assert again["RootFS"]["Layers"] == pulled["RootFS"]["Layers"]
    assert info["Digest"] == pushed_digest
    assert len(info["Layers"]) == len(multilayer_image.layer_digests)


def test_pull_by_digest_of_an_image_without_media_type(
    registry: RegistryProcess,
    client_sandbox: ClientSandbox,
    busybox_image: TestImage,
) -> None:
    repository = f"{registry.host}/podman/umoci"
    client_sandbox.push(busybox_image, f"{repository}:1")

    client_sandbox.podman(
        "pull", "--quiet", "--tls-verify=false", f"{repository}@{busybox_image.digest}"
    )

    pulled = inspect_image(client_sandbox, f"{repository}@{busybox_image.digest}")
    assert pulled["Id"] == busybox_image.config_digest.removeprefix("sha256:")
    assert pulled["Digest"] == busybox_image.digest
