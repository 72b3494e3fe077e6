"""Immutable tags and auto-prune policies, namespace-wide (``/namespace/{name}/...``, the
namespace's admin role) or for one repository (``/repository/{name}/...``, the
repository's ``admin`` role):

- ``immutable-tags``: shell-style tag name patterns; a matching tag may be created but not
  moved, deleted, expired or pruned (``content.tag_rules``);
- ``prune-policies``: keep the newest N tags, or delete tags older than N seconds,
  optionally only those matching a pattern (``content.prune_policies``).

Changes are audited (``immutable_tag_rule_create``/``_delete``,
``prune_policy_create``/``_delete``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import Field

from cargohold.api.auth import Audit, Caller
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body, Identifier, Out
from cargohold.api.permissions import AdministeredRepository
from cargohold.api.services import Content, Organizations
from cargohold.content.prune_policies import MAX_VALUE
from cargohold.spec.reference import namespace_of

router = APIRouter(tags=["tag policies"], responses=ERROR_RESPONSES)
NAMESPACE, REPOSITORY = "/namespace/{name}", "/repository/{name:path}"

TagPattern = Annotated[
    str,
    Field(
        pattern=r"^[a-zA-Z0-9_.*?!\[\]-]{1,128}$",
        description="a shell-style tag name pattern: *, ?, [abc], [!abc]",
    ),
]


class RuleBody(Body):
    pattern: TagPattern


class RuleOut(Out):
    id: int
    pattern: str
    namespace: str
    repository: str | None
    created_at: datetime


class PolicyBody(Body):
    method: Literal["keep_newest", "older_than"]
    value: int = Field(
        ge=0, le=MAX_VALUE, description="keep_newest: how many tags; older_than: seconds"
    )
    tag_pattern: TagPattern | None = None


class PolicyOut(Out):
    id: int
    namespace: str
    repository: str | None
    method: str
    value: int
    tag_pattern: str | None
    created_at: datetime


# -- immutable tags ---------------------------------------------------------------------------


@router.get(f"{NAMESPACE}/immutable-tags")
async def namespace_rules(
    name: AccountName, principal: Caller, organizations: Organizations, content: Content
) -> list[RuleOut]:
    await organizations.require_admin(principal, name)
    return [RuleOut.model_validate(r) for r in await content.tag_rules.rules(name)]


@router.post(f"{NAMESPACE}/immutable-tags", status_code=status.HTTP_201_CREATED)
async def add_namespace_rule(
    name: AccountName,
    body: RuleBody,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> RuleOut:
    await organizations.require_admin(principal, name)
    rule = await content.tag_rules.add(name, None, body.pattern)
    await audit.record(
        "immutable_tag_rule_create", namespace=name, rule=rule.id, pattern=rule.pattern
    )
    return RuleOut.model_validate(rule)


@router.delete(f"{NAMESPACE}/immutable-tags/{{rule_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_namespace_rule(
    name: AccountName,
    rule_id: Identifier,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> None:
    await organizations.require_admin(principal, name)
    rule = await content.tag_rules.delete(name, None, rule_id)
    await audit.record(
        "immutable_tag_rule_delete", namespace=name, rule=rule.id, pattern=rule.pattern
    )


@router.get(f"{REPOSITORY}/immutable-tags")
async def repository_rules(name: AdministeredRepository, content: Content) -> list[RuleOut]:
    rules = await content.tag_rules.rules(namespace_of(name), name)
    return [RuleOut.model_validate(r) for r in rules]


@router.post(f"{REPOSITORY}/immutable-tags", status_code=status.HTTP_201_CREATED)
async def add_repository_rule(
    name: AdministeredRepository, body: RuleBody, content: Content, audit: Audit
) -> RuleOut:
    rule = await content.tag_rules.add(namespace_of(name), name, body.pattern)
    await audit.record(
        "immutable_tag_rule_create", repository=name, rule=rule.id, pattern=rule.pattern
    )
    return RuleOut.model_validate(rule)


@router.delete(f"{REPOSITORY}/immutable-tags/{{rule_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_repository_rule(
    name: AdministeredRepository, rule_id: Identifier, content: Content, audit: Audit
) -> None:
    rule = await content.tag_rules.delete(namespace_of(name), name, rule_id)
    await audit.record(
        "immutable_tag_rule_delete", repository=name, rule=rule.id, pattern=rule.pattern
    )


# -- prune policies ---------------------------------------------------------------------------


@router.get(f"{NAMESPACE}/prune-policies")
async def namespace_policies(
    name: AccountName, principal: Caller, organizations: Organizations, content: Content
) -> list[PolicyOut]:
    await organizations.require_admin(principal, name)
    return [PolicyOut.model_validate(p) for p in await content.prune_policies.policies(name)]


@router.post(f"{NAMESPACE}/prune-policies", status_code=status.HTTP_201_CREATED)
async def add_namespace_policy(
    name: AccountName,
    body: PolicyBody,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> PolicyOut:
    await organizations.require_admin(principal, name)
    policy = await content.prune_policies.add(name, None, body.method, body.value, body.tag_pattern)
    await audit.record("prune_policy_create", namespace=name, policy=policy.id, **body.model_dump())
    return PolicyOut.model_validate(policy)


@router.delete(f"{NAMESPACE}/prune-policies/{{policy_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_namespace_policy(
    name: AccountName,
    policy_id: Identifier,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> None:
    await organizations.require_admin(principal, name)
    await content.prune_policies.delete(name, None, policy_id)
    await audit.record("prune_policy_delete", namespace=name, policy=policy_id)


@router.get(f"{REPOSITORY}/prune-policies")
async def repository_policies(name: AdministeredRepository, content: Content) -> list[PolicyOut]:
    policies = await content.prune_policies.policies(namespace_of(name), name)
    return [PolicyOut.model_validate(p) for p in policies]


@router.post(f"{REPOSITORY}/prune-policies", status_code=status.HTTP_201_CREATED)
async def add_repository_policy(
    name: AdministeredRepository, body: PolicyBody, content: Content, audit: Audit
) -> PolicyOut:
    policy = await content.prune_policies.add(
        namespace_of(name), name, body.method, body.value, body.tag_pattern
    )
    await audit.record(
        "prune_policy_create", repository=name, policy=policy.id, **body.model_dump()
    )
    return PolicyOut.model_validate(policy)


@router.delete(f"{REPOSITORY}/prune-policies/{{policy_id}}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_repository_policy(
    name: AdministeredRepository, policy_id: Identifier, content: Content, audit: Audit
) -> None:
    await content.prune_policies.delete(namespace_of(name), name, policy_id)
    await audit.record("prune_policy_delete", repository=name, policy=policy_id)
