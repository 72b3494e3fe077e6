"""``/v2/<name>/blobs/uploads/``: monolithic, single-request and chunked pushes, status,
completion, cancellation, resumption after a broken chunk, digest checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from .helpers import (
    assert_error,
    error_code,
    push_blob,
    random_bytes,
    sha256,
    sha512,
    start_upload,
    upload_end,
    with_digest,
)

OCTETS = {"Content-Type": "application/octet-stream"}


async def assert_blob(client: httpx.AsyncClient, repository: str, data: bytes, digest: str) -> None:
    response = await client.get(f"/v2/{repository}/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["docker-content-digest"] == digest


async def test_post_then_monolithic_put(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(4096)
    response = await registry_client.post("/v2/mono/blobs/uploads/")
    assert response.status_code == 202
    location = response.headers["location"]
    assert "/v2/mono/blobs/uploads/" in location
    assert response.headers["docker-upload-uuid"]
    response = await registry_client.put(
        with_digest(location, sha256(data)), content=data, headers=OCTETS
    )
    assert response.status_code == 201
    assert response.headers["location"].endswith(f"/v2/mono/blobs/{sha256(data)}")
    assert response.headers["docker-content-digest"] == sha256(data)
    await assert_blob(registry_client, "mono", data, sha256(data))


async def test_single_request_post_with_digest(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(3000)
    response = await registry_client.post(
        f"/v2/single/blobs/uploads/?digest={sha256(data)}", content=data, headers=OCTETS
    )
    assert response.status_code == 201
    assert response.headers["location"].endswith(f"/v2/single/blobs/{sha256(data)}")
    assert response.headers["docker-content-digest"] == sha256(data)
    await assert_blob(registry_client, "single", data, sha256(data))


async def test_single_request_post_with_wrong_digest(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(100)
    wrong = sha256(b"something else")
    response = await registry_client.post(
        f"/v2/single/blobs/uploads/?digest={wrong}", content=data, headers=OCTETS
    )
    assert_error(response, 400, "DIGEST_INVALID")
    for digest in (wrong, sha256(data)):
        response = await registry_client.head(f"/v2/single/blobs/{digest}")
        assert response.status_code == 404


async def test_chunked_with_content_range(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(10_000)
    location = await start_upload(registry_client, "chunked")
    offset = 0
    for size in (4000, 4000, 2000):
        chunk = data[offset : offset + size]
        response = await registry_client.patch(
            location,
            content=chunk,
            headers={**OCTETS, "Content-Range": f"{offset}-{offset + size - 1}"},
        )
        assert response.status_code == 202, response.text
        offset += size
        assert response.headers["range"] == f"0-{offset - 1}"
        assert response.headers["docker-upload-uuid"]
        location = response.headers["location"]
    response = await registry_client.put(with_digest(location, sha256(data)))
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == sha256(data)
    await assert_blob(registry_client, "chunked", data, sha256(data))


async def test_chunked_without_content_range(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(9000)
    location = await start_upload(registry_client, "streamed")
    for start in range(0, len(data), 3000):
        response = await registry_client.patch(
            location, content=data[start : start + 3000], headers=OCTETS
        )
        assert response.status_code == 202
        assert upload_end(response) == start + 2999
        location = response.headers["location"]
    response = await registry_client.put(with_digest(location, sha256(data)))
    assert response.status_code == 201
    await assert_blob(registry_client, "streamed", data, sha256(data))


async def test_chunked_streaming_body_without_length(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(200_000)

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 65_536):
            yield data[start : start + 65_536]

    location = await start_upload(registry_client, "streamed")
    response = await registry_client.patch(location, content=body(), headers=OCTETS)
    assert response.status_code == 202
    assert upload_end(response) == len(data) - 1
    response = await registry_client.put(with_digest(response.headers["location"], sha256(data)))
    assert response.status_code == 201
    await assert_blob(registry_client, "streamed", data, sha256(data))


async def test_put_carries_the_final_chunk(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(5000)
    location = await start_upload(registry_client, "final")
    response = await registry_client.patch(
        location, content=data[:3000], headers={**OCTETS, "Content-Range": "0-2999"}
    )
    assert response.status_code == 202
    response = await registry_client.put(
        with_digest(response.headers["location"], sha256(data)),
        content=data[3000:],
        headers={**OCTETS, "Content-Range": "3000-4999"},
    )
    assert response.status_code == 201, response.text
    await assert_blob(registry_client, "final", data, sha256(data))


@pytest.mark.parametrize("content_range", ["0-999", "500-1499", "1001-2000", "2000-2999"], ids=str)
async def test_out_of_order_or_overlapping_chunk_is_416(
    registry_client: httpx.AsyncClient, content_range: str
) -> None:
    data = random_bytes(2000)
    location = await start_upload(registry_client, "order")
    response = await registry_client.patch(
        location, content=data[:1000], headers={**OCTETS, "Content-Range": "0-999"}
    )
    assert response.status_code == 202
    location = response.headers["location"]
    response = await registry_client.patch(
        location, content=data[1000:], headers={**OCTETS, "Content-Range": content_range}
    )
    assert response.status_code == 416
    error_code(response)
    assert response.headers["range"] == "0-999"
    assert "/v2/order/blobs/uploads/" in response.headers["location"]
    response = await registry_client.get(location)
    assert response.status_code == 204
    assert response.headers["range"] == "0-999"
    response = await registry_client.patch(
        location, content=data[1000:], headers={**OCTETS, "Content-Range": "1000-1999"}
    )
    assert response.status_code == 202
    response = await registry_client.put(with_digest(response.headers["location"], sha256(data)))
    assert response.status_code == 201
    await assert_blob(registry_client, "order", data, sha256(data))


async def test_final_put_with_a_wrong_content_range_is_416(
    registry_client: httpx.AsyncClient,
) -> None:
    data = random_bytes(3000)
    location = await start_upload(registry_client, "finalrange")
    response = await registry_client.patch(
        location, content=data[:1000], headers={**OCTETS, "Content-Range": "0-999"}
    )
    location = response.headers["location"]
    response = await registry_client.put(
        with_digest(location, sha256(data)),
        content=data[1500:],
        headers={**OCTETS, "Content-Range": "1500-2999"},
    )
    assert response.status_code == 416
    response = await registry_client.get(location)
    assert response.status_code == 204
    assert response.headers["range"] == "0-999"
    response = await registry_client.put(
        with_digest(location, sha256(data)),
        content=data[1000:],
        headers={**OCTETS, "Content-Range": "1000-2999"},
    )
    assert response.status_code == 201, response.text
    await assert_blob(registry_client, "finalrange", data, sha256(data))


@pytest.mark.parametrize("content_range", ["abc", "10-5", "-5", "0-"])
async def test_malformed_content_range_is_416(
    registry_client: httpx.AsyncClient, content_range: str
) -> None:
    location = await start_upload(registry_client, "badrange")
    response = await registry_client.patch(
        location, content=b"0123456789", headers={**OCTETS, "Content-Range": content_range}
    )
    assert response.status_code == 416
    error_code(response)
    response = await registry_client.get(location)
    assert response.status_code == 204
    assert response.headers["range"] == "0-0"


async def test_content_range_disagreeing_with_length_is_refused(
    registry_client: httpx.AsyncClient,
) -> None:
    location = await start_upload(registry_client, "badrange")
    response = await registry_client.patch(
        location, content=b"0123456789", headers={**OCTETS, "Content-Range": "0-19"}
    )
    assert response.status_code in {400, 416}
    error_code(response)


async def test_upload_status(registry_client: httpx.AsyncClient) -> None:
    location = await start_upload(registry_client, "status")
    response = await registry_client.get(location)
    assert response.status_code == 204
    assert response.headers["range"] == "0-0"
    assert response.headers["docker-upload-uuid"]
    assert "/v2/status/blobs/uploads/" in response.headers["location"]
    response = await registry_client.patch(location, content=b"x" * 1234, headers=OCTETS)
    response = await registry_client.get(response.headers["location"])
    assert response.status_code == 204
    assert response.headers["range"] == "0-1233"
    assert response.content == b""


async def test_wrong_digest_leaves_nothing_visible(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(2048)
    wrong = sha256(b"not the data")
    location = await start_upload(registry_client, "wrong")
    response = await registry_client.put(with_digest(location, wrong), content=data, headers=OCTETS)
    assert_error(response, 400, "DIGEST_INVALID")
    for digest in (wrong, sha256(data)):
        assert (await registry_client.head(f"/v2/wrong/blobs/{digest}")).status_code == 404
        response = await registry_client.get(f"/v2/wrong/blobs/{digest}")
        assert_error(response, 404, "BLOB_UNKNOWN")


async def test_put_without_digest_is_refused(registry_client: httpx.AsyncClient) -> None:
    location = await start_upload(registry_client, "nodigest")
    response = await registry_client.put(location, content=b"abc", headers=OCTETS)
    assert_error(response, 400, "DIGEST_INVALID")


async def test_malformed_digest_on_completion(registry_client: httpx.AsyncClient) -> None:
    location = await start_upload(registry_client, "baddigest")
    response = await registry_client.put(with_digest(location, "sha256:xyz"), content=b"abc")
    assert_error(response, 400, "DIGEST_INVALID")


async def test_cancel_then_status_is_unknown(registry_client: httpx.AsyncClient) -> None:
    location = await start_upload(registry_client, "cancel")
    response = await registry_client.patch(location, content=b"partial", headers=OCTETS)
    location = response.headers["location"]
    response = await registry_client.delete(location)
    assert response.status_code == 204
    assert_error(await registry_client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.patch(location, content=b"more", headers=OCTETS)
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.put(with_digest(location, sha256(b"partial")))
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(await registry_client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


async def test_completed_upload_is_gone(registry_client: httpx.AsyncClient) -> None:
    data = b"done"
    location = await start_upload(registry_client, "done")
    response = await registry_client.put(with_digest(location, sha256(data)), content=data)
    assert response.status_code == 201
    assert_error(await registry_client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("upload_id", ["0" * 32, "not-an-upload", "a" * 200])
async def test_unknown_upload_id(registry_client: httpx.AsyncClient, upload_id: str) -> None:
    path = f"/v2/unknown/blobs/uploads/{upload_id}"
    assert_error(await registry_client.get(path), 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.patch(path, content=b"x", headers=OCTETS)
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.put(with_digest(path, sha256(b"x")), content=b"x")
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(await registry_client.delete(path), 404, "BLOB_UPLOAD_UNKNOWN")


async def test_upload_of_another_repository_is_unknown(registry_client: httpx.AsyncClient) -> None:
    data = b"mine"
    location = await start_upload(registry_client, "owner")
    await push_blob(registry_client, "other", b"make the other repository exist")
    upload_id = location.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    foreign = f"/v2/other/blobs/uploads/{upload_id}"
    assert_error(await registry_client.get(foreign), 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.patch(foreign, content=data, headers=OCTETS)
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.put(with_digest(foreign, sha256(data)), content=data)
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(await registry_client.delete(foreign), 404, "BLOB_UPLOAD_UNKNOWN")
    response = await registry_client.put(with_digest(location, sha256(data)), content=data)
    assert response.status_code == 201
    assert (await registry_client.head(f"/v2/other/blobs/{sha256(data)}")).status_code == 404


class BodyBroke(Exception):
    """The client's connection died while it was sending a chunk."""


