"""``/auth/oidc``: logging in with the configured OpenID Connect provider, and
``/auth/providers``: the ways to log in, for a login page.

``GET /auth/oidc/login?next=PATH`` redirects the browser to the provider (authorization
code with S256 PKCE) and keeps the sealed login request in the ``cargohold_oidc`` cookie
(HttpOnly, for ten minutes, only sent back to ``/api/v1/auth/oidc``). The provider sends
the browser back to ``/auth/oidc/callback``, which sets the ``cargohold_session`` cookie
and redirects to ``next`` (a path on this server; ``/api/v1/user`` by default). Both
answer ``404 NOT_FOUND`` when no provider is configured.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from starlette.requests import Request

from cargohold.api.auth import client_ip, set_session_cookie
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.services import Auth
from cargohold.auth.audit import AuditEntry
from cargohold.auth.principal import ANONYMOUS_PRINCIPAL
from cargohold.auth.services import AuthServices
from cargohold.auth.web_login import LOGIN_SECONDS, OidcLogin
from cargohold.errors import LoginFailed, NotFound, Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)

LOGIN_COOKIE = "cargohold_oidc"
LOGIN_COOKIE_PATH = "/api/v1/auth/oidc"
DEFAULT_NEXT = "/api/v1/user"


class Provider(BaseModel):
    kind: str
    name: str
    login_url: str | None


class Providers(BaseModel):
    providers: list[Provider]


@router.get("/providers")
async def providers(request: Request, auth: Auth) -> Providers:
    """Password logins (local accounts, and LDAP when configured) and the OIDC provider."""
    found = [Provider(kind="password", name="Username and password", login_url=None)]
    settings = request.app.state.settings
    if settings.oidc is not None:
        login = f"{_base(request)}/api/v1/auth/oidc/login"
        found.append(Provider(kind="oidc", name=settings.oidc.display_name, login_url=login))
    return Providers(providers=found)


@router.get("/oidc/login", response_class=RedirectResponse, status_code=302)
async def oidc_login(
    request: Request,
    auth: Auth,
    next: Annotated[str, Query(max_length=2000)] = DEFAULT_NEXT,
) -> RedirectResponse:
    login = _oidc(auth)
    configured = request.app.state.settings.oidc.redirect_uri
    callback = configured or f"{_base(request)}/api/v1/auth/oidc/callback"
    url, sealed = await login.begin(callback)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        LOGIN_COOKIE,
        sealed + "|" + _safe_next(next),
        max_age=LOGIN_SECONDS,
        path=LOGIN_COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/oidc/callback", response_class=RedirectResponse, status_code=302)
async def oidc_callback(request: Request, auth: Auth) -> RedirectResponse:
    login = _oidc(auth)
    sealed, _, next_path = request.cookies.get(LOGIN_COOKIE, "").partition("|")
    try:
        principal, session = await login.complete(sealed, dict(request.query_params))
    except LoginFailed as exc:
        await auth.audit.record(
            AuditEntry(
                "login_failed",
                ANONYMOUS_PRINCIPAL,
                client_ip=client_ip(request),
                details={"via": "oidc", "reason": str(exc)},
            )
        )
        raise Unauthorized(f"login with the identity provider failed: {exc}") from None
    await auth.audit.record(
        AuditEntry("login", principal, client_ip=client_ip(request), details={"via": "oidc"})
    )
    response = RedirectResponse(_safe_next(next_path), status_code=302)
    response.delete_cookie(LOGIN_COOKIE, path=LOGIN_COOKIE_PATH)
    set_session_cookie(response, request, session.text)
    return response


def _oidc(auth: AuthServices) -> OidcLogin:
    if auth.oidc is None:
        raise NotFound("no OpenID Connect provider is configured")
    return auth.oidc


def _base(request: Request) -> str:
    settings = request.app.state.settings
    return str(settings.public_url or request.base_url).rstrip("/")


def _safe_next(path: str) -> str:
    """``path`` when it is a path on this server (no scheme, no host, no ``//``), so the
    login cannot be used to redirect elsewhere; the default page otherwise."""
    if path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return DEFAULT_NEXT
