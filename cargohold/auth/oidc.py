"""Logging in with OpenID Connect: the authorization code flow with S256 PKCE.

``begin()`` sends the browser to the provider's authorization endpoint with a fresh
``state`` (against forged callbacks), ``nonce`` (against replayed ID tokens) and PKCE
``code_verifier`` (against stolen codes), which the caller keeps as a ``LoginRequest`` in a
signed session cookie. ``complete()`` takes the callback's query parameters, checks them,
exchanges the code at the token endpoint, validates the ID token against the provider's
JWKS and merges in the userinfo claims.

The discovery document is fetched once per ``OidcProvider``; the JWKS once, and again when
an ID token names a key it does not hold (the provider rotated its keys). At this module's
boundary an unreachable or misbehaving provider becomes ``IdentityProviderError``, and a
login that was refused or does not validate ``LoginFailed``. Codes, tokens and the client
secret are never logged nor put in an error message.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from cargohold.auth.external import ExternalIdentity
from cargohold.config import OidcSettings
from cargohold.errors import ConfigError, IdentityProviderError, LoginFailed

# Public-key algorithms only: never "none", nor an HMAC keyed with a published key.
ID_TOKEN_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip
CLOCK_SKEW_SECONDS = 60
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True, slots=True)
class LoginRequest:
    """What ``begin()`` hands the caller to keep, unreadable and unchangeable by the browser,
    until the callback; good for one ``complete()``."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class ProviderEndpoints:
    """The endpoints a provider's discovery document names."""

    authorization: str
    token: str
    jwks: str
    userinfo: str | None


class UnknownSigningKey(LoginFailed):
    """The ID token names a signing key that the JWKS at hand does not hold."""


