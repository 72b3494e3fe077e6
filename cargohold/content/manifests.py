"""Manifests and indexes: push, pull, delete, and the referrers of a manifest.

A manifest is stored byte for byte in the database (at most 4 MiB), with links to the
blobs and child manifests it references. A push is one write transaction: it checks that
every referenced blob and child exists in the repository, records the manifest and its
links, and moves the tag, so a crash leaves either all of it or none. A new manifest's
scan is queued in the same transaction (``scans.note_pushed_manifest``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.content.blobs import accessible_blobs
from cargohold.content.gc import record_push, request_collection
from cargohold.content.repositories import (
    ensure_repository,
    find_repository_id,
    lock_repository,
)
from cargohold.content.scans import note_pushed_manifest
from cargohold.content.tag_expiry import ExpiryLabels
from cargohold.content.tag_history import TagMove, check_manifest_deletable, end_tag, move_tag
from cargohold.db.dialect import insert_ignoring_conflicts, insert_returning_id
from cargohold.db.hot import ManifestRow
from cargohold.db.models import Manifest, ManifestBlob, ManifestChild, Repository, utcnow
from cargohold.db.session import Database
from cargohold.errors import (
    Denied,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
)
from cargohold.spec.digest import Digest
from cargohold.spec.manifest import Descriptor, ParsedManifest, parse_manifest

StoredManifest = ManifestRow
"""A manifest as it was pushed: ``digest``, ``media_type``, ``content``."""

# Built once: a statement made per call costs more than its query (it is on every push).
_MANIFEST_ID = select(Manifest.id).where(
    Manifest.repository_id == bindparam("repository_id"), Manifest.digest == bindparam("digest")
)


@dataclass(frozen=True, slots=True)
class PushedManifest:
    digest: str
    subject: str | None
    tag_move: TagMove | None = None
    """The tag's change when pushed by tag (None: it already pointed there)."""


