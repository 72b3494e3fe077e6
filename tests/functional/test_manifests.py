"""``/v2/<name>/manifests/<reference>``: every manifest kind a client pushes, by tag and
by digest; byte-exact pulls with the right Content-Type; validation; content negotiation;
tag moves; deletion."""

from __future__ import annotations

import json

import httpx
import pytest

from .helpers import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_SCHEMA1_SIGNED,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    PushedImage,
    assert_error,
    descriptor,
    error_code,
    image_manifest,
    index_manifest,
    push_artifact,
    push_blob,
    push_image,
    put_manifest,
    random_bytes,
    sha256,
)

PLATFORMS = [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}]


async def assert_served(
    client: httpx.AsyncClient, repository: str, reference: str, body: bytes, media_type: str
) -> None:
    """GET and HEAD of ``reference`` give exactly ``body``, its type and its digest."""
    response = await client.get(f"/v2/{repository}/manifests/{reference}")
    assert response.status_code == 200, response.text
    assert response.content == body
    assert response.headers["content-type"] == media_type
    assert response.headers["docker-content-digest"] == sha256(body)
    response = await client.head(f"/v2/{repository}/manifests/{reference}")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == media_type
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["docker-content-digest"] == sha256(body)


async def push_index(
    client: httpx.AsyncClient, repository: str, reference: str, *, docker: bool = False
) -> tuple[bytes, list[PushedImage]]:
    images = [
        await push_image(client, repository, f"platform-{i}", docker=docker) for i in range(2)
    ]
    media_type = DOCKER_MANIFEST_LIST if docker else OCI_INDEX
    body = index_manifest(
        [
            image.descriptor(platform=platform)
            for image, platform in zip(images, PLATFORMS, strict=True)
        ],
        media_type=media_type,
    )
    response = await put_manifest(client, repository, reference, body, media_type)
    assert response.status_code == 201, response.text
    return body, images


async def test_oci_manifest_by_tag(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "library/app", "v1", layers=3)
    await assert_served(registry_client, "library/app", "v1", image.manifest, OCI_MANIFEST)
    await assert_served(registry_client, "library/app", image.digest, image.manifest, OCI_MANIFEST)


async def test_put_answers_location_and_digest(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "answers", "first")
    response = await put_manifest(registry_client, "answers", "second", image.manifest)
    assert response.status_code == 201
    assert response.headers["docker-content-digest"] == image.digest
    assert response.headers["location"].endswith(f"/v2/answers/manifests/{image.digest}")
    assert "oci-subject" not in response.headers


async def test_oci_manifest_by_digest(registry_client: httpx.AsyncClient) -> None:
    config = await push_blob(registry_client, "bydigest", b'{"os":"linux"}')
    layer = random_bytes(100)
    await push_blob(registry_client, "bydigest", layer)
    body = image_manifest(
        {"mediaType": OCI_CONFIG, "digest": config, "size": 14},
        [descriptor(OCI_LAYER_GZIP, layer)],
    )
    response = await put_manifest(registry_client, "bydigest", sha256(body), body)
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == sha256(body)
    await assert_served(registry_client, "bydigest", sha256(body), body, OCI_MANIFEST)
    tags = (await registry_client.get("/v2/bydigest/tags/list")).json()
    assert tags["tags"] == []


async def test_docker_schema2_manifest(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "docker/app", "latest", docker=True)
    await assert_served(registry_client, "docker/app", "latest", image.manifest, DOCKER_MANIFEST)


async def test_oci_index(registry_client: httpx.AsyncClient) -> None:
    body, _ = await push_index(registry_client, "multi", "latest")
    await assert_served(registry_client, "multi", "latest", body, OCI_INDEX)
    await assert_served(registry_client, "multi", sha256(body), body, OCI_INDEX)


async def test_docker_manifest_list(registry_client: httpx.AsyncClient) -> None:
    body, images = await push_index(registry_client, "multi", "latest", docker=True)
    await assert_served(registry_client, "multi", "latest", body, DOCKER_MANIFEST_LIST)
    await assert_served(
        registry_client, "multi", images[0].digest, images[0].manifest, DOCKER_MANIFEST
    )


