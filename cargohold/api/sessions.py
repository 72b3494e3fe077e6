"""``/auth``: logging in to the API with a password, logging out, and the registry token
keys.

``POST /auth/login`` checks a username and password (local or LDAP; tokens are not
accepted) and sets the ``cargohold_session`` cookie: a session token, HttpOnly,
SameSite=Lax, Secure over https, good for ``SESSION_LIFETIME``. A failure is audited as
``login_failed`` with the username, never the password. ``POST /auth/logout`` revokes the
session the caller used and clears the cookie.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field
from starlette.requests import Request

from cargohold.api.auth import SESSION_COOKIE, client_ip, set_session_cookie
from cargohold.api.auth import caller as find_caller
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import Body, Password, Text
from cargohold.api.services import Auth
from cargohold.api.user import UserOut
from cargohold.auth.audit import AuditEntry
from cargohold.auth.principal import ANONYMOUS_PRINCIPAL, USER, Principal
from cargohold.auth.secrets import TokenKind
from cargohold.auth.web_login import SESSION_LIFETIME
from cargohold.db.models import utcnow
from cargohold.errors import NotFound, Unauthorized

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERROR_RESPONSES)


class Credentials(Body):
    username: Annotated[Text, Field(min_length=1, max_length=255)]
    password: Password


class Session(BaseModel):
    user: UserOut
    expires_at: datetime


class KeySet(BaseModel):
    """A JSON Web Key Set (RFC 7517)."""

    keys: list[dict[str, Any]]


@router.post("/login")
async def login(body: Credentials, request: Request, response: Response, auth: Auth) -> Session:
    principal = await auth.accounts.authenticate(body.username, body.password)
    if principal is None or principal.credential_id is not None or principal.kind != USER:
        await _audit(auth, request, "login_failed", ANONYMOUS_PRINCIPAL, body.username)
        raise Unauthorized("incorrect username or password")
    assert principal.account_id is not None
    expires_at = utcnow() + SESSION_LIFETIME
    token = await auth.accounts.create_token(
        principal.account_id, TokenKind.SESSION, "api login", expires_at=expires_at
    )
    set_session_cookie(response, request, token.text)
    await _audit(auth, request, "login", principal, body.username)
    account = await auth.accounts.find(body.username)
    return Session(user=UserOut.model_validate(account), expires_at=expires_at)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, auth: Auth) -> None:
    """End the caller's session, if any, and clear the cookie (also when it is stale)."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    try:
        principal = await find_caller(request, auth)
    except Unauthorized:
        return
    if principal.account_id is None or principal.credential_id is None:
        return
    try:
        await auth.accounts.revoke_token(
            principal.account_id, principal.credential_id, TokenKind.SESSION
        )
    except NotFound:
        return  # an API token, not a session: it stays valid
    await _audit(auth, request, "logout", principal, principal.name)


@router.get("/jwks")
async def jwks(auth: Auth) -> KeySet:
    """The public keys that sign the registry's bearer tokens."""
    return KeySet.model_validate(auth.keys.jwks())


async def _audit(
    auth: Auth, request: Request, kind: str, principal: Principal, username: str | None
) -> None:
    details = {"username": (username or "")[:255], "via": "api login"}
    entry = AuditEntry(kind, principal, client_ip=client_ip(request), details=details)
    await auth.audit.record(entry)
