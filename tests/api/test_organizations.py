"""``/organization``: organizations, teams, team members, default permissions."""

from __future__ import annotations

from .conftest import Api, Caller, error


async def acme(api: Api) -> tuple[Caller, Caller, Caller]:
    """acme, administered by alice; bob in its ``devs`` team (member); carol outside."""
    alice, bob, carol = [await api.user(n) for n in ("alice", "bob", "carol")]
    await api.organization("acme", alice)
    team = await api.client.put(
        "/organization/acme/team/devs", json={"role": "member"}, headers=alice.headers
    )
    assert team.status_code == 201, team.text
    added = await api.client.put("/organization/acme/team/devs/members/bob", headers=alice.headers)
    assert added.status_code == 201, added.text
    return alice, bob, carol


async def test_create_and_read_an_organization(api: Api) -> None:
    alice = await api.user("alice")

    response = await api.client.post(
        "/organization", json={"name": "acme", "email": "ops@acme.example"}, headers=alice.headers
    )

    assert response.status_code == 201, response.text
    assert response.json()["is_admin"] is True
    got = (await api.client.get("/organization/acme", headers=alice.headers)).json()
    assert (got["name"], got["email"]) == ("acme", "ops@acme.example")
    teams = (await api.client.get("/organization/acme/teams", headers=alice.headers)).json()
    assert [(t["name"], t["role"], t["members"]) for t in teams] == [("owners", "admin", 1)]
    [event] = await api.events("org_create")
    assert (event["performer"], event["namespace"]) == ("alice", "acme")


async def test_organization_names_are_unique(api: Api) -> None:
    alice = await api.user("alice")
    await api.organization("acme", alice)
    for name in ("acme", "alice"):
        response = await api.client.post(
            "/organization", json={"name": name}, headers=alice.headers
        )
        error(response, 409, "ALREADY_EXISTS")
    error(
        await api.client.post("/organization", json={"name": "a/b"}, headers=alice.headers),
        400,
        "INVALID_REQUEST",
    )
    error(await api.client.post("/organization", json={"name": "x"}), 401, "UNAUTHORIZED")


async def test_members_see_outsiders_do_not(api: Api) -> None:
    _, bob, carol = await acme(api)

    member_view = await api.client.get("/organization/acme", headers=bob.headers)

    assert member_view.json()["is_admin"] is False
    assert (await api.client.get("/organization/acme/teams", headers=bob.headers)).is_success
    error(await api.client.get("/organization/acme", headers=carol.headers), 404, "NOT_FOUND")
    error(await api.client.get("/organization/nope", headers=carol.headers), 404, "NOT_FOUND")
    error(await api.client.get("/organization/acme/members", headers=bob.headers), 403, "DENIED")
    error(
        await api.client.get("/organization/acme/members", headers=carol.headers), 404, "NOT_FOUND"
    )
    error(await api.client.delete("/organization/acme", headers=bob.headers), 403, "DENIED")
    assert (await api.client.get("/organization/acme", headers=api.root.headers)).is_success


async def test_members_and_teams(api: Api) -> None:
    alice, _, _ = await acme(api)

    members = (await api.client.get("/organization/acme/members", headers=alice.headers)).json()

    assert members == [
        {"name": "alice", "kind": "user", "teams": ["owners"]},
        {"name": "bob", "kind": "user", "teams": ["devs"]},
    ]
    one = await api.client.get("/organization/acme/team/devs/members/bob", headers=alice.headers)
    assert one.json()["name"] == "bob"
    error(
        await api.client.get("/organization/acme/team/devs/members/alice", headers=alice.headers),
        404,
        "NOT_FOUND",
    )
    again = await api.client.put("/organization/acme/team/devs/members/bob", headers=alice.headers)
    assert again.status_code == 200
    [added] = await api.events("team_member_add")
    assert added["details"] == {"member": "bob", "team": "devs"}


async def test_change_and_delete_a_team(api: Api) -> None:
    alice, bob, _ = await acme(api)

    changed = await api.client.put(
        "/organization/acme/team/devs",
        json={"role": "creator", "description": "developers"},
        headers=alice.headers,
    )
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["members"]) == ("creator", 1)
    created = await api.client.post(
        "/repository", json={"namespace": "acme", "name": "tool"}, headers=bob.headers
    )
    assert created.status_code == 201, created.text

    removed = await api.client.delete(
        "/organization/acme/team/devs/members/bob", headers=alice.headers
    )
    assert removed.status_code == 204
    deleted = await api.client.delete("/organization/acme/team/devs", headers=alice.headers)
    assert deleted.status_code == 204
    error(
        await api.client.delete("/organization/acme/team/devs", headers=alice.headers),
        404,
        "NOT_FOUND",
    )
    kinds = {e["kind"] for e in await api.events() if e["namespace"] == "acme"}
    assert {"team_create", "team_update", "team_member_remove", "team_delete"} <= kinds


