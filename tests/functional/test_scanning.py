"""Scanning in process, on SQLite and PostgreSQL: a push queues a scan, the background
workers index the image and match it, the management API reports it; an advisory update
re-matches without reading layers and records ``vulnerability_found`` events; the same
image in another repository reuses the stored index instead of reading its layers."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import tarfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, update
from starlette.applications import Starlette

from cargohold.config import Settings
from cargohold.content.advisories import REMATCH_JOB
from cargohold.content.services import Services
from cargohold.db.models import Manifest, Repository
from cargohold.db.scanner_models import ManifestScan
from cargohold.scanner.feeds.debian import parse_debian_tracker
from cargohold.scanner.feeds.osv import parse_osv_record
from cargohold.scanner.indexer import INDEXER_VERSION
from cargohold.workers import queue

from .helpers import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    PushedImage,
    descriptor,
    functional_settings,
    image_manifest,
    index_manifest,
    push_artifact,
    push_blob,
    put_manifest,
    sha256,
)

SCANNER_DATA = Path(__file__).parent.parent / "unit" / "scanner" / "data"
WAIT_SECONDS = 60.0

OS_RELEASE = (
    b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
    b'VERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'
)
DPKG_STATUS = b"""Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u1
Description: GNU C Library: Shared libraries

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime

