"""buildah builds on an image pulled from cargohold and pushes the result back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.clients import ClientSandbox
from support.images import TestImage, iter_tar_members
from support.registry import RegistryProcess

pytestmark = pytest.mark.clients

GREETING = b"built by buildah on top of an image served by cargohold\n"


def pushed_manifest(registry: RegistryProcess, sandbox: ClientSandbox,
                    reference: str) -> dict[str, Any]:
    raw = sandbox.skopeo("inspect", "--tls-verify=false", "--raw",
                         f"docker://{reference}").stdout
    manifest: dict[str, Any] = json.loads(raw)
    return manifest


def fetch_blob(registry: RegistryProcess, name: str, digest: str) -> bytes:
    with registry.http() as http:
        response = http.get(f"/v2/{name}/blobs/{digest}", follow_redirects=True)
    assert response.status_code == 200, f"GET blob {digest}: {response.status_code}"
    return response.content


def assert_built_on(registry: RegistryProcess, sandbox: ClientSandbox, name: str,
                    base: TestImage, digest_file: Path) -> None:
    """The pushed image is ``base`` plus one layer that holds /hello.txt."""
    reference = f"{registry.host}/{name}:v1"
    manifest = pushed_manifest(registry, sandbox, reference)
    info = sandbox.skopeo_inspect(f"docker://{reference}")
    assert info["Digest"] == digest_file.read_text().strip()
    assert len(manifest["layers"]) == len(base.layer_digests) + 1
    config = json.loads(fetch_blob(registry, name, manifest["config"]["digest"]))
    base_config = base.layout.read_json(base.config_digest)
    assert config["rootfs"]["diff_ids"][:-1] == base_config["rootfs"]["diff_ids"]
    files = dict(iter_tar_members(fetch_blob(registry, name, manifest["layers"][-1]["digest"])))
    assert files.get("hello.txt") == GREETING, sorted(files)


def test_build_from_a_pushed_image_and_push_the_result(
    registry: RegistryProcess, client_sandbox: ClientSandbox, busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    base = f"{registry.host}/buildah/base:v1"
    client_sandbox.push(busybox_image, base)
    context = tmp_path / "context"
    context.mkdir()
    (context / "hello.txt").write_bytes(GREETING)
    (context / "Dockerfile").write_text(f"FROM {base}\nCOPY hello.txt /hello.txt\n")
    built = f"{registry.host}/buildah/built:v1"
    digest_file = tmp_path / "digest"

    client_sandbox.buildah("bud", "--quiet", "--isolation", "chroot", "--tls-verify=false",
                           "--format", "oci", "-t", built, context, timeout=300)
    client_sandbox.buildah("push", "--quiet", "--tls-verify=false", "--digestfile",
                           digest_file, built, f"docker://{built}")

    assert_built_on(registry, client_sandbox, "buildah/built", busybox_image, digest_file)


def test_from_copy_commit_push_in_docker_format(
    registry: RegistryProcess, client_sandbox: ClientSandbox, multilayer_image: TestImage,
    tmp_path: Path,
) -> None:
    base = f"{registry.host}/buildah/multilayer:v1"
    client_sandbox.push(multilayer_image, base)
    (tmp_path / "hello.txt").write_bytes(GREETING)
    target = f"{registry.host}/buildah/committed:v1"
    digest_file = tmp_path / "digest"

    container = client_sandbox.buildah("from", "--quiet", "--tls-verify=false",
                                       base).stdout.strip()
    client_sandbox.buildah("copy", container, tmp_path / "hello.txt", "/hello.txt")
    client_sandbox.buildah("commit", "--quiet", "--format", "docker", container, target)
    client_sandbox.buildah("push", "--quiet", "--tls-verify=false", "--digestfile",
                           digest_file, target, f"docker://{target}")

    assert_built_on(registry, client_sandbox, "buildah/committed", multilayer_image,
                    digest_file)
    manifest = pushed_manifest(registry, client_sandbox, target)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
