"""Logging in to a registry the way Docker clients do: the Docker token scheme, for httpx.

A registry that wants a token answers ``401`` with ``WWW-Authenticate: Bearer
realm="<token endpoint>",service="<service>",scope="<scope>"``; the client asks the realm
for a token (``GET realm?service=S&scope=A&scope=B``, with basic credentials or none for an
anonymous token) and sends ``Authorization: Bearer <token>``.

- ``RegistryAuth``: an ``httpx.Auth`` that does this for every request of a client, sync or
  async (see its contract).
- ``token_for`` / ``sync_token_for``: one token for a scope, for tests that need the token
  itself (a raw socket request, a token-endpoint test).
- ``ADMIN``: the superuser every test registry has, and ``basic_authorization``: the
  ``user:secret`` encoding that ``Authorization: Basic`` and client auth files share.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import AsyncGenerator, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

Credentials = tuple[str, str]
"""A username and its secret: a password, or a CLI or robot token."""

ADMIN_USER = "admin"
ADMIN_PASSWORD = "cargohold-test-admin-password"
ADMIN: Credentials = (ADMIN_USER, ADMIN_PASSWORD)

# Repository names as the OCI distribution spec writes them (the length limit aside).
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
# The /v2 resource routes; the greedy name takes the longest prefix that leaves a route.
_RESOURCE = re.compile(
    r"/v2/(?P<name>.+)/(?:manifests/[^/]+|blobs/uploads/[^/]*|blobs/[^/]+|tags/list"
    r"|referrers/[^/]+)"
)
_PARAMETER = re.compile(r'(\w+)="([^"]*)"')
EXPIRY_MARGIN_SECONDS = 10.0


def basic_authorization(credentials: Credentials) -> str:
    """``base64("user:secret")``: the value after ``Basic`` and the ``auth`` of auth files."""
    return base64.b64encode(":".join(credentials).encode()).decode()


def requested_scopes(request: httpx.Request) -> tuple[str, ...] | None:
    """The scopes a client asks a token for before it sends ``request``, as Docker clients
    do: ``repository:NAME:pull,push,delete`` for a /v2 repository path (and ``pull`` on the
    ``from`` repository of a cross-repository mount), ``registry:catalog:*`` for the
    catalog, none for ``/v2/``. None: not a request to authorize up front (the token
    endpoint, any other path, a name that breaks the naming rules)."""
    path = request.url.path
    if path == "/v2/":
        return ()
    if path == "/v2/_catalog":
        return ("registry:catalog:*",)
    match = _RESOURCE.fullmatch(path)
    if match is None or not _NAME.fullmatch(match["name"]):
        return None
    scopes = [f"repository:{match['name']}:pull,push,delete"]
    source = request.url.params.get("from")
    if "mount" in request.url.params and source and _NAME.fullmatch(source):
        scopes.append(f"repository:{source}:pull")
    return tuple(scopes)


@dataclass(frozen=True, slots=True)
class Challenge:
    """A ``WWW-Authenticate: Bearer`` challenge: where to get a token, and for what."""

    realm: str
    service: str | None
    scope: str | None
    error: str | None = None

    @classmethod
    def of(cls, response: httpx.Response) -> Challenge | None:
        """The response's Bearer challenge, or None when it has none."""
        scheme, _, rest = response.headers.get("www-authenticate", "").partition(" ")
        parameters = dict(_PARAMETER.findall(rest))
        if scheme.lower() != "bearer" or "realm" not in parameters:
            return None
        return cls(
            parameters["realm"],
            parameters.get("service"),
            parameters.get("scope"),
            parameters.get("error"),
        )

    def asks_for_another_token(self, response: httpx.Response) -> bool:
        """Whether ``response`` asks for a (new) token: a ``401``, or a ``403`` whose error
        is ``insufficient_scope`` (RFC 6750)."""
        return response.status_code == 401 or (
            response.status_code == 403 and self.error == "insufficient_scope"
        )

    def token_request(
        self, scopes: Sequence[str], credentials: Credentials | None
    ) -> httpx.Request:
        """The request for a token granting ``scopes``; anonymous without credentials."""
        params = [("service", self.service)] if self.service else []
        params += [("scope", scope) for scope in scopes]
        headers = {"Accept": "application/json"}
        if credentials is not None:
            headers["Authorization"] = f"Basic {basic_authorization(credentials)}"
        return httpx.Request("GET", self.realm, params=params, headers=headers)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token from the token endpoint and when it stops being worth sending."""

    text: str
    expires_at: float
    access: dict[tuple[str, str], frozenset[str]]

    @classmethod
    def of(cls, response: httpx.Response) -> IssuedToken:
        """The token of a ``200`` token-endpoint answer; fails the test on any other."""
        assert response.status_code == 200, (
            f"the token endpoint answered {response.status_code}: {response.text}"
        )
        body = response.json()
        text: str = body.get("token") or body["access_token"]
        lifetime = float(body.get("expires_in", 60))
        claims: dict[str, Any] = jwt.decode(text, options={"verify_signature": False})
        access: dict[tuple[str, str], frozenset[str]] = {}
        for entry in claims.get("access") or []:
            key = (entry["type"], entry["name"])
            access[key] = access.get(key, frozenset()) | frozenset(entry["actions"])
        return cls(text, time.monotonic() + lifetime - EXPIRY_MARGIN_SECONDS, access)

    @property
    def fresh(self) -> bool:
        return time.monotonic() < self.expires_at

    def grants_all(self, scopes: Sequence[str]) -> bool:
        """Whether the token grants every action ``scopes`` ask for."""
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            granted = self.access.get((kind, name), frozenset())
            if "*" not in granted and not set(actions.split(",")) <= granted:
                return False
        return True


@dataclass(frozen=True, slots=True)
class _Step:
    request: httpx.Request
    read_body: bool = False


class RegistryAuth(httpx.Auth):
    """The Docker token flow for an httpx client, logged in with ``credentials`` (None:
    anonymous tokens only, which reach public repositories).

    Contract, per request. One that carries its own ``Authorization`` header, and one to the
    token endpoint, is sent as it is. One outside /v2 (the management API) carries the
    credentials as ``Authorization: Basic``. One to /v2:

    - The first request to a registry pings ``GET /v2/`` to learn its challenge (realm,
      service), once per ``RegistryAuth``. A registry that does not answer with a Bearer
      challenge is sent requests as they are.
    - A request whose scopes ``requested_scopes`` knows is sent with a token for them,
      fetched before the request goes out: that works for every body, streams included.
    - A token is reused for the same scopes until it is about to expire, provided it
      grants everything they ask; a token granting less is used once and not kept, since
      the grant may grow (a repository gets created, a permission granted).
    - A ``401`` with a Bearer challenge (or a ``403`` whose challenge says
      ``insufficient_scope``) makes the client fetch a new token, for the scopes it asked
      and the challenge's, and send the request once more when its body can be sent again
      (bytes, not a generator). Otherwise that answer is the response.
    - When the token endpoint refuses (wrong credentials, a malformed scope), its answer is
      the response, and the request is not sent.
    """

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.credentials = credentials
        self._challenges: dict[tuple[bytes, bytes, int | None], Challenge | None] = {}
        self._tokens: dict[tuple[str, tuple[str, ...]], IssuedToken] = {}

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        flow = self._flow(request)
        step = next(flow)
        while True:
            response = yield step.request
            if step.read_body:
                response.read()
            try:
                step = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._flow(request)
        step = next(flow)
        while True:
            response = yield step.request
            if step.read_body:
                await response.aread()
            try:
                step = flow.send(response)
            except StopIteration:
                return

    def _flow(self, request: httpx.Request) -> Generator[_Step, httpx.Response, None]:
        """The flow without I/O: yields what to send, receives what came back."""
        path = request.url.path
        if "authorization" in request.headers or path == "/v2/auth":
            yield _Step(request)
            return
        if not path.startswith("/v2/"):
            if self.credentials is not None:
                request.headers["Authorization"] = f"Basic {basic_authorization(self.credentials)}"
            yield _Step(request)
            return
        scopes = requested_scopes(request)
        if scopes is not None:
            challenge = yield from self._challenge(request)
            if challenge is not None:
                token = yield from self._token(challenge, scopes)
                if token is None:
                    return
                request.headers["Authorization"] = f"Bearer {token.text}"
        response = yield _Step(request)
        challenge = Challenge.of(response)
        if not (challenge and challenge.asks_for_another_token(response) and _replayable(request)):
            return
        asked = tuple(dict.fromkeys([*(scopes or ()), *(challenge.scope or "").split()]))
        self._tokens.pop((challenge.realm, asked), None)
        token = yield from self._token(challenge, asked)
        if token is None:
            return
        request.headers["Authorization"] = f"Bearer {token.text}"
        yield _Step(request)

    def _challenge(
        self, request: httpx.Request
    ) -> Generator[_Step, httpx.Response, Challenge | None]:
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        if origin not in self._challenges:
            ping = yield _Step(httpx.Request("GET", request.url.join("/v2/")))
            if ping.status_code != 401 and not ping.is_success:
                return None  # no answer to learn from: ask again next time
            self._challenges[origin] = Challenge.of(ping)
        return self._challenges[origin]

    def _token(
        self, challenge: Challenge, scopes: tuple[str, ...]
    ) -> Generator[_Step, httpx.Response, IssuedToken | None]:
        key = (challenge.realm, scopes)
        cached = self._tokens.get(key)
        if cached is not None and cached.fresh:
            return cached
        response = yield _Step(challenge.token_request(scopes, self.credentials), read_body=True)
        if response.status_code != 200:
            return None
        token = IssuedToken.of(response)
        if token.grants_all(scopes):
            self._tokens[key] = token
        return token


def _replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


async def token_for(
    client: httpx.AsyncClient, scope: str, credentials: Credentials | None = None
) -> str:
    """A token for ``scope`` (space-separated scopes allowed) from the registry ``client``
    talks to, logged in with ``credentials`` (None: anonymous); fails the test when the
    registry sends no challenge or the token endpoint refuses."""
    challenge = Challenge.of(await client.get("/v2/", auth=None))
    assert challenge is not None, "GET /v2/ sent no Bearer challenge"
    request = challenge.token_request(scope.split(), credentials)
    return IssuedToken.of(await client.send(request, auth=None)).text


def sync_token_for(client: httpx.Client, scope: str, credentials: Credentials | None = None) -> str:
    """``token_for`` with a sync client."""
    challenge = Challenge.of(client.get("/v2/", auth=None))
    assert challenge is not None, "GET /v2/ sent no Bearer challenge"
    request = challenge.token_request(scope.split(), credentials)
    return IssuedToken.of(client.send(request, auth=None)).text
