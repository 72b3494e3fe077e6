"""The tag life cycle's background jobs, each rescheduling itself as the audit log's
rotation does:

- ``tag-expiry`` (every ``EXPIRY_INTERVAL``): ends the rows of expired tags at their
  ``expires_at`` (``TagHistory.end_expired``). Readers already treat such tags as gone;
  this makes the history show them ended. Audited as ``tag_expired``.
- ``tag-prune`` (every ``PRUNE_INTERVAL``): applies every auto-prune policy
  (``PrunePolicies.apply``). Each deleted tag is audited as ``tag_pruned`` with the
  policy as the performer (``prune-policy/<id>``, kind ``policy``).

Both are safe to run twice and concurrently on several workers: each change is made under
the repository's lock, on rows that are still live.
"""

from __future__ import annotations

from datetime import timedelta

from cargohold.auth.audit import AuditEntry, AuditLog
from cargohold.auth.principal import Principal
from cargohold.content.prune_policies import PrunedTag, PrunePolicies
from cargohold.content.tag_history import TagHistory
from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.workers import queue
from cargohold.workers.runner import Handler

EXPIRY_JOB, PRUNE_JOB = "tag-expiry", "tag-prune"
EXPIRY_INTERVAL = timedelta(minutes=1)
PRUNE_INTERVAL = timedelta(hours=1)
EXPIRY_BATCH = 1000
EXPIRY_PERFORMER = Principal(account_id=None, name="tag-expiry", kind="system")


class TagLifecycleJobs:
    def __init__(
        self, db: Database, history: TagHistory, prune: PrunePolicies, audit: AuditLog
    ) -> None:
        self._db = db
        self._history = history
        self._prune = prune
        self._audit = audit

    def handlers(self) -> dict[str, Handler]:
        return {EXPIRY_JOB: self._expiry_job, PRUNE_JOB: self._prune_job}

    async def schedule(self) -> None:
        """Queue both jobs unless they are queued already (a start-up hook)."""
        async with self._db.write() as session:
            await queue.enqueue_if_absent(session, EXPIRY_JOB, "all")
            await queue.enqueue_if_absent(session, PRUNE_JOB, "all")

    async def end_expired(self) -> int:
        """End every expired tag's row; how many."""
        count = 0
        while True:
            ended = await self._history.end_expired(EXPIRY_BATCH)
            for tag in ended:
                details = {"tag": tag.tag, "manifest": tag.manifest_digest, "expired_at": tag.at}
                entry = AuditEntry(
                    "tag_expired", EXPIRY_PERFORMER, repository=tag.repository, details=details
                )
                self._audit.record_later(entry)
            count += len(ended)
            if len(ended) < EXPIRY_BATCH:
                break
        await self._audit.flush()
        return count

    async def prune(self) -> list[PrunedTag]:
        """Apply every prune policy once; the tags deleted."""
        pruned = await self._prune.apply()
        for tag in pruned:
            self._audit.record_later(_pruned_entry(tag))
        await self._audit.flush()
        return pruned

    async def _expiry_job(self, key: str, attempt: int) -> None:
        try:
            await self.end_expired()
        finally:
            await self._reschedule(EXPIRY_JOB, EXPIRY_INTERVAL)

    async def _prune_job(self, key: str, attempt: int) -> None:
        try:
            await self.prune()
        finally:
            await self._reschedule(PRUNE_JOB, PRUNE_INTERVAL)

    async def _reschedule(self, kind: str, interval: timedelta) -> None:
        async with self._db.write() as session:
            await queue.enqueue(session, kind, "all", utcnow() + interval)


def _pruned_entry(tag: PrunedTag) -> AuditEntry:
    policy = tag.policy
    performer = Principal(account_id=None, name=f"prune-policy/{policy.id}", kind="policy")
    details = {
        "tag": tag.tag,
        "manifest": tag.manifest_digest,
        "policy": policy.id,
        "method": policy.method,
        "value": policy.value,
        "tag_pattern": policy.tag_pattern,
        "policy_repository": policy.repository,
    }
    return AuditEntry("tag_pruned", performer, repository=tag.repository, details=details)