"""
URLLIB3_METADATA = (
    b"Metadata-Version: 2.1\nName: urllib3\nVersion: 1.25.8\n"
    b"Summary: HTTP library with thread-safe connection pooling\n"
)
SITE = "usr/local/lib/python3.11/site-packages/urllib3-1.25.8.dist-info"


@dataclass
class Scanning:
    client: httpx.AsyncClient
    services: Services


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(database_url, tmp_path, worker_poll_seconds=0.1)


@pytest.fixture
def scanning(registry_app: Starlette, registry_client: httpx.AsyncClient) -> Scanning:
    return Scanning(registry_client, registry_app.state.services)


def tar_gz(files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


async def push_scannable_image(client: httpx.AsyncClient, repository: str) -> tuple[str, list[str]]:
    """An image: a Debian base layer (os-release, dpkg status) and a pip layer."""
    base = tar_gz({"etc/os-release": OS_RELEASE, "var/lib/dpkg/status": DPKG_STATUS})
    pip = tar_gz({f"{SITE}/METADATA": URLLIB3_METADATA, f"{SITE}/INSTALLER": b"pip\n"})
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    for blob in (config, base, pip):
        await push_blob(client, repository, blob)
    manifest = image_manifest(
        descriptor(OCI_CONFIG, config),
        [descriptor(OCI_LAYER_GZIP, base), descriptor(OCI_LAYER_GZIP, pip)],
    )
    response = await put_manifest(client, repository, "v1", manifest)
    assert response.status_code == 201, response.text
    return sha256(manifest), [sha256(base), sha256(pip)]


async def wait_for(
    condition: Callable[[], Awaitable[Any]], what: str, seconds: float = WAIT_SECONDS
) -> Any:
    """Poll ``condition`` until it returns something true; fail after ``seconds``."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await condition()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def security(client: httpx.AsyncClient, repository: str, digest: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/repository/{repository}/manifest/{digest}/security")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def wait_scanned(client: httpx.AsyncClient, repository: str, digest: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        report = await security(client, repository, digest)
        return report if report["status"] != "queued" else None

    report: dict[str, Any] = await wait_for(done, f"the scan of {digest}")
    return report


def vulnerabilities(report: dict[str, Any], package: str) -> dict[str, dict[str, Any]]:
    [entry] = [p for p in report["packages"] if p["name"] == package]
    return {v["id"]: v for v in entry["vulnerabilities"]}


async def import_fixture_advisories(services: Services) -> None:
    osv = parse_osv_record((SCANNER_DATA / "osv" / "GHSA-wqvq-5m8c-6g24.json").read_bytes())
    debian = parse_debian_tracker((SCANNER_DATA / "debian_tracker.json").read_bytes())
    await services.advisories.replace_feed("osv:PyPI", osv)
    await services.advisories.replace_feed("debian-security-tracker", debian)


async def change_scan(services: Services, repository: str, digest: str, **values: Any) -> None:
    """Overwrite columns of the stored scan of ``repository@digest``."""
    async with services.scans.db.write() as session:
        manifest_id = (
            await session.execute(
                select(Manifest.id)
                .join(Repository, Repository.id == Manifest.repository_id)
                .where(Repository.name == repository, Manifest.digest == digest)
            )
        ).scalar_one()
        await session.execute(
            update(ManifestScan).where(ManifestScan.manifest_id == manifest_id).values(**values)
        )


async def test_pushed_image_is_scanned_and_reported(scanning: Scanning) -> None:
    await import_fixture_advisories(scanning.services)
    digest, layers = await push_scannable_image(scanning.client, "scan/app")

    report = await wait_scanned(scanning.client, "scan/app", digest)

    assert report["status"] == "scanned"
    assert report["distribution"]["id"] == "debian"
    urllib3 = vulnerabilities(report, "urllib3")["GHSA-wqvq-5m8c-6g24"]
    assert urllib3["aliases"] == ["CVE-2020-26137"]
    assert urllib3["fixed_in"] == "1.25.9"
    assert urllib3["severity"] == "Medium"
    glibc = vulnerabilities(report, "libc6")
    assert glibc["CVE-2023-4911"]["fixed_in"] == "2.36-9+deb12u3"
    assert glibc["CVE-2010-4756"]["fixed_in"] is None
    [libc6] = [p for p in report["packages"] if p["name"] == "libc6"]
    assert (libc6["kind"], libc6["layer"]) == ("dpkg", layers[0])
    assert sum(report["counts"].values()) == sum(
        len(p["vulnerabilities"]) for p in report["packages"]
    )
    assert report["counts"]["Medium"] >= 1


async def test_sbom_lists_the_packages_as_cyclonedx(scanning: Scanning) -> None:
    digest, _ = await push_scannable_image(scanning.client, "scan/sbom")
    await wait_scanned(scanning.client, "scan/sbom", digest)

    response = await scanning.client.get(f"/api/v1/repository/scan/sbom/manifest/{digest}/sbom")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.cyclonedx+json")
    document = response.json()
    assert (document["bomFormat"], document["specVersion"]) == ("CycloneDX", "1.5")
    purls = {c["purl"] for c in document["components"]}
    assert "pkg:pypi/urllib3@1.25.8" in purls
    assert any(p.startswith("pkg:deb/debian/libc6@2.36-9%2Bdeb12u1") for p in purls)


async def test_indexes_and_artifacts_are_unsupported(scanning: Scanning) -> None:
    client = scanning.client
    digest, _ = await push_scannable_image(client, "scan/multi")
    child_bytes = (await client.get(f"/v2/scan/multi/manifests/{digest}")).content
    index = index_manifest([descriptor(OCI_MANIFEST, child_bytes)])
    response = await put_manifest(client, "scan/multi", "index", index, OCI_INDEX)
    assert response.status_code == 201, response.text
    subject = PushedImage("scan/multi", child_bytes, OCI_MANIFEST, b"")
    artifact = await push_artifact(client, "scan/multi", subject, "application/x.sig")

    assert (await security(client, "scan/multi", sha256(index)))["status"] == "unsupported"
    assert (await security(client, "scan/multi", artifact.digest))["status"] == "unsupported"
    assert (await wait_scanned(client, "scan/multi", digest))["status"] == "scanned"


async def test_unknown_manifest_is_404(scanning: Scanning) -> None:
    """MANIFEST_UNKNOWN for a manifest the repository lacks; NOT_FOUND for a repository
    that does not exist (or that the caller may not read)."""
    await push_blob(scanning.client, "scan/known", b"the repository exists")
    for name, code in (("scan/known", "MANIFEST_UNKNOWN"), ("scan/none", "NOT_FOUND")):
        response = await scanning.client.get(
            f"/api/v1/repository/{name}/manifest/{sha256(b'x')}/security"
        )
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == code


async def test_advisory_update_rematches_without_reading_layers(scanning: Scanning) -> None:
    services = scanning.services
    digest, _ = await push_scannable_image(scanning.client, "scan/rematch")
    before = await wait_scanned(scanning.client, "scan/rematch", digest)
    assert vulnerabilities(before, "urllib3") == {}
    reads = services.scans.layer_reads
    assert reads == 2

    await import_fixture_advisories(services)

    async def rematched() -> bool:
        return await queue.pending(services.scans.db, REMATCH_JOB) == 0 and bool(
            await services.scan_reports.events("scan/rematch")
        )

    await wait_for(rematched, "the re-match")
    after = await security(scanning.client, "scan/rematch", digest)
    assert "GHSA-wqvq-5m8c-6g24" in vulnerabilities(after, "urllib3")
    assert services.scans.layer_reads == reads
    events = await services.scan_reports.events("scan/rematch")
    assert {e.kind for e in events} == {"vulnerability_found"}
    found = {v["id"] for e in events for v in e.payload["vulnerabilities"]}
    assert {"GHSA-wqvq-5m8c-6g24", "CVE-2023-4911"} <= found
    assert all(e.manifest_digest == digest for e in events)


async def test_a_new_indexer_version_requeues_stored_indexes(scanning: Scanning) -> None:
    services = scanning.services
    digest, _ = await push_scannable_image(scanning.client, "scan/stale")
    await wait_scanned(scanning.client, "scan/stale", digest)
    reads = services.scans.layer_reads
    async with services.scans.db.write() as session:
        await session.execute(update(ManifestScan).values(indexer_version=INDEXER_VERSION - 1))

    assert await services.scans.requeue_stale() >= 1

    async def reindexed() -> bool:
        report = await security(scanning.client, "scan/stale", digest)
        return bool(report["indexer_version"] == INDEXER_VERSION)

    await wait_for(reindexed, "the new index")
    assert services.scans.layer_reads == reads + 2


async def test_manifests_pushed_before_scanning_existed_are_scanned(scanning: Scanning) -> None:
    services = scanning.services
    digest, _ = await push_scannable_image(scanning.client, "scan/old")
    await wait_scanned(scanning.client, "scan/old", digest)
    async with services.scans.db.write() as session:
        await session.execute(delete(ManifestScan))

    assert await services.scans.requeue_stale() >= 1

    assert (await wait_scanned(scanning.client, "scan/old", digest))["status"] == "scanned"


async def test_the_same_image_in_another_repository_reuses_the_stored_index(
    scanning: Scanning,
) -> None:
    services, client = scanning.services, scanning.client
    await import_fixture_advisories(services)

    async def rematched() -> bool:
        return await queue.pending(services.scans.db, REMATCH_JOB) == 0

    await wait_for(rematched, "the re-match of the advisory import")
    digest, _ = await push_scannable_image(client, "scan/base")
    base = await wait_scanned(client, "scan/base", digest)
    reads = services.scans.layer_reads
    assert reads == 2
    assert "GHSA-wqvq-5m8c-6g24" in vulnerabilities(base, "urllib3")
    # Findings matched before these advisories: the copy must match, not copy them.
    await change_scan(services, "scan/base", digest, findings="[]")

    assert (await push_scannable_image(client, "scan/copy"))[0] == digest
    copy = await wait_scanned(client, "scan/copy", digest)

    assert services.scans.layer_reads == reads
    assert (copy["status"], copy["indexer_version"]) == ("scanned", INDEXER_VERSION)
    assert copy["distribution"] == base["distribution"]
    assert copy["packages"] == base["packages"]
    assert copy["counts"] == base["counts"]


@pytest.mark.parametrize(
    ("twin", "change"),
    [
        ("failed", {"status": "failed", "error": "layer stream broken"}),
        ("older-index", {"indexer_version": INDEXER_VERSION - 1}),
    ],
)
async def test_a_twin_that_failed_or_has_another_indexer_version_is_not_reused(
    scanning: Scanning, twin: str, change: dict[str, Any]
) -> None:
    """A failed scan keeps the index of an earlier one (and the current version): neither
    that nor an index of another ``INDEXER_VERSION`` stands for the image."""
    services, client = scanning.services, scanning.client
    digest, _ = await push_scannable_image(client, f"scan/{twin}")
    first = await wait_scanned(client, f"scan/{twin}", digest)
    reads = services.scans.layer_reads
    await change_scan(services, f"scan/{twin}", digest, **change)

    await push_scannable_image(client, f"scan/{twin}-copy")
    report = await wait_scanned(client, f"scan/{twin}-copy", digest)

    assert services.scans.layer_reads == reads + 2
    assert (report["status"], report["indexer_version"]) == ("scanned", INDEXER_VERSION)
    assert report["packages"] == first["packages"]
