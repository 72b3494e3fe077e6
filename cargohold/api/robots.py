"""Robot accounts: ``/organization/{org}/robots`` for an organization's (its
administrators manage them), ``/user/robots`` for the caller's own namespace.

A robot is named ``NAMESPACE+short``; its token's text is in the answers to create and
regenerate, and nowhere else. Regenerating revokes every earlier token of the robot.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, status
from pydantic import Field

from cargohold.api.auth import AccountOwner, Audit, AuditTrail, SignedIn
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body, LastUse, Out, ShortName, Text
from cargohold.api.services import Robots
from cargohold.auth.organizations import ORGANIZATION, RobotInfo
from cargohold.auth.principal import USER, Principal
from cargohold.auth.secrets import NewToken

organization_robots = APIRouter(
    prefix="/organization/{org}/robots", tags=["robots"], responses=ERROR_RESPONSES
)
user_robots = APIRouter(prefix="/user/robots", tags=["robots"], responses=ERROR_RESPONSES)


class RobotIn(Body):
    description: Text | None = None


class RobotOut(Out):
    name: str
    short_name: str
    description: str | None
    created_at: datetime
    last_used_at: LastUse


class RobotWithToken(RobotOut):
    token: str = Field(description="the robot's token: shown this once, never again")


async def _issued(
    audit: AuditTrail, event: str, ns: str, issued: tuple[RobotInfo, NewToken]
) -> RobotWithToken:
    info, token = issued
    await audit.record(event, namespace=ns, robot=info.name)
    return RobotWithToken.model_validate({**asdict(info), "token": token.text})


def _own(principal: Principal) -> str:
    assert principal.name is not None
    return principal.name


@organization_robots.get("")
async def org_robots(org: AccountName, principal: SignedIn, robots: Robots) -> list[RobotOut]:
    return [RobotOut.model_validate(r) for r in await robots.list(principal, org, ORGANIZATION)]


@organization_robots.get("/{short}")
async def org_robot(
    org: AccountName, short: ShortName, principal: SignedIn, robots: Robots
) -> RobotOut:
    return RobotOut.model_validate(await robots.get(principal, org, ORGANIZATION, short))


@organization_robots.put("/{short}", status_code=status.HTTP_201_CREATED)
async def create_org_robot(
    org: AccountName,
    short: ShortName,
    body: RobotIn,
    principal: SignedIn,
    robots: Robots,
    audit: Audit,
) -> RobotWithToken:
    created = await robots.create(principal, org, ORGANIZATION, short, body.description)
    return await _issued(audit, "robot_create", org, created)


@organization_robots.post("/{short}/regenerate")
async def regenerate_org_robot(
    org: AccountName, short: ShortName, principal: SignedIn, robots: Robots, audit: Audit
) -> RobotWithToken:
    issued = await robots.regenerate(principal, org, ORGANIZATION, short)
    return await _issued(audit, "robot_token_regenerate", org, issued)


@organization_robots.delete("/{short}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_org_robot(
    org: AccountName, short: ShortName, principal: SignedIn, robots: Robots, audit: Audit
) -> None:
    await robots.delete(principal, org, ORGANIZATION, short)
    await audit.record("robot_delete", namespace=org, robot=f"{org}+{short}")


@user_robots.get("")
async def own_robots(principal: AccountOwner, robots: Robots) -> list[RobotOut]:
    found = await robots.list(principal, _own(principal), USER)
    return [RobotOut.model_validate(r) for r in found]


@user_robots.get("/{short}")
async def own_robot(short: ShortName, principal: AccountOwner, robots: Robots) -> RobotOut:
    return RobotOut.model_validate(await robots.get(principal, _own(principal), USER, short))


@user_robots.put("/{short}", status_code=status.HTTP_201_CREATED)
async def create_own_robot(
    short: ShortName, body: RobotIn, principal: AccountOwner, robots: Robots, audit: Audit
) -> RobotWithToken:
    own = _own(principal)
    created = await robots.create(principal, own, USER, short, body.description)
    return await _issued(audit, "robot_create", own, created)


@user_robots.post("/{short}/regenerate")
async def regenerate_own_robot(
    short: ShortName, principal: AccountOwner, robots: Robots, audit: Audit
) -> RobotWithToken:
    own = _own(principal)
    issued = await robots.regenerate(principal, own, USER, short)
    return await _issued(audit, "robot_token_regenerate", own, issued)


@user_robots.delete("/{short}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_own_robot(
    short: ShortName, principal: AccountOwner, robots: Robots, audit: Audit
) -> None:
    own = _own(principal)
    await robots.delete(principal, own, USER, short)
    await audit.record("robot_delete", namespace=own, robot=f"{own}+{short}")
