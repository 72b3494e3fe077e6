"""``GET /v2/``, and what every answer carries: the API version header, JSON errors for
unknown endpoints and methods (never an HTML page)."""

from __future__ import annotations

import httpx
import pytest

from .helpers import assert_error, error_code

API_VERSION = ("docker-distribution-api-version", "registry/2.0")


async def test_api_version_check(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get("/v2/")
    assert response.status_code == 200
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/library/busybox/tags/list",
        "/v2/library/busybox/manifests/latest",
        "/v2/_catalog",
        "/v2/nothing-here",
        "/v1/",
    ],
)
async def test_every_answer_carries_the_api_version(
    registry_client: httpx.AsyncClient, path: str
) -> None:
    response = await registry_client.get(path)
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


@pytest.mark.parametrize(
    "path",
    ["/v1/_ping", "/v2/library/busybox/unknown/thing", "/v2/library/busybox", "/"],
)
async def test_unknown_endpoints_answer_json_404(
    registry_client: httpx.AsyncClient, path: str
) -> None:
    response = await registry_client.get(path)
    assert response.status_code == 404
    assert "html" not in response.headers["content-type"]
    error_code(response)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/"),
        ("DELETE", "/v2/"),
        ("POST", "/v2/library/busybox/manifests/latest"),
        ("PATCH", "/v2/library/busybox/manifests/latest"),
        ("PUT", "/v2/library/busybox/tags/list"),
        ("POST", "/v2/library/busybox/tags/list"),
        ("DELETE", "/v2/_catalog"),
        ("PUT", f"/v2/library/busybox/blobs/sha256:{'a' * 64}"),
        ("PATCH", f"/v2/library/busybox/blobs/sha256:{'a' * 64}"),
        ("DELETE", f"/v2/library/busybox/referrers/sha256:{'a' * 64}"),
    ],
)
async def test_wrong_method_is_405_with_json_error(
    registry_client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await registry_client.request(method, path)
    assert_error(response, 405, "UNSUPPORTED")
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
