"""``/v2/<name>/blobs/<digest>``: GET, HEAD, Range requests, repository isolation,
DELETE; and cross-repository mounts through ``POST .../blobs/uploads/?mount=&from=``."""

from __future__ import annotations

import httpx
import pytest

from .helpers import (
    assert_error,
    push_blob,
    push_image,
    random_bytes,
    sha256,
    sha512,
    with_digest,
)

MISSING = sha256(b"never pushed")


async def test_get_and_head(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(5000)
    digest = await push_blob(registry_client, "library/blobs", data)
    response = await registry_client.head(f"/v2/library/blobs/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == "5000"
    assert response.headers["docker-content-digest"] == digest
    assert response.content == b""
    response = await registry_client.get(f"/v2/library/blobs/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-length"] == "5000"
    assert response.headers["docker-content-digest"] == digest


async def test_unknown_blob(registry_client: httpx.AsyncClient) -> None:
    await push_blob(registry_client, "blobs", b"repository exists")
    assert_error(await registry_client.get(f"/v2/blobs/blobs/{MISSING}"), 404, "BLOB_UNKNOWN")
    response = await registry_client.head(f"/v2/blobs/blobs/{MISSING}")
    assert response.status_code == 404
    assert response.content == b""
    assert_error(
        await registry_client.get(f"/v2/no/such/repo/blobs/{MISSING}"), 404, "BLOB_UNKNOWN"
    )


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-199", 100, 199),
        ("bytes=900-", 900, 999),
        ("bytes=-10", 990, 999),
        ("bytes=500-5000", 500, 999),
        ("bytes=999-999", 999, 999),
    ],
)
async def test_range_requests(
    registry_client: httpx.AsyncClient, header: str, start: int, end: int
) -> None:
    data = random_bytes(1000)
    digest = await push_blob(registry_client, "ranges", data)
    response = await registry_client.get(f"/v2/ranges/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/1000"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == data[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=2000-3000", "bytes=1000-1000"])
async def test_range_past_the_end_is_416(registry_client: httpx.AsyncClient, header: str) -> None:
    digest = await push_blob(registry_client, "ranges", random_bytes(1000))
    response = await registry_client.get(f"/v2/ranges/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */1000"


async def test_blob_of_another_repository_is_unknown(registry_client: httpx.AsyncClient) -> None:
    digest = await push_blob(registry_client, "team-a/private", random_bytes(100))
    await push_blob(registry_client, "team-b/app", b"team-b exists")
    for repository in ("team-b/app", "team-a/other"):
        response = await registry_client.get(f"/v2/{repository}/blobs/{digest}")
        assert_error(response, 404, "BLOB_UNKNOWN")
        assert (await registry_client.head(f"/v2/{repository}/blobs/{digest}")).status_code == 404
    response = await registry_client.delete(f"/v2/team-b/app/blobs/{digest}")
    assert_error(response, 404, "BLOB_UNKNOWN")


async def test_delete_in_a_repository_that_does_not_exist_is_unknown(
    registry_client: httpx.AsyncClient,
) -> None:
    digest = await push_blob(registry_client, "team-a/private", random_bytes(100))
    response = await registry_client.delete(f"/v2/team-a/other/blobs/{digest}")
    assert_error(response, 404, "BLOB_UNKNOWN")


async def test_delete_blob(registry_client: httpx.AsyncClient) -> None:
    digest = await push_blob(registry_client, "deleting", random_bytes(100))
    response = await registry_client.delete(f"/v2/deleting/blobs/{digest}")
    assert response.status_code == 202
    assert_error(await registry_client.get(f"/v2/deleting/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert (await registry_client.head(f"/v2/deleting/blobs/{digest}")).status_code == 404
    response = await registry_client.delete(f"/v2/deleting/blobs/{digest}")
    assert_error(response, 404, "BLOB_UNKNOWN")


async def test_delete_in_one_repository_keeps_it_in_another(
    registry_client: httpx.AsyncClient,
) -> None:
    data = random_bytes(100)
    digest = await push_blob(registry_client, "first", data)
    await push_blob(registry_client, "second", data)
    assert (await registry_client.delete(f"/v2/first/blobs/{digest}")).status_code == 202
    response = await registry_client.get(f"/v2/second/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == data


async def test_delete_of_a_blob_a_manifest_uses_is_denied(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "inuse", "v1")
    layer = sha256(image.layers[0])
    assert_error(await registry_client.delete(f"/v2/inuse/blobs/{layer}"), 403, "DENIED")
    response = await registry_client.get(f"/v2/inuse/blobs/{layer}")
    assert response.status_code == 200
    assert response.content == image.layers[0]


async def test_malformed_blob_digest(registry_client: httpx.AsyncClient) -> None:
    for digest in ("sha256:abc", "sha256:" + "G" * 64, "md5:" + "a" * 32, "nodigest"):
        response = await registry_client.get(f"/v2/blobs/blobs/{digest}")
        assert_error(response, 400, "DIGEST_INVALID")


async def test_mount_from_a_repository_that_has_it(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(2000)
    digest = await push_blob(registry_client, "source/repo", data)
    response = await registry_client.post(
        f"/v2/target/repo/blobs/uploads/?mount={digest}&from=source/repo"
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"/v2/target/repo/blobs/{digest}")
    assert response.headers["docker-content-digest"] == digest
    response = await registry_client.head(f"/v2/target/repo/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == "2000"
    assert (await registry_client.get(f"/v2/target/repo/blobs/{digest}")).content == data


async def test_mount_of_a_layer_referenced_by_a_manifest(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, "base", "latest")
    layer = sha256(image.layers[1])
    response = await registry_client.post(f"/v2/derived/blobs/uploads/?mount={layer}&from=base")
    assert response.status_code == 201
    assert (await registry_client.get(f"/v2/derived/blobs/{layer}")).content == image.layers[1]


async def test_mount_of_a_sha512_blob(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(300)
    response = await registry_client.post(
        f"/v2/src/blobs/uploads/?digest={sha512(data)}", content=data
    )
    assert response.status_code == 201
    response = await registry_client.post(f"/v2/dst/blobs/uploads/?mount={sha512(data)}&from=src")
    assert response.status_code == 201
    assert (await registry_client.get(f"/v2/dst/blobs/{sha512(data)}")).content == data


@pytest.mark.parametrize("case", ["source-lacks-it", "unknown-digest", "unknown-source"])
async def test_failed_mount_falls_back_to_an_upload(
    registry_client: httpx.AsyncClient, case: str
) -> None:
    data = random_bytes(500)
    digest = sha256(data)
    await push_blob(registry_client, "elsewhere", data)
    await push_blob(registry_client, "source", b"something else")
    source = "no/such/repository" if case == "unknown-source" else "source"
    mount = MISSING if case == "unknown-digest" else digest
    response = await registry_client.post(f"/v2/target/blobs/uploads/?mount={mount}&from={source}")
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert "/v2/target/blobs/uploads/" in location
    assert (await registry_client.head(f"/v2/target/blobs/{mount}")).status_code == 404
    response = await registry_client.put(with_digest(location, digest), content=data)
    assert response.status_code == 201
    assert (await registry_client.get(f"/v2/target/blobs/{digest}")).content == data
