"""``/v2/<name>/referrers/<digest>``: the OCI image index of manifests whose ``subject``
is that digest, with ``?artifactType=`` filtering (distribution-spec v1.1)."""

from __future__ import annotations

import httpx

from .helpers import (
    OCI_INDEX,
    OCI_MANIFEST,
    PushedImage,
    assert_error,
    index_manifest,
    push_artifact,
    push_image,
    put_manifest,
    sha256,
)

SBOM = "application/vnd.example.sbom.v1+json"
SIGNATURE = "application/vnd.example.signature.v1"


async def referrers(
    client: httpx.AsyncClient, repository: str, digest: str, query: str = ""
) -> httpx.Response:
    response = await client.get(f"/v2/{repository}/referrers/{digest}{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OCI_INDEX
    body = response.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    return response


async def test_lists_descriptors_of_referrers(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "app", "v1")
    sbom = await push_artifact(
        registry_client, "app", image, SBOM, annotations={"org.example.tool": "syft"}
    )
    signature = await push_artifact(registry_client, "app", image, SIGNATURE)
    response = await referrers(registry_client, "app", image.digest)
    assert "oci-filters-applied" not in response.headers
    listed = {entry["digest"]: entry for entry in response.json()["manifests"]}
    assert set(listed) == {sbom.digest, signature.digest}
    assert listed[sbom.digest] == {
        "mediaType": OCI_MANIFEST,
        "digest": sbom.digest,
        "size": len(sbom.manifest),
        "artifactType": SBOM,
        "annotations": {"org.example.tool": "syft"},
    }
    assert listed[signature.digest]["artifactType"] == SIGNATURE
    assert listed[signature.digest]["size"] == len(signature.manifest)
    assert not listed[signature.digest].get("annotations")


async def test_artifact_type_filter(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "filtered", "v1")
    sbom = await push_artifact(registry_client, "filtered", image, SBOM)
    await push_artifact(registry_client, "filtered", image, SIGNATURE)
    response = await referrers(
        registry_client, "filtered", image.digest, f"?artifactType={SBOM.replace('+', '%2B')}"
    )
    assert response.headers["oci-filters-applied"] == "artifactType"
    assert [entry["digest"] for entry in response.json()["manifests"]] == [sbom.digest]
    response = await referrers(
        registry_client, "filtered", image.digest, "?artifactType=application/vnd.none"
    )
    assert response.headers["oci-filters-applied"] == "artifactType"
    assert response.json()["manifests"] == []


async def test_unknown_subject_has_an_empty_index(registry_client: httpx.AsyncClient) -> None:
    await push_image(registry_client, "lonely", "v1")
    response = await referrers(registry_client, "lonely", sha256(b"no such manifest"))
    assert response.json()["manifests"] == []


async def test_subject_without_referrers(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "plain", "v1")
    response = await referrers(registry_client, "plain", image.digest)
    assert response.json()["manifests"] == []


async def test_referrers_are_per_repository(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "here", "v1")
    await push_artifact(registry_client, "here", image, SBOM)
    await push_image(registry_client, "there", "v1")
    response = await referrers(registry_client, "there", image.digest)
    assert response.json()["manifests"] == []


async def test_deleted_referrer_leaves_the_list(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "pruned", "v1")
    sbom = await push_artifact(registry_client, "pruned", image, SBOM)
    signature = await push_artifact(registry_client, "pruned", image, SIGNATURE)
    response = await registry_client.delete(f"/v2/pruned/manifests/{sbom.digest}")
    assert response.status_code == 202
    response = await referrers(registry_client, "pruned", image.digest)
    assert [entry["digest"] for entry in response.json()["manifests"]] == [signature.digest]


async def test_referrer_of_an_index(registry_client: httpx.AsyncClient) -> None:
    child = await push_image(registry_client, "indexed", "child")
    body = index_manifest([child.descriptor()])
    await put_manifest(registry_client, "indexed", "latest", body, OCI_INDEX)
    index = PushedImage("indexed", body, OCI_INDEX, b"")
    signature = await push_artifact(registry_client, "indexed", index, SIGNATURE)
    response = await referrers(registry_client, "indexed", sha256(body))
    assert [entry["digest"] for entry in response.json()["manifests"]] == [signature.digest]


async def test_malformed_subject_digest(registry_client: httpx.AsyncClient) -> None:
    await push_image(registry_client, "bad", "v1")
    for digest in ("latest", "sha256:short", "sha256:" + "X" * 64):
        response = await registry_client.get(f"/v2/bad/referrers/{digest}")
        assert_error(response, 400, "DIGEST_INVALID")