async def test_an_organization_keeps_an_administrator(api: Api) -> None:
    alice, _, _ = await acme(api)
    headers = alice.headers

    error(
        await api.client.delete("/organization/acme/team/owners/members/alice", headers=headers),
        400,
        "INVALID_REQUEST",
    )
    error(
        await api.client.delete("/organization/acme/team/owners", headers=headers),
        400,
        "INVALID_REQUEST",
    )
    error(
        await api.client.put(
            "/organization/acme/team/owners", json={"role": "member"}, headers=headers
        ),
        400,
        "INVALID_REQUEST",
    )
    await api.client.put("/organization/acme/team/devs", json={"role": "admin"}, headers=headers)
    removed = await api.client.delete(
        "/organization/acme/team/owners/members/alice", headers=headers
    )
    assert removed.status_code == 204


async def test_team_members_are_users_or_the_organizations_robots(api: Api) -> None:
    alice, _, _ = await acme(api)
    await api.client.put("/organization/acme/robots/ci", json={}, headers=alice.headers)
    await api.client.put("/user/robots/mine", json={}, headers=alice.headers)

    robot = await api.client.put(
        "/organization/acme/team/devs/members/acme+ci", headers=alice.headers
    )
    foreign = await api.client.put(
        "/organization/acme/team/devs/members/alice+mine", headers=alice.headers
    )
    unknown = await api.client.put(
        "/organization/acme/team/devs/members/nobody", headers=alice.headers
    )

    assert robot.json() == {"name": "acme+ci", "kind": "robot", "teams": ["devs"]}
    error(foreign, 400, "INVALID_REQUEST")
    error(unknown, 404, "NOT_FOUND")
    error(
        await api.client.put("/organization/acme/team/nope/members/carol", headers=alice.headers),
        404,
        "NOT_FOUND",
    )


async def test_synced_teams_follow_the_directory(api: Api) -> None:
    alice, _, _ = await acme(api)

    response = await api.client.put(
        "/organization/acme/team/ops",
        json={"role": "member", "sync_provider": "ldap", "sync_group": "cn=ops"},
        headers=alice.headers,
    )

    assert response.status_code == 201
    assert (response.json()["sync_provider"], response.json()["sync_group"]) == ("ldap", "cn=ops")
    error(
        await api.client.put("/organization/acme/team/ops/members/bob", headers=alice.headers),
        400,
        "INVALID_REQUEST",
    )
    error(
        await api.client.put(
            "/organization/acme/team/x",
            json={"role": "member", "sync_group": "cn=x"},
            headers=alice.headers,
        ),
        400,
        "INVALID_REQUEST",
    )


async def test_default_permissions_apply_to_new_repositories(api: Api) -> None:
    alice, bob, _ = await acme(api)

    team = await api.client.put(
        "/organization/acme/defaults/team/devs", json={"role": "write"}, headers=alice.headers
    )
    user = await api.client.put(
        "/organization/acme/defaults/user/carol", json={"role": "read"}, headers=alice.headers
    )

    assert (team.status_code, user.status_code) == (201, 201)
    defaults = (await api.client.get("/organization/acme/defaults", headers=alice.headers)).json()
    assert defaults == [
        {"kind": "team", "name": "devs", "role": "write"},
        {"kind": "user", "name": "carol", "role": "read"},
    ]
    await api.repository("acme/app", alice)
    got = await api.client.get("/repository/acme/app", headers=bob.headers)
    assert got.json()["role"] == "write"
    deleted = await api.client.delete(
        "/organization/acme/defaults/user/carol", headers=alice.headers
    )
    assert deleted.status_code == 204
    error(
        await api.client.delete("/organization/acme/defaults/user/carol", headers=alice.headers),
        404,
        "NOT_FOUND",
    )
    error(
        await api.client.put(
            "/organization/acme/defaults/team/nope", json={"role": "read"}, headers=alice.headers
        ),
        404,
        "NOT_FOUND",
    )
    error(
        await api.client.put(
            "/organization/acme/defaults/group/devs", json={"role": "read"}, headers=alice.headers
        ),
        400,
        "INVALID_REQUEST",
    )
    assert len(await api.events("default_permission_change")) == 3


async def test_org_admin_scope_caps_api_tokens(api: Api) -> None:
    alice, _, _ = await acme(api)
    without = await api.bearer(alice, "repo:admin", "user:admin")
    with_scope = await api.bearer(alice, "org:admin")

    error(await api.client.get("/organization/acme/members", headers=without), 403, "DENIED")
    error(
        await api.client.post("/organization", json={"name": "other"}, headers=without),
        403,
        "DENIED",
    )
    assert (await api.client.get("/organization/acme/members", headers=with_scope)).is_success
    assert (await api.client.get("/organization/acme", headers=without)).is_success


async def test_delete_an_organization(api: Api) -> None:
    alice, _, _ = await acme(api)
    await api.repository("acme/app", alice)
    await api.client.put("/organization/acme/robots/ci", json={}, headers=alice.headers)

    response = await api.client.delete("/organization/acme", headers=alice.headers)

    assert response.status_code == 204
    error(await api.client.get("/organization/acme", headers=alice.headers), 404, "NOT_FOUND")
    error(await api.client.get("/repository/acme/app", headers=api.root.headers), 404, "NOT_FOUND")
    assert await api.auth.accounts.find("acme+ci") is None
    [event] = await api.events("org_delete")
    assert event["namespace"] == "acme"