async def test_manifest_without_media_type_uses_content_type(
    registry_client: httpx.AsyncClient,
) -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    layer = random_bytes(64)
    await push_blob(registry_client, "umoci", config)
    await push_blob(registry_client, "umoci", layer)
    body = image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER_GZIP, layer)], media_type=None
    )
    assert b"mediaType" in body and b'"mediaType": "application/vnd.oci.image.manifest' not in body
    response = await put_manifest(registry_client, "umoci", "latest", body, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    await assert_served(registry_client, "umoci", "latest", body, OCI_MANIFEST)


async def test_index_without_media_type(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "umoci", "child")
    body = json.dumps({"schemaVersion": 2, "manifests": [image.descriptor()]}).encode()
    response = await put_manifest(registry_client, "umoci", "index", body, OCI_INDEX)
    assert response.status_code == 201, response.text
    await assert_served(registry_client, "umoci", "index", body, OCI_INDEX)


async def test_artifact_with_subject(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "signed", "v1")
    artifact = await push_artifact(
        registry_client, "signed", image, "application/vnd.example.signature.v1"
    )
    await assert_served(registry_client, "signed", artifact.digest, artifact.manifest, OCI_MANIFEST)
    served = (await registry_client.get(f"/v2/signed/manifests/{artifact.digest}")).json()
    assert served["artifactType"] == "application/vnd.example.signature.v1"
    assert served["subject"]["digest"] == image.digest


async def test_subject_may_be_pushed_after_its_referrer(registry_client: httpx.AsyncClient) -> None:
    await push_blob(registry_client, "early", b"{}")
    missing_subject = {"mediaType": OCI_MANIFEST, "digest": sha256(b"not yet pushed"), "size": 14}
    body = image_manifest(
        descriptor("application/vnd.oci.empty.v1+json", b"{}"),
        [descriptor("application/vnd.oci.empty.v1+json", b"{}")],
        artifactType="application/vnd.example.sbom",
        subject=missing_subject,
    )
    response = await put_manifest(registry_client, "early", sha256(body), body)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == missing_subject["digest"]


async def test_artifact_type_from_config_media_type(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "configtyped", "v1")
    config = b'{"format":"example"}'
    await push_blob(registry_client, "configtyped", config)
    body = image_manifest(
        descriptor("application/vnd.example.config.v1+json", config),
        [],
        subject=image.descriptor(),
    )
    response = await put_manifest(registry_client, "configtyped", "cfg", body)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == image.digest
    response = await registry_client.get(f"/v2/configtyped/referrers/{image.digest}")
    assert response.json()["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sha256(body),
            "size": len(body),
            "artifactType": "application/vnd.example.config.v1+json",
        }
    ]


async def test_missing_layer_is_manifest_blob_unknown(registry_client: httpx.AsyncClient) -> None:
    config = b"{}"
    await push_blob(registry_client, "missing", config)
    body = image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER_GZIP, b"never uploaded")]
    )
    response = await put_manifest(registry_client, "missing", "v1", body)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    response = await registry_client.get("/v2/missing/manifests/v1")
    assert_error(response, 404, "MANIFEST_UNKNOWN")


async def test_missing_config_is_manifest_blob_unknown(registry_client: httpx.AsyncClient) -> None:
    layer = random_bytes(10)
    await push_blob(registry_client, "missing", layer)
    body = image_manifest(descriptor(OCI_CONFIG, b"no config"), [descriptor(OCI_LAYER_GZIP, layer)])
    assert_error(
        await put_manifest(registry_client, "missing", "v1", body), 400, "MANIFEST_BLOB_UNKNOWN"
    )


async def test_layer_of_another_repository_is_unknown(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "owner", "v1")
    await push_blob(registry_client, "thief", b"the thief exists")
    response = await put_manifest(registry_client, "thief", "v1", image.manifest)
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")


