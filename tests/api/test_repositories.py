"""``/repository``: listing what the caller may see, creating, settings, visibility,
permissions, deletion; 404 for what the caller may not read."""

from __future__ import annotations

from .conftest import Api, Caller, error


async def people(api: Api) -> tuple[Caller, Caller]:
    """alice owns acme (with the private acme/app and the public acme/site); bob has no
    link to it."""
    alice, bob = await api.user("alice"), await api.user("bob")
    await api.organization("acme", alice)
    await api.repository("acme/app", alice)
    await api.repository("acme/site", alice, "public")
    return alice, bob


def names(response: object) -> list[str]:
    body = getattr(response, "json")()  # noqa: B009
    return [r["name"] for r in body["repositories"]]


async def test_listing_shows_what_the_caller_may_pull(api: Api) -> None:
    alice, bob = await people(api)
    await api.repository("bob/own", bob)

    assert names(await api.client.get("/repository", headers=alice.headers)) == [
        "acme/app",
        "acme/site",
    ]
    assert names(await api.client.get("/repository", headers=bob.headers)) == [
        "acme/site",
        "bob/own",
    ]
    assert names(await api.client.get("/repository")) == ["acme/site"]
    assert names(await api.client.get("/repository?namespace=bob", headers=bob.headers)) == [
        "bob/own"
    ]
    assert len(names(await api.client.get("/repository", headers=api.root.headers))) == 3


async def test_listing_in_pages(api: Api) -> None:
    alice = await api.user("alice")
    for index in range(5):
        await api.repository(f"alice/r{index}", alice)

    first = (await api.client.get("/repository?per_page=2", headers=alice.headers)).json()
    last = (await api.client.get("/repository?per_page=2&page=3", headers=alice.headers)).json()

    assert ([r["name"] for r in first["repositories"]], first["next_page"]) == (
        ["alice/r0", "alice/r1"],
        2,
    )
    assert ([r["name"] for r in last["repositories"]], last["next_page"]) == (["alice/r4"], None)
    error(await api.client.get("/repository?page=0"), 400, "INVALID_REQUEST")


async def test_create_a_repository(api: Api) -> None:
    alice, bob = await people(api)

    response = await api.client.post(
        "/repository",
        json={"namespace": "acme", "name": "team/tool", "description": "a tool"},
        headers=alice.headers,
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["visibility"], created["role"]) == (
        "acme/team/tool",
        "private",
        "admin",
    )
    [event] = [e for e in await api.events("repo_create") if e["repository"] == "acme/team/tool"]
    assert (event["namespace"], event["performer"]) == ("acme", "alice")
    body = {"namespace": "acme", "name": "app"}
    error(
        await api.client.post("/repository", json=body, headers=alice.headers),
        409,
        "ALREADY_EXISTS",
    )
    error(await api.client.post("/repository", json=body, headers=bob.headers), 403, "DENIED")
    error(
        await api.client.post(
            "/repository", json={"namespace": "nope", "name": "x"}, headers=alice.headers
        ),
        404,
        "NOT_FOUND",
    )
    error(
        await api.client.post(
            "/repository", json={"namespace": "acme", "name": "Bad"}, headers=alice.headers
        ),
        400,
        "INVALID_REQUEST",
    )
    error(
        await api.client.post(
            "/repository", json={"namespace": "acme", "name": "x" * 251}, headers=alice.headers
        ),
        400,
        "NAME_INVALID",
    )


async def test_private_repositories_are_invisible(api: Api) -> None:
    alice, bob = await people(api)

    assert (await api.client.get("/repository/acme/app", headers=alice.headers)).is_success
    error(await api.client.get("/repository/acme/app", headers=bob.headers), 404, "NOT_FOUND")
    error(await api.client.get("/repository/acme/app"), 401, "UNAUTHORIZED")
    error(await api.client.get("/repository/acme/none", headers=bob.headers), 404, "NOT_FOUND")
    public = await api.client.get("/repository/acme/site")
    assert (public.json()["visibility"], public.json()["role"]) == ("public", "read")
    error(await api.client.delete("/repository/acme/site", headers=bob.headers), 403, "DENIED")
    error(await api.client.delete("/repository/acme/app", headers=bob.headers), 404, "NOT_FOUND")


