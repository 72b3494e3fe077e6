"""``/v2/auth``: the token endpoint of the Docker token scheme.

``GET /v2/auth?service=S&scope=repository:NAME:pull,push`` with optional basic
credentials (username with a password, CLI token, robot token or API token) answers
``{"token", "access_token", "expires_in", "issued_at"}``. The token grants, per scope,
exactly the actions the caller has, possibly none: a partial grant is not an error. No
credentials gives an anonymous token (public repositories only); wrong credentials give
``401`` so that ``docker login`` fails. ``POST`` takes the OAuth2 password grant
(``grant_type=password``, ``username``, ``password``, ``scope``, ``service``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cargohold.auth.audit import AuditEntry
from cargohold.auth.headers import basic_credentials
from cargohold.auth.principal import ANONYMOUS_PRINCIPAL, Principal
from cargohold.auth.scopes import parse_scopes
from cargohold.errors import InvalidRequest, Unauthorized
from cargohold.oci.access import auth
from cargohold.oci.responses import json_response


async def get_token(request: Request) -> Response:
    query = request.query_params
    principal = await _principal(request, basic_credentials(request.headers.get("authorization")))
    return await _issue(request, principal, query.get("service"), query.getlist("scope"))


async def post_token(request: Request) -> Response:
    form = await request.form()
    if form.get("grant_type") != "password":
        raise InvalidRequest(
            "unsupported grant_type: this endpoint takes grant_type=password "
            "(or GET with basic credentials)"
        )
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidRequest("the password grant needs username and password")
    scopes = [s for s in form.getlist("scope") if isinstance(s, str)]
    service = form.get("service")
    principal = await _principal(request, (username, password))
    return await _issue(request, principal, service if isinstance(service, str) else None, scopes)


async def _principal(request: Request, credentials: tuple[str, str] | None) -> Principal:
    if credentials is None:
        return ANONYMOUS_PRINCIPAL
    username, secret = credentials
    services = auth(request)
    principal = await services.accounts.authenticate(username, secret)
    client_ip = request.client.host if request.client else None
    if principal is None:
        await services.audit.record(
            AuditEntry(
                "login_failed",
                ANONYMOUS_PRINCIPAL,
                client_ip=client_ip,
                details={"username": username[:255], "via": "registry token endpoint"},
            )
        )
        raise Unauthorized("incorrect username, password or token")
    services.audit.record_later(
        AuditEntry("login", principal, client_ip=client_ip, details={"via": "registry token"})
    )
    request.state.principal = principal
    return principal


async def _issue(
    request: Request, principal: Principal, service: str | None, scope_values: list[str]
) -> Response:
    settings = request.app.state.settings
    if service is not None and service != settings.token_service:
        raise InvalidRequest(
            f"this token endpoint serves {settings.token_service!r}, not {service!r}"
        )
    services = auth(request)
    grants = await services.access.grants(principal, parse_scopes(scope_values))
    issued = await services.keys.issue(principal, grants)
    body = {
        "token": issued.token,
        "access_token": issued.token,
        "expires_in": issued.expires_in,
        "issued_at": issued.issued_at,
    }
    return json_response(body, headers={"Cache-Control": "no-store"})
