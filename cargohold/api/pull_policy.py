"""``/namespace/{name}/pull-policy``: which images of a user's or organization's
repositories may be pulled, by their scan results (``content.pull_policies``). Reading and
changing it needs the namespace's admin role; a change holds on every node within seconds
and is audited as ``pull_policy_change``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from cargohold.api.auth import Audit, Caller
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body
from cargohold.api.services import Content, Organizations
from cargohold.content.pull_policies import PullPolicy
from cargohold.scanner.severity import Severity

router = APIRouter(prefix="/namespace", tags=["security"], responses=ERROR_RESPONSES)

SeverityLabel = Literal["Unknown", "Negligible", "Low", "Medium", "High", "Critical"]


class PullPolicyBody(Body):
    min_severity: SeverityLabel | None = Field(
        default=None, description="refuse images with a vulnerability this bad or worse"
    )
    fixable_only: bool = Field(
        default=False, description="count only vulnerabilities that have a fixed version"
    )
    require_scan: bool = Field(default=False, description="refuse images not scanned yet")


class PullPolicyOut(BaseModel):
    namespace: str
    policy: PullPolicyBody | None


@router.get("/{name}/pull-policy")
async def get_pull_policy(
    name: AccountName, principal: Caller, organizations: Organizations, content: Content
) -> PullPolicyOut:
    await organizations.require_admin(principal, name)
    policy = await content.pull_policies.get(name)
    return PullPolicyOut(namespace=name, policy=_body(policy) if policy else None)


@router.put("/{name}/pull-policy")
async def set_pull_policy(
    name: AccountName,
    body: PullPolicyBody,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> PullPolicyOut:
    await organizations.require_admin(principal, name)
    severity = Severity[body.min_severity.upper()] if body.min_severity else None
    await content.pull_policies.set(
        name, PullPolicy(severity, body.fixable_only, body.require_scan)
    )
    await audit.record("pull_policy_change", namespace=name, **body.model_dump())
    return PullPolicyOut(namespace=name, policy=body)


@router.delete("/{name}/pull-policy", status_code=status.HTTP_204_NO_CONTENT)
async def delete_pull_policy(
    name: AccountName,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> None:
    await organizations.require_admin(principal, name)
    await content.pull_policies.set(name, None)
    await audit.record("pull_policy_change", namespace=name, policy=None)


def _body(policy: PullPolicy) -> PullPolicyBody:
    severity = policy.min_severity.label if policy.min_severity is not None else None
    return PullPolicyBody.model_validate(
        {
            "min_severity": severity,
            "fixable_only": policy.fixable_only,
            "require_scan": policy.require_scan,
        }
    )
