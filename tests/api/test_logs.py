"""The audit log through the API: who reads which entries, filters, pages, export."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from .conftest import Api, Caller, error


async def history(api: Api) -> tuple[Caller, Caller]:
    """alice makes acme and acme/app, bob makes bob/own."""
    alice, bob = await api.user("alice"), await api.user("bob")
    await api.organization("acme", alice)
    await api.repository("acme/app", alice)
    await api.repository("bob/own", bob)
    return alice, bob


def kinds(response: object) -> list[tuple[str, str | None]]:
    body = getattr(response, "json")()  # noqa: B009
    return [(e["kind"], e["repository"] or e["namespace"]) for e in body["logs"]]


async def test_superusers_read_everything(api: Api) -> None:
    await history(api)

    response = await api.client.get("/logs", headers=api.root.headers)

    assert kinds(response) == [
        ("repo_create", "bob/own"),
        ("repo_create", "acme/app"),
        ("org_create", "acme"),
    ]
    entry = response.json()["logs"][0]
    assert (entry["performer"], entry["performer_kind"], entry["client_ip"]) == (
        "bob",
        "user",
        "127.0.0.1",
    )


async def test_users_read_their_namespace_and_what_they_administer(api: Api) -> None:
    alice, bob = await history(api)

    assert kinds(await api.client.get("/logs", headers=bob.headers)) == [("repo_create", "bob/own")]
    assert kinds(await api.client.get("/logs?namespace=acme", headers=alice.headers)) == [
        ("repo_create", "acme/app"),
        ("org_create", "acme"),
    ]
    assert kinds(await api.client.get("/organization/acme/logs", headers=alice.headers)) == [
        ("repo_create", "acme/app"),
        ("org_create", "acme"),
    ]
    assert kinds(await api.client.get("/repository/acme/app/logs", headers=alice.headers)) == [
        ("repo_create", "acme/app")
    ]
    error(await api.client.get("/logs?namespace=acme", headers=bob.headers), 404, "NOT_FOUND")
    error(await api.client.get("/repository/acme/app/logs", headers=bob.headers), 404, "NOT_FOUND")
    error(await api.client.get("/logs?repository=bob/own", headers=alice.headers), 404, "NOT_FOUND")
    error(await api.client.get("/logs"), 401, "UNAUTHORIZED")


async def test_repository_readers_may_not_read_its_log(api: Api) -> None:
    alice, bob = await history(api)
    await api.client.put(
        "/repository/acme/app/permissions/user/bob", json={"role": "write"}, headers=alice.headers
    )
    error(await api.client.get("/repository/acme/app/logs", headers=bob.headers), 403, "DENIED")


async def test_filters_and_pages(api: Api) -> None:
    alice, _ = await history(api)
    for index in range(4):
        await api.client.put(f"/user/robots/r{index}", json={}, headers=alice.headers)
    root = api.root.headers

    first = (await api.client.get("/logs?kind=robot_create&limit=3", headers=root)).json()
    second = (
        await api.client.get(
            f"/logs?kind=robot_create&limit=3&next_page={first['next_page']}", headers=root
        )
    ).json()

    assert [e["details"]["robot"] for e in first["logs"]] == ["alice+r3", "alice+r2", "alice+r1"]
    assert [e["details"]["robot"] for e in second["logs"]] == ["alice+r0"]
    assert second["next_page"] is None
    by_bob = (await api.client.get("/logs?performer=bob", headers=root)).json()["logs"]
    assert {e["performer"] for e in by_bob} == {"bob"}
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert (await api.client.get("/logs", params={"since": later}, headers=root)).json()[
        "logs"
    ] == []
    assert (
        len((await api.client.get("/logs", params={"until": later}, headers=root)).json()["logs"])
        >= 7
    )
    error(
        await api.client.get("/logs?since=2020-01-01T00:00:00", headers=root),
        400,
        "INVALID_REQUEST",
    )


async def test_export_streams_json_lines(api: Api) -> None:
    alice, _ = await history(api)

    response = await api.client.get("/logs/export?namespace=acme&limit=1", headers=alice.headers)

    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [e["kind"] for e in lines] == ["repo_create", "org_create"]
    error(
        await api.client.get("/logs/export?namespace=bob", headers=alice.headers), 404, "NOT_FOUND"
    )
