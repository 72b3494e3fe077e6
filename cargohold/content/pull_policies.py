"""Pull policies: which images a namespace lets be pulled, by their scan results.

A policy refuses the pull of an image manifest (``DENIED``, the reason in the message)
when its scan found a vulnerability of at least ``min_severity`` (only those with a fixed
version, with ``fixable_only``), and, with ``require_scan``, while it is not scanned yet
(queued or failed). Indexes and artifacts (scan status ``unsupported``) pass: the images
an index lists are checked when they are pulled.

Every pull asks, so the policies are cached per process for ``CACHE_SECONDS``, including
"no policy": a namespace without one costs no database query on the pull path, and a
changed policy holds everywhere within that time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from cargohold.content.scan_reports import ScanReports
from cargohold.db.dialect import insert_or_update
from cargohold.db.models import Namespace, utcnow
from cargohold.db.scanner_models import PullPolicy as PullPolicyRow
from cargohold.db.session import Database
from cargohold.errors import Denied, NotFound
from cargohold.expiring_cache import ExpiringCache
from cargohold.scanner.severity import Severity
from cargohold.spec.digest import Digest
from cargohold.spec.reference import namespace_of

CACHE_SECONDS = 5.0
UNSCANNED = frozenset({"queued", "failed"})
MAX_NAMED = 5


@dataclass(frozen=True, slots=True)
class PullPolicy:
    min_severity: Severity | None = None
    fixable_only: bool = False
    require_scan: bool = False


class PullPolicies:
    def __init__(self, db: Database, reports: ScanReports) -> None:
        self._db = db
        self._reports = reports
        self._cache: ExpiringCache[str, PullPolicy | None] = ExpiringCache(CACHE_SECONDS)

    async def get(self, namespace: str) -> PullPolicy | None:
        """The namespace's policy, or None (also for a namespace that does not exist), as
        it was at most ``CACHE_SECONDS`` ago."""
        return await self._cache.get(namespace, lambda: self._read(namespace))

    async def _read(self, namespace: str) -> PullPolicy | None:
        async with self._db.read() as session:
            row = (
                await session.execute(
                    select(PullPolicyRow)
                    .join(Namespace, Namespace.id == PullPolicyRow.namespace_id)
                    .where(Namespace.name == namespace)
                )
            ).scalar_one_or_none()
        return _policy(row) if row is not None else None

    async def set(self, namespace: str, policy: PullPolicy | None) -> None:
        """Set (or, with None, remove) the policy of an existing namespace."""
        async with self._db.write() as session:
            namespace_id = (
                await session.execute(select(Namespace.id).where(Namespace.name == namespace))
            ).scalar_one_or_none()
            if namespace_id is None:
                raise NotFound(f"no user or organization {namespace!r}")
            if policy is None:
                await session.execute(
                    delete(PullPolicyRow).where(PullPolicyRow.namespace_id == namespace_id)
                )
            else:
                values = {
                    "min_severity": policy.min_severity,
                    "fixable_only": policy.fixable_only,
                    "require_scan": policy.require_scan,
                    "updated_at": utcnow(),
                }
                await insert_or_update(
                    session,
                    PullPolicyRow,
                    {"namespace_id": namespace_id, **values},
                    ["namespace_id"],
                    values,
                )
        self._cache.forget(namespace)

    async def check(self, repository: str, digest: str) -> None:
        """Raise ``Denied`` when the policy of ``repository``'s namespace refuses the pull
        of manifest ``digest``."""
        namespace = namespace_of(repository)
        policy = await self.get(namespace)
        if policy is None:
            return
        record = await self._reports.record(repository, Digest.parse(digest))
        if record.status in UNSCANNED:
            if policy.require_scan:
                raise Denied(
                    f"image {digest} is not scanned yet (scan status {record.status}); the "
                    f"pull policy of {namespace!r} refuses images until they are scanned",
                    {"scan_status": record.status},
                )
            return
        if policy.min_severity is None:
            return
        offending = [
            finding["id"]
            for finding in record.findings
            if Severity[finding["severity"].upper()] >= policy.min_severity
            and (finding["fixed_in"] or not policy.fixable_only)
        ]
        if offending:
            fixable = "fixable " if policy.fixable_only else ""
            named = ", ".join(sorted(set(offending))[:MAX_NAMED])
            raise Denied(
                f"image {digest} has {len(offending)} {fixable}vulnerabilities of severity "
                f"{policy.min_severity.label} or higher ({named}); the pull policy of "
                f"{namespace!r} refuses it",
                {"vulnerabilities": sorted(set(offending))},
            )


def _policy(row: PullPolicyRow) -> PullPolicy:
    severity = Severity(row.min_severity) if row.min_severity is not None else None
    return PullPolicy(severity, row.fixable_only, row.require_scan)
