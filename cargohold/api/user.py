"""``/user``: the caller's account, CLI tokens and API tokens.

A token's text is in the answer to ``POST`` and nowhere else: the registry keeps only its
hash. An API token may only make API tokens with scopes it has itself, and a CLI token
(which has all its account's rights) only when it holds every scope.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import Field

from cargohold.api.auth import AccountOwner, Audit, SignedIn
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import (
    ApiScope,
    Body,
    Email,
    Identifier,
    LastUse,
    Out,
    Password,
    Text,
    Timestamp,
)
from cargohold.api.services import Auth
from cargohold.auth.access import API_SCOPES
from cargohold.auth.principal import Principal
from cargohold.auth.secrets import TokenKind
from cargohold.db.auth_models import Account
from cargohold.errors import Denied, InvalidRequest, NotFound

router = APIRouter(prefix="/user", tags=["user"], responses=ERROR_RESPONSES)


class UserOut(Out):
    name: str
    kind: str
    email: str | None
    superuser: bool
    enabled: bool
    provider: str
    created_at: datetime
    last_login_at: LastUse


class UserChange(Body):
    """``password`` changes a local user's password and needs ``old_password``."""

    email: Email | None = None
    password: Password | None = None
    old_password: Password | None = None


class TokenOut(Out):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: LastUse
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="the token itself: shown this once, never again")


class TokenRequest(Body):
    name: Text = Field(min_length=1, max_length=255)
    expires_at: Timestamp | None = None


class ApiTokenRequest(TokenRequest):
    scopes: list[ApiScope] = Field(min_length=1)


async def account(auth: Auth, principal: Principal) -> Account:
    found = await auth.accounts.find(principal.name or "")
    if found is None:
        raise NotFound("your account no longer exists")
    return found


@router.get("")
async def me(principal: SignedIn, auth: Auth) -> UserOut:
    return UserOut.model_validate(await account(auth, principal))


@router.put("")
async def change_me(body: UserChange, principal: AccountOwner, auth: Auth, audit: Audit) -> UserOut:
    found = await account(auth, principal)
    changed = body.model_fields_set - {"old_password"}
    if "password" in changed:
        await _check_password_change(auth, found, body)
        assert body.password is not None
        await auth.accounts.set_password(found.id, body.password)
    if "email" in changed:
        await auth.accounts.update_user(found.id, email=body.email)
    if changed:
        await audit.record("user_update", namespace=found.name, changed=sorted(changed))
    return UserOut.model_validate(await account(auth, principal))


async def _check_password_change(auth: Auth, found: Account, body: UserChange) -> None:
    if found.provider != "local":
        raise InvalidRequest(f"your password is kept by {found.provider}, not here")
    if body.password is None or body.old_password is None:
        raise InvalidRequest("a new password needs old_password too")
    checked = await auth.accounts.authenticate(found.name, body.old_password)
    if checked is None or checked.credential_id is not None:
        raise Denied("old_password is not your current password")


async def _tokens(auth: Auth, principal: Principal, kind: TokenKind) -> list[TokenOut]:
    assert principal.account_id is not None
    found = await auth.accounts.list_tokens(principal.account_id, kind)
    return [TokenOut.model_validate(t) for t in found]


async def _create(
    auth: Auth,
    audit: Audit,
    principal: Principal,
    kind: TokenKind,
    body: TokenRequest,
    scopes: list[str],
) -> NewTokenOut:
    assert principal.account_id is not None
    token = await auth.accounts.create_token(
        principal.account_id, kind, body.name, expires_at=body.expires_at, scopes=scopes
    )
    info = await auth.accounts.token_info(principal.account_id, token.lookup)
    await audit.record(
        "token_create", namespace=principal.name, token=info.name, id=info.id, kind=kind.value
    )
    return NewTokenOut.model_validate({**asdict(info), "token": token.text})


async def _revoke(
    auth: Auth, audit: Audit, principal: Principal, kind: TokenKind, token_id: int
) -> None:
    assert principal.account_id is not None
    info = await auth.accounts.revoke_token(principal.account_id, token_id, kind)
    await audit.record(
        "token_revoke", namespace=principal.name, token=info.name, id=info.id, kind=kind.value
    )


@router.get("/tokens")
async def cli_tokens(principal: AccountOwner, auth: Auth) -> list[TokenOut]:
    """The caller's CLI tokens (for ``docker login``), revoked ones included."""
    return await _tokens(auth, principal, TokenKind.CLI)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_cli_token(
    body: TokenRequest, principal: AccountOwner, auth: Auth, audit: Audit
) -> NewTokenOut:
    if principal.scopes is not None and not set(API_SCOPES) <= principal.scopes:
        raise Denied("only an API token holding every scope may make a CLI token")
    return await _create(auth, audit, principal, TokenKind.CLI, body, [])


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_cli_token(
    token_id: Identifier, principal: AccountOwner, auth: Auth, audit: Audit
) -> None:
    await _revoke(auth, audit, principal, TokenKind.CLI, token_id)


@router.get("/apitokens")
async def api_tokens(principal: AccountOwner, auth: Auth) -> list[TokenOut]:
    return await _tokens(auth, principal, TokenKind.API)


@router.post("/apitokens", status_code=status.HTTP_201_CREATED)
async def create_api_token(
    body: ApiTokenRequest, principal: AccountOwner, auth: Auth, audit: Audit
) -> NewTokenOut:
    """An API token whose scopes cap what it may do (see ``API_SCOPES``)."""
    if principal.scopes is not None and not set(body.scopes) <= principal.scopes:
        raise Denied("an API token may only make tokens with scopes it has itself")
    return await _create(auth, audit, principal, TokenKind.API, body, body.scopes)


@router.delete("/apitokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_token(
    token_id: Identifier, principal: AccountOwner, auth: Auth, audit: Audit
) -> None:
    await _revoke(auth, audit, principal, TokenKind.API, token_id)