async def test_index_with_missing_child(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "partial", "child")
    ghost = {"mediaType": OCI_MANIFEST, "digest": sha256(b"ghost"), "size": 5}
    body = index_manifest([image.descriptor(), ghost])
    assert_error(
        await put_manifest(registry_client, "partial", "latest", body, OCI_INDEX),
        400,
        "MANIFEST_BLOB_UNKNOWN",
    )


async def test_index_with_a_child_of_another_repository(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "elsewhere", "child")
    await push_image(registry_client, "here", "unrelated")
    body = index_manifest([image.descriptor()])
    assert_error(
        await put_manifest(registry_client, "here", "latest", body, OCI_INDEX),
        400,
        "MANIFEST_BLOB_UNKNOWN",
    )


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"",
        b"[]",
        b'{"schemaVersion": 2, "mediaType": ',
        b'{"schemaVersion": 3, "config": {}, "layers": []}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",'
        b' "config": {"mediaType": "x/y", "digest": "sha256:nothex", "size": 1}, "layers": []}',
    ],
    ids=["text", "empty", "array", "truncated", "version3", "no-config", "bad-digest"],
)
async def test_invalid_manifest(registry_client: httpx.AsyncClient, body: bytes) -> None:
    response = await put_manifest(registry_client, "invalid", "v1", body)
    assert_error(response, 400, "MANIFEST_INVALID")


async def test_media_type_field_and_content_type_disagree(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "disagree", "v1")
    response = await put_manifest(registry_client, "disagree", "v2", image.manifest, OCI_INDEX)
    assert_error(response, 400, "MANIFEST_INVALID")


async def test_schema1_is_refused(registry_client: httpx.AsyncClient) -> None:
    body = json.dumps(
        {
            "schemaVersion": 1,
            "name": "old/app",
            "tag": "latest",
            "architecture": "amd64",
            "fsLayers": [{"blobSum": sha256(b"")}],
            "history": [{"v1Compatibility": "{}"}],
            "signatures": [],
        }
    ).encode()
    response = await put_manifest(registry_client, "old/app", "latest", body, DOCKER_SCHEMA1_SIGNED)
    assert_error(response, 400, "MANIFEST_INVALID")


async def test_put_by_wrong_digest(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "wrongdigest", "v1")
    wrong = sha256(b"another manifest")
    response = await put_manifest(registry_client, "wrongdigest", wrong, image.manifest)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_error(
        await registry_client.get(f"/v2/wrongdigest/manifests/{wrong}"), 404, "MANIFEST_UNKNOWN"
    )


async def test_manifest_over_4_mib_is_413(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "huge", "v1")
    body = json.loads(image.manifest)
    body["annotations"] = {"padding": "x" * (4 * 1024 * 1024)}
    response = await put_manifest(registry_client, "huge", "v2", json.dumps(body).encode())
    assert response.status_code == 413
    error_code(response)
    assert_error(await registry_client.get("/v2/huge/manifests/v2"), 404, "MANIFEST_UNKNOWN")


async def test_manifest_of_exactly_4_mib_is_accepted(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "big", "v1")
    body = json.loads(image.manifest)
    body["annotations"] = {"padding": ""}
    size = len(json.dumps(body).encode())
    body["annotations"]["padding"] = "x" * (4 * 1024 * 1024 - size)
    raw = json.dumps(body).encode()
    assert len(raw) == 4 * 1024 * 1024
    response = await put_manifest(registry_client, "big", "v2", raw)
    assert response.status_code == 201, response.text
    assert (await registry_client.get("/v2/big/manifests/v2")).content == raw


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        f"{OCI_MANIFEST}",
        f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.5",
        f"{OCI_INDEX}, {OCI_MANIFEST}",
        "application/json",
    ],
    ids=["none", "any", "exact", "with-params", "among-others", "json"],
)
async def test_accept_that_includes_the_type(
    registry_client: httpx.AsyncClient, accept: str | None
) -> None:
    image = await push_image(registry_client, "negotiate", "v1")
    headers = {"Accept": accept} if accept is not None else {}
    response = await registry_client.get("/v2/negotiate/manifests/v1", headers=headers)
    assert response.status_code == 200
    assert response.content == image.manifest
    assert response.headers["content-type"] == OCI_MANIFEST


