"""``/v2/<name>/tags/list`` and ``/v2/_catalog``: lexical (byte) order, ``n`` and
``last``, and ``Link: <...>; rel="next"`` pages walked to the end."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .helpers import assert_error, push_blob, push_image, put_manifest

TAGS = ["latest", "1.9", "1.10", "A", "a", "B-2", "_x", "v1.0.0", "Z", "0"]
NEXT_LINK = re.compile(r'^<([^>]+)>;\s*rel="next"$')


def next_page(response: httpx.Response) -> str | None:
    """The path of the next page from the ``Link`` header, or None on the last page."""
    link = response.headers.get("link")
    if link is None:
        return None
    match = NEXT_LINK.match(link)
    assert match, link
    url = urlsplit(match.group(1))
    return f"{url.path}?{url.query}"


async def walk(client: httpx.AsyncClient, first: str, key: str) -> list[list[str]]:
    """Every page's names, following ``Link`` from ``first`` until it stops."""
    pages: list[list[str]] = []
    path: str | None = first
    while path is not None:
        response = await client.get(path)
        assert response.status_code == 200, response.text
        pages.append(response.json()[key])
        path = next_page(response)
        assert len(pages) < 100, "the Link chain does not end"
    return pages


async def tag_all(client: httpx.AsyncClient, repository: str, tags: list[str]) -> None:
    image = await push_image(client, repository, tags[0])
    for tag in tags[1:]:
        response = await put_manifest(client, repository, tag, image.manifest)
        assert response.status_code == 201, response.text


async def test_tags_in_byte_order(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "ordered/app", TAGS)
    response = await registry_client.get("/v2/ordered/app/tags/list")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"name": "ordered/app", "tags": sorted(TAGS)}
    assert sorted(TAGS).index("1.10") < sorted(TAGS).index("1.9")
    assert sorted(TAGS).index("A") < sorted(TAGS).index("a")
    assert "link" not in response.headers


@pytest.mark.parametrize("n", [1, 3, 4, 9, 10])
async def test_tag_pages_with_link(registry_client: httpx.AsyncClient, n: int) -> None:
    await tag_all(registry_client, "paged", TAGS)
    pages = await walk(registry_client, f"/v2/paged/tags/list?n={n}", "tags")
    assert [tag for page in pages for tag in page] == sorted(TAGS)
    assert all(len(page) == n for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= n


async def test_link_keeps_n_and_last(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "linked", TAGS)
    response = await registry_client.get("/v2/linked/tags/list?n=2")
    assert response.json()["tags"] == sorted(TAGS)[:2]
    path = next_page(response)
    assert path is not None
    assert urlsplit(path).path == "/v2/linked/tags/list"
    query = parse_qs(urlsplit(path).query)
    assert query == {"n": ["2"], "last": [sorted(TAGS)[1]]}


async def test_n_larger_than_the_list(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "few", ["b", "a"])
    response = await registry_client.get("/v2/few/tags/list?n=100")
    assert response.json()["tags"] == ["a", "b"]
    assert "link" not in response.headers
    response = await registry_client.get("/v2/few/tags/list?n=2")
    assert response.json()["tags"] == ["a", "b"]
    assert "link" not in response.headers


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ("1.9", ["A", "B-2", "Z", "_x", "a", "latest", "v1.0.0"]),
        ("latest", ["v1.0.0"]),
        ("zzz", []),
        ("", sorted(TAGS)),
        ("1", ["1.10", "1.9", "A", "B-2", "Z", "_x", "a", "latest", "v1.0.0"]),
    ],
)
async def test_last_without_n(
    registry_client: httpx.AsyncClient, last: str, expected: list[str]
) -> None:
    await tag_all(registry_client, "after", TAGS)
    response = await registry_client.get(f"/v2/after/tags/list?last={last}")
    assert response.status_code == 200
    assert response.json()["tags"] == expected


async def test_last_with_n(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "after", TAGS)
    response = await registry_client.get("/v2/after/tags/list?n=2&last=B-2")
    assert response.json()["tags"] == ["Z", "_x"]
    assert next_page(response) is not None


async def test_n_zero(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "zero", TAGS)
    response = await registry_client.get("/v2/zero/tags/list?n=0")
    assert response.status_code == 200
    assert response.json() == {"name": "zero", "tags": []}


@pytest.mark.parametrize("n", ["-1", "abc", "1.5", "0x10"])
async def test_invalid_n(registry_client: httpx.AsyncClient, n: str) -> None:
    await tag_all(registry_client, "badn", ["v1"])
    response = await registry_client.get(f"/v2/badn/tags/list?n={n}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"]


async def test_tags_of_unknown_repository(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get("/v2/no/such/repository/tags/list")
    assert_error(response, 404, "NAME_UNKNOWN")


async def test_repository_without_tags(registry_client: httpx.AsyncClient) -> None:
    await push_blob(registry_client, "untagged", b"only a blob")
    response = await registry_client.get("/v2/untagged/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": "untagged", "tags": []}


async def test_deleted_tags_leave_the_list(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "shrinking", ["a", "b", "c"])
    await registry_client.delete("/v2/shrinking/manifests/b")
    response = await registry_client.get("/v2/shrinking/tags/list")
    assert response.json()["tags"] == ["a", "c"]


async def test_tags_are_per_repository(registry_client: httpx.AsyncClient) -> None:
    await tag_all(registry_client, "left", ["l1", "l2"])
    await tag_all(registry_client, "right", ["r1"])
    assert (await registry_client.get("/v2/left/tags/list")).json()["tags"] == ["l1", "l2"]
    assert (await registry_client.get("/v2/right/tags/list")).json()["tags"] == ["r1"]


REPOSITORIES = ["library/busybox", "library/alpine", "a/b/c/d", "z", "a-b", "a.b", "a_b", "a"]


async def test_catalog_in_byte_order(registry_client: httpx.AsyncClient) -> None:
    for repository in REPOSITORIES:
        await push_image(registry_client, repository, "v1", layers=1)
    response = await registry_client.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": sorted(REPOSITORIES)}
    assert "link" not in response.headers


@pytest.mark.parametrize("n", [1, 3, 7, 8])
async def test_catalog_pages(registry_client: httpx.AsyncClient, n: int) -> None:
    for repository in REPOSITORIES:
        await push_image(registry_client, repository, "v1", layers=1)
    pages = await walk(registry_client, f"/v2/_catalog?n={n}", "repositories")
    assert [name for page in pages for name in page] == sorted(REPOSITORIES)
    assert all(len(page) == n for page in pages[:-1])


async def test_catalog_last(registry_client: httpx.AsyncClient) -> None:
    for repository in REPOSITORIES:
        await push_image(registry_client, repository, "v1", layers=1)
    response = await registry_client.get("/v2/_catalog?n=2&last=a.b")
    assert response.json()["repositories"] == ["a/b/c/d", "a_b"]
    path = next_page(response)
    assert path is not None and urlsplit(path).path == "/v2/_catalog"


async def test_empty_catalog(registry_client: httpx.AsyncClient) -> None:
    response = await registry_client.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.json() == {"repositories": []}


async def test_catalog_n_zero_and_invalid(registry_client: httpx.AsyncClient) -> None:
    await push_image(registry_client, "one", "v1", layers=1)
    response = await registry_client.get("/v2/_catalog?n=0")
    assert response.status_code == 200
    assert response.json() == {"repositories": []}
    response = await registry_client.get("/v2/_catalog?n=-3")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"]
