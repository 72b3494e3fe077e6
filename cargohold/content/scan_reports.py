"""Reading scan results: what the management API shows for a manifest, and events."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from cargohold.db.models import Manifest, Repository
from cargohold.db.scanner_models import EventRow, ManifestScan
from cargohold.db.session import Database
from cargohold.errors import ManifestUnknown
from cargohold.scanner.indexer import ImageIndex
from cargohold.scanner.severity import Severity
from cargohold.spec.digest import Digest


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """The scan state of one manifest. ``index`` is None until it is indexed; each of
    ``findings`` is in ``image_matching``'s stored form (``package`` is a position in
    ``index.packages``)."""

    repository: str
    digest: str
    status: str
    indexer_version: int | None
    index: ImageIndex | None
    findings: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ScanSummary:
    """A manifest's scan status and its findings counted per severity label (every label
    present, highest first)."""

    status: str
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a repository (``vulnerability_found``, ...)."""

    id: int
    kind: str
    repository: str
    manifest_digest: str | None
    payload: dict[str, Any]


class ScanReports:
    """Read-only views of scans and events."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, repository: str, digest: Digest) -> ScanRecord:
        """The scan of manifest ``digest`` in ``repository``; ``ManifestUnknown`` when the
        repository has no such manifest. A manifest pushed before scanning existed reads
        as ``queued`` with no index."""
        query = (
            select(
                ManifestScan.status,
                ManifestScan.indexer_version,
                ManifestScan.image_index,
                ManifestScan.findings,
                ManifestScan.error,
                Manifest.id,
            )
            .select_from(Manifest)
            .join(Repository, Repository.id == Manifest.repository_id)
            .outerjoin(ManifestScan, ManifestScan.manifest_id == Manifest.id)
            .where(Repository.name == repository, Manifest.digest == str(digest))
        )
        async with self.db.read() as session:
            row = (await session.execute(query)).first()
        if row is None:
            raise ManifestUnknown(f"manifest {digest} is not known in repository {repository!r}")
        index = ImageIndex.from_json_dict(json.loads(row.image_index)) if row.image_index else None
        return ScanRecord(
            repository=repository,
            digest=str(digest),
            status=row.status or "queued",
            indexer_version=row.indexer_version,
            index=index,
            findings=json.loads(row.findings) if row.findings else [],
            error=row.error,
        )

    async def summaries(self, repository: str, digests: Iterable[str]) -> dict[str, ScanSummary]:
        """The scan summary of each of ``digests`` stored in ``repository`` (others are left
        out), for listings: one query for them all."""
        query = (
            select(Manifest.digest, ManifestScan.status, ManifestScan.findings)
            .select_from(Manifest)
            .join(Repository, Repository.id == Manifest.repository_id)
            .outerjoin(ManifestScan, ManifestScan.manifest_id == Manifest.id)
            .where(Repository.name == repository, Manifest.digest.in_(set(digests)))
        )
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
        return {row.digest: _summary(row.status, row.findings) for row in rows}

    async def events(self, repository: str | None = None, after_id: int = 0) -> list[Event]:
        """Events after ``after_id``, oldest first, of one repository or all."""
        query = select(EventRow).where(EventRow.id > after_id).order_by(EventRow.id)
        if repository is not None:
            query = query.where(EventRow.repository == repository)
        async with self.db.read() as session:
            rows = (await session.execute(query)).scalars().all()
        return [
            Event(row.id, row.kind, row.repository, row.manifest_digest, json.loads(row.payload))
            for row in rows
        ]


def _summary(status: str | None, findings: str | None) -> ScanSummary:
    found = Counter(f["severity"] for f in json.loads(findings)) if findings else Counter()
    counts = {s.label: found[s.label] for s in sorted(Severity, reverse=True)}
    return ScanSummary(status or "queued", counts)
