"""``GET /v2/``, and what every answer carries: the API version header, JSON errors for
unknown endpoints and methods (never an HTML page). ``GET /v2/`` needs a token, anonymous
ones included: without one it answers ``401`` with the challenge that says where to get
one."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from support.auth import ADMIN_PASSWORD, ADMIN_USER

from .helpers import ClientFactory, assert_error, error_code

API_VERSION = ("docker-distribution-api-version", "registry/2.0")


async def test_api_version_check(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get("/v2/")
    assert response.status_code == 200
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


async def test_api_version_check_without_a_token_says_where_to_get_one(
    anonymous_client: httpx.AsyncClient,
) -> None:
    response = await anonymous_client.get("/v2/", auth=None)
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == (
        'Bearer realm="http://registry.test/v2/auth",service="cargohold"'
    )
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    assert (await anonymous_client.get("/v2/")).status_code == 200  # an anonymous token


async def test_password_login(registry_app: Starlette, client_as: ClientFactory) -> None:
    accounts = registry_app.state.auth.accounts
    admin = await accounts.find(ADMIN_USER)
    await accounts.set_password(admin.id, ADMIN_PASSWORD)
    assert (await client_as(ADMIN_USER, ADMIN_PASSWORD).get("/v2/")).status_code == 200
    refused = await client_as(ADMIN_USER, "not the password").get("/v2/")
    assert refused.request.url.path == "/v2/auth"
    assert_error(refused, 401, "UNAUTHORIZED")


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


MANIFEST_METHODS = "DELETE, GET, HEAD, PUT"
BLOB_METHODS = "DELETE, GET, HEAD"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/v2/", "GET, HEAD"),
        ("DELETE", "/v2/", "GET, HEAD"),
        ("POST", "/v2/library/busybox/manifests/latest", MANIFEST_METHODS),
        ("PATCH", "/v2/library/busybox/manifests/latest", MANIFEST_METHODS),
        ("PUT", "/v2/library/busybox/tags/list", "GET, HEAD"),
        ("POST", "/v2/library/busybox/tags/list", "GET, HEAD"),
        ("DELETE", "/v2/_catalog", "GET, HEAD"),
        ("GET", "/v2/library/busybox/blobs/uploads/", "POST"),
        ("POST", f"/v2/library/busybox/blobs/uploads/{'0' * 32}", "DELETE, GET, HEAD, PATCH, PUT"),
        ("PUT", f"/v2/library/busybox/blobs/sha256:{'a' * 64}", BLOB_METHODS),
        ("PATCH", f"/v2/library/busybox/blobs/sha256:{'a' * 64}", BLOB_METHODS),
        ("DELETE", f"/v2/library/busybox/referrers/sha256:{'a' * 64}", "GET, HEAD"),
    ],
)
async def test_wrong_method_is_405_with_json_error_and_allow(
    registry_client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await registry_client.request(method, path)
    assert_error(response, 405, "UNSUPPORTED")
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    assert response.headers["allow"] == allowed
