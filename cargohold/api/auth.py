"""Who calls the API, what their credentials allow, and the audit trail of their changes.

``caller`` finds the principal from the first credentials present, which must then be
valid (``401 UNAUTHORIZED`` otherwise, never a silent fall back to anonymous):

- ``Authorization: Bearer TOKEN``: an API token (its scopes cap what it may do) or a
  session token;
- ``Authorization: Basic``: a username with a password, CLI token, robot token or API
  token (``AccountService.authenticate``); a failure is audited as ``login_failed``;
- the ``cargohold_session`` cookie: a session token, set by ``POST /auth/login``.

Without any, the caller is anonymous and sees only what is public. The dependencies built
on it refuse what a route needs and the caller lacks: ``SignedIn`` (any account),
``AccountOwner`` (a user, and an API token's ``user:admin``), ``Superuser`` (a superuser,
and an API token's ``super:user``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from cargohold.api.services import Auth
from cargohold.auth.access import is_superuser
from cargohold.auth.audit import AuditEntry, AuditLog
from cargohold.auth.headers import basic_credentials, bearer_token
from cargohold.auth.principal import ANONYMOUS_PRINCIPAL, USER, Principal
from cargohold.auth.secrets import TokenKind, parse_token
from cargohold.auth.services import AuthServices
from cargohold.auth.web_login import SESSION_LIFETIME
from cargohold.errors import Denied, Unauthorized

SESSION_COOKIE = "cargohold_session"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="cargohold"'}


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Set the ``cargohold_session`` cookie to a session token: HttpOnly, SameSite=Lax,
    Secure over https, for the session's lifetime."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def caller(request: Request, auth: Auth) -> Principal:
    header = request.headers.get("authorization")
    if header:
        return await _from_header(request, auth, header)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        presented = parse_token(cookie)
        principal = None
        if presented is not None and presented.kind == TokenKind.SESSION:
            principal = await auth.accounts.authenticate_token(cookie)
        if principal is None:
            raise Unauthorized("the session expired or was ended: log in again", headers=CHALLENGE)
        return principal
    return ANONYMOUS_PRINCIPAL


async def _from_header(request: Request, auth: AuthServices, header: str) -> Principal:
    token = bearer_token(header)
    if token is not None:
        principal = await auth.accounts.authenticate_token(token)
        if principal is None:
            raise Unauthorized("the token is not valid, expired or revoked", headers=CHALLENGE)
        return principal
    credentials = basic_credentials(header)
    if credentials is None:
        raise Unauthorized("use Authorization: Bearer or Basic", headers=CHALLENGE)
    username, secret = credentials
    principal = None
    if "\0" not in username + secret:
        principal = await auth.accounts.authenticate(username, secret)
    if principal is None:
        await auth.audit.record(
            AuditEntry(
                "login_failed",
                ANONYMOUS_PRINCIPAL,
                client_ip=client_ip(request),
                details={"username": username[:255], "via": "api basic credentials"},
            )
        )
        raise Unauthorized("incorrect username, password or token", headers=CHALLENGE)
    return principal


Caller = Annotated[Principal, Depends(caller)]


def require_scope(principal: Principal, scope: str) -> None:
    """Refuse an API token without ``scope`` (other credentials have no scopes)."""
    if principal.scopes is not None and scope not in principal.scopes:
        raise Denied(f"this API token lacks the {scope} scope")


async def signed_in(principal: Caller) -> Principal:
    if principal.is_anonymous:
        raise Unauthorized("authentication required", headers=CHALLENGE)
    return principal


SignedIn = Annotated[Principal, Depends(signed_in)]


async def account_owner(principal: SignedIn) -> Principal:
    """A user managing their own account, tokens or robots."""
    if principal.kind != USER:
        raise Denied("only users have account settings, tokens and robots of their own")
    require_scope(principal, "user:admin")
    return principal


AccountOwner = Annotated[Principal, Depends(account_owner)]


async def superuser(principal: SignedIn) -> Principal:
    if not is_superuser(principal):
        raise Denied("this needs a superuser (and an API token's super:user scope)")
    return principal


Superuser = Annotated[Principal, Depends(superuser)]


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """Records the caller's changes, each at once (``AuditLog.record``)."""

    log: AuditLog
    principal: Principal
    client_ip: str | None

    async def record(
        self,
        event: str,
        /,
        *,
        namespace: str | None = None,
        repository: str | None = None,
        **details: Any,
    ) -> None:
        entry = AuditEntry(
            event,
            self.principal,
            repository=repository,
            namespace=namespace,
            client_ip=self.client_ip,
            details=details,
        )
        await self.log.record(entry)


async def audit_trail(request: Request, principal: Caller, auth: Auth) -> AuditTrail:
    return AuditTrail(auth.audit, principal, client_ip(request))


Audit = Annotated[AuditTrail, Depends(audit_trail)]
