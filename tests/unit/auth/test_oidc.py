"""``OidcProvider`` against a real oidc-provider (``support.oidc_provider``), and the ID
token checks on tokens signed here."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from support.oidc_fixtures import oidc_server  # noqa: F401
from support.oidc_provider import REDIRECT_URI, OidcProviderServer, login_through
from support.processes import free_port

from cargohold.auth.external import ExternalIdentity
from cargohold.auth.oidc import (
    LoginRequest,
    OidcProvider,
    UnknownSigningKey,
    identity_from_claims,
    s256_challenge,
    verify_id_token,
)
from cargohold.config import OidcSettings
from cargohold.errors import IdentityProviderError, LoginFailed

ALICE = ExternalIdentity(
    provider="oidc",
    subject="0f6a1c2e-alice",
    username="alice",
    email="alice@example.org",
    groups=("admins", "developers"),
)


@pytest.fixture
def provider(oidc_server: OidcProviderServer) -> OidcProvider:  # noqa: F811
    return OidcProvider(oidc_server.settings())


async def sign_in(
    provider: OidcProvider, username: str = "alice", **login: Any
) -> tuple[LoginRequest, dict[str, str]]:
    """Begin a login and sign in on the provider's pages: what complete() gets."""
    url, request = await provider.begin(REDIRECT_URI)
    return request, await login_through(url, username, f"{username}-pw", **login)


@pytest.mark.parametrize("client_id", ["cargohold", "cargohold-public"])
async def test_a_login_gives_the_identity_with_groups(
    oidc_server: OidcProviderServer,  # noqa: F811
    client_id: str,
) -> None:
    provider = OidcProvider(oidc_server.settings(client_id))
    request, callback = await sign_in(provider)
    assert await provider.complete(request, callback) == ALICE


async def test_without_preferred_username_the_username_is_the_email_local_part(
    provider: OidcProvider,
) -> None:
    identity = await provider.complete(*await sign_in(provider, "bob"))
    assert (identity.username, identity.email, identity.groups) == ("bob", "bob@example.org", ())


async def test_the_authorization_url_asks_for_s256_pkce_with_state_and_nonce(
    provider: OidcProvider,
) -> None:
    url, request = await provider.begin(REDIRECT_URI)
    params = httpx.URL(url).params
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == s256_challenge(request.code_verifier)
    assert (params["state"], params["nonce"]) == (request.state, request.nonce)
    assert request.code_verifier not in url


async def test_a_code_with_another_verifier_is_refused(provider: OidcProvider) -> None:
    request, callback = await sign_in(provider)
    stolen = dataclasses.replace(request, code_verifier=request.code_verifier[::-1])
    with pytest.raises(LoginFailed, match="invalid_grant"):
        await provider.complete(stolen, callback)


async def test_a_callback_with_another_state_is_refused(provider: OidcProvider) -> None:
    request, callback = await sign_in(provider)
    with pytest.raises(LoginFailed, match="state"):
        await provider.complete(request, callback | {"state": callback["state"][:-1] + "x"})


async def test_a_replayed_code_is_refused(provider: OidcProvider) -> None:
    request, callback = await sign_in(provider)
    assert await provider.complete(request, callback) == ALICE
    with pytest.raises(LoginFailed, match="invalid_grant"):
        await provider.complete(request, callback)


async def test_a_denied_login_is_refused(provider: OidcProvider) -> None:
    request, callback = await sign_in(provider, deny=True)
    assert callback["error"] == "access_denied"
    with pytest.raises(LoginFailed, match="access_denied"):
        await provider.complete(request, callback)


async def test_an_id_token_for_another_nonce_is_refused(provider: OidcProvider) -> None:
    request, callback = await sign_in(provider)
    with pytest.raises(LoginFailed, match="nonce"):
        await provider.complete(dataclasses.replace(request, nonce="another"), callback)


async def test_a_provider_that_cannot_be_reached_is_a_provider_error() -> None:
    settings = OidcSettings(issuer=f"http://127.0.0.1:{free_port()}", client_id="cargohold")
    with pytest.raises(IdentityProviderError, match="cannot be reached"):
        await OidcProvider(settings).begin(REDIRECT_URI)


async def test_a_rotated_signing_key_is_fetched_again(tmp_path: Path) -> None:
    server = OidcProviderServer(tmp_path)
    server.start()
    try:
        provider = OidcProvider(server.settings())
        await provider.begin(REDIRECT_URI)  # caches the first key
        server.stop()
        server.start()  # a new key, under a new kid
        assert await provider.complete(*await sign_in(provider)) == ALICE
    finally:
        server.stop()


ISSUER = "https://login.example.org"
KID = "key-1"
KEY = RSAKey.generate_key(2048, parameters={"kid": KID})


def id_token(key: RSAKey | OctKey = KEY, alg: str = "RS256", **claims: Any) -> str:
    """An ID token for client ``cargohold`` and nonce ``n-1``; a claim given None is left out."""
    now = int(time.time())
    defaults = {"iss": ISSUER, "aud": "cargohold", "sub": "s-1", "nonce": "n-1", "iat": now}
    merged = defaults | {"exp": now + 300} | claims
    payload = {name: value for name, value in merged.items() if value is not None}
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key, algorithms=[alg])


def verify(token: str) -> dict[str, Any]:
    return verify_id_token(token, KeySet([KEY]), issuer=ISSUER, client_id="cargohold", nonce="n-1")


def test_a_well_formed_id_token_verifies() -> None:
    assert verify(id_token(aud=["other", "cargohold"], azp="cargohold"))["sub"] == "s-1"


def test_an_id_token_re_signed_by_another_key_under_the_same_kid_is_refused() -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": KID})
    with pytest.raises(LoginFailed) as refused:
        verify(id_token(forger))
    assert not isinstance(refused.value, UnknownSigningKey)


def test_an_id_token_under_an_unknown_kid_asks_for_fresh_keys() -> None:
    with pytest.raises(UnknownSigningKey):
        verify(id_token(RSAKey.generate_key(2048, parameters={"kid": "key-2"})))


@pytest.mark.parametrize(
    ("alg", "claims"),
    [
        ("HS256", {}),
        ("RS256", {"iss": "https://evil.example.org"}),
        ("RS256", {"aud": "another-client"}),
        ("RS256", {"azp": "another-client"}),
        ("RS256", {"nonce": "n-2"}),
        ("RS256", {"nonce": None}),
        ("RS256", {"exp": int(time.time()) - 3600}),
        ("RS256", {"exp": None}),
    ],
    ids=["hmac", "iss", "aud", "azp", "nonce", "no-nonce", "expired", "no-exp"],
)
def test_an_id_token_that_does_not_validate_is_refused(alg: str, claims: dict[str, Any]) -> None:
    key = OctKey.import_key(b"k" * 32, parameters={"kid": KID}) if alg == "HS256" else KEY
    with pytest.raises(LoginFailed):
        verify(id_token(key, alg, **claims))


def test_without_username_nor_email_the_username_is_the_subject() -> None:
    settings = OidcSettings(issuer=ISSUER, client_id="cargohold")
    identity = identity_from_claims({"sub": "s-1", "groups": "admins"}, settings)
    assert (identity.username, identity.email, identity.groups) == ("s-1", None, ())
