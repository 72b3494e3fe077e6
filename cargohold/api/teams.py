"""``/organization/{org}/teams`` and ``/organization/{org}/team/{team}``: an
organization's teams, their role (``member``, ``creator``, ``admin``) and their members.

A team may mirror a group of the LDAP or OIDC provider (``sync_group``): its members then
follow the directory at each login, and are not changed here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Response, status
from pydantic import Field

from cargohold.api.auth import Audit, SignedIn
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body, MemberName, Out, TeamName, TeamRole, Text
from cargohold.api.organizations import MemberOut
from cargohold.api.services import Organizations
from cargohold.auth.organizations import TeamSettings

router = APIRouter(prefix="/organization/{org}", tags=["teams"], responses=ERROR_RESPONSES)


class TeamIn(Body):
    role: TeamRole
    description: Text | None = None
    sync_provider: Literal["ldap", "oidc"] | None = None
    sync_group: Annotated[Text, Field(min_length=1, max_length=512)] | None = None


class TeamOut(Out):
    name: str
    role: str
    description: str | None
    sync_provider: str | None
    sync_group: str | None
    members: int


@router.get("/teams")
async def teams(
    org: AccountName, principal: SignedIn, organizations: Organizations
) -> list[TeamOut]:
    return [TeamOut.model_validate(t) for t in await organizations.teams(principal, org)]


@router.put("/team/{team}", responses={201: {"model": TeamOut, "description": "Created"}})
async def put_team(
    org: AccountName,
    team: TeamName,
    body: TeamIn,
    principal: SignedIn,
    organizations: Organizations,
    audit: Audit,
    response: Response,
) -> TeamOut:
    """Create the team, or replace its role, description and group sync."""
    settings = TeamSettings(body.role, body.description, body.sync_provider, body.sync_group)
    info, created = await organizations.put_team(principal, org, team, settings)
    if created:
        response.status_code = status.HTTP_201_CREATED
    await audit.record(
        "team_create" if created else "team_update",
        namespace=org,
        team=team,
        role=body.role,
        sync_group=body.sync_group,
    )
    return TeamOut.model_validate(info)


@router.delete("/team/{team}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_team(
    org: AccountName,
    team: TeamName,
    principal: SignedIn,
    organizations: Organizations,
    audit: Audit,
) -> None:
    await organizations.delete_team(principal, org, team)
    await audit.record("team_delete", namespace=org, team=team)


@router.get("/team/{team}/members")
async def team_members(
    org: AccountName, team: TeamName, principal: SignedIn, organizations: Organizations
) -> list[MemberOut]:
    found = await organizations.team_members(principal, org, team)
    return [MemberOut.model_validate(m) for m in found]


@router.get("/team/{team}/members/{account}")
async def team_member(
    org: AccountName,
    team: TeamName,
    account: MemberName,
    principal: SignedIn,
    organizations: Organizations,
) -> MemberOut:
    return MemberOut.model_validate(await organizations.team_member(principal, org, team, account))


@router.put(
    "/team/{team}/members/{account}",
    responses={201: {"model": MemberOut, "description": "Added"}},
)
async def add_team_member(
    org: AccountName,
    team: TeamName,
    account: MemberName,
    principal: SignedIn,
    organizations: Organizations,
    audit: Audit,
    response: Response,
) -> MemberOut:
    """Put a user, or a robot of the organization, in the team."""
    member, added = await organizations.add_team_member(principal, org, team, account)
    if added:
        response.status_code = status.HTTP_201_CREATED
        await audit.record("team_member_add", namespace=org, team=team, member=account)
    return MemberOut.model_validate(member)


@router.delete("/team/{team}/members/{account}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_team_member(
    org: AccountName,
    team: TeamName,
    account: MemberName,
    principal: SignedIn,
    organizations: Organizations,
    audit: Audit,
) -> None:
    await organizations.remove_team_member(principal, org, team, account)
    await audit.record("team_member_remove", namespace=org, team=team, member=account)
