"""Garbage collection (``content.gc``) and quotas (``content.quotas``) through the /v2 and
/api/v1 APIs: what is collected, what survives each race with a push, and usage.

Time is made to pass by moving timestamps back (``age_everything``), not by waiting.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from cargohold.config import Settings
from cargohold.content.gc import BYTES_JOB
from cargohold.db.auth_models import AuditEvent
from cargohold.db.models import Blob, BlobUpload, Manifest, utcnow
from cargohold.db.scanner_models import WorkItem
from cargohold.workers import queue

from .gc_support import (
    age_everything,
    assert_fsck_clean,
    collector,
    database,
    referenced_digests,
    set_window,
    stored_digests,
    stored_uploads,
    usage,
)
from .helpers import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    PushedImage,
    assert_error,
    descriptor,
    functional_settings,
    image_manifest,
    index_manifest,
    push_artifact,
    push_blob,
    push_image,
    put_manifest,
    random_bytes,
    sha256,
    start_upload,
)


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(database_url, tmp_path, background_workers=False)


async def pulls(client: httpx.AsyncClient, image: PushedImage, reference: str) -> None:
    """The image pulls completely and byte for byte under ``reference``."""
    response = await client.get(
        f"/v2/{image.repository}/manifests/{reference}", headers={"Accept": image.media_type}
    )
    assert response.status_code == 200, response.text
    assert response.content == image.manifest
    for blob in [image.config, *image.layers]:
        got = await client.get(f"/v2/{image.repository}/blobs/{sha256(blob)}")
        assert got.status_code == 200, got.text
        assert got.content == blob


async def manifest_exists(client: httpx.AsyncClient, repository: str, digest: str) -> bool:
    response = await client.head(f"/v2/{repository}/manifests/{digest}")
    return response.status_code == 200


async def test_an_untagged_image_is_collected_bytes_and_all(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    kept = await push_image(registry_client, "team/app", "keep")
    image = await push_image(registry_client, "team/app", "gone")
    await set_window(registry_app, "team", 0)
    assert (await registry_client.delete("/v2/team/app/manifests/gone")).status_code == 202
    await age_everything(registry_app)

    stats = await collector(registry_app).settle()

    assert stats.manifests == 1 and stats.blobs == 3
    assert not await manifest_exists(registry_client, "team/app", image.digest)
    stored = await stored_digests(registry_app)
    assert not {sha256(b) for b in [image.config, *image.layers]} & stored
    assert stored == await referenced_digests(registry_app)
    await pulls(registry_client, kept, "keep")
    kept_usage, actual = await usage(registry_app, "team")
    assert kept_usage == actual == len(kept.config) + sum(map(len, kept.layers))
    await assert_fsck_clean(registry_app)


async def test_a_deleted_tag_is_kept_within_the_window(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    image = await push_image(registry_client, "team/app", "v1")
    assert (await registry_client.delete("/v2/team/app/manifests/v1")).status_code == 202
    await age_everything(registry_app)  # the tag ended just now: within two weeks

    stats = await collector(registry_app).settle()

    assert stats.manifests == 0
    assert await manifest_exists(registry_client, "team/app", image.digest)


async def test_a_layer_uploaded_before_its_manifest_survives(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    layer = random_bytes(2048)
    digest = await push_blob(registry_client, "team/app", layer)

    await collector(registry_app).settle()

    assert digest in await stored_digests(registry_app)
    response = await registry_client.get(f"/v2/team/app/blobs/{digest}")
    assert response.content == layer


async def test_a_manifest_pushed_by_digest_before_its_index_survives(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    child = await push_image(registry_client, "team/multi", "tmp")
    await registry_client.delete("/v2/team/multi/manifests/tmp")
    child_by_digest = await push_image(registry_client, "team/multi", "x")
    await registry_client.delete("/v2/team/multi/manifests/x")
    await set_window(registry_app, "team", 0)

    # Young untagged manifests are kept (the uploaded-blob protection).
    await collector(registry_app).settle()
    assert await manifest_exists(registry_client, "team/multi", child_by_digest.digest)

    index = index_manifest([child_by_digest.descriptor()])
    response = await put_manifest(registry_client, "team/multi", "latest", index, OCI_INDEX)
    assert response.status_code == 201, response.text
    await age_everything(registry_app)

    await collector(registry_app).settle()

    assert await manifest_exists(registry_client, "team/multi", child_by_digest.digest)
    assert not await manifest_exists(registry_client, "team/multi", child.digest)
    await pulls(registry_client, child_by_digest, child_by_digest.digest)
    await assert_fsck_clean(registry_app)


async def test_a_manifest_pushed_again_by_digest_is_young_again(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    image = await push_image(registry_client, "team/multi", "tmp")
    await registry_client.delete("/v2/team/multi/manifests/tmp")
    await set_window(registry_app, "team", 0)
    await age_everything(registry_app)
    for blob in [image.config, *image.layers]:
        await push_blob(registry_client, "team/multi", blob)
    response = await put_manifest(registry_client, "team/multi", image.digest, image.manifest)
    assert response.status_code == 201

    await collector(registry_app).settle()

    index = index_manifest([image.descriptor()])
    response = await put_manifest(registry_client, "team/multi", "latest", index, OCI_INDEX)
    assert response.status_code == 201, response.text


async def test_a_referrer_of_a_kept_manifest_stays_and_goes_with_its_subject(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    subject = await push_image(registry_client, "team/signed", "v1")
    signature = await push_artifact(registry_client, "team/signed", subject, "application/sig")
    await set_window(registry_app, "team", 0)
    await age_everything(registry_app)

    await collector(registry_app).settle()
    assert await manifest_exists(registry_client, "team/signed", signature.digest)

    await registry_client.delete("/v2/team/signed/manifests/v1")
    await age_everything(registry_app)
    stats = await collector(registry_app).settle()

    assert stats.manifests == 2
    assert not await manifest_exists(registry_client, "team/signed", signature.digest)
    assert await stored_digests(registry_app) == set()


async def test_a_tag_moved_back_keeps_its_manifest(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    first = await push_image(registry_client, "team/app", "latest")
    second = await push_image(registry_client, "team/app", "latest")
    await set_window(registry_app, "team", 0)
    response = await put_manifest(registry_client, "team/app", "latest", first.manifest)
    assert response.status_code == 201
    await age_everything(registry_app)

    await collector(registry_app).settle()

    await pulls(registry_client, first, "latest")
    assert not await manifest_exists(registry_client, "team/app", second.digest)
    assert await stored_digests(registry_app) == await referenced_digests(registry_app)


async def test_a_tag_moved_back_while_collection_runs(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    first = await push_image(registry_client, "team/app", "latest")
    await push_image(registry_client, "team/app", "latest")
    await set_window(registry_app, "team", 0)
    await age_everything(registry_app)
    gc = collector(registry_app)

    async def move_back() -> int:
        response = await put_manifest(registry_client, "team/app", "latest", first.manifest)
        return response.status_code

    statuses = await asyncio.gather(*(move_back() for _ in range(5)), gc.settle())
    assert statuses[:5] == [201] * 5
    await gc.settle()
    await pulls(registry_client, first, "latest")


async def test_a_mount_either_keeps_the_blob_or_falls_back_to_an_upload(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    source = await push_image(registry_client, "team/base", "v1")
    layer = sha256(source.layers[0])
    mounted = await registry_client.post(
        f"/v2/team/derived/blobs/uploads/?mount={layer}&from=team/base"
    )
    assert mounted.status_code == 201
    await set_window(registry_app, "team", 0)
    await registry_client.delete("/v2/team/base/manifests/v1")
    await age_everything(registry_app)
    # The mount's protection was aged too; a fresh mount is refused now the source's
    # manifest is garbage-collected, and the client uploads instead.
    await collector(registry_app).settle()
    again = await registry_client.post(
        f"/v2/team/derived/blobs/uploads/?mount={layer}&from=team/base"
    )
    assert again.status_code == 202

    # A mount made just before collection keeps the blob (its protection is fresh).
    other = await push_image(registry_client, "team/base", "v2")
    second = sha256(other.layers[0])
    await registry_client.delete("/v2/team/base/manifests/v2")
    await age_everything(registry_app)
    gc = collector(registry_app)
    mount, _ = await asyncio.gather(
        registry_client.post(f"/v2/team/other/blobs/uploads/?mount={second}&from=team/base"),
        gc.settle(),
    )
    await gc.settle()
    if mount.status_code == 201:
        blob = await registry_client.get(f"/v2/team/other/blobs/{second}")
        assert blob.status_code == 200 and blob.content == other.layers[0]
    else:
        assert mount.status_code == 202
    assert await stored_digests(registry_app) == await referenced_digests(registry_app)


async def test_an_upload_of_the_same_digest_cancels_the_byte_deletion(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    layer = random_bytes(4096)
    digest = await push_blob(registry_client, "team/app", layer)
    await age_everything(registry_app)
    gc = collector(registry_app, grace=timedelta(hours=1))
    assert await gc.collect_blobs() == 1  # the row is gone, its bytes wait for the grace
    assert digest in await stored_digests(registry_app)

    await push_blob(registry_client, "team/app", layer)  # the same layer pushed again
    async with database(registry_app).read() as session:
        pending = (
            await session.execute(select(WorkItem.id).where(WorkItem.kind == BYTES_JOB))
        ).all()
    assert pending == []
    await gc.delete_bytes(digest)  # a deletion claimed before the upload finds no job
    response = await registry_client.get(f"/v2/team/app/blobs/{digest}")
    assert response.status_code == 200 and response.content == layer


async def test_bytes_wait_for_a_re_check(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    layer = random_bytes(1000)
    digest = await push_blob(registry_client, "team/app", layer)
    await age_everything(registry_app)
    gc = collector(registry_app)
    await gc.collect_blobs()
    async with database(registry_app).write() as session:
        session.add(Blob(digest=digest, size=len(layer)))  # a row came back meanwhile
    await gc.delete_bytes(digest)
    assert digest in await stored_digests(registry_app)


async def test_abandoned_uploads_are_removed_with_their_bytes(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    location = await start_upload(registry_client, "team/app")
    response = await registry_client.patch(location, content=b"x" * 100)
    assert response.status_code == 202
    fresh = await start_upload(registry_client, "team/app")
    async with database(registry_app).write() as session:
        upload_id = fresh.rstrip("/").split("/")[-1].split("?")[0]
        await session.execute(
            update(BlobUpload)
            .where(BlobUpload.id != upload_id)
            .values(updated_at=utcnow() - timedelta(days=2))
        )

    removed = await collector(registry_app).collect_uploads()

    assert removed == 1
    assert len(await stored_uploads(registry_app)) == 1
    assert (await registry_client.get(location)).status_code == 404
    assert (await registry_client.get(fresh)).status_code == 204


async def test_a_deleted_repository_is_reclaimed_in_the_background(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    kept = await push_image(registry_client, "team/kept", "v1")
    await push_image(registry_client, "team/doomed", "v1")
    await start_upload(registry_client, "team/doomed")
    response = await registry_client.delete("/api/v1/repository/team/doomed")
    assert response.status_code == 204
    assert (await registry_client.get("/v2/team/doomed/tags/list")).status_code == 404
    await age_everything(registry_app)

    await collector(registry_app, grace=timedelta(0)).settle()

    assert await stored_digests(registry_app) == {sha256(b) for b in [kept.config, *kept.layers]}
    kept_usage, actual = await usage(registry_app, "team")
    assert kept_usage == actual
    assert await stored_uploads(registry_app) == []
    await assert_fsck_clean(registry_app)


async def test_settle_waits_for_a_collection_job_another_worker_holds(
    registry_app: Starlette,
) -> None:
    """What a background worker is deleting is gone once ``settle`` returns."""
    db = database(registry_app)
    async with db.write() as session:
        await queue.enqueue(session, BYTES_JOB, sha256(b"held by a worker"))
    [held] = await queue.claim(db, [BYTES_JOB], timedelta(minutes=5))

    async def finish_later() -> None:
        await asyncio.sleep(0.3)
        await queue.complete(db, held)

    finishing = asyncio.create_task(finish_later())
    await collector(registry_app).settle()
    assert finishing.done()
    await finishing


async def test_two_collectors_at_once_collect_once(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    for number in range(6):
        await push_image(registry_client, f"team/app{number % 3}", f"t{number}")
        await registry_client.delete(f"/v2/team/app{number % 3}/manifests/t{number}")
    await set_window(registry_app, "team", 0)
    await age_everything(registry_app)
    one, two = collector(registry_app), collector(registry_app)

    await asyncio.gather(one.settle(), two.settle())

    assert one.stats.manifests + two.stats.manifests == 6
    assert one.stats.blobs + two.stats.blobs == 18
    assert await stored_digests(registry_app) == set()
    async with database(registry_app).read() as session:
        assert (await session.execute(select(Manifest.id))).all() == []


# Quotas


async def set_quota(
    client: httpx.AsyncClient, namespace: str, quota: int | None, warning: int = 80
) -> httpx.Response:
    return await client.put(
        f"/api/v1/namespace/{namespace}/quota",
        json={"quota_bytes": quota, "warning_percent": warning},
    )


async def test_quota_warning_and_reject(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    await push_blob(registry_client, "acme/app", b"seed")  # makes the namespace
    response = await set_quota(registry_client, "acme", 10_000, 50)
    assert response.status_code == 200, response.text
    first = await push_image(registry_client, "acme/app", "v1", layers=2, layer_size=3000)
    used = len(first.config) + 6000
    quota = (await registry_client.get("/api/v1/namespace/acme/quota")).json()
    assert quota == {
        "namespace": "acme",
        "quota_bytes": 10_000,
        "warning_percent": 50,
        "usage_bytes": used,
    }
    async with database(registry_app).read() as session:
        warnings = (
            await session.execute(
                select(AuditEvent.details).where(AuditEvent.kind == "quota_warning")
            )
        ).all()
    assert len(warnings) == 1

    # Sharing the layers costs nothing; a new 5000-byte layer passes the quota.
    layers = [first.layers[0], random_bytes(5000)]
    for blob in [first.config, *layers]:
        await push_blob(registry_client, "acme/other", blob)
    manifest = image_manifest(
        descriptor(OCI_CONFIG, first.config), [descriptor(OCI_LAYER_GZIP, b) for b in layers]
    )
    refused = await put_manifest(registry_client, "acme/other", "v1", manifest)
    assert_error(refused, 403, "DENIED")
    message = refused.json()["errors"][0]["message"]
    assert "acme's 9.8 KiB quota" in message and "would use" in message
    assert (await registry_client.get("/v2/acme/other/manifests/v1")).status_code == 404
    assert (await registry_client.get("/api/v1/namespace/acme/quota")).json()["usage_bytes"] == used

    # A re-tag adds nothing and passes.
    retag = await put_manifest(registry_client, "acme/app", "again", first.manifest)
    assert retag.status_code == 201


async def test_usage_after_deletes_and_collection(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    one = await push_image(registry_client, "acme/a", "v1", layers=1, layer_size=1000)
    shared = one.layers[0]
    for blob in [one.config, shared]:
        await push_blob(registry_client, "acme/b", blob)
    response = await put_manifest(registry_client, "acme/b", "v1", one.manifest)
    assert response.status_code == 201
    size = len(one.config) + len(shared)
    assert (await usage(registry_app, "acme")) == (size, size)

    await set_window(registry_app, "acme", 0)
    await registry_client.delete(f"/v2/acme/a/manifests/{one.digest}")
    await age_everything(registry_app)
    await collector(registry_app).settle()
    assert (await usage(registry_app, "acme")) == (size, size)  # still used in acme/b

    await registry_client.delete("/v2/acme/b/manifests/v1")
    await age_everything(registry_app)
    await collector(registry_app).settle()
    assert (await usage(registry_app, "acme")) == (0, 0)
    assert await stored_digests(registry_app) == set()


async def test_quota_is_set_by_superusers_and_read_by_admins(
    registry_app: Starlette, registry_client: httpx.AsyncClient, anonymous_client: httpx.AsyncClient
) -> None:
    await push_blob(registry_client, "acme/app", b"seed")
    bad = await set_quota(registry_client, "acme", -1)
    assert bad.status_code == 400
    assert (await set_quota(registry_client, "nowhere", 5)).status_code == 404
    assert (await set_quota(anonymous_client, "acme", 5)).status_code in (401, 403)
    assert (await anonymous_client.get("/api/v1/namespace/acme/quota")).status_code in (
        401,
        403,
        404,
    )
    cleared = await set_quota(registry_client, "acme", None)
    assert cleared.json()["quota_bytes"] is None