async def test_visibility_and_description(api: Api) -> None:
    alice, bob = await people(api)

    made_public = await api.client.post(
        "/repository/acme/app/visibility", json={"visibility": "public"}, headers=alice.headers
    )
    described = await api.client.put(
        "/repository/acme/app", json={"description": "the app"}, headers=alice.headers
    )

    assert made_public.json()["visibility"] == "public"
    assert described.json()["description"] == "the app"
    assert (await api.client.get("/repository/acme/app", headers=bob.headers)).is_success
    [event] = await api.events("repo_visibility_change")
    assert (event["repository"], event["details"]) == (
        "acme/app",
        {"before": "private", "after": "public"},
    )
    assert len(await api.events("repo_update")) == 1
    error(
        await api.client.post(
            "/repository/acme/app/visibility", json={"visibility": "open"}, headers=alice.headers
        ),
        400,
        "INVALID_REQUEST",
    )


async def test_permissions(api: Api) -> None:
    alice, bob = await people(api)
    await api.client.put(
        "/organization/acme/team/devs", json={"role": "member"}, headers=alice.headers
    )

    user = await api.client.put(
        "/repository/acme/app/permissions/user/bob", json={"role": "write"}, headers=alice.headers
    )
    team = await api.client.put(
        "/repository/acme/app/permissions/team/devs", json={"role": "read"}, headers=alice.headers
    )

    assert user.json() == {"kind": "user", "name": "bob", "role": "write"}
    assert team.status_code == 200
    assert (await api.client.get("/repository/acme/app", headers=bob.headers)).json()[
        "role"
    ] == "write"
    grants = (
        await api.client.get("/repository/acme/app/permissions", headers=alice.headers)
    ).json()
    assert grants == [
        {"kind": "team", "name": "devs", "role": "read"},
        {"kind": "user", "name": "bob", "role": "write"},
    ]
    error(
        await api.client.get("/repository/acme/app/permissions", headers=bob.headers), 403, "DENIED"
    )
    await api.client.put(
        "/repository/acme/app/permissions/user/bob", json={"role": "admin"}, headers=alice.headers
    )
    assert (
        await api.client.get("/repository/acme/app/permissions", headers=bob.headers)
    ).is_success

    removed = await api.client.delete(
        "/repository/acme/app/permissions/user/bob", headers=alice.headers
    )

    assert removed.status_code == 204
    error(await api.client.get("/repository/acme/app", headers=bob.headers), 404, "NOT_FOUND")
    error(
        await api.client.delete("/repository/acme/app/permissions/user/bob", headers=alice.headers),
        404,
        "NOT_FOUND",
    )
    error(
        await api.client.put(
            "/repository/acme/app/permissions/user/nobody",
            json={"role": "read"},
            headers=alice.headers,
        ),
        404,
        "NOT_FOUND",
    )
    error(
        await api.client.put(
            "/repository/acme/app/permissions/user/bob",
            json={"role": "owner"},
            headers=alice.headers,
        ),
        400,
        "INVALID_REQUEST",
    )
    changes = await api.events("permission_change")
    assert [e["details"]["role"] for e in changes] == [None, "admin", "read", "write"]


async def test_repo_admin_scope_caps_api_tokens(api: Api) -> None:
    alice, _ = await people(api)
    read_only = await api.bearer(alice, "repo:read")
    admin = await api.bearer(alice, "repo:admin")

    assert (await api.client.get("/repository/acme/app", headers=read_only)).json()[
        "role"
    ] == "read"
    error(
        await api.client.get("/repository/acme/app/permissions", headers=read_only), 403, "DENIED"
    )
    assert (await api.client.get("/repository/acme/app/permissions", headers=admin)).is_success
    error(
        await api.client.post(
            "/repository", json={"namespace": "acme", "name": "new"}, headers=admin
        ),
        403,
        "DENIED",
    )
    nothing = await api.bearer(alice, "user:admin")
    error(await api.client.get("/repository/acme/app", headers=nothing), 404, "NOT_FOUND")


async def test_delete_a_repository(api: Api) -> None:
    alice, _ = await people(api)

    response = await api.client.delete("/repository/acme/app", headers=alice.headers)

    assert response.status_code == 204
    error(await api.client.get("/repository/acme/app", headers=alice.headers), 404, "NOT_FOUND")
    [event] = await api.events("repo_delete")
    assert event["repository"] == "acme/app"
