"""The docker CLI (client only, no daemon) reads manifests from cargohold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from support.clients import ClientSandbox
from support.images import TestImage
from support.registry import RegistryProcess

pytestmark = pytest.mark.clients


def manifest_inspect(sandbox: ClientSandbox, reference: str, *extra: str) -> Any:
    result = sandbox.docker("manifest", "inspect", "--insecure", *extra, reference)
    return json.loads(result.stdout)


def test_manifest_inspect_shows_an_image_manifest(
    registry: RegistryProcess, client_sandbox: ClientSandbox, multilayer_image: TestImage,
) -> None:
    reference = f"{registry.host}/docker/multilayer:v1"
    client_sandbox.push(multilayer_image, reference)

    shown = manifest_inspect(client_sandbox, reference)
    verbose = manifest_inspect(client_sandbox, reference, "--verbose")

    assert shown == multilayer_image.manifest
    assert verbose["Descriptor"]["digest"] == multilayer_image.digest
    assert verbose["Descriptor"]["size"] == len(multilayer_image.manifest_bytes)


def test_manifest_inspect_shows_a_multi_arch_index(
    registry: RegistryProcess, client_sandbox: ClientSandbox, multiarch_image: TestImage,
) -> None:
    reference = f"{registry.host}/docker/multiarch:v1"
    client_sandbox.push(multiarch_image, reference, all_images=True)

    shown = manifest_inspect(client_sandbox, reference)

    assert shown["mediaType"] == multiarch_image.media_type
    assert [(m["digest"], m["platform"]["architecture"]) for m in shown["manifests"]] == [
        (m["digest"], m["platform"]["architecture"])
        for m in multiarch_image.manifest["manifests"]
    ]


def test_manifest_inspect_of_a_manifest_without_media_type(
    registry: RegistryProcess, client_sandbox: ClientSandbox, busybox_image: TestImage,
) -> None:
    reference = f"{registry.host}/docker/umoci:v1"
    client_sandbox.push(busybox_image, reference)

    verbose = manifest_inspect(client_sandbox, reference, "--verbose")

    assert verbose["Descriptor"]["digest"] == busybox_image.digest
    assert verbose["Descriptor"]["mediaType"] == busybox_image.media_type
    assert verbose["OCIManifest"]["layers"] == busybox_image.manifest["layers"]
