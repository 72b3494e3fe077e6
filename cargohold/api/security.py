"""``/repository/{name}/manifest/{digest}/security`` and ``.../sbom``: a scanned image's
packages and vulnerabilities, and its CycloneDX SBOM. Both need read on the repository."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.responses import Response

from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.permissions import ReadableRepository
from cargohold.api.services import Content
from cargohold.content.scan_reports import ScanRecord
from cargohold.errors import ManifestUnknown
from cargohold.scanner.sbom import cyclonedx_bytes, cyclonedx_sbom
from cargohold.scanner.severity import Severity
from cargohold.spec.digest import Digest

CYCLONEDX_JSON = "application/vnd.cyclonedx+json; version=1.5"
MANIFEST = "/repository/{name:path}/manifest/{digest}"
DigestText = Annotated[
    str, Field(pattern=r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$", max_length=256)
]

router = APIRouter(tags=["security"], responses=ERROR_RESPONSES)


class SecurityReport(BaseModel):
    """See the README: status ``queued``, ``scanned``, ``failed`` or ``unsupported``."""

    status: str
    indexer_version: int | None
    distribution: dict[str, Any] | None
    packages: list[dict[str, Any]]
    counts: dict[str, int]
    error: str | None


@router.get(f"{MANIFEST}/security")
async def security_report(
    name: ReadableRepository, digest: DigestText, content: Content
) -> SecurityReport:
    """The scan status, packages with their vulnerabilities, and counts per severity."""
    record = await content.scan_reports.record(name, Digest.parse(digest))
    return SecurityReport.model_validate(render_report(record))


@router.get(
    f"{MANIFEST}/sbom",
    response_class=Response,
    responses={200: {"content": {CYCLONEDX_JSON: {}}, "description": "a CycloneDX 1.5 SBOM"}},
)
async def sbom(name: ReadableRepository, digest: DigestText, content: Content) -> Response:
    """The image's CycloneDX 1.5 SBOM; 404 while it is not indexed. The same bytes as the
    SBOM a namespace may attach as a referrer (``content.sbom_referrers``)."""
    record = await content.scan_reports.record(name, Digest.parse(digest))
    if record.index is None:
        raise ManifestUnknown(
            f"manifest {record.digest} has no package index (scan status {record.status})",
            {"status": record.status},
        )
    document = cyclonedx_sbom(record.index, name, record.digest)
    return Response(cyclonedx_bytes(document), media_type=CYCLONEDX_JSON)


def render_report(record: ScanRecord) -> dict[str, Any]:
    """The security report's JSON (see the API's documentation in the README)."""
    index = record.index
    packages: list[dict[str, Any]] = [
        {
            "name": p.name,
            "version": p.version,
            "kind": p.kind.value,
            "layer": p.layer_digest,
            "vulnerabilities": [],
        }
        for p in (index.packages if index else [])
    ]
    counts: Counter[str] = Counter()
    for finding in record.findings:
        packages[finding["package"]]["vulnerabilities"].append(_vulnerability(finding))
        counts[finding["severity"]] += 1
    return {
        "status": record.status,
        "indexer_version": record.indexer_version,
        "distribution": _distribution(record),
        "packages": packages,
        "counts": {s.label: counts[s.label] for s in sorted(Severity, reverse=True)},
        "error": record.error,
    }


def _vulnerability(finding: dict[str, Any]) -> dict[str, Any]:
    cvss = finding.get("cvss")
    return {
        "id": finding["id"],
        "aliases": finding["aliases"],
        "severity": finding["severity"],
        "cvss": cvss["base_score"] if cvss else None,
        "cvss_vector": cvss["vector"] if cvss else None,
        "fixed_in": finding["fixed_in"],
        "links": finding["links"],
        "summary": finding["summary"],
    }


def _distribution(record: ScanRecord) -> dict[str, Any] | None:
    if record.index is None or record.index.distribution is None:
        return None
    d = record.index.distribution
    return {
        "id": d.id,
        "version_id": d.version_id,
        "version_codename": d.version_codename,
        "pretty_name": d.pretty_name,
    }
