"""Tag listings carry each tagged image's scan summary: status and counts per severity
(issue 6), from a real scan by the background workers in process."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from cargohold.config import Settings

from .helpers import functional_settings, push_image
from .test_scanning import import_fixture_advisories, push_scannable_image, wait_scanned


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(database_url, tmp_path, worker_poll_seconds=0.1)


async def test_tag_listing_counts_vulnerabilities_per_severity(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    await import_fixture_advisories(registry_app.state.services)
    digest, _ = await push_scannable_image(registry_client, "counted/app")
    report = await wait_scanned(registry_client, "counted/app", digest)
    await push_image(registry_client, "counted/app", "random-layers", layers=1)

    listing = await registry_client.get("/api/v1/repository/counted/app/tag/")
    assert listing.status_code == 200, listing.text
    by_name = {t["name"]: t for t in listing.json()["tags"]}
    assert by_name["v1"]["security"] == {"status": "scanned", "counts": report["counts"]}
    assert sum(report["counts"].values()) > 0
    assert list(report["counts"]) == ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"]
    other = by_name["random-layers"]["security"]  # layers that are not tar archives
    assert other["status"] in {"queued", "unsupported", "failed"}
    assert set(other["counts"].values()) == {0}