async def test_accept_of_only_other_manifest_types_is_404(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "negotiate", "v1", docker=True)
    accept = {"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}
    for reference in ("v1", image.digest):
        response = await registry_client.get(f"/v2/negotiate/manifests/{reference}", headers=accept)
        assert_error(response, 404, "MANIFEST_UNKNOWN")
        response = await registry_client.head(
            f"/v2/negotiate/manifests/{reference}", headers=accept
        )
        assert response.status_code == 404


async def test_several_accept_headers(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "negotiate", "v1", docker=True)
    response = await registry_client.get(
        "/v2/negotiate/manifests/v1",
        headers=[("Accept", OCI_MANIFEST), ("Accept", DOCKER_MANIFEST)],
    )
    assert response.status_code == 200
    assert response.content == image.manifest


async def test_unknown_manifest(registry_client: httpx.AsyncClient) -> None:
    await push_image(registry_client, "known", "v1")
    for reference in ("nope", sha256(b"nope")):
        response = await registry_client.get(f"/v2/known/manifests/{reference}")
        assert_error(response, 404, "MANIFEST_UNKNOWN")
        response = await registry_client.head(f"/v2/known/manifests/{reference}")
        assert response.status_code == 404
        assert response.content == b""
    response = await registry_client.get("/v2/unknown/repo/manifests/latest")
    assert response.status_code == 404
    assert error_code(response) in {"NAME_UNKNOWN", "MANIFEST_UNKNOWN"}


async def test_tag_moves(registry_client: httpx.AsyncClient) -> None:
    first = await push_image(registry_client, "moving", "latest")
    second = await push_image(registry_client, "moving", "latest")
    await assert_served(registry_client, "moving", "latest", second.manifest, OCI_MANIFEST)
    await assert_served(registry_client, "moving", first.digest, first.manifest, OCI_MANIFEST)


async def test_same_manifest_pushed_twice(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "twice", "v1")
    response = await put_manifest(registry_client, "twice", "v1", image.manifest)
    assert response.status_code == 201
    assert response.headers["docker-content-digest"] == image.digest
    await assert_served(registry_client, "twice", "v1", image.manifest, OCI_MANIFEST)


async def test_delete_by_tag(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "untag", "v1")
    await put_manifest(registry_client, "untag", "v2", image.manifest)
    assert (await registry_client.delete("/v2/untag/manifests/v1")).status_code == 202
    assert_error(await registry_client.get("/v2/untag/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    await assert_served(registry_client, "untag", image.digest, image.manifest, OCI_MANIFEST)
    await assert_served(registry_client, "untag", "v2", image.manifest, OCI_MANIFEST)
    assert (await registry_client.get("/v2/untag/tags/list")).json()["tags"] == ["v2"]
    assert_error(await registry_client.delete("/v2/untag/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_delete_by_digest(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "gone", "v1")
    await put_manifest(registry_client, "gone", "v2", image.manifest)
    other = await push_image(registry_client, "gone", "keep")
    assert (await registry_client.delete(f"/v2/gone/manifests/{image.digest}")).status_code == 202
    for reference in (image.digest, "v1", "v2"):
        response = await registry_client.get(f"/v2/gone/manifests/{reference}")
        assert_error(response, 404, "MANIFEST_UNKNOWN")
    assert (await registry_client.get("/v2/gone/tags/list")).json()["tags"] == ["keep"]
    await assert_served(registry_client, "gone", "keep", other.manifest, OCI_MANIFEST)
    response = await registry_client.delete(f"/v2/gone/manifests/{image.digest}")
    assert_error(response, 404, "MANIFEST_UNKNOWN")


async def test_layers_free_after_their_manifest_is_deleted(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "freed", "v1")
    await registry_client.delete(f"/v2/freed/manifests/{image.digest}")
    layer = sha256(image.layers[0])
    assert (await registry_client.delete(f"/v2/freed/blobs/{layer}")).status_code == 202


async def test_deleting_a_child_of_an_index_is_refused(registry_client: httpx.AsyncClient) -> None:
    body, images = await push_index(registry_client, "family", "latest")
    child = images[0]
    response = await registry_client.delete(f"/v2/family/manifests/{child.digest}")
    assert 400 <= response.status_code < 500 and response.status_code != 404
    error_code(response)
    await assert_served(registry_client, "family", child.digest, child.manifest, OCI_MANIFEST)
    assert (await registry_client.delete(f"/v2/family/manifests/{sha256(body)}")).status_code == 202
    assert (await registry_client.delete(f"/v2/family/manifests/{child.digest}")).status_code == 202


async def test_same_manifest_in_two_repositories(registry_client: httpx.AsyncClient) -> None:
    image = await push_image(registry_client, "one", "v1")
    for blob in [image.config, *image.layers]:
        await push_blob(registry_client, "two", blob)
    response = await put_manifest(registry_client, "two", "v1", image.manifest)
    assert response.status_code == 201
    await registry_client.delete(f"/v2/one/manifests/{image.digest}")
    await assert_served(registry_client, "two", "v1", image.manifest, OCI_MANIFEST)
    assert_error(
        await registry_client.get(f"/v2/one/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN"
    )


async def test_manifest_of_another_repository_is_unknown(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "mine", "v1")
    await push_image(registry_client, "yours", "v1")
    response = await registry_client.get(f"/v2/yours/manifests/{image.digest}")
    assert_error(response, 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize(
    "tag",
    ["-leading-dash", ".leading-dot", "a" * 129, "has space", "semi;colon", "ümlaut"],
    ids=["dash", "dot", "129", "space", "semicolon", "unicode"],
)
async def test_malformed_tag(registry_client: httpx.AsyncClient, tag: str) -> None:
    """Pushing to a malformed tag is invalid; reading one finds nothing (such a tag can
    never exist), as the conformance suite expects."""
    image = await push_image(registry_client, "tags", "v1")
    response = await put_manifest(registry_client, "tags", tag, image.manifest)
    assert response.status_code == 400
    assert error_code(response) in {"TAG_INVALID", "MANIFEST_INVALID", "NAME_INVALID"}
    assert_error(await registry_client.get(f"/v2/tags/manifests/{tag}"), 404, "MANIFEST_UNKNOWN")
    assert (await registry_client.head(f"/v2/tags/manifests/{tag}")).status_code == 404
    response = await registry_client.delete(f"/v2/tags/manifests/{tag}")
    assert_error(response, 404, "MANIFEST_UNKNOWN")
    assert (await registry_client.get("/v2/tags/tags/list")).json()["tags"] == ["v1"]


@pytest.mark.parametrize("tag", ["a" * 128, "_underscore", "UPPER.case-1.0_x", "0"])
async def test_unusual_but_valid_tags(registry_client: httpx.AsyncClient, tag: str) -> None:
    image = await push_image(registry_client, "tags", tag)
    await assert_served(registry_client, "tags", tag, image.manifest, OCI_MANIFEST)


@pytest.mark.parametrize(
    "reference",
    ["sha256:abc", "sha256:" + "Z" * 64, "md5:" + "a" * 32, "sha256:"],
)
async def test_malformed_digest_reference(
    registry_client: httpx.AsyncClient, reference: str
) -> None:
    """Pushing to a malformed digest is refused (400); reading or deleting one finds
    nothing (404), as the conformance suite expects."""
    image = await push_image(registry_client, "refs", "v1")
    response = await put_manifest(registry_client, "refs", reference, image.manifest)
    assert response.status_code == 400, response.text
    assert error_code(response) in {"DIGEST_INVALID", "MANIFEST_INVALID"}
    for method in ("GET", "DELETE"):
        response = await registry_client.request(method, f"/v2/refs/manifests/{reference}")
        assert_error(response, 404, "MANIFEST_UNKNOWN")
    assert (await registry_client.head(f"/v2/refs/manifests/{reference}")).status_code == 404
