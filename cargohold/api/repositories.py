"""``/repository``: the repositories the caller may see, their settings, visibility and
permissions.

Reading a repository needs ``read`` on it, changing it ``admin``; a repository the caller
may not read answers ``404`` (``401`` to an anonymous caller), as if it did not exist. The
routes with a suffix come first: ``{name:path}`` would swallow it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from cargohold.api.auth import Audit, Caller, SignedIn
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import (
    AccountName,
    Body,
    Grant,
    GranteeKind,
    MemberName,
    Out,
    RepositoryName,
    RoleBody,
    Text,
    Visibility,
)
from cargohold.api.services import Repositories

router = APIRouter(prefix="/repository", tags=["repositories"], responses=ERROR_RESPONSES)
Name = RepositoryName


class RepositorySummary(Out):
    name: str
    namespace: str
    visibility: str
    description: str | None
    created_at: datetime


class RepositoryOut(RepositorySummary):
    role: str | None


class RepositoryList(BaseModel):
    repositories: list[RepositorySummary]
    next_page: int | None


class NewRepository(Body):
    namespace: AccountName
    name: Annotated[RepositoryName, Field(description="the path inside the namespace")]
    visibility: Visibility = "private"
    description: Text | None = None


class RepositoryChange(Body):
    description: Text | None


class VisibilityChange(Body):
    visibility: Visibility


@router.get("")
async def list_repositories(
    principal: Caller,
    repositories: Repositories,
    namespace: Annotated[AccountName | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> RepositoryList:
    """The repositories the caller may pull, by name, ``per_page`` at a time."""
    found = await repositories.visible(principal, namespace, page, per_page)
    return RepositoryList(
        repositories=[RepositorySummary.model_validate(r) for r in found.repositories],
        next_page=page + 1 if found.has_more else None,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_repository(
    body: NewRepository, principal: SignedIn, repositories: Repositories, audit: Audit
) -> RepositoryOut:
    name = f"{body.namespace}/{body.name}"
    info = await repositories.create(principal, name, body.visibility, body.description)
    await audit.record("repo_create", repository=name, visibility=body.visibility)
    return RepositoryOut.model_validate(info)


@router.get("/{name:path}/permissions")
async def permissions(name: Name, principal: Caller, repositories: Repositories) -> list[Grant]:
    return [Grant.model_validate(g) for g in await repositories.permissions(principal, name)]


@router.put("/{name:path}/permissions/{kind}/{grantee}")
async def set_permission(
    name: Name,
    kind: GranteeKind,
    grantee: MemberName,
    body: RoleBody,
    principal: Caller,
    repositories: Repositories,
    audit: Audit,
) -> Grant:
    """Give a team of the repository's organization, or an account, a role on it."""
    grant = await repositories.set_permission(principal, name, kind, grantee, body.role)
    await audit.record(
        "permission_change", repository=name, grantee=grantee, kind=kind, role=body.role
    )
    return Grant.model_validate(grant)


@router.delete("/{name:path}/permissions/{kind}/{grantee}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_permission(
    name: Name,
    kind: GranteeKind,
    grantee: MemberName,
    principal: Caller,
    repositories: Repositories,
    audit: Audit,
) -> None:
    await repositories.delete_permission(principal, name, kind, grantee)
    await audit.record("permission_change", repository=name, grantee=grantee, kind=kind, role=None)


@router.post("/{name:path}/visibility")
async def set_visibility(
    name: Name,
    body: VisibilityChange,
    principal: Caller,
    repositories: Repositories,
    audit: Audit,
) -> RepositoryOut:
    info, before = await repositories.set_visibility(principal, name, body.visibility)
    if before != body.visibility:
        await audit.record(
            "repo_visibility_change", repository=name, before=before, after=body.visibility
        )
    return RepositoryOut.model_validate(info)


@router.get("/{name:path}")
async def repository(name: Name, principal: Caller, repositories: Repositories) -> RepositoryOut:
    return RepositoryOut.model_validate(await repositories.get(principal, name))


@router.put("/{name:path}")
async def change_repository(
    name: Name,
    body: RepositoryChange,
    principal: Caller,
    repositories: Repositories,
    audit: Audit,
) -> RepositoryOut:
    info = await repositories.describe(principal, name, body.description)
    await audit.record("repo_update", repository=name, changed=["description"])
    return RepositoryOut.model_validate(info)


@router.delete("/{name:path}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_repository(
    name: Name, principal: Caller, repositories: Repositories, audit: Audit
) -> None:
    """Delete the repository, its tags and manifests."""
    await repositories.delete(principal, name)
    await audit.record("repo_delete", repository=name)
