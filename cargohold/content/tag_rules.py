"""Immutable tags: shell-style tag name patterns (``v*``, ``release-?.*``, ``[0-9]*``) per
repository or for every repository of a namespace.

A tag matching a rule may be created (its first push, or a restore of a deleted tag) but
not moved to another manifest, deleted, expired or pruned: those are refused with
``TagImmutable`` (``DENIED``), whose message names the rule. The check runs inside the
transaction that would change the tag, after the repository's lock, and only when a live
tag would change, so a first push costs nothing and a move one indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.content.repositories import require_repository_id
from cargohold.db.lifecycle_models import PrunePolicy, TagRule
from cargohold.db.models import Namespace, Repository
from cargohold.db.session import Database
from cargohold.errors import Denied, NotFound


class TagImmutable(Denied):
    """A change to a tag that an immutable-tag rule protects."""


@dataclass(frozen=True, slots=True)
class TagRuleInfo:
    id: int
    pattern: str
    namespace: str
    repository: str | None
    created_at: datetime

    def describe(self) -> str:
        scope = (
            f"repository {self.repository}" if self.repository else f"namespace {self.namespace}"
        )
        return f"immutable-tag rule {self.id} ({self.pattern!r} in {scope})"


async def rules_for(session: AsyncSession, repository_id: int) -> list[TagRuleInfo]:
    """The rules that apply to the repository: its own and its namespace's."""
    rows = (
        await session.execute(
            select(TagRule, Namespace.name, Repository.name)
            .join(Namespace, Namespace.id == TagRule.namespace_id)
            .outerjoin(Repository, Repository.id == TagRule.repository_id)
            .where(
                TagRule.namespace_id
                == select(Repository.namespace_id)
                .where(Repository.id == repository_id)
                .scalar_subquery(),
                or_(TagRule.repository_id.is_(None), TagRule.repository_id == repository_id),
            )
            .order_by(TagRule.id)
        )
    ).all()
    return [_info(rule, namespace, repository) for rule, namespace, repository in rows]


def matching_rule(rules: list[TagRuleInfo], tag: str) -> TagRuleInfo | None:
    return next((rule for rule in rules if fnmatchcase(tag, rule.pattern)), None)


async def check_mutable(session: AsyncSession, repository_id: int, tag: str, action: str) -> None:
    """Refuse (``TagImmutable``) to ``action`` (``move``, ``delete``, ...) tag ``tag`` of
    the repository when a rule protects it."""
    rule = matching_rule(await rules_for(session, repository_id), tag)
    if rule is not None:
        raise TagImmutable(
            f"tag {tag!r} is immutable: {rule.describe()} forbids to {action} it",
            {"tag": tag, "rule": rule.id, "pattern": rule.pattern},
        )


class TagRules:
    """The immutable-tag rules of namespaces and repositories."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def rules(self, namespace: str, repository: str | None = None) -> list[TagRuleInfo]:
        """The namespace-wide rules (``repository`` None) or one repository's own."""
        async with self._db.read() as session:
            namespace_id, repository_id = await namespace_scope(session, namespace, repository)
            rows = (
                await session.execute(
                    select(TagRule)
                    .where(in_scope(TagRule, namespace_id, repository_id))
                    .order_by(TagRule.id)
                )
            ).scalars()
            return [_info(rule, namespace, repository) for rule in rows]

    async def add(self, namespace: str, repository: str | None, pattern: str) -> TagRuleInfo:
        async with self._db.write() as session:
            namespace_id, repository_id = await namespace_scope(session, namespace, repository)
            rule = TagRule(namespace_id=namespace_id, repository_id=repository_id, pattern=pattern)
            session.add(rule)
            await session.flush()
            return _info(rule, namespace, repository)

    async def delete(self, namespace: str, repository: str | None, rule_id: int) -> TagRuleInfo:
        """Remove a rule; the rule as it was. ``NotFound`` when it is not in that scope."""
        async with self._db.write() as session:
            namespace_id, repository_id = await namespace_scope(session, namespace, repository)
            rule = (
                await session.execute(
                    select(TagRule).where(
                        TagRule.id == rule_id, in_scope(TagRule, namespace_id, repository_id)
                    )
                )
            ).scalar_one_or_none()
            if rule is None:
                raise NotFound(f"no immutable-tag rule {rule_id} here")
            info = _info(rule, namespace, repository)
            await session.execute(delete(TagRule).where(TagRule.id == rule_id))
            return info


async def namespace_scope(
    session: AsyncSession, namespace: str, repository: str | None
) -> tuple[int, int | None]:
    """The ids of the namespace and (when given) the repository: ``NotFound`` for a
    namespace that does not exist, ``NameUnknown`` for a repository."""
    namespace_id = (
        await session.execute(select(Namespace.id).where(Namespace.name == namespace))
    ).scalar_one_or_none()
    if namespace_id is None:
        raise NotFound(f"no user or organization {namespace!r}")
    if repository is None:
        return namespace_id, None
    return namespace_id, await require_repository_id(session, repository)


def in_scope(
    model: type[TagRule | PrunePolicy], namespace_id: int, repository_id: int | None
) -> ColumnElement[bool]:
    """Rows of ``model`` (rules, prune policies) set for exactly this scope: the namespace
    and that repository, or, with ``repository_id`` None, the namespace as a whole."""
    same_repository = (
        model.repository_id.is_(None)
        if repository_id is None
        else model.repository_id == repository_id
    )
    return and_(model.namespace_id == namespace_id, same_repository)


def _info(rule: TagRule, namespace: str, repository: str | None) -> TagRuleInfo:
    return TagRuleInfo(rule.id, rule.pattern, namespace, repository, rule.created_at)
