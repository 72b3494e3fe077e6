"""Scanning pushed images: the state per manifest and the jobs of the work queue.

- ``note_pushed_manifest`` (in the push's transaction): an image manifest gets a
  ``queued`` scan and a ``SCAN_JOB``; anything else (an index, whose children are scanned
  as their own manifests; an artifact) is ``unsupported`` at once.
- ``ScanService.scan`` (the ``SCAN_JOB`` handler): streams the layers from storage
  (``StorageDriver.read``, never to disk), indexes them, matches the packages against the
  stored advisories and stores index and findings: status ``scanned``, or
  ``unsupported`` when the indexer says so. A broken layer stream is retried, then
  ``failed``. A ``scanned`` image in a namespace with ``sbom_referrers`` on gets a
  ``SBOM_REFERRER_JOB`` in the same transaction (``sbom_referrers.SbomReferrers.attach``).
  The same manifest (same digest) pushed into several repositories is a row in each; a
  row whose twin is already indexed by this ``INDEXER_VERSION`` (``_twin_index``) reuses
  that index instead of reading any layer, and is matched and stored as above. A
  ``failed`` twin is not reused: each row fails on its own.
- ``ScanService.rematch`` (the ``REMATCH_JOB`` handler, queued by every advisory update):
  matches every stored index again WITHOUT reading layers, and records each manifest's
  new findings as one ``vulnerability_found`` event (table ``event``, and a log line).
- ``ScanService.requeue_stale`` (at worker start): queues manifests indexed by another
  ``INDEXER_VERSION``, and records the scan state of manifests pushed before scanning
  existed (an upgraded registry).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cargohold.content.advisories import AdvisoryStore
from cargohold.db.dialect import insert_ignoring_conflicts
from cargohold.db.models import Manifest, Namespace, Repository, utcnow
from cargohold.db.scanner_models import EventRow, ManifestScan
from cargohold.db.session import Database
from cargohold.errors import CargoholdError
from cargohold.scanner.image_matching import match_index, matchable_packages
from cargohold.scanner.indexer import (
    INDEXER_VERSION,
    ImageIndex,
    IndexLimits,
    IndexStatus,
    LayerSource,
    LayerStreamFailed,
    index_image,
)
from cargohold.spec import mediatypes
from cargohold.spec.manifest import ParsedManifest, parse_manifest
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import blob_key
from cargohold.workers import queue
from cargohold.workers.runner import RetryLater

log = logging.getLogger(__name__)

SCAN_JOB = "scan-manifest"
"""The work queue's job kind that scans one manifest (key: the manifest's row id)."""

SBOM_REFERRER_JOB = "attach-sbom"
"""The job that attaches a scanned image's SBOM as a referrer (key: the manifest's row id);
its handler is ``sbom_referrers.SbomReferrers.attach``."""

VULNERABILITY_FOUND = "vulnerability_found"

QUEUED, SCANNED, FAILED, UNSUPPORTED = "queued", "scanned", "failed", "unsupported"
STREAM_ATTEMPTS = 3
_IMAGE_CONFIGS = frozenset({mediatypes.OCI_CONFIG, mediatypes.DOCKER_CONFIG})
_REMATCH_BATCH = 50
_BACKFILL_BATCH = 200


def is_scannable(parsed: ParsedManifest) -> bool:
    """Whether ``parsed`` is an image manifest (a config of an image, layers)."""
    return (
        not parsed.is_index
        and parsed.config is not None
        and parsed.config.media_type in _IMAGE_CONFIGS
        and bool(parsed.layers)
    )


async def note_pushed_manifest(
    session: AsyncSession, manifest_id: int, parsed: ParsedManifest
) -> None:
    """Record the scan state of a newly stored manifest, and queue its scan if it is an
    image. Runs in the push's write transaction."""
    scannable = is_scannable(parsed)
    row: dict[str, Any] = {
        "manifest_id": manifest_id,
        "status": QUEUED if scannable else UNSUPPORTED,
    }
    if not scannable:
        kind = "an index" if parsed.is_index else f"not an image ({parsed.artifact_type})"
        row["error"] = f"{kind}; its children are scanned" if parsed.is_index else kind
    await insert_ignoring_conflicts(session, ManifestScan, [row])
    if scannable:
        await queue.enqueue(session, SCAN_JOB, str(manifest_id))


