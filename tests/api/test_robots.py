"""Robots of organizations (``/organization/{org}/robots``) and of the caller
(``/user/robots``): the token shown once, regenerated, revoked with the robot."""

from __future__ import annotations

import pytest

from .conftest import Api, basic, error


@pytest.fixture
async def alice(api: Api) -> dict[str, str]:
    alice = await api.user("alice")
    await api.organization("acme", alice)
    return alice.headers


@pytest.mark.parametrize("base", ["/organization/acme/robots", "/user/robots"])
async def test_robot_lifecycle(api: Api, alice: dict[str, str], base: str) -> None:
    namespace = "acme" if "acme" in base else "alice"

    created = await api.client.put(f"{base}/deployer", json={"description": "CD"}, headers=alice)

    assert created.status_code == 201, created.text
    robot = created.json()
    assert (robot["name"], robot["short_name"], robot["description"]) == (
        f"{namespace}+deployer",
        "deployer",
        "CD",
    )
    assert robot["token"].startswith("chr_")
    first = basic(robot["name"], robot["token"])
    assert (await api.client.get("/user", headers=first)).json()["name"] == robot["name"]
    listed = (await api.client.get(base, headers=alice)).json()
    assert [r["name"] for r in listed] == [robot["name"]]
    assert "token" not in listed[0]
    shown = (await api.client.get(f"{base}/deployer", headers=alice)).json()
    assert "token" not in shown
    error(await api.client.put(f"{base}/deployer", json={}, headers=alice), 409, "ALREADY_EXISTS")

    regenerated = await api.client.post(f"{base}/deployer/regenerate", headers=alice)

    second = basic(robot["name"], regenerated.json()["token"])
    error(await api.client.get("/user", headers=first), 401, "UNAUTHORIZED")
    assert (await api.client.get("/user", headers=second)).is_success

    deleted = await api.client.delete(f"{base}/deployer", headers=alice)

    assert deleted.status_code == 204
    error(await api.client.get("/user", headers=second), 401, "UNAUTHORIZED")
    error(await api.client.get(f"{base}/deployer", headers=alice), 404, "NOT_FOUND")
    kinds = [e["kind"] for e in await api.events() if e["namespace"] == namespace]
    assert kinds[:3] == ["robot_delete", "robot_token_regenerate", "robot_create"]


async def test_robot_names(api: Api, alice: dict[str, str]) -> None:
    for short in ("Upper", "9lives", "a" * 65, "a-b"):
        response = await api.client.put(f"/user/robots/{short}", json={}, headers=alice)
        error(response, 400, "INVALID_REQUEST")


async def test_only_administrators_manage_an_organizations_robots(
    api: Api, alice: dict[str, str]
) -> None:
    bob = await api.user("bob")
    await api.client.put("/organization/acme/team/devs", json={"role": "creator"}, headers=alice)
    await api.client.put("/organization/acme/team/devs/members/bob", headers=alice)
    carol = await api.user("carol")

    error(
        await api.client.put("/organization/acme/robots/x", json={}, headers=bob.headers),
        403,
        "DENIED",
    )
    error(
        await api.client.get("/organization/acme/robots", headers=carol.headers), 404, "NOT_FOUND"
    )
    error(await api.client.get("/organization/alice/robots", headers=alice), 404, "NOT_FOUND")
    scoped = await api.bearer(
        await api.login("alice", (await api.auth.accounts.find("alice")).id), "user:admin"
    )
    error(await api.client.get("/organization/acme/robots", headers=scoped), 403, "DENIED")
    assert (await api.client.get("/user/robots", headers=scoped)).is_success


async def test_a_robot_name_fits_an_account_name(api: Api, alice: dict[str, str]) -> None:
    namespace = "o" * 250
    await api.client.post("/organization", json={"name": namespace}, headers=alice)

    response = await api.client.put(
        f"/organization/{namespace}/robots/abcdefgh", json={}, headers=alice
    )

    error(response, 400, "INVALID_REQUEST")
    fits = await api.client.put(f"/organization/{namespace}/robots/abcd", json={}, headers=alice)
    assert fits.status_code == 201