async def test_resume_after_a_chunk_broke_midway(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(300_000)
    sent = 100_000
    location = await start_upload(registry_client, "resume")

    async def breaking_body() -> AsyncIterator[bytes]:
        yield data[:50_000]
        yield data[50_000:sent]
        raise BodyBroke

    with pytest.raises(BodyBroke):
        await registry_client.patch(location, content=breaking_body(), headers=OCTETS)
    response = await registry_client.get(location)
    assert response.status_code == 204
    kept = upload_end(response) + 1 if response.headers["range"] != "0-0" else 0
    assert kept <= sent
    assert kept == sent, "a chunk cut short keeps the bytes that arrived"
    response = await registry_client.patch(
        response.headers["location"],
        content=data[kept:],
        headers={**OCTETS, "Content-Range": f"{kept}-{len(data) - 1}"},
    )
    assert response.status_code == 202
    assert upload_end(response) == len(data) - 1
    response = await registry_client.put(with_digest(response.headers["location"], sha256(data)))
    assert response.status_code == 201, response.text
    await assert_blob(registry_client, "resume", data, sha256(data))


async def test_sha512_digest(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(7000)
    digest = sha512(data)
    location = await start_upload(registry_client, "sha512")
    response = await registry_client.patch(location, content=data[:3000], headers=OCTETS)
    response = await registry_client.put(
        with_digest(response.headers["location"], digest), content=data[3000:], headers=OCTETS
    )
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest
    await assert_blob(registry_client, "sha512", data, digest)
    response = await registry_client.head(f"/v2/sha512/blobs/{digest}")
    assert response.headers["content-length"] == str(len(data))


async def test_sha512_single_request(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(100)
    response = await registry_client.post(
        f"/v2/sha512/blobs/uploads/?digest={sha512(data)}", content=data, headers=OCTETS
    )
    assert response.status_code == 201, response.text
    await assert_blob(registry_client, "sha512", data, sha512(data))


async def test_empty_blob(registry_client: httpx.AsyncClient) -> None:
    digest = sha256(b"")
    location = await start_upload(registry_client, "empty")
    response = await registry_client.put(with_digest(location, digest), content=b"")
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest
    response = await registry_client.head(f"/v2/empty/blobs/{digest}")
    assert response.status_code == 200
    assert response.headers["content-length"] == "0"
    response = await registry_client.get(f"/v2/empty/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == b""


async def test_concurrent_chunked_uploads(registry_client: httpx.AsyncClient) -> None:
    blobs = [random_bytes(40_000 + i) for i in range(6)]
    await start_upload(registry_client, "busy")  # the repository exists: see the next test

    async def chunked_push(data: bytes) -> None:
        location = await start_upload(registry_client, "busy")
        for start in range(0, len(data), 10_000):
            chunk = data[start : start + 10_000]
            response = await registry_client.patch(
                location,
                content=chunk,
                headers={**OCTETS, "Content-Range": f"{start}-{start + len(chunk) - 1}"},
            )
            assert response.status_code == 202, response.text
            location = response.headers["location"]
        response = await registry_client.put(with_digest(location, sha256(data)))
        assert response.status_code == 201, response.text

    await asyncio.gather(*(chunked_push(data) for data in blobs))
    for data in blobs:
        await assert_blob(registry_client, "busy", data, sha256(data))


async def test_concurrent_first_uploads_create_the_repository_once(
    registry_client: httpx.AsyncClient,
) -> None:
    """Uploads started at once into a repository, and a namespace, that do not exist yet."""
    started = await asyncio.gather(
        *(registry_client.post("/v2/new-space/app/blobs/uploads/") for _ in range(6))
    )
    assert [response.status_code for response in started] == [202] * 6


async def test_concurrent_uploads_of_the_same_blob(registry_client: httpx.AsyncClient) -> None:
    data = random_bytes(20_000)
    await start_upload(registry_client, "same")  # the repository exists: see the test above
    digests = await asyncio.gather(*(push_blob(registry_client, "same", data) for _ in range(4)))
    assert set(digests) == {sha256(data)}
    await assert_blob(registry_client, "same", data, sha256(data))
