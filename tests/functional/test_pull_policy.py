"""Pull policies (issue 6): a namespace refuses the pull of images whose scan found
vulnerabilities at or above a severity (optionally only fixable ones), or that are not
scanned yet, with ``DENIED`` and the reason; the policy is set through the API by the
namespace's admin. The images are scanned for real by the background workers, in process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cargohold.config import Settings, load_settings
from cargohold.content import pull_policies
from cargohold.scanner.severity import Severity

from .helpers import OCI_INDEX, descriptor, functional_settings, index_manifest, put_manifest
from .test_scanning import import_fixture_advisories, push_scannable_image, wait_scanned

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
)


@pytest.fixture(autouse=True)
def no_policy_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees its policy changes at once (a node sees them within 5 s)."""
    monkeypatch.setattr(pull_policies, "CACHE_SECONDS", 0.0)


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(database_url, tmp_path, worker_poll_seconds=0.1)


async def set_policy(client: httpx.AsyncClient, namespace: str, **policy: Any) -> httpx.Response:
    return await client.put(f"/api/v1/namespace/{namespace}/pull-policy", json=policy)


async def pull(client: httpx.AsyncClient, repository: str, reference: str) -> httpx.Response:
    return await client.get(
        f"/v2/{repository}/manifests/{reference}", headers={"Accept": MANIFEST_TYPES}
    )


def worst(report: dict[str, Any], *, fixable: bool | None = None) -> Severity:
    """The highest severity among the report's findings (only fixable or only unfixed
    ones when asked)."""
    found = [
        Severity[v["severity"].upper()]
        for p in report["packages"]
        for v in p["vulnerabilities"]
        if fixable is None or (v["fixed_in"] is not None) == fixable
    ]
    return max(found)


async def test_severity_threshold_refuses_and_names_the_vulnerabilities(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    await import_fixture_advisories(registry_app.state.services)
    digest, _ = await push_scannable_image(registry_client, "policy/app")
    report = await wait_scanned(registry_client, "policy/app", digest)
    highest = worst(report)
    assert (await pull(registry_client, "policy/app", "v1")).status_code == 200

    response = await set_policy(registry_client, "policy", min_severity=highest.label)
    assert response.status_code == 200, response.text
    refused = await pull(registry_client, "policy/app", "v1")
    assert refused.status_code == 403
    [error] = refused.json()["errors"]
    assert error["code"] == "DENIED"
    assert f"severity {highest.label} or higher" in error["message"]
    assert "pull policy of 'policy'" in error["message"]
    assert error["detail"]["vulnerabilities"]
    head = await registry_client.head(f"/v2/policy/app/manifests/{digest}")
    assert head.status_code == 403

    if highest < Severity.CRITICAL:
        above = Severity(highest + 1).label
        assert (await set_policy(registry_client, "policy", min_severity=above)).status_code == 200
        assert (await pull(registry_client, "policy/app", "v1")).status_code == 200


async def test_fixable_only_counts_only_vulnerabilities_with_a_fix(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    await import_fixture_advisories(registry_app.state.services)
    digest, _ = await push_scannable_image(registry_client, "fixable/app")
    report = await wait_scanned(registry_client, "fixable/app", digest)
    findings = {v["id"]: v for p in report["packages"] for v in p["vulnerabilities"]}
    threshold = Severity.UNKNOWN.label  # every finding counts
    fixed = sorted(i for i, v in findings.items() if v["fixed_in"] is not None)
    unfixed = sorted(i for i, v in findings.items() if v["fixed_in"] is None)
    assert fixed and unfixed, report

    await set_policy(registry_client, "fixable", min_severity=threshold)
    everything = (await pull(registry_client, "fixable/app", "v1")).json()["errors"][0]
    assert everything["detail"]["vulnerabilities"] == sorted(findings)
    await set_policy(registry_client, "fixable", min_severity=threshold, fixable_only=True)
    only_fixable = (await pull(registry_client, "fixable/app", "v1")).json()["errors"][0]
    assert only_fixable["detail"]["vulnerabilities"] == fixed
    assert f"{len(fixed)} fixable vulnerabilities" in only_fixable["message"]


async def test_indexes_pass_and_their_images_are_checked(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    await import_fixture_advisories(registry_app.state.services)
    digest, _ = await push_scannable_image(registry_client, "multi/app")
    report = await wait_scanned(registry_client, "multi/app", digest)
    child = descriptor("application/vnd.oci.image.manifest.v1+json", b"", digest=digest)
    child["size"] = int(
        (await registry_client.head(f"/v2/multi/app/manifests/{digest}")).headers["content-length"]
    )
    index = index_manifest([child | {"platform": {"architecture": "amd64", "os": "linux"}}])
    assert (
        await put_manifest(registry_client, "multi/app", "all", index, OCI_INDEX)
    ).status_code == 201
    await set_policy(registry_client, "multi", min_severity=worst(report).label)
    assert (await pull(registry_client, "multi/app", "all")).status_code == 200
    assert (await pull(registry_client, "multi/app", digest)).status_code == 403


class TestUnscanned:
    """With the workers off, pushed images stay queued."""

    @pytest.fixture
    def registry_settings(self, database_url: str, tmp_path: Path) -> Settings:
        return load_settings(
            data_dir=tmp_path / "data",
            database_url=database_url,
            access_log=False,
            background_workers=False,
        )

    async def test_require_scan_refuses_queued_images(
        self, registry_client: httpx.AsyncClient
    ) -> None:
        await push_scannable_image(registry_client, "strict/app")
        assert (await set_policy(registry_client, "strict", min_severity="High")).status_code == 200
        assert (await pull(registry_client, "strict/app", "v1")).status_code == 200
        await set_policy(registry_client, "strict", require_scan=True)
        refused = await pull(registry_client, "strict/app", "v1")
        assert refused.status_code == 403
        assert "not scanned yet (scan status queued)" in refused.json()["errors"][0]["message"]
        deleted = await registry_client.delete("/api/v1/namespace/strict/pull-policy")
        assert deleted.status_code == 204
        assert (await pull(registry_client, "strict/app", "v1")).status_code == 200


async def test_only_the_namespace_admin_sets_the_policy(
    registry_app: Starlette,
    registry_client: httpx.AsyncClient,
    client_as: Any,
) -> None:
    await push_scannable_image(registry_client, "guarded/app")
    accounts = registry_app.state.auth.accounts
    await accounts.create_user("mallory", password="mallory's password")
    mallory = client_as("mallory", "mallory's password")
    refused = await set_policy(mallory, "guarded", require_scan=True)
    assert refused.status_code in (403, 404)
    assert (await mallory.get("/api/v1/namespace/guarded/pull-policy")).status_code in (403, 404)
    mine = await set_policy(mallory, "mallory", min_severity="Critical", fixable_only=True)
    assert mine.status_code == 200, mine.text
    shown = (await mallory.get("/api/v1/namespace/mallory/pull-policy")).json()
    assert shown["policy"] == {
        "min_severity": "Critical",
        "fixable_only": True,
        "require_scan": False,
    }
    invalid = await set_policy(mallory, "mallory", min_severity="Dreadful")
    assert invalid.status_code == 400
