"""``/user``: the caller's account, CLI tokens and API tokens with scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import Api, basic, error


async def test_me(api: Api) -> None:
    alice = await api.user("alice")
    me = (await api.client.get("/user", headers=alice.headers)).json()
    assert (me["name"], me["kind"], me["superuser"], me["provider"]) == (
        "alice",
        "user",
        False,
        "local",
    )


async def test_change_email(api: Api) -> None:
    alice = await api.user("alice")

    response = await api.client.put(
        "/user", json={"email": "alice@example.org"}, headers=alice.headers
    )

    assert response.json()["email"] == "alice@example.org"
    [event] = await api.events("user_update")
    assert (event["performer"], event["details"]) == ("alice", {"changed": ["email"]})
    error(
        await api.client.put("/user", json={"email": "not an email"}, headers=alice.headers),
        400,
        "INVALID_REQUEST",
    )


async def test_password_change_needs_the_old_password(api: Api) -> None:
    alice = await api.user("alice", password="old-password")

    missing = await api.client.put("/user", json={"password": "new"}, headers=alice.headers)
    wrong = await api.client.put(
        "/user", json={"password": "new", "old_password": "guess"}, headers=alice.headers
    )
    right = await api.client.put(
        "/user",
        json={"password": "new-password", "old_password": "old-password"},
        headers=alice.headers,
    )

    error(missing, 400, "INVALID_REQUEST")
    error(wrong, 403, "DENIED")
    assert right.status_code == 200
    assert (await api.client.get("/user", headers=basic("alice", "new-password"))).is_success
    error(
        await api.client.get("/user", headers=basic("alice", "old-password")), 401, "UNAUTHORIZED"
    )
    [event] = await api.events("user_update")
    assert event["details"] == {"changed": ["password"]}
    assert "new-password" not in str(await api.events())


async def test_cli_token_is_shown_once_and_logs_in(api: Api) -> None:
    alice = await api.user("alice")
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()

    response = await api.client.post(
        "/user/tokens", json={"name": "laptop", "expires_at": expires}, headers=alice.headers
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["token"].startswith("chc_")
    listed = (await api.client.get("/user/tokens", headers=alice.headers)).json()
    laptop = next(t for t in listed if t["name"] == "laptop")
    assert "token" not in laptop
    assert laptop["id"] == created["id"]
    assert laptop["expires_at"] is not None
    assert (await api.client.get("/user", headers=basic("alice", created["token"]))).is_success
    [event] = await api.events("token_create")
    assert event["details"]["token"] == "laptop"
    assert created["token"] not in str(event)


async def test_revoked_cli_token_is_refused(api: Api) -> None:
    alice = await api.user("alice")
    created = (
        await api.client.post("/user/tokens", json={"name": "ci"}, headers=alice.headers)
    ).json()

    response = await api.client.delete(f"/user/tokens/{created['id']}", headers=alice.headers)

    assert response.status_code == 204
    error(
        await api.client.get("/user", headers=basic("alice", created["token"])), 401, "UNAUTHORIZED"
    )
    listed = (await api.client.get("/user/tokens", headers=alice.headers)).json()
    assert next(t for t in listed if t["id"] == created["id"])["revoked_at"] is not None
    [event] = await api.events("token_revoke")
    assert event["details"]["id"] == created["id"]


async def test_token_validation(api: Api) -> None:
    alice = await api.user("alice")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    naive = datetime.now().replace(microsecond=0).isoformat()
    for body in (
        {"name": ""},
        {"name": "x", "expires_at": past},
        {"name": "x", "expires_at": naive},
        {"name": "x", "extra": 1},
        {"name": "x\u0000y"},
    ):
        response = await api.client.post("/user/tokens", json=body, headers=alice.headers)
        error(response, 400, "INVALID_REQUEST")


async def test_someone_elses_token_is_404(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    created = (
        await api.client.post("/user/tokens", json={"name": "ci"}, headers=alice.headers)
    ).json()
    response = await api.client.delete(f"/user/tokens/{created['id']}", headers=bob.headers)
    error(response, 404, "NOT_FOUND")
    error(await api.client.delete("/user/tokens/2147483647", headers=bob.headers), 404, "NOT_FOUND")
    error(
        await api.client.delete("/user/tokens/2147483648", headers=bob.headers),
        400,
        "INVALID_REQUEST",
    )


async def test_api_token_with_scopes(api: Api) -> None:
    alice = await api.user("alice")

    response = await api.client.post(
        "/user/apitokens",
        json={"name": "automation", "scopes": ["repo:read", "user:admin"]},
        headers=alice.headers,
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["token"].startswith("cha_")
    assert created["scopes"] == ["repo:read", "user:admin"]
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await api.client.get("/user/apitokens", headers=bearer)).is_success
    revoked = await api.client.delete(f"/user/apitokens/{created['id']}", headers=alice.headers)
    assert revoked.status_code == 204
    error(await api.client.get("/user", headers=bearer), 401, "UNAUTHORIZED")
    error(
        await api.client.post(
            "/user/apitokens", json={"name": "x", "scopes": ["root"]}, headers=alice.headers
        ),
        400,
        "INVALID_REQUEST",
    )


async def test_a_token_without_user_admin_cannot_manage_the_account(api: Api) -> None:
    alice = await api.user("alice")
    bearer = await api.bearer(alice, "repo:read")

    assert (await api.client.get("/user", headers=bearer)).is_success
    error(await api.client.get("/user/tokens", headers=bearer), 403, "DENIED")
    error(await api.client.put("/user", json={}, headers=bearer), 403, "DENIED")
    error(await api.client.get("/user/robots", headers=bearer), 403, "DENIED")


async def test_a_scoped_token_cannot_make_a_broader_one(api: Api) -> None:
    alice = await api.user("alice")
    bearer = await api.bearer(alice, "user:admin", "repo:read")

    narrower = await api.client.post(
        "/user/apitokens", json={"name": "n", "scopes": ["repo:read"]}, headers=bearer
    )
    broader = await api.client.post(
        "/user/apitokens", json={"name": "b", "scopes": ["repo:write"]}, headers=bearer
    )
    cli = await api.client.post("/user/tokens", json={"name": "c"}, headers=bearer)

    assert narrower.status_code == 201
    error(broader, 403, "DENIED")
    error(cli, 403, "DENIED")


async def test_robots_have_no_account_settings(api: Api) -> None:
    response = await api.client.put("/user/robots/ci", json={}, headers=api.root.headers)
    robot = response.json()
    headers = basic(robot["name"], robot["token"])
    assert (await api.client.get("/user", headers=headers)).json()["kind"] == "robot"
    error(await api.client.get("/user/tokens", headers=headers), 403, "DENIED")
