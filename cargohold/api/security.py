"""``/repository/{name}/manifest/{digest}/security`` and ``.../sbom``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from cargohold.api.permissions import require_read
from cargohold.api.services import services
from cargohold.content.scan_reports import ScanRecord
from cargohold.errors import ManifestUnknown
from cargohold.scanner.sbom import cyclonedx_sbom
from cargohold.scanner.severity import Severity
from cargohold.spec.digest import Digest

CYCLONEDX_JSON = "application/vnd.cyclonedx+json; version=1.5"


async def security_report(request: Request) -> JSONResponse:
    """The scan status, packages with their vulnerabilities, and counts per severity."""
    repository = request.path_params["repository"]
    await require_read(request, repository)
    record = await services(request).scan_reports.record(
        repository, Digest.parse(request.path_params["digest"])
    )
    return JSONResponse(render_report(record))


async def sbom(request: Request) -> JSONResponse:
    """The image's CycloneDX 1.5 SBOM; 404 while it is not indexed."""
    repository = request.path_params["repository"]
    await require_read(request, repository)
    record = await services(request).scan_reports.record(
        repository, Digest.parse(request.path_params["digest"])
    )
    if record.index is None:
        raise ManifestUnknown(
            f"manifest {record.digest} has no package index (scan status {record.status})",
            {"status": record.status},
        )
    document = cyclonedx_sbom(record.index, repository, record.digest)
    return JSONResponse(document, media_type=CYCLONEDX_JSON)


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
