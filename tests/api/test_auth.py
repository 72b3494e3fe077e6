"""Who calls the API: bearer tokens, basic credentials, the session cookie of
``/auth/login``; the error body of every refusal; the published OpenAPI document."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
from sqlalchemy import select

from cargohold.auth.secrets import TokenKind
from cargohold.db.auth_models import Credential

from .conftest import Api, basic, error


async def test_openapi_document_and_docs_are_published(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()

    assert document["servers"] == [{"url": "/api/v1"}]
    assert {"bearer", "basic", "session"} <= set(document["components"]["securitySchemes"])
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert len(operations) > 40
    assert all("422" not in op["responses"] for op in operations)
    assert all("404" in op["responses"] for op in operations)
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    assert "/api/v1/openapi.json" in docs.text


async def test_invalid_requests_are_400_in_the_registry_error_body(api: Api) -> None:
    response = await api.client.post(
        "/organization", json={"name": "Not Valid"}, headers=api.root.headers
    )
    detail = error(response, 400, "INVALID_REQUEST")["detail"]
    assert detail[0]["location"] == ["body", "name"]
    error(
        await api.client.post("/organization", content=b"{", headers=api.root.headers),
        400,
        "INVALID_REQUEST",
    )
    error(await api.client.get("/no/such/thing"), 404, "NOT_FOUND")
    error(await api.client.patch("/user", headers=api.root.headers), 405, "UNSUPPORTED")


async def test_oversized_bodies_are_refused(api: Api) -> None:
    body = b'{"name": "' + b"a" * (2 << 20) + b'"}'
    response = await api.client.post(
        "/organization",
        content=body,
        headers={**api.root.headers, "content-type": "application/json"},
    )
    error(response, 413, "SIZE_INVALID")

    async def streamed() -> AsyncIterator[bytes]:
        yield body

    response = await api.client.post(
        "/organization",
        content=streamed(),
        headers={**api.root.headers, "content-type": "application/json"},
    )
    error(response, 413, "SIZE_INVALID")


async def test_anonymous_callers_must_log_in_for_account_routes(api: Api) -> None:
    response = await api.client.get("/user")
    error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_basic_credentials_with_a_password_or_a_token(api: Api) -> None:
    alice = await api.user("alice", password="s3cret")

    by_password = await api.client.get("/user", headers=basic("alice", "s3cret"))
    by_token = await api.client.get("/user", headers=alice.headers)

    assert by_password.json()["name"] == by_token.json()["name"] == "alice"


async def test_wrong_basic_credentials_are_401_and_audited_without_the_password(
    api: Api,
) -> None:
    await api.user("alice", password="s3cret")

    response = await api.client.get("/user", headers=basic("alice", "wrong-password"))

    error(response, 401, "UNAUTHORIZED")
    [failed] = await api.events("login_failed")
    assert failed["details"]["username"] == "alice"
    assert "wrong-password" not in str(failed)
    assert failed["client_ip"] == "127.0.0.1"


async def test_bearer_takes_api_tokens_only_not_cli_tokens(api: Api) -> None:
    alice = await api.user("alice")
    cli = await api.auth.accounts.create_token(alice.account_id, TokenKind.CLI, "cli")

    refused = await api.client.get("/user", headers={"Authorization": f"Bearer {cli.text}"})
    accepted = await api.client.get("/user", headers=await api.bearer(alice, "user:admin"))

    error(refused, 401, "UNAUTHORIZED")
    assert accepted.status_code == 200
    error(
        await api.client.get("/user", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED"
    )
    error(await api.client.get("/user", headers={"Authorization": "Digest x"}), 401, "UNAUTHORIZED")


async def test_login_sets_a_session_cookie_and_logout_revokes_it(api: Api) -> None:
    await api.user("alice", password="s3cret")

    response = await api.client.post(
        "/auth/login", json={"username": "alice", "password": "s3cret"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["user"]["name"] == "alice"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("cargohold_session=chs_")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    session = response.cookies["cargohold_session"]
    assert (await api.client.get("/user")).json()["name"] == "alice"
    [login] = await api.events("login")
    assert login["performer"] == "alice"

    logout = await api.client.post("/auth/logout")

    assert logout.status_code == 204
    assert len(await api.events("logout")) == 1
    stale = {"Cookie": f"cargohold_session={session}"}
    error(await api.client.get("/user", headers=stale), 401, "UNAUTHORIZED")


async def test_session_cookie_is_secure_over_https(api: Api) -> None:
    await api.user("alice", password="s3cret")
    response = await api.client.post(
        "https://registry.test/api/v1/auth/login",
        json={"username": "alice", "password": "s3cret"},
    )
    assert "Secure" in response.headers["set-cookie"]


async def test_failed_login_is_audited_and_sets_no_cookie(api: Api) -> None:
    await api.user("alice", password="s3cret")

    response = await api.client.post("/auth/login", json={"username": "alice", "password": "guess"})

    error(response, 401, "UNAUTHORIZED")
    assert "set-cookie" not in response.headers
    [failed] = await api.events("login_failed")
    assert failed["details"] == {"username": "alice", "via": "api login"}


async def test_login_takes_passwords_not_tokens(api: Api) -> None:
    alice = await api.user("alice")
    cli = await api.auth.accounts.create_token(alice.account_id, TokenKind.CLI, "cli")
    response = await api.client.post(
        "/auth/login", json={"username": "alice", "password": cli.text}
    )
    error(response, 401, "UNAUTHORIZED")


async def test_a_forged_cookie_is_401(api: Api) -> None:
    cookie = {"Cookie": "cargohold_session=chs_0000000000000000" + "A" * 43}
    error(await api.client.get("/user", headers=cookie), 401, "UNAUTHORIZED")
    error(
        await api.client.get("/user", headers={"Cookie": "cargohold_session=x"}),
        401,
        "UNAUTHORIZED",
    )


async def test_revoked_and_disabled_credentials_are_refused(api: Api) -> None:
    alice = await api.user("alice")
    headers = await api.bearer(alice, "user:admin")
    [token] = (await api.client.get("/user/apitokens", headers=alice.headers)).json()

    revoked = await api.client.delete(f"/user/apitokens/{token['id']}", headers=alice.headers)

    assert revoked.status_code == 204
    error(await api.client.get("/user", headers=headers), 401, "UNAUTHORIZED")
    await api.auth.accounts.update_user(alice.account_id, enabled=False)
    error(await api.client.get("/user", headers=alice.headers), 401, "UNAUTHORIZED")


async def test_tokens_are_stored_as_hashes(api: Api) -> None:
    response = await api.client.post(
        "/user/tokens", json={"name": "laptop"}, headers=api.root.headers
    )
    text = response.json()["token"]

    async with api.app.state.services.catalog.db.read() as session:
        rows = (await session.execute(select(Credential))).scalars().all()
    stored = {value for row in rows for value in (row.lookup, row.secret_hash, row.name)}
    assert text not in stored
    assert hashlib.sha256(text[20:].encode()).hexdigest() in stored


async def test_jwks_publishes_the_registry_token_keys(api: Api) -> None:
    response = await api.client.get("/auth/jwks")
    [key] = response.json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")


async def test_the_oci_routes_are_untouched(api: Api) -> None:
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as raw:
        response = await raw.get("/v2/")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer realm=")


async def test_a_body_nested_too_deep_is_400(api: Api) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await api.client.post(
        "/organization",
        content=body,
        headers={**api.root.headers, "content-type": "application/json"},
    )
    error(response, 400, "INVALID_REQUEST")