class ScanService:
    """Runs scans and re-matches; see the module docstring."""

    def __init__(
        self,
        db: Database,
        storage: StorageDriver,
        advisories: AdvisoryStore,
        limits: IndexLimits | None = None,
    ) -> None:
        self.db = db
        self.storage = storage
        self.advisories = advisories
        self.limits = limits
        self.layer_reads = 0
        """Layer streams opened by this service (re-matching opens none)."""

    async def scan(self, key: str, attempt: int) -> None:
        """Scan manifest ``key`` (its row id); nothing happens if it was deleted. The index
        of a twin row (``_twin_index``) is reused without reading a layer."""
        manifest_id = int(key)
        stored = await self._twin_index(manifest_id)  # None too for a deleted row
        if stored is not None:
            index = ImageIndex.from_json_dict(json.loads(stored))
            await self._store_index(manifest_id, index, stored)
            return
        parsed = await self._load_manifest(manifest_id)
        if parsed is None:
            return
        try:
            index = await index_image(self._layers(parsed), self.limits)
        except LayerStreamFailed as exc:
            if attempt < STREAM_ATTEMPTS:
                raise RetryLater(str(exc), timedelta(seconds=30 * attempt)) from exc
            await self._record_failure(manifest_id, str(exc))
            return
        await self._store_index(manifest_id, index)

    async def rematch(self, key: str, attempt: int) -> None:
        """Match every stored index against the advisories as they are now."""
        async with self.db.read() as session:
            ids = (
                (
                    await session.execute(
                        select(ManifestScan.manifest_id)
                        .where(ManifestScan.status == SCANNED)
                        .order_by(ManifestScan.manifest_id)
                    )
                )
                .scalars()
                .all()
            )
        for start in range(0, len(ids), _REMATCH_BATCH):
            await self._rematch_batch(ids[start : start + _REMATCH_BATCH])
        log.info("advisories re-matched", extra={"fields": {"manifests": len(ids)}})

    async def requeue_stale(self) -> int:
        """Queue a scan of every manifest indexed with another ``INDEXER_VERSION``, and of
        every manifest without a scan state (pushed before scanning existed). Returns how
        many were queued or recorded."""
        backfilled = await self._backfill()
        async with self.db.write() as session:
            ids = (
                (
                    await session.execute(
                        select(ManifestScan.manifest_id).where(
                            ManifestScan.status.in_([SCANNED, FAILED]),
                            ManifestScan.indexer_version != INDEXER_VERSION,
                        )
                    )
                )
                .scalars()
                .all()
            )
            for manifest_id in ids:
                await queue.enqueue_if_absent(session, SCAN_JOB, str(manifest_id))
        if ids:
            log.info("stale image indexes queued", extra={"fields": {"manifests": len(ids)}})
        return len(ids) + backfilled

    async def _backfill(self) -> int:
        count = 0
        while True:
            async with self.db.write() as session:
                rows = (
                    await session.execute(
                        select(Manifest.id, Manifest.content, Manifest.media_type)
                        .outerjoin(ManifestScan, ManifestScan.manifest_id == Manifest.id)
                        .where(ManifestScan.manifest_id.is_(None))
                        .limit(_BACKFILL_BATCH)
                    )
                ).all()
                for row in rows:
                    try:
                        parsed = parse_manifest(row.content, row.media_type)
                    except CargoholdError as exc:
                        unreadable = {
                            "manifest_id": row.id,
                            "status": UNSUPPORTED,
                            "error": f"stored manifest unreadable: {exc}",
                        }
                        await insert_ignoring_conflicts(session, ManifestScan, [unreadable])
                        continue
                    await note_pushed_manifest(session, row.id, parsed)
            count += len(rows)
            if len(rows) < _BACKFILL_BATCH:
                return count

    async def _load_manifest(self, manifest_id: int) -> ParsedManifest | None:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Manifest.content, Manifest.media_type).where(Manifest.id == manifest_id)
                )
            ).first()
        if row is None:
            return None
        return parse_manifest(row.content, row.media_type)

    async def _twin_index(self, manifest_id: int) -> str | None:
        """The stored ``ImageIndex`` JSON of another manifest row with the same digest as
        row ``manifest_id`` (the same bytes, so the same layers), if that row's scan ended
        ``scanned`` or ``unsupported`` with an index of this ``INDEXER_VERSION``; None
        otherwise (no such row, or only ``queued`` or ``failed`` ones). Reads no layer:
        one query, served by the index on ``manifest.digest``."""
        twin = aliased(Manifest)
        async with self.db.read() as session:
            found: str | None = await session.scalar(
                select(ManifestScan.image_index)
                .select_from(Manifest)
                .join(twin, (twin.digest == Manifest.digest) & (twin.id != Manifest.id))
                .join(ManifestScan, ManifestScan.manifest_id == twin.id)
                .where(
                    Manifest.id == manifest_id,
                    ManifestScan.status.in_([SCANNED, UNSUPPORTED]),
                    ManifestScan.indexer_version == INDEXER_VERSION,
                    ManifestScan.image_index.is_not(None),
                )
                .limit(1)
            )
        return found

    def _layers(self, parsed: ParsedManifest) -> list[LayerSource]:
        return [
            LayerSource(str(layer.digest), layer.media_type, self._opener(str(layer.digest)))
            for layer in parsed.layers
        ]

    def _opener(self, digest: str) -> Any:
        def open_layer() -> AsyncIterator[bytes]:
            self.layer_reads += 1
            log.info("scanner reading layer", extra={"fields": {"digest": digest}})
            algorithm, _, hex_digest = digest.partition(":")
            return self.storage.read(blob_key(algorithm, hex_digest))

        return open_layer

    async def _store_index(
        self, manifest_id: int, index: ImageIndex, index_json: str | None = None
    ) -> None:
        """Match ``index`` now and store it with its findings (``index_json``: its JSON as
        already stored for a twin, copied rather than serialised again)."""
        findings = await self._findings(index)
        status = UNSUPPORTED if index.status == IndexStatus.UNSUPPORTED else SCANNED
        now = utcnow()
        async with self.db.write() as session:
            await session.execute(
                update(ManifestScan)
                .where(ManifestScan.manifest_id == manifest_id)
                .values(
                    status=status,
                    indexer_version=index.indexer_version,
                    image_index=index_json or json.dumps(index.to_json_dict()),
                    findings=json.dumps(findings),
                    error="; ".join(index.reasons) or None,
                    indexed_at=now,
                    matched_at=now,
                )
            )
            if status == SCANNED and await _wants_sbom_referrer(session, manifest_id):
                await queue.enqueue(session, SBOM_REFERRER_JOB, str(manifest_id))
        log.info(
            "image scanned",
            extra={
                "fields": {
                    "manifest_id": manifest_id,
                    "status": status,
                    "packages": len(index.packages),
                    "findings": len(findings),
                }
            },
        )

    async def _record_failure(self, manifest_id: int, error: str) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(ManifestScan)
                .where(ManifestScan.manifest_id == manifest_id)
                .values(status=FAILED, error=error[:4000], indexer_version=INDEXER_VERSION)
            )

    async def _findings(self, index: ImageIndex) -> list[dict[str, Any]]:
        keys = [key for _, _, key in matchable_packages(index)]
        candidates = await self.advisories.candidates(keys)
        return match_index(index, candidates)

    async def _rematch_batch(self, manifest_ids: Sequence[int]) -> None:
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(
                        ManifestScan.manifest_id, ManifestScan.image_index, ManifestScan.findings
                    ).where(ManifestScan.manifest_id.in_(manifest_ids))
                )
            ).all()
        for row in rows:
            if row.image_index is None:
                continue
            index = ImageIndex.from_json_dict(json.loads(row.image_index))
            findings = await self._findings(index)
            old = json.loads(row.findings or "[]")
            await self._store_rematch(row.manifest_id, index, findings, old)

    async def _store_rematch(
        self,
        manifest_id: int,
        index: ImageIndex,
        findings: list[dict[str, Any]],
        old: list[dict[str, Any]],
    ) -> None:
        new = _new_findings(index, findings, old)
        async with self.db.write() as session:
            await session.execute(
                update(ManifestScan)
                .where(ManifestScan.manifest_id == manifest_id)
                .values(findings=json.dumps(findings), matched_at=utcnow())
            )
            if new:
                await _record_found(session, manifest_id, new)


