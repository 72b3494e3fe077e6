"""Repository names in every kind of endpoint: multi-component names work, hostile ones
are refused with ``NAME_INVALID`` before anything is read or written."""

from __future__ import annotations

import httpx
import pytest

from .helpers import assert_error, push_blob, push_image, sha256, with_digest

DIGEST = sha256(b"anything")
UPLOAD_ID = "0123456789abcdef0123456789abcdef"

HOSTILE_NAMES = {
    # Dots percent-encoded, as a hostile client sends them: httpx would otherwise
    # normalise "/../" and "/./" away before the server sees them.
    "dotdot": "library/%2E%2E/etc",
    "dot": "library/%2E/x",
    "leading-dotdot": "%2E%2E/escape",
    "upper": "Library/Busybox",
    "double-slash": "a//b",
    "trailing-dash": "a/b-",
    "leading-dash": "-x",
    "leading-dot": ".hidden",
    "double-dot": "a..b",
    "too-long": "a" * 256,
    "too-long-components": "/".join(["abcdefghijklmnop"] * 16),
    "percent": "a%25b",
    "space": "a%20b",
    "colon": "a:b",
    "unicode": "caf%C3%A9",
}

ENDPOINTS = {
    "manifest-get": ("GET", "/v2/{name}/manifests/latest"),
    "manifest-head": ("HEAD", "/v2/{name}/manifests/latest"),
    "manifest-put": ("PUT", "/v2/{name}/manifests/latest"),
    "manifest-delete": ("DELETE", f"/v2/{{name}}/manifests/{DIGEST}"),
    "blob-get": ("GET", f"/v2/{{name}}/blobs/{DIGEST}"),
    "blob-head": ("HEAD", f"/v2/{{name}}/blobs/{DIGEST}"),
    "blob-delete": ("DELETE", f"/v2/{{name}}/blobs/{DIGEST}"),
    "upload-post": ("POST", "/v2/{name}/blobs/uploads/"),
    "upload-post-digest": ("POST", f"/v2/{{name}}/blobs/uploads/?digest={DIGEST}"),
    "upload-mount": ("POST", f"/v2/{{name}}/blobs/uploads/?mount={DIGEST}&from=library/ok"),
    "upload-patch": ("PATCH", f"/v2/{{name}}/blobs/uploads/{UPLOAD_ID}"),
    "upload-get": ("GET", f"/v2/{{name}}/blobs/uploads/{UPLOAD_ID}"),
    "upload-put": ("PUT", f"/v2/{{name}}/blobs/uploads/{UPLOAD_ID}?digest={DIGEST}"),
    "upload-delete": ("DELETE", f"/v2/{{name}}/blobs/uploads/{UPLOAD_ID}"),
    "tags": ("GET", "/v2/{name}/tags/list"),
    "referrers": ("GET", f"/v2/{{name}}/referrers/{DIGEST}"),
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS.values()), ids=list(ENDPOINTS))
@pytest.mark.parametrize("name", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
async def test_hostile_name_is_name_invalid(
    registry_client: httpx.AsyncClient, endpoint: tuple[str, str], name: str
) -> None:
    method, path = endpoint
    body = b"anything" if method in {"PUT", "POST", "PATCH"} else None
    response = await registry_client.request(method, path.format(name=name), content=body)
    if method == "HEAD":
        assert response.status_code == 400
    else:
        assert_error(response, 400, "NAME_INVALID")


async def test_hostile_names_create_nothing(registry_client: httpx.AsyncClient) -> None:
    for name in ("Upper/Case", "a//b", "-x"):
        request = registry_client.build_request("POST", f"/v2/{name}/blobs/uploads/")
        await registry_client.send(request)
    response = await registry_client.get("/v2/_catalog")
    assert response.json()["repositories"] == []


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "library/busybox",
        "a/b/c/d/e/f/g",
        "my-org/my_app.v2/x__y",
        "a---b/c.d",
        "0/1/2",
        "a" * 255,
    ],
    ids=["short", "two", "deep", "separators", "dashes", "digits", "255"],
)
async def test_valid_names(registry_client: httpx.AsyncClient, name: str) -> None:
    image = await push_image(registry_client, name, "v1", layers=1)
    response = await registry_client.get(f"/v2/{name}/manifests/v1")
    assert response.status_code == 200
    assert response.content == image.manifest
    response = await registry_client.get(f"/v2/{name}/tags/list")
    assert response.json() == {"name": name, "tags": ["v1"]}
    location = (await registry_client.post(f"/v2/{name}/blobs/uploads/")).headers["location"]
    response = await registry_client.put(with_digest(location, sha256(b"x")), content=b"x")
    assert response.headers["location"].endswith(f"/v2/{name}/blobs/{sha256(b'x')}")


async def test_names_that_look_like_endpoints(registry_client: httpx.AsyncClient) -> None:
    """Path components named like route segments stay part of the name."""
    for name in ("blobs/uploads", "manifests/x", "tags", "a/blobs", "referrers/list"):
        digest = await push_blob(registry_client, name, name.encode())
        response = await registry_client.get(f"/v2/{name}/blobs/{digest}")
        assert response.status_code == 200, (name, response.text)
        assert response.content == name.encode()
        await push_image(registry_client, name, "v1", layers=1)
        response = await registry_client.get(f"/v2/{name}/tags/list")
        assert response.json() == {"name": name, "tags": ["v1"]}
