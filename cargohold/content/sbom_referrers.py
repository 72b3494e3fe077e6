"""SBOM referrers: a scanned image's CycloneDX SBOM stored beside it as an OCI artifact,
in the namespaces that ask for it (``namespace.sbom_referrers``, off by default).

When a scan ends with an index (status ``scanned``) in such a namespace, the scan's
transaction queues ``scans.SBOM_REFERRER_JOB``; its handler, ``SbomReferrers.attach``:

1. writes the SBOM (the bytes the API's ``.../sbom`` serves: ``sbom.cyclonedx_bytes``) and
   the empty config ``{}`` as blobs, each through an upload (``UploadService``: bytes
   first, content-addressed, then the rows and the repository's upload protection);
2. pushes, by digest, an OCI image manifest with ``artifactType``
   ``application/vnd.cyclonedx+json``, the empty config, the SBOM as its one layer and the
   scanned manifest as its ``subject``, through ``ManifestService.put``: one transaction,
   exactly as a ``/v2`` PUT (blob links, quota, the referrers listing). The artifact is
   not an image, so it is never scanned itself (``scans.is_scannable``);
3. deletes SBOMs cargohold attached to the same subject before (``INDEXER_ANNOTATION``)
   whose digest differs: those of an earlier indexer version that found other packages.

The artifact depends only on the image's index, its repository and its digest (no
timestamps), so a re-scan that finds the same packages stores the same digest again and
nothing piles up. Garbage collection keeps it while its subject exists in the repository
and collects it afterwards (``gc``). An SBOM the namespace's quota refuses is logged and
not attached; the scan's result stands. Images scanned before the namespace turned the
setting on get their SBOM at their next scan.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from cargohold.content.manifests import ManifestService
from cargohold.content.scans import SCANNED
from cargohold.content.uploads import UploadService
from cargohold.db.models import Manifest, Namespace, Repository
from cargohold.db.scanner_models import ManifestScan
from cargohold.db.session import Database
from cargohold.errors import Denied, ManifestUnknown, NotFound
from cargohold.scanner.indexer import ImageIndex
from cargohold.scanner.sbom import cyclonedx_bytes, cyclonedx_sbom
from cargohold.spec.descriptor import Descriptor
from cargohold.spec.digest import Digest
from cargohold.spec.mediatypes import CYCLONEDX_JSON, OCI_EMPTY, OCI_MANIFEST

log = logging.getLogger(__name__)

EMPTY_CONFIG = b"{}"
INDEXER_ANNOTATION = "cargohold.sbom.indexer-version"
"""Marks an SBOM referrer as cargohold's; the value is the indexer version that made it."""
TITLE_ANNOTATION = "org.opencontainers.image.title"
SBOM_FILE_NAME = "sbom.cyclonedx.json"


@dataclass(frozen=True, slots=True)
class ScannedImage:
    """An image manifest with its stored index, as the attachment needs it."""

    repository: str
    descriptor: Descriptor
    index: ImageIndex