async def _wants_sbom_referrer(session: AsyncSession, manifest_id: int) -> bool:
    """Whether the namespace of manifest ``manifest_id`` attaches SBOMs as referrers."""
    wanted = await session.scalar(
        select(Namespace.sbom_referrers)
        .join(Repository, Repository.namespace_id == Namespace.id)
        .join(Manifest, Manifest.repository_id == Repository.id)
        .where(Manifest.id == manifest_id)
    )
    return bool(wanted)


def _finding_identity(index: ImageIndex, finding: dict[str, Any]) -> tuple[str, str, str, str]:
    package = index.packages[finding["package"]]
    return (package.kind.value, package.name, package.version, finding["id"])


def _new_findings(
    index: ImageIndex, findings: list[dict[str, Any]], old: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    known = {_finding_identity(index, f) for f in old if f["package"] < len(index.packages)}
    result = []
    for finding in findings:
        kind, name, version, advisory_id = _finding_identity(index, finding)
        if (kind, name, version, advisory_id) not in known:
            result.append(
                {
                    "id": advisory_id,
                    "package": name,
                    "version": version,
                    "kind": kind,
                    "severity": finding["severity"],
                    "fixed_in": finding["fixed_in"],
                }
            )
    return result


async def _record_found(session: AsyncSession, manifest_id: int, new: list[dict[str, Any]]) -> None:
    row = (
        await session.execute(
            select(Repository.name, Manifest.digest)
            .join(Manifest, Manifest.repository_id == Repository.id)
            .where(Manifest.id == manifest_id)
        )
    ).first()
    if row is None:
        return
    session.add(
        EventRow(
            kind=VULNERABILITY_FOUND,
            repository=row.name,
            manifest_digest=row.digest,
            payload=json.dumps({"vulnerabilities": new}),
        )
    )
    log.info(
        VULNERABILITY_FOUND,
        extra={
            "fields": {
                "repository": row.name,
                "digest": row.digest,
                "vulnerabilities": [f["id"] for f in new],
            }
        },
    )
