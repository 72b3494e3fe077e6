"""``/organization``: organizations, their members and their default permissions.

Creating one needs an account (and an API token's ``org:admin``); the creator is put in
its ``owners`` team. The rest is for its administrators (``auth.organizations``), except
reading the organization and its teams, which its members may do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Response, status

from cargohold.api.auth import Audit, SignedIn, require_scope
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import (
    AccountName,
    Body,
    Email,
    Grant,
    GranteeKind,
    MemberName,
    Out,
    RoleBody,
)
from cargohold.api.services import Organizations

router = APIRouter(prefix="/organization", tags=["organizations"], responses=ERROR_RESPONSES)
CREATED: dict[int | str, dict[str, Any]] = {201: {"model": Grant, "description": "Created"}}


class NewOrganization(Body):
    name: AccountName
    email: Email | None = None


class OrganizationOut(Out):
    name: str
    email: str | None
    created_at: datetime
    is_admin: bool


class MemberOut(Out):
    name: str
    kind: str
    teams: list[str]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_organization(
    body: NewOrganization, principal: SignedIn, organizations: Organizations, audit: Audit
) -> OrganizationOut:
    require_scope(principal, "org:admin")
    info = await organizations.create(principal, body.name, body.email)
    await audit.record("org_create", namespace=body.name)
    return OrganizationOut.model_validate(info)


@router.get("/{org}")
async def organization(
    org: AccountName, principal: SignedIn, organizations: Organizations
) -> OrganizationOut:
    return OrganizationOut.model_validate(await organizations.get(principal, org))


@router.delete("/{org}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_organization(
    org: AccountName, principal: SignedIn, organizations: Organizations, audit: Audit
) -> None:
    """Delete the organization with its teams, robots and repositories."""
    await organizations.delete(principal, org)
    await audit.record("org_delete", namespace=org)


@router.get("/{org}/members")
async def members(
    org: AccountName, principal: SignedIn, organizations: Organizations
) -> list[MemberOut]:
    return [MemberOut.model_validate(m) for m in await organizations.members(principal, org)]


@router.get("/{org}/defaults")
async def default_permissions(
    org: AccountName, principal: SignedIn, organizations: Organizations
) -> list[Grant]:
    """The permissions each new repository of the organization starts with."""
    return [Grant.model_validate(g) for g in await organizations.defaults(principal, org)]


@router.put("/{org}/defaults/{kind}/{name}", responses=CREATED)
async def set_default_permission(
    org: AccountName,
    kind: GranteeKind,
    name: MemberName,
    body: RoleBody,
    principal: SignedIn,
    organizations: Organizations,
    audit: Audit,
    response: Response,
) -> Grant:
    if await organizations.set_default(principal, org, kind, name, body.role):
        response.status_code = status.HTTP_201_CREATED
    await audit.record(
        "default_permission_change", namespace=org, grantee=name, kind=kind, role=body.role
    )
    return Grant(kind=kind, name=name, role=body.role)


@router.delete("/{org}/defaults/{kind}/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_default_permission(
    org: AccountName,
    kind: GranteeKind,
    name: MemberName,
    principal: SignedIn,
    organizations: Organizations,
    audit: Audit,
) -> None:
    await organizations.delete_default(principal, org, kind, name)
    await audit.record(
        "default_permission_change", namespace=org, grantee=name, kind=kind, role=None
    )