class SbomReferrers:
    """The per-namespace setting, and the job that attaches SBOMs (module docstring)."""

    def __init__(self, db: Database, manifests: ManifestService, uploads: UploadService) -> None:
        self._db = db
        self._manifests = manifests
        self._uploads = uploads

    async def attaches(self, namespace: str) -> bool:
        """Whether ``namespace`` attaches SBOMs; ``NotFound`` for an unknown namespace."""
        async with self._db.read() as session:
            value = (
                await session.execute(
                    select(Namespace.sbom_referrers).where(Namespace.name == namespace)
                )
            ).scalar_one_or_none()
        if value is None:
            raise NotFound(f"no user or organization {namespace!r}")
        return value

    async def set(self, namespace: str, attach: bool) -> bool:
        """Turn the setting of an existing namespace on or off; returns the value before.
        It holds for scans that finish from now on."""
        before = await self.attaches(namespace)
        async with self._db.write() as session:
            await session.execute(
                update(Namespace).where(Namespace.name == namespace).values(sbom_referrers=attach)
            )
        return before

    async def attach(self, key: str, attempt: int = 1) -> None:
        """The ``SBOM_REFERRER_JOB`` handler: ``attach_sbom`` of manifest ``key`` (its row
        id)."""
        await self.attach_sbom(int(key))

    async def attach_sbom(self, manifest_id: int) -> Digest | None:
        """Attach the SBOM of scanned manifest ``manifest_id``. Returns the SBOM manifest's
        digest, or None when nothing was attached: the manifest is gone, not scanned, its
        namespace no longer asks for SBOMs, or the quota refused it. Safe to run twice."""
        image = await self._scanned_image(manifest_id)
        if image is None:
            return None
        sbom = await self._upload(image.repository, _sbom_document(image), CYCLONEDX_JSON)
        config = await self._upload(image.repository, EMPTY_CONFIG, OCI_EMPTY)
        raw = sbom_manifest(config, sbom, image.descriptor, image.index.indexer_version)
        try:
            pushed = await self._manifests.put(
                image.repository, Digest.of_bytes(raw), raw, OCI_MANIFEST
            )
        except Denied as exc:
            log.warning(
                "SBOM referrer not attached",
                extra={"fields": {"repository": image.repository, "reason": exc.message}},
            )
            return None
        digest = Digest.parse(pushed.digest)
        await self._remove_superseded(image, digest)
        log.info(
            "SBOM referrer attached",
            extra={
                "fields": {
                    "repository": image.repository,
                    "subject": str(image.descriptor.digest),
                    "digest": str(digest),
                }
            },
        )
        return digest

    async def _scanned_image(self, manifest_id: int) -> ScannedImage | None:
        query = (
            select(
                Repository.name,
                Manifest.digest,
                Manifest.media_type,
                Manifest.size,
                ManifestScan.image_index,
            )
            .join(Repository, Repository.id == Manifest.repository_id)
            .join(Namespace, Namespace.id == Repository.namespace_id)
            .join(ManifestScan, ManifestScan.manifest_id == Manifest.id)
            .where(
                Manifest.id == manifest_id,
                Namespace.sbom_referrers.is_(True),
                ManifestScan.status == SCANNED,
                ManifestScan.image_index.is_not(None),
            )
        )
        async with self._db.read() as session:
            row = (await session.execute(query)).first()
        if row is None:
            return None
        descriptor = Descriptor(row.media_type, Digest.parse(row.digest), row.size)
        index = ImageIndex.from_json_dict(json.loads(row.image_index))
        return ScannedImage(row.name, descriptor, index)

    async def _upload(self, repository: str, data: bytes, media_type: str) -> Descriptor:
        digest = Digest.of_bytes(data)
        upload = await self._uploads.start(repository)
        await self._uploads.complete(repository, upload.id, digest, _once(data))
        return Descriptor(media_type, digest, len(data))

    async def _remove_superseded(self, image: ScannedImage, current: Digest) -> None:
        referrers = await self._manifests.referrers(
            image.repository, image.descriptor.digest, CYCLONEDX_JSON
        )
        for referrer in referrers:
            ours = referrer.annotations is not None and INDEXER_ANNOTATION in referrer.annotations
            if ours and referrer.digest != current:
                try:
                    await self._manifests.delete(image.repository, referrer.digest)
                except ManifestUnknown:
                    continue


def sbom_manifest(
    config: Descriptor, sbom: Descriptor, subject: Descriptor, indexer_version: int
) -> bytes:
    """The bytes of the SBOM artifact's OCI image manifest (compact JSON, fixed key
    order): the same arguments give the same digest."""
    layer = Descriptor(
        sbom.media_type, sbom.digest, sbom.size, annotations={TITLE_ANNOTATION: SBOM_FILE_NAME}
    )
    body: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": CYCLONEDX_JSON,
        "config": config.to_json(),
        "layers": [layer.to_json()],
        "subject": subject.to_json(),
        "annotations": {INDEXER_ANNOTATION: str(indexer_version)},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _sbom_document(image: ScannedImage) -> bytes:
    return cyclonedx_bytes(
        cyclonedx_sbom(image.index, image.repository, str(image.descriptor.digest))
    )


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
