"""``/superuser/users``: user administration by superusers."""

from __future__ import annotations

from .conftest import Api, basic, error


async def test_create_list_update_and_delete_users(api: Api) -> None:
    root = api.root.headers

    created = await api.client.post(
        "/superuser/users",
        json={"name": "alice", "email": "alice@example.org", "password": "pw"},
        headers=root,
    )
    assert created.status_code == 201, created.text
    assert [u["name"] for u in (await api.client.get("/superuser/users", headers=root)).json()] == [
        "alice",
        "root",
    ]
    assert (await api.client.get("/user", headers=basic("alice", "pw"))).is_success

    updated = await api.client.put(
        "/superuser/users/alice",
        json={"enabled": False, "superuser": True, "password": "reset"},
        headers=root,
    )
    assert (updated.json()["enabled"], updated.json()["superuser"]) == (False, True)
    error(await api.client.get("/user", headers=basic("alice", "reset")), 401, "UNAUTHORIZED")
    await api.client.put("/superuser/users/alice", json={"enabled": True}, headers=root)
    assert (await api.client.get("/user", headers=basic("alice", "reset"))).is_success

    deleted = await api.client.delete("/superuser/users/alice", headers=root)
    assert deleted.status_code == 204
    error(await api.client.get("/user", headers=basic("alice", "reset")), 401, "UNAUTHORIZED")
    error(await api.client.delete("/superuser/users/alice", headers=root), 404, "NOT_FOUND")
    kinds = [e["kind"] for e in await api.events() if e["namespace"] == "alice"]
    assert kinds == ["user_delete", "user_update", "user_update", "user_create"]
    [update, _] = await api.events("user_update")
    assert update["details"] == {"changed": ["enabled"]}


async def test_names_are_unique_across_users_and_organizations(api: Api) -> None:
    await api.organization("acme", api.root)
    for name in ("root", "acme"):
        response = await api.client.post(
            "/superuser/users", json={"name": name}, headers=api.root.headers
        )
        error(response, 409, "ALREADY_EXISTS")


async def test_only_superusers_and_only_with_super_user_scope(api: Api) -> None:
    alice = await api.user("alice")
    scoped = await api.bearer(api.root, "user:admin", "org:admin")
    full = await api.bearer(api.root, "super:user")

    error(await api.client.get("/superuser/users", headers=alice.headers), 403, "DENIED")
    error(await api.client.get("/superuser/users", headers=scoped), 403, "DENIED")
    error(await api.client.get("/superuser/users"), 401, "UNAUTHORIZED")
    assert (await api.client.get("/superuser/users", headers=full)).is_success


async def test_a_superuser_cannot_lock_themselves_out(api: Api) -> None:
    root = api.root.headers
    for body in ({"enabled": False}, {"superuser": False}):
        response = await api.client.put("/superuser/users/root", json=body, headers=root)
        error(response, 400, "INVALID_REQUEST")
    error(await api.client.delete("/superuser/users/root", headers=root), 400, "INVALID_REQUEST")


async def test_robots_are_not_users_here(api: Api) -> None:
    await api.client.put("/user/robots/ci", json={}, headers=api.root.headers)
    response = await api.client.put(
        "/superuser/users/root+ci", json={"enabled": False}, headers=api.root.headers
    )
    error(response, 400, "INVALID_REQUEST")
    assert "root+ci" not in str(
        (await api.client.get("/superuser/users", headers=api.root.headers)).json()
    )
