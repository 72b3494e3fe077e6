"""The set of domain services one application uses, built once by ``app.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cargohold.content.advisories import AdvisoryStore
from cargohold.content.blobs import BlobService
from cargohold.content.catalog import CatalogService
from cargohold.content.manifests import ManifestService
from cargohold.content.prune_policies import PrunePolicies
from cargohold.content.pull_policies import PullPolicies
from cargohold.content.quotas import QuotaService
from cargohold.content.sbom_referrers import SbomReferrers
from cargohold.content.scan_reports import ScanReports
from cargohold.content.scans import ScanService
from cargohold.content.tag_expiry import ExpiryLabels
from cargohold.content.tag_history import TagHistory
from cargohold.content.tag_rules import TagRules
from cargohold.content.tags import TagService
from cargohold.content.uploads import UploadService
from cargohold.db.session import Database
from cargohold.storage.driver import StorageDriver


@dataclass(frozen=True, slots=True)
class Services:
    blobs: BlobService
    uploads: UploadService
    manifests: ManifestService
    tags: TagService
    catalog: CatalogService
    advisories: AdvisoryStore
    scans: ScanService
    scan_reports: ScanReports
    pull_policies: PullPolicies
    tag_history: TagHistory
    tag_rules: TagRules
    prune_policies: PrunePolicies
    quotas: QuotaService
    sbom_referrers: SbomReferrers

    @classmethod
    def build(cls, db: Database, storage: StorageDriver, protection: timedelta) -> Services:
        """Every service on one database and one storage driver. ``protection`` is how
        long an uploaded blob stays readable before a manifest references it."""
        advisories = AdvisoryStore(db)
        scan_reports = ScanReports(db)
        uploads = UploadService(db, storage, protection)
        manifests = ManifestService(db, ExpiryLabels(storage))
        return cls(
            blobs=BlobService(db, storage, protection),
            uploads=uploads,
            manifests=manifests,
            tags=TagService(db),
            catalog=CatalogService(db),
            advisories=advisories,
            scans=ScanService(db, storage, advisories),
            scan_reports=scan_reports,
            pull_policies=PullPolicies(db, scan_reports),
            tag_history=TagHistory(db),
            tag_rules=TagRules(db),
            prune_policies=PrunePolicies(db),
            quotas=QuotaService(db),
            sbom_referrers=SbomReferrers(db, manifests, uploads),
        )