class ManifestService:
    """Push, pull, delete manifests; list referrers."""

    def __init__(self, db: Database, labels: ExpiryLabels | None = None) -> None:
        self.db = db
        self.labels = labels

    async def get(self, repository: str, reference: Digest | str) -> StoredManifest:
        """The manifest a tag points at, or the one with that digest; ``ManifestUnknown``
        otherwise. One query."""
        hot = self.db.hot
        if isinstance(reference, Digest):
            row = await hot.manifest_by_digest(repository, str(reference))
        else:
            row = await hot.manifest_by_tag(repository, reference)
        if row is None:
            raise ManifestUnknown(f"manifest {reference} is not known in repository {repository!r}")
        return row

    async def put(
        self, repository: str, reference: Digest | str, raw: bytes, content_type: str | None
    ) -> PushedManifest:
        """Store a manifest, and point tag ``reference`` at it when it is a tag."""
        algorithm = reference.algorithm if isinstance(reference, Digest) else "sha256"
        parsed = parse_manifest(raw, content_type, algorithm=algorithm)
        if isinstance(reference, Digest) and parsed.digest != reference:
            raise DigestInvalid(
                f"manifest content has digest {parsed.digest}, not {reference}",
                {"expected": str(reference), "actual": str(parsed.digest)},
            )
        expires_after = None
        if isinstance(reference, str) and self.labels is not None:
            expires_after = await self.labels.expires_after(parsed)
        tag_move = None
        async with self.db.write() as session:
            repository_id = await ensure_repository(session, repository, lock=True)
            manifest_id, new = await self._store(session, repository_id, parsed, raw)
            await record_push(
                session,
                repository_id,
                manifest_id,
                new=new,
                by_digest=isinstance(reference, Digest),
            )
            if isinstance(reference, str):
                expires_at = utcnow() + expires_after if expires_after else None
                tag_move = await move_tag(
                    session, repository_id, reference, manifest_id, expires_at=expires_at
                )
        subject = str(parsed.subject.digest) if parsed.subject else None
        return PushedManifest(str(parsed.digest), subject, tag_move)

    async def delete(self, repository: str, reference: Digest | str) -> None:
        """Delete a tag (by tag) or a manifest with all its tags (by digest)."""
        async with self.db.write() as session:
            repository_id = await find_repository_id(session, repository)
            if repository_id is None:
                raise ManifestUnknown(f"repository {repository!r} has no manifest {reference}")
            await lock_repository(session, repository_id)
            await request_collection(session, repository_id)
            if isinstance(reference, Digest):
                await self._delete_manifest(session, repository_id, repository, reference)
            elif not await end_tag(session, repository_id, reference):
                raise ManifestUnknown(f"tag {reference!r} is not known in {repository!r}")

    async def referrers(
        self, repository: str, subject: Digest, artifact_type: str | None = None
    ) -> list[Descriptor]:
        """Descriptors of the manifests in ``repository`` whose subject is ``subject``,
        only those of ``artifact_type`` when given; oldest first."""
        query = (
            select(
                Manifest.digest,
                Manifest.media_type,
                Manifest.size,
                Manifest.artifact_type,
                Manifest.annotations,
            )
            .join(Repository, Repository.id == Manifest.repository_id)
            .where(Repository.name == repository, Manifest.subject_digest == str(subject))
            .order_by(Manifest.id)
        )
        if artifact_type is not None:
            query = query.where(Manifest.artifact_type == artifact_type)
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
        return [
            Descriptor(
                media_type=row.media_type,
                digest=Digest.parse(row.digest),
                size=row.size,
                artifact_type=row.artifact_type,
                annotations=json.loads(row.annotations) if row.annotations else None,
            )
            for row in rows
        ]

    async def _store(
        self, session: AsyncSession, repository_id: int, parsed: ParsedManifest, raw: bytes
    ) -> tuple[int, bool]:
        """The manifest's row id in the repository, and whether this call stored it.

        Pushes of one repository run side by side (``lock_repository(shared=True)``): when
        another one stores the same manifest first, its row is the one (on PostgreSQL the
        insert waits for that push's transaction, then finds its row)."""
        key = {"repository_id": repository_id, "digest": str(parsed.digest)}
        existing = (await session.execute(_MANIFEST_ID, key)).scalar_one_or_none()
        if existing is not None:
            return existing, False
        blob_ids = await _required_blob_ids(session, repository_id, parsed)
        child_ids = await _child_manifest_ids(session, repository_id, parsed)
        row = {
            **key,
            "media_type": parsed.media_type,
            "artifact_type": parsed.artifact_type,
            "subject_digest": str(parsed.subject.digest) if parsed.subject else None,
            "annotations": json.dumps(dict(parsed.annotations)) if parsed.annotations else None,
            "size": parsed.size,
            "content": raw,
        }
        manifest_id = await insert_returning_id(session, Manifest, row)
        if manifest_id is None:
            return (await session.execute(_MANIFEST_ID, key)).scalar_one(), False
        await insert_ignoring_conflicts(
            session,
            ManifestBlob,
            [
                {"manifest_id": manifest_id, "blob_id": b, "repository_id": repository_id}
                for b in blob_ids
            ],
        )
        await insert_ignoring_conflicts(
            session, ManifestChild, [{"manifest_id": manifest_id, "child_id": c} for c in child_ids]
        )
        await note_pushed_manifest(session, manifest_id, parsed)
        return manifest_id, True

    async def _delete_manifest(
        self, session: AsyncSession, repository_id: int, repository: str, digest: Digest
    ) -> None:
        manifest_id = (
            await session.execute(
                select(Manifest.id).where(
                    Manifest.repository_id == repository_id, Manifest.digest == str(digest)
                )
            )
        ).scalar_one_or_none()
        if manifest_id is None:
            raise ManifestUnknown(f"manifest {digest} is not known in {repository!r}")
        parent = (
            await session.execute(
                select(Manifest.digest)
                .join(ManifestChild, ManifestChild.manifest_id == Manifest.id)
                .where(ManifestChild.child_id == manifest_id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if parent is not None:
            raise Denied(
                f"manifest {digest} is listed by index {parent} in {repository!r}; "
                "delete the index first"
            )
        await check_manifest_deletable(session, repository_id, manifest_id)
        await session.execute(delete(Manifest).where(Manifest.id == manifest_id))


async def _required_blob_ids(
    session: AsyncSession, repository_id: int, parsed: ParsedManifest
) -> list[int]:
    wanted = {str(d.digest): d for d in parsed.required_blobs}
    if not wanted:
        return []
    rows = (await session.execute(accessible_blobs(repository_id, wanted, utcnow()))).all()
    found = {row.digest: row for row in rows}
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ManifestBlobUnknown(
            f"manifest references blob {missing[0]}, which this repository does not have"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
            {"missing": missing},
        )
    for digest, row in found.items():
        if row.size != wanted[digest].size:
            raise ManifestInvalid(
                f"manifest says blob {digest} has {wanted[digest].size} bytes, "
                f"but it has {row.size}"
            )
    return [row.id for row in rows]


async def _child_manifest_ids(
    session: AsyncSession, repository_id: int, parsed: ParsedManifest
) -> list[int]:
    wanted = {str(d.digest) for d in parsed.manifests}
    if not wanted:
        return []
    rows = (
        await session.execute(
            select(Manifest.id, Manifest.digest).where(
                Manifest.repository_id == repository_id, Manifest.digest.in_(wanted)
            )
        )
    ).all()
    missing = sorted(wanted - {row.digest for row in rows})
    if missing:
        raise ManifestBlobUnknown(
            f"index references manifest {missing[0]}, which this repository does not have",
            {"missing": missing},
        )
    return [row.id for row in rows]
