"""SBOM referrers (issue 6): in a namespace that asks for it, each scanned image gets its
CycloneDX SBOM attached as an OCI artifact whose ``subject`` is the image, listed by
``/v2/<name>/referrers/<digest>``, pulled like any artifact, kept by garbage collection
while its image lives. The images are scanned for real by the background workers, in
process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from cargohold.config import Settings
from cargohold.content.scans import SBOM_REFERRER_JOB, SCAN_JOB
from cargohold.db.models import Manifest
from cargohold.workers import queue

from .gc_support import age_everything, collector, database, set_window, stored_digests
from .helpers import (
    OCI_EMPTY,
    OCI_MANIFEST,
    PushedImage,
    functional_settings,
    push_artifact,
    sha256,
)
from .test_scanning import push_scannable_image, wait_for, wait_scanned

CYCLONEDX = "application/vnd.cyclonedx+json"
OURS = "cargohold.sbom.indexer-version"


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(database_url, tmp_path, worker_poll_seconds=0.1)


async def organization(client: httpx.AsyncClient, name: str, *, attach: bool) -> None:
    created = await client.post("/api/v1/organization", json={"name": name})
    assert created.status_code == 201, created.text
    response = await client.put(f"/api/v1/namespace/{name}/sbom-referrers", json={"attach": attach})
    assert response.status_code == 200, response.text
    assert response.json() == {"namespace": name, "attach": attach}


async def referrers(
    client: httpx.AsyncClient, repository: str, digest: str, artifact_type: str | None = None
) -> list[dict[str, Any]]:
    params = {"artifactType": artifact_type} if artifact_type else {}
    response = await client.get(f"/v2/{repository}/referrers/{digest}", params=params)
    assert response.status_code == 200, response.text
    manifests: list[dict[str, Any]] = response.json()["manifests"]
    return manifests


async def wait_attached(client: httpx.AsyncClient, repository: str, digest: str) -> dict[str, Any]:
    """The descriptor of the SBOM referrer of ``digest`` once it is there."""

    async def attached() -> list[dict[str, Any]]:
        return await referrers(client, repository, digest, CYCLONEDX)

    [sbom] = await wait_for(attached, f"the SBOM referrer of {digest}")
    return dict(sbom)


async def jobs_done(app: Starlette) -> None:
    """Wait until no scan and no SBOM job is queued or running. A scan queues its SBOM job
    in the transaction that records its result, before the scan job itself is done."""
    db = database(app)

    async def idle() -> bool:
        pending = [await queue.pending(db, kind) for kind in (SCAN_JOB, SBOM_REFERRER_JOB)]
        return pending == [0, 0]

    await wait_for(idle, "the scan and SBOM jobs")


async def rescan(app: Starlette, repository: str, digest: str) -> None:
    async with database(app).write() as session:
        manifest_id = (
            await session.execute(select(Manifest.id).where(Manifest.digest == digest))
        ).scalar_one()
        await queue.enqueue(session, SCAN_JOB, str(manifest_id))
    await jobs_done(app)


async def manifest(client: httpx.AsyncClient, repository: str, digest: str) -> dict[str, Any]:
    response = await client.get(
        f"/v2/{repository}/manifests/{digest}", headers={"Accept": OCI_MANIFEST}
    )
    assert response.status_code == 200, response.text
    assert response.headers["docker-content-digest"] == digest
    body: dict[str, Any] = json.loads(response.content)
    return body


async def test_a_scanned_image_gets_its_sbom_as_a_referrer(
    registry_client: httpx.AsyncClient,
) -> None:
    client = registry_client
    await organization(client, "sbom", attach=True)
    digest, _ = await push_scannable_image(client, "sbom/app")
    assert (await wait_scanned(client, "sbom/app", digest))["status"] == "scanned"

    listed = await wait_attached(client, "sbom/app", digest)

    assert (listed["mediaType"], listed["artifactType"]) == (OCI_MANIFEST, CYCLONEDX)
    assert listed["annotations"].keys() == {OURS}
    assert await referrers(client, "sbom/app", digest) == [listed]
    assert await referrers(client, "sbom/app", digest, "application/vnd.other") == []
    body = await manifest(client, "sbom/app", listed["digest"])
    assert body["artifactType"] == CYCLONEDX
    assert body["subject"]["digest"] == digest
    assert body["config"] == {"mediaType": OCI_EMPTY, "digest": sha256(b"{}"), "size": 2}
    [layer] = body["layers"]
    assert layer["mediaType"] == CYCLONEDX
    blob = await client.get(f"/v2/sbom/app/blobs/{layer['digest']}")
    assert blob.status_code == 200
    assert sha256(blob.content) == layer["digest"]
    served = await client.get(f"/api/v1/repository/sbom/app/manifest/{digest}/sbom")
    assert served.status_code == 200
    assert blob.content == served.content
    document = json.loads(blob.content)
    assert document["metadata"]["component"]["version"] == digest
    assert "pkg:pypi/urllib3@1.25.8" in {c["purl"] for c in document["components"]}
    report = await client.get(f"/api/v1/repository/sbom/app/manifest/{listed['digest']}/security")
    assert report.json()["status"] == "unsupported"


async def test_an_image_whose_index_is_reused_gets_its_own_sbom(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    """The same image pushed into a second repository reuses the first one's index (no
    layer read) and still gets its SBOM attached there."""
    client = registry_client
    scans = registry_app.state.services.scans
    await organization(client, "twins", attach=True)
    digest, _ = await push_scannable_image(client, "twins/first")
    await wait_attached(client, "twins/first", digest)
    reads = scans.layer_reads

    await push_scannable_image(client, "twins/second")
    listed = await wait_attached(client, "twins/second", digest)

    assert scans.layer_reads == reads
    [layer] = (await manifest(client, "twins/second", listed["digest"]))["layers"]
    blob = await client.get(f"/v2/twins/second/blobs/{layer['digest']}")
    assert blob.status_code == 200
    purls = {c["purl"] for c in json.loads(blob.content)["components"]}
    assert "pkg:pypi/urllib3@1.25.8" in purls


async def test_without_the_setting_nothing_is_attached(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    await organization(registry_client, "plain", attach=False)
    digest, _ = await push_scannable_image(registry_client, "plain/app")
    assert (await wait_scanned(registry_client, "plain/app", digest))["status"] == "scanned"
    await jobs_done(registry_app)

    assert await referrers(registry_client, "plain/app", digest) == []


async def test_a_rescan_replaces_only_cargoholds_older_sbom(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    client = registry_client
    await organization(client, "again", attach=True)
    digest, _ = await push_scannable_image(client, "again/app")
    first = await wait_attached(client, "again/app", digest)
    image_bytes = (await client.get(f"/v2/again/app/manifests/{digest}")).content
    image = PushedImage("again/app", image_bytes, OCI_MANIFEST, b"")
    older = await push_artifact(client, "again/app", image, CYCLONEDX, annotations={OURS: "0"})
    users = await push_artifact(
        client, "again/app", image, CYCLONEDX, annotations={"org.example.tool": "syft"}
    )

    await rescan(registry_app, "again/app", digest)

    listed = [r["digest"] for r in await referrers(client, "again/app", digest, CYCLONEDX)]
    assert sorted(listed) == sorted([first["digest"], users.digest])
    missing = await client.get(f"/v2/again/app/manifests/{older.digest}")
    assert missing.status_code == 404


async def test_a_refusing_quota_leaves_the_image_without_sbom(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    client = registry_client
    await organization(client, "tight", attach=False)
    digest, _ = await push_scannable_image(client, "tight/app")
    await wait_scanned(client, "tight/app", digest)
    await jobs_done(registry_app)
    usage = (await client.get("/api/v1/namespace/tight/quota")).json()["usage_bytes"]
    quota = await client.put("/api/v1/namespace/tight/quota", json={"quota_bytes": usage})
    assert quota.status_code == 200, quota.text
    await client.put("/api/v1/namespace/tight/sbom-referrers", json={"attach": True})

    await rescan(registry_app, "tight/app", digest)

    assert await referrers(client, "tight/app", digest) == []
    await client.put("/api/v1/namespace/tight/quota", json={"quota_bytes": None})
    await rescan(registry_app, "tight/app", digest)
    assert len(await referrers(client, "tight/app", digest)) == 1


async def test_collection_keeps_the_sbom_while_its_image_lives(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    client = registry_client
    await organization(client, "kept", attach=True)
    digest, _ = await push_scannable_image(client, "kept/app")
    sbom = await wait_attached(client, "kept/app", digest)
    layer = (await manifest(client, "kept/app", sbom["digest"]))["layers"][0]["digest"]
    await set_window(registry_app, "kept", 0)
    await age_everything(registry_app)

    await collector(registry_app).settle()

    assert await referrers(client, "kept/app", digest) == [sbom]
    assert layer in await stored_digests(registry_app)

    assert (await client.delete("/v2/kept/app/manifests/v1")).status_code == 202
    await age_everything(registry_app)
    await collector(registry_app).settle()

    assert await referrers(client, "kept/app", digest) == []
    gone = await client.get(f"/v2/kept/app/manifests/{sbom['digest']}")
    assert gone.status_code == 404
    assert layer not in await stored_digests(registry_app)
