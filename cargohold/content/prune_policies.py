"""Auto-prune policies: per namespace (each of its repositories) or per repository, delete
live tags beyond the newest ``value`` (``keep_newest``, by ``lifetime_start``) or pushed
more than ``value`` seconds ago (``older_than``), only those whose name matches
``tag_pattern`` (shell-style; all when None).

``apply`` runs every policy (the background job ``tag-prune`` calls it). It never deletes
an immutable tag (``tag_rules``); such a tag still counts among the newest ``value`` of
``keep_newest``, which it keeps anyway. A pruned tag is deleted as a user's delete is:
its row ends, and it stays restorable within the namespace's window. Each repository is
pruned in its own transaction under the repository's lock, so a push racing with the job
either lands before it (and counts) or after it (and is new).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import delete, select, update

from cargohold.content.repositories import lock_repository
from cargohold.content.tag_history import alive_at
from cargohold.content.tag_rules import in_scope, matching_rule, namespace_scope, rules_for
from cargohold.db.lifecycle_models import PrunePolicy
from cargohold.db.models import Manifest, Namespace, Repository, Tag, utcnow
from cargohold.db.session import Database
from cargohold.errors import InvalidRequest, NotFound

KEEP_NEWEST, OLDER_THAN = "keep_newest", "older_than"
METHODS = (KEEP_NEWEST, OLDER_THAN)
MAX_VALUE = 100 * 365 * 86400


@dataclass(frozen=True, slots=True)
class PrunePolicyInfo:
    id: int
    namespace: str
    repository: str | None
    method: str
    value: int
    tag_pattern: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PrunedTag:
    policy: PrunePolicyInfo
    repository: str
    tag: str
    manifest_digest: str


class PrunePolicies:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def policies(
        self, namespace: str, repository: str | None = None
    ) -> list[PrunePolicyInfo]:
        """The namespace-wide policies (``repository`` None) or one repository's own."""
        async with self._db.read() as session:
            namespace_id, repository_id = await namespace_scope(session, namespace, repository)
            rows = (
                await session.execute(
                    select(PrunePolicy)
                    .where(in_scope(PrunePolicy, namespace_id, repository_id))
                    .order_by(PrunePolicy.id)
                )
            ).scalars()
            return [_info(policy, namespace, repository) for policy in rows]

    async def add(
        self,
        namespace: str,
        repository: str | None,
        method: str,
        value: int,
        tag_pattern: str | None,
    ) -> PrunePolicyInfo:
        if method not in METHODS:
            raise InvalidRequest(f"unknown method {method!r}: use {' or '.join(METHODS)}")
        if not 0 <= value <= MAX_VALUE:
            raise InvalidRequest(f"value must be between 0 and {MAX_VALUE}")
        async with self._db.write() as session:
            namespace_id, repository_id = await namespace_scope(session, namespace, repository)
            policy = PrunePolicy(
                namespace_id=namespace_id,
                repository_id=repository_id,
                method=method,
                value=value,
                tag_pattern=tag_pattern,
            )
            session.add(policy)
            await session.flush()
            return _info(policy, namespace, repository)

    async def delete(
        self, namespace: str, repository: str | None, policy_id: int
    ) -> PrunePolicyInfo:
        async with self._db.write() as session:
            namespace_id, repository_id = await namespace_scope(session, namespace, repository)
            policy = (
                await session.execute(
                    select(PrunePolicy).where(
                        PrunePolicy.id == policy_id,
                        in_scope(PrunePolicy, namespace_id, repository_id),
                    )
                )
            ).scalar_one_or_none()
            if policy is None:
                raise NotFound(f"no prune policy {policy_id} here")
            info = _info(policy, namespace, repository)
            await session.execute(delete(PrunePolicy).where(PrunePolicy.id == policy_id))
            return info

    async def apply(self) -> list[PrunedTag]:
        """Run every policy once; the tags deleted."""
        async with self._db.read() as session:
            rows = (
                await session.execute(
                    select(PrunePolicy, Namespace.name, Repository.name)
                    .join(Namespace, Namespace.id == PrunePolicy.namespace_id)
                    .outerjoin(Repository, Repository.id == PrunePolicy.repository_id)
                    .order_by(PrunePolicy.id)
                )
            ).all()
            policies = [_info(p, namespace, repository) for p, namespace, repository in rows]
            targets = {}
            for (policy, _, _), info in zip(rows, policies, strict=True):
                scope = Repository.namespace_id == policy.namespace_id
                if policy.repository_id is not None:
                    scope = Repository.id == policy.repository_id
                found = await session.execute(select(Repository.id, Repository.name).where(scope))
                targets[info.id] = found.all()
        pruned: list[PrunedTag] = []
        for info in policies:
            for repository_id, repository in targets[info.id]:
                pruned += await self._prune(info, repository_id, repository)
        return pruned

    async def _prune(
        self, policy: PrunePolicyInfo, repository_id: int, repository: str
    ) -> list[PrunedTag]:
        now = utcnow()
        async with self._db.write() as session:
            await lock_repository(session, repository_id)
            rows = (
                await session.execute(
                    select(Tag.id, Tag.name, Tag.lifetime_start, Manifest.digest)
                    .join(Manifest, Manifest.id == Tag.manifest_id)
                    .where(Tag.repository_id == repository_id, alive_at(now))
                    .order_by(Tag.lifetime_start.desc(), Tag.id.desc())
                )
            ).all()
            doomed = _doomed(policy, rows, now)
            if not doomed:
                return []
            rules = await rules_for(session, repository_id)
            doomed = [row for row in doomed if matching_rule(rules, row.name) is None]
            if doomed:
                await session.execute(
                    update(Tag)
                    .where(Tag.id.in_([row.id for row in doomed]), Tag.lifetime_end.is_(None))
                    .values(lifetime_end=now)
                )
        return [PrunedTag(policy, repository, row.name, row.digest) for row in doomed]


def _doomed(policy: PrunePolicyInfo, rows: Sequence[Any], now: datetime) -> list[Any]:
    """The rows (newest first) that the policy deletes, immutable ones included."""
    pattern = policy.tag_pattern
    matching = [row for row in rows if pattern is None or fnmatchcase(row.name, pattern)]
    if policy.method == KEEP_NEWEST:
        return matching[policy.value :]
    cutoff = now - timedelta(seconds=policy.value)
    return [row for row in matching if row.lifetime_start < cutoff]


def _info(policy: PrunePolicy, namespace: str, repository: str | None) -> PrunePolicyInfo:
    return PrunePolicyInfo(
        policy.id,
        namespace,
        repository,
        policy.method,
        policy.value,
        policy.tag_pattern,
        policy.created_at,
    )
