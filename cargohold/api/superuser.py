"""``/superuser/users``: superusers manage every user account. A superuser may not
disable, demote or delete themselves, so that one always remains."""

from __future__ import annotations

from fastapi import APIRouter, status

from cargohold.api.auth import Audit, Superuser
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body, Email, Password
from cargohold.api.services import Auth
from cargohold.api.user import UserOut
from cargohold.auth.principal import USER, Principal
from cargohold.db.auth_models import Account
from cargohold.errors import InvalidRequest, NotFound

router = APIRouter(prefix="/superuser", tags=["superuser"], responses=ERROR_RESPONSES)


class NewUser(Body):
    name: AccountName
    email: Email | None = None
    password: Password | None = None
    superuser: bool = False


class UserUpdate(Body):
    """Only the fields given change; ``password`` resets a local user's password."""

    email: Email | None = None
    enabled: bool | None = None
    superuser: bool | None = None
    password: Password | None = None


async def _user(auth: Auth, name: str) -> Account:
    account = await auth.accounts.find(name)
    if account is None or account.kind != USER:
        raise NotFound(f"no user {name!r}")
    return account


def _not_self(principal: Principal, name: str, what: str) -> None:
    if principal.name == name:
        raise InvalidRequest(f"a superuser may not {what} themselves")


@router.get("/users")
async def users(principal: Superuser, auth: Auth) -> list[UserOut]:
    return [UserOut.model_validate(account) for account in await auth.accounts.list_users()]


@router.post("/users", status_code=status.HTTP_201_CREATED)
async def create_user(body: NewUser, principal: Superuser, auth: Auth, audit: Audit) -> UserOut:
    await auth.accounts.create_user(
        body.name, password=body.password, email=body.email, superuser=body.superuser
    )
    await audit.record("user_create", namespace=body.name, superuser=body.superuser)
    return UserOut.model_validate(await _user(auth, body.name))


@router.put("/users/{name}")
async def update_user(
    name: AccountName, body: UserUpdate, principal: Superuser, auth: Auth, audit: Audit
) -> UserOut:
    account = await _user(auth, name)
    values = body.model_dump(include={"email", "enabled", "superuser"}, exclude_unset=True)
    values = {k: v for k, v in values.items() if v is not None or k == "email"}
    if values.get("enabled") is False:
        _not_self(principal, name, "disable")
    if values.get("superuser") is False:
        _not_self(principal, name, "demote")
    if body.password is not None:
        if account.provider != "local":
            raise InvalidRequest(f"{name!r} logs in through {account.provider}: no password here")
        await auth.accounts.set_password(account.id, body.password)
    if values:
        await auth.accounts.update_user(account.id, **values)
    changed = sorted([*values, *(["password"] if body.password is not None else [])])
    if changed:
        await audit.record("user_update", namespace=name, changed=changed)
    return UserOut.model_validate(await _user(auth, name))


@router.delete("/users/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user(name: AccountName, principal: Superuser, auth: Auth, audit: Audit) -> None:
    """Delete the user with their namespace, its repositories and robots."""
    _not_self(principal, name, "delete")
    account = await _user(auth, name)
    await auth.accounts.delete_account(account.id)
    await audit.record("user_delete", namespace=name)