class OidcProvider:
    """One OpenID Connect provider, as ``settings`` describe it, for many logins.

    Raises ``ConfigError`` at construction when ``tls_ca_file`` cannot be loaded.
    """

    def __init__(self, settings: OidcSettings) -> None:
        self._settings = settings
        self._verify = _tls_verify(settings)
        secret = settings.client_secret
        self._client_auth = (
            httpx.BasicAuth(quote_plus(settings.client_id), quote_plus(secret.get_secret_value()))
            if secret is not None
            else None
        )
        self._endpoints: ProviderEndpoints | None = None
        self._keys: KeySet | None = None

    async def begin(self, redirect_uri: str) -> tuple[str, LoginRequest]:
        """The provider's authorization URL to send the browser to, and what to keep until
        the callback to ``redirect_uri``. Fetches the discovery document and the JWKS unless
        cached. Raises ``IdentityProviderError`` when the provider cannot be used."""
        async with self._client() as client:
            endpoints = await self._discover(client)
            await self._signing_keys(client)
        request = LoginRequest(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),
            redirect_uri=redirect_uri,
        )
        params = {
            "response_type": "code",
            "client_id": self._settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(dict.fromkeys(["openid", *self._settings.scopes])),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": s256_challenge(request.code_verifier),
            "code_challenge_method": "S256",
        }
        return str(httpx.URL(endpoints.authorization).copy_merge_params(params)), request

    async def complete(
        self, request: LoginRequest, callback_params: Mapping[str, str]
    ) -> ExternalIdentity:
        """The identity of the person whose browser came back with ``callback_params``.

        Checks ``state`` (constant time) and, when sent, ``iss`` (RFC 9207); exchanges the
        code with the PKCE verifier; validates the ID token (see ``verify_id_token``); merges
        the userinfo claims, whose ``sub`` must be the ID token's. Raises ``LoginFailed``
        for a refused login (``error=`` in the callback, a code the provider rejects) or
        anything that does not validate, ``IdentityProviderError`` when the provider
        cannot be reached, answers with an error of its own or rejects cargohold's client
        credentials.
        """
        code = callback_code(request, callback_params, self._settings.issuer)
        async with self._client() as client:
            endpoints = await self._discover(client)
            id_token, access_token = await self._exchange(client, endpoints.token, request, code)
            claims = await self._id_token_claims(client, id_token, request.nonce)
            if endpoints.userinfo is not None:
                claims |= await _userinfo(client, endpoints.userinfo, access_token, claims["sub"])
        return identity_from_claims(claims, self._settings)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(verify=self._verify, timeout=TIMEOUT)

    async def _discover(self, client: httpx.AsyncClient) -> ProviderEndpoints:
        if self._endpoints is None:
            url = f"{self._settings.issuer.rstrip('/')}/.well-known/openid-configuration"
            document = await _get_json(client, url)
            self._endpoints = provider_endpoints(document, self._settings.issuer)
        return self._endpoints

    async def _signing_keys(self, client: httpx.AsyncClient, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            document = await _get_json(client, (await self._discover(client)).jwks)
            try:
                self._keys = KeySet.import_key_set({"keys": document["keys"]})
            except (JoseError, KeyError, TypeError, ValueError) as exc:
                raise IdentityProviderError(
                    f"the OpenID provider's JWKS is unusable: {exc}"
                ) from exc
        return self._keys

    async def _exchange(
        self, client: httpx.AsyncClient, url: str, request: LoginRequest, code: str
    ) -> tuple[str, str]:
        """The ID token and access token for ``code``."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.code_verifier,
        }
        if self._client_auth is None:
            form["client_id"] = self._settings.client_id
        status, answer = await _request_json(client, "POST", url, data=form, auth=self._client_auth)
        error = f"{answer.get('error')}: {answer.get('error_description')}"
        if status == httpx.codes.BAD_REQUEST:
            raise LoginFailed(f"the OpenID provider refused the authorization code ({error})")
        if status != httpx.codes.OK:
            raise IdentityProviderError(f"the token endpoint answered HTTP {status} ({error})")
        id_token, access_token = answer.get("id_token"), answer.get("access_token")
        if not (isinstance(id_token, str) and isinstance(access_token, str)):
            raise IdentityProviderError("the token endpoint answered without an ID token")
        return id_token, access_token

    async def _id_token_claims(
        self, client: httpx.AsyncClient, id_token: str, nonce: str
    ) -> dict[str, Any]:
        verify = functools.partial(
            verify_id_token,
            id_token,
            issuer=self._settings.issuer,
            client_id=self._settings.client_id,
            nonce=nonce,
        )
        try:
            return verify(await self._signing_keys(client))
        except UnknownSigningKey:
            return verify(await self._signing_keys(client, refresh=True))


def callback_code(request: LoginRequest, params: Mapping[str, str], issuer: str) -> str:
    """The authorization code of a callback that answers ``request``.

    Raises ``LoginFailed`` when ``state`` is not the request's, when the provider reports an
    ``error``, when ``iss`` names another issuer, or when there is no code.
    """
    if not hmac.compare_digest(params.get("state", "").encode(), request.state.encode()):
        raise LoginFailed("the callback does not answer this login (state differs)")
    if "error" in params:
        reason = f"{params['error']} {params.get('error_description', '')}".strip()
        raise LoginFailed(f"the OpenID provider refused the login: {reason}")
    if params.get("iss", issuer) != issuer:
        raise LoginFailed("the callback comes from another issuer")
    code = params.get("code")
    if not code:
        raise LoginFailed("the callback carries no authorization code")
    return code


def verify_id_token(
    id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The claims of ``id_token`` (OpenID Connect Core 3.1.3.7).

    The signature must verify with a key of ``keys`` under one of ``ID_TOKEN_ALGORITHMS``;
    ``iss`` must be ``issuer``, ``aud`` include ``client_id`` (and ``azp``, if present, be
    it), ``nonce`` be ``nonce``; ``exp`` and ``iat`` must be present and ``exp`` not past,
    give or take ``CLOCK_SKEW_SECONDS``. Raises ``LoginFailed`` otherwise, as its subclass
    ``UnknownSigningKey`` when the token names a key that ``keys`` does not hold.
    """
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        azp={"value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        token = jwt.decode(id_token, keys, algorithms=ID_TOKEN_ALGORITHMS)
        registry.validate(token.claims)
    except InvalidKeyIdError as exc:
        raise UnknownSigningKey(f"the ID token is signed with an unknown key: {exc}") from exc
    except JoseError as exc:
        raise LoginFailed(f"the ID token does not validate: {exc}") from exc
    return token.claims


def provider_endpoints(document: Mapping[str, Any], issuer: str) -> ProviderEndpoints:
    """The endpoints of a discovery document that ``issuer`` published.

    Raises ``IdentityProviderError`` when the document names another issuer (OpenID Connect
    Discovery 4.3) or lacks the authorization, token or JWKS endpoint.
    """
    if document.get("issuer") != issuer:
        raise IdentityProviderError(
            f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}"
        )
    urls = {
        key: document.get(key) for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")
    }
    if not all(isinstance(url, str) for url in urls.values()):
        raise IdentityProviderError(f"the discovery document of {issuer} lacks an endpoint")
    userinfo = document.get("userinfo_endpoint")
    return ProviderEndpoints(
        authorization=str(urls["authorization_endpoint"]),
        token=str(urls["token_endpoint"]),
        jwks=str(urls["jwks_uri"]),
        userinfo=userinfo if isinstance(userinfo, str) else None,
    )


def identity_from_claims(claims: Mapping[str, Any], settings: OidcSettings) -> ExternalIdentity:
    """The identity that validated ``claims`` describe: the username is the
    ``username_claim``, else the local part of the ``email_claim``, else ``sub``."""
    subject = str(claims["sub"])
    email = _string(claims.get(settings.email_claim))
    local_part = email.partition("@")[0] if email else None
    return ExternalIdentity(
        provider="oidc",
        subject=subject,
        username=_string(claims.get(settings.username_claim)) or local_part or subject,
        email=email,
        groups=_groups(claims.get(settings.groups_claim) if settings.groups_claim else None),
    )


def s256_challenge(code_verifier: str) -> str:
    """The PKCE ``code_challenge`` of ``code_verifier`` under method S256 (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def _userinfo(
    client: httpx.AsyncClient, url: str, access_token: str, subject: str
) -> dict[str, Any]:
    claims = await _get_json(client, url, headers={"Authorization": f"Bearer {access_token}"})
    if claims.get("sub") != subject:
        raise LoginFailed("the userinfo endpoint describes another subject than the ID token")
    return claims


async def _get_json(client: httpx.AsyncClient, url: str, **kwargs: Any) -> dict[str, Any]:
    status, document = await _request_json(client, "GET", url, **kwargs)
    if status != httpx.codes.OK or not document:
        raise IdentityProviderError(f"{url} answered HTTP {status} without a JSON object")
    return document


async def _request_json(
    client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    """The status and JSON object of the answer ({} for any other body)."""
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise IdentityProviderError(
            f"the OpenID provider cannot be reached at {url}: {type(exc).__name__} {exc}"
        ) from exc
    try:
        document = response.json()
    except ValueError:
        document = None
    return response.status_code, document if isinstance(document, dict) else {}


def _tls_verify(settings: OidcSettings) -> ssl.SSLContext | bool:
    if settings.tls_ca_file is None or not settings.tls_verify:
        return settings.tls_verify
    try:
        return ssl.create_default_context(cafile=settings.tls_ca_file)
    except OSError as exc:
        raise ConfigError(f"oidc.tls_ca_file {settings.tls_ca_file}: {exc}") from exc


def _groups(value: object) -> tuple[str, ...]:
    names = value if isinstance(value, list) else []
    return tuple(sorted(name for name in names if isinstance(name, str)))


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
