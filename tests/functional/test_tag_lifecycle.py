"""Tag history (issue 4) through /v2 and /api/v1 together: restore after a delete and after
a move, the namespace's window (0 and a small one), expiry (by the API and by the
``cargohold.expires-after`` label), immutable tags (repository and namespace rules), each
auto-prune rule (the job run directly), and the audit entries of all of these."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from cargohold.app import create_tag_jobs
from cargohold.auth.audit import AuditQuery, render_event
from cargohold.workers.tag_lifecycle import TagLifecycleJobs

from .helpers import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    PushedImage,
    assert_error,
    descriptor,
    image_manifest,
    push_blob,
    push_image,
    put_manifest,
    random_bytes,
    sha256,
)

REPO = "team/app"
MANIFEST_TYPES = "application/vnd.oci.image.manifest.v1+json"
EXPIRY_MARGIN = 3.0
"""Seconds ahead that tests set an expiry: enough for the request on a loaded machine."""


async def sleep_past(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.2)


def jobs(app: Starlette) -> TagLifecycleJobs:
    services = app.state.services
    return create_tag_jobs(services.manifests.db, services, app.state.auth)


async def events(app: Starlette, kind: str) -> list[dict[str, Any]]:
    await app.state.auth.audit.flush()
    found = await app.state.auth.audit.list(AuditQuery(kind=kind, limit=1000))
    return [render_event(event) for event in found]


async def history(client: httpx.AsyncClient, repository: str = REPO, **params: Any) -> list[Any]:
    response = await client.get(f"/api/v1/repository/{repository}/tag/", params=params)
    assert response.status_code == 200, response.text
    tags: list[Any] = response.json()["tags"]
    return tags


async def restore(
    client: httpx.AsyncClient, tag: str, digest: str, repository: str = REPO
) -> httpx.Response:
    return await client.post(
        f"/api/v1/repository/{repository}/tag/{tag}/restore", json={"manifest_digest": digest}
    )


async def pulled(client: httpx.AsyncClient, tag: str, repository: str = REPO) -> str | None:
    """The digest the tag pulls, or None when it is unknown."""
    response = await client.get(
        f"/v2/{repository}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES}
    )
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    digest: str = response.headers["docker-content-digest"]
    return digest


async def listed(client: httpx.AsyncClient, repository: str = REPO) -> list[str]:
    response = await client.get(f"/v2/{repository}/tags/list")
    assert response.status_code == 200, response.text
    tags: list[str] = response.json()["tags"]
    return tags


async def set_window(client: httpx.AsyncClient, namespace: str, seconds: int) -> None:
    response = await client.put(
        f"/api/v1/namespace/{namespace}/tag-history", json={"seconds": seconds}
    )
    assert response.status_code == 200, response.text


async def push_labelled(
    client: httpx.AsyncClient,
    tag: str,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> PushedImage:
    """An image whose config carries ``config.Labels``, and whose manifest
    ``annotations``."""
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {"Labels": labels or {}}}
    ).encode()
    layer = random_bytes(256)
    for blob in (config, layer):
        await push_blob(client, REPO, blob)
    extra: dict[str, Any] = {"annotations": annotations} if annotations else {}
    manifest = image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER_GZIP, layer)], **extra
    )
    response = await put_manifest(client, REPO, tag, manifest)
    assert response.status_code == 201, response.text
    return PushedImage(REPO, manifest, MANIFEST_TYPES, config, [layer])


def live(rows: list[Any], tag: str) -> Any:
    [row] = [r for r in rows if r["name"] == tag and r["end"] is None]
    return row


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- restore ----------------------------------------------------------------------------------


async def test_restore_after_delete(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    image = await push_image(registry_client, REPO, "v1")
    deleted = await registry_client.delete(f"/v2/{REPO}/manifests/v1")
    assert deleted.status_code == 202
    assert await pulled(registry_client, "v1") is None

    [ended] = await history(registry_client)
    assert (ended["name"], ended["manifest_digest"], ended["restored"]) == (
        "v1",
        image.digest,
        False,
    )
    assert ended["end"] is not None
    assert await history(registry_client, active_only=True) == []

    response = await restore(registry_client, "v1", image.digest)
    assert response.status_code == 200, response.text
    assert response.json()["restored"] is True
    assert await pulled(registry_client, "v1") == image.digest
    assert await listed(registry_client) == ["v1"]
    [restored_event] = await events(registry_app, "tag_restore")
    assert restored_event["details"] == {"tag": "v1", "manifest": image.digest, "previous": None}
    [deleted_event] = await events(registry_app, "tag_delete")
    assert deleted_event["details"] == {"tag": "v1"}
    assert deleted_event["performer"] == "admin"


async def test_restore_after_move(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    first = await push_image(registry_client, REPO, "latest")
    second = await push_image(registry_client, REPO, "latest")
    assert await pulled(registry_client, "latest") == second.digest

    response = await restore(registry_client, "latest", first.digest)

    assert response.status_code == 200, response.text
    assert await pulled(registry_client, "latest") == first.digest
    rows = await history(registry_client, specific_tag="latest")
    assert [(r["manifest_digest"], r["restored"], r["end"] is None) for r in rows] == [
        (first.digest, True, True),
        (second.digest, False, False),
        (first.digest, False, False),
    ]
    moves = await events(registry_app, "tag_move")
    assert [m["details"]["previous"] for m in moves] == [first.digest, None]
    [event] = await events(registry_app, "tag_restore")
    assert event["details"]["previous"] == second.digest


async def test_restore_refuses_what_the_tag_never_pointed_at(
    registry_client: httpx.AsyncClient,
) -> None:
    tagged = await push_image(registry_client, REPO, "v1")
    other = await push_image(registry_client, REPO, "other")

    never = await restore(registry_client, "v1", other.digest)
    assert_error(never, 400, "INVALID_REQUEST")
    assert "did not point" in never.json()["errors"][0]["message"]

    gone = await registry_client.delete(f"/v2/{REPO}/manifests/{tagged.digest}")
    assert gone.status_code == 202
    missing = await restore(registry_client, "v1", tagged.digest)
    assert_error(missing, 400, "INVALID_REQUEST")
    assert "no longer exists" in missing.json()["errors"][0]["message"]


async def test_a_window_of_zero_offers_no_history(registry_client: httpx.AsyncClient) -> None:
    first = await push_image(registry_client, REPO, "v1")
    second = await push_image(registry_client, REPO, "v1")
    await set_window(registry_client, "team", 0)

    rows = await history(registry_client)
    assert [r["manifest_digest"] for r in rows] == [second.digest]
    assert_error(await restore(registry_client, "v1", first.digest), 400, "INVALID_REQUEST")
    window = await registry_client.get("/api/v1/namespace/team/tag-history")
    assert window.json() == {"namespace": "team", "seconds": 0}


async def test_a_small_window_ends(registry_client: httpx.AsyncClient) -> None:
    window = await registry_client.get("/api/v1/namespace/team/tag-history")
    assert window.status_code == 404  # the namespace does not exist yet
    first = await push_image(registry_client, REPO, "v1")
    assert (await registry_client.get("/api/v1/namespace/team/tag-history")).json()[
        "seconds"
    ] == 14 * 86400
    await set_window(registry_client, "team", int(EXPIRY_MARGIN))
    await push_image(registry_client, REPO, "v1")
    moved = datetime.now(UTC)
    assert len(await history(registry_client)) == 2

    await sleep_past(moved + timedelta(seconds=EXPIRY_MARGIN))

    assert len(await history(registry_client)) == 1
    assert_error(await restore(registry_client, "v1", first.digest), 400, "INVALID_REQUEST")


# -- expiry -----------------------------------------------------------------------------------


async def test_expiry_set_through_the_api(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    image = await push_image(registry_client, REPO, "v1")
    await push_image(registry_client, REPO, "keep")
    soon = datetime.now(UTC) + timedelta(seconds=EXPIRY_MARGIN)

    response = await registry_client.put(
        f"/api/v1/repository/{REPO}/tag/v1", json={"expires_at": soon.isoformat()}
    )
    assert response.status_code == 200, response.text
    assert parse(response.json()["expires_at"]) == soon
    assert await pulled(registry_client, "v1") == image.digest

    await sleep_past(soon)

    assert await pulled(registry_client, "v1") is None
    assert await listed(registry_client) == ["keep"]
    assert [r["name"] for r in await history(registry_client, active_only=True)] == ["keep"]
    [expired] = await history(registry_client, specific_tag="v1")
    assert parse(expired["end"]) == parse(expired["expires_at"])
    assert await jobs(registry_app).end_expired() == 1
    assert await jobs(registry_app).end_expired() == 0
    [ended] = await history(registry_client, specific_tag="v1")
    assert ended["end"] == expired["end"]
    [change] = await events(registry_app, "tag_expiry_change")
    assert change["details"]["before"] is None
    [job_event] = await events(registry_app, "tag_expired")
    assert (job_event["details"]["tag"], job_event["performer"]) == ("v1", "tag-expiry")

    # the tag can be pushed again, and then never expires
    again = await push_image(registry_client, REPO, "v1")
    assert await pulled(registry_client, "v1") == again.digest
    assert live(await history(registry_client), "v1")["expires_at"] is None


async def test_expiry_changes_and_refusals(registry_client: httpx.AsyncClient) -> None:
    await push_image(registry_client, REPO, "v1")
    later = datetime.now(UTC) + timedelta(days=1)
    url = f"/api/v1/repository/{REPO}/tag/v1"

    assert (await registry_client.put(url, json={"expires_at": later.isoformat()})).is_success
    cleared = await registry_client.put(url, json={"expires_at": None})
    assert cleared.json()["expires_at"] is None
    past = datetime.now(UTC) - timedelta(seconds=5)
    assert_error(
        await registry_client.put(url, json={"expires_at": past.isoformat()}),
        400,
        "INVALID_REQUEST",
    )
    missing = await registry_client.put(
        f"/api/v1/repository/{REPO}/tag/nope", json={"expires_at": later.isoformat()}
    )
    assert_error(missing, 404, "NOT_FOUND")


async def test_expiry_from_a_config_label(registry_client: httpx.AsyncClient) -> None:
    before = datetime.now(UTC)
    await push_labelled(registry_client, "labelled", labels={"cargohold.expires-after": "2w"})
    await push_labelled(registry_client, "annotated", annotations={"cargohold.expires-after": "3h"})
    await push_labelled(registry_client, "nonsense", labels={"cargohold.expires-after": "soon"})
    rows = await history(registry_client)

    labelled = parse(live(rows, "labelled")["expires_at"]) - before
    annotated = parse(live(rows, "annotated")["expires_at"]) - before
    assert timedelta(days=14) <= labelled < timedelta(days=14, minutes=1)
    assert timedelta(hours=3) <= annotated < timedelta(hours=3, minutes=1)
    assert live(rows, "nonsense")["expires_at"] is None


# -- immutable tags ---------------------------------------------------------------------------


async def test_a_repository_rule_makes_tags_immutable(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    await push_image(registry_client, REPO, "latest")
    created = await registry_client.post(
        f"/api/v1/repository/{REPO}/immutable-tags", json={"pattern": "v*"}
    )
    assert created.status_code == 201, created.text
    rule = created.json()
    first = await push_image(registry_client, REPO, "v1")  # a new tag is allowed

    other = await push_image(registry_client, REPO, "latest")
    moved = await put_manifest(registry_client, REPO, "v1", other.manifest)
    assert_error(moved, 403, "DENIED")
    message = moved.json()["errors"][0]["message"]
    assert f"rule {rule['id']}" in message and "'v*'" in message
    again = await put_manifest(registry_client, REPO, "v1", first.manifest)
    assert again.status_code == 201  # the same manifest: nothing moves
    assert_error(await registry_client.delete(f"/v2/{REPO}/manifests/v1"), 403, "DENIED")
    by_digest = await registry_client.delete(f"/v2/{REPO}/manifests/{first.digest}")
    assert_error(by_digest, 403, "DENIED")
    expiry = await registry_client.put(
        f"/api/v1/repository/{REPO}/tag/v1",
        json={"expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
    )
    assert_error(expiry, 403, "DENIED")
    assert_error(await restore(registry_client, "v1", other.digest), 400, "INVALID_REQUEST")
    assert await pulled(registry_client, "v1") == first.digest
    refusals = await events(registry_app, "tag_immutable_refused")
    assert sorted(e["details"]["action"] for e in refusals) == [
        "delete",
        "delete",
        "expire",
        "move",
    ]

    listed_rules = await registry_client.get(f"/api/v1/repository/{REPO}/immutable-tags")
    assert [r["pattern"] for r in listed_rules.json()] == ["v*"]
    removed = await registry_client.delete(f"/api/v1/repository/{REPO}/immutable-tags/{rule['id']}")
    assert removed.status_code == 204
    assert (await put_manifest(registry_client, REPO, "v1", other.manifest)).status_code == 201
    assert [
        e["details"]["pattern"] for e in await events(registry_app, "immutable_tag_rule_create")
    ] == ["v*"]
    assert len(await events(registry_app, "immutable_tag_rule_delete")) == 1


async def test_a_namespace_rule_covers_every_repository(
    registry_client: httpx.AsyncClient,
) -> None:
    await push_image(registry_client, REPO, "release-1")
    created = await registry_client.post(
        "/api/v1/namespace/team/immutable-tags", json={"pattern": "release-[0-9]"}
    )
    assert created.status_code == 201, created.text
    await push_image(registry_client, "team/other", "release-2")

    for repository, tag in ((REPO, "release-1"), ("team/other", "release-2")):
        pushed = await push_image(registry_client, repository, "scratch")
        moved = await put_manifest(registry_client, repository, tag, pushed.manifest)
        assert_error(moved, 403, "DENIED")
        assert "namespace team" in moved.json()["errors"][0]["message"]
        deleted = await registry_client.delete(f"/v2/{repository}/manifests/{tag}")
        assert_error(deleted, 403, "DENIED")
    assert (await registry_client.delete(f"/v2/{REPO}/manifests/scratch")).status_code == 202
    rules = (await registry_client.get("/api/v1/namespace/team/immutable-tags")).json()
    assert [(r["pattern"], r["repository"]) for r in rules] == [("release-[0-9]", None)]


# -- auto-prune -------------------------------------------------------------------------------


async def add_policy(client: httpx.AsyncClient, scope: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/{scope}/prune-policies", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_prune_keeps_the_newest(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    for tag in ("t1", "t2", "t3", "t4"):
        await push_image(registry_client, REPO, tag)
    policy = await add_policy(registry_client, f"repository/{REPO}", method="keep_newest", value=2)

    pruned = await jobs(registry_app).prune()

    assert sorted(p.tag for p in pruned) == ["t1", "t2"]
    assert await listed(registry_client) == ["t3", "t4"]
    entries = await events(registry_app, "tag_pruned")
    assert {(e["performer"], e["performer_kind"]) for e in entries} == {
        (f"prune-policy/{policy['id']}", "policy")
    }
    assert sorted(e["details"]["tag"] for e in entries) == ["t1", "t2"]
    assert await jobs(registry_app).prune() == []
    # pruned tags stay restorable within the window
    [t1] = await history(registry_client, specific_tag="t1")
    assert (await restore(registry_client, "t1", t1["manifest_digest"])).status_code == 200


async def test_prune_older_than_with_a_pattern(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    for tag in ("dev-1", "dev-2", "v1"):
        await push_image(registry_client, REPO, tag)
    await add_policy(registry_client, "namespace/team", method="older_than", value=3600)
    assert await jobs(registry_app).prune() == []

    await add_policy(
        registry_client, "namespace/team", method="older_than", value=0, tag_pattern="dev-*"
    )
    pruned = await jobs(registry_app).prune()

    assert sorted(p.tag for p in pruned) == ["dev-1", "dev-2"]
    assert await listed(registry_client) == ["v1"]


async def test_prune_never_deletes_immutable_tags(
    registry_client: httpx.AsyncClient, registry_app: Starlette
) -> None:
    for tag in ("v1", "latest"):
        await push_image(registry_client, REPO, tag)
    await registry_client.post("/api/v1/namespace/team/immutable-tags", json={"pattern": "v*"})
    policy = await add_policy(registry_client, "namespace/team", method="keep_newest", value=0)

    await jobs(registry_app).prune()

    assert await listed(registry_client) == ["v1"]
    policies = (await registry_client.get("/api/v1/namespace/team/prune-policies")).json()
    assert [p["id"] for p in policies] == [policy["id"]]
    deleted = await registry_client.delete(f"/api/v1/namespace/team/prune-policies/{policy['id']}")
    assert deleted.status_code == 204
    assert (await registry_client.get("/api/v1/namespace/team/prune-policies")).json() == []
    assert len(await events(registry_app, "prune_policy_create")) == 1
    assert len(await events(registry_app, "prune_policy_delete")) == 1


async def test_expired_tag_pushed_again_with_the_same_manifest(
    registry_client: httpx.AsyncClient,
) -> None:
    image = await push_image(registry_client, REPO, "v1")
    soon = datetime.now(UTC) + timedelta(seconds=EXPIRY_MARGIN)
    expiring = await registry_client.put(
        f"/api/v1/repository/{REPO}/tag/v1", json={"expires_at": soon.isoformat()}
    )
    assert expiring.status_code == 200, expiring.text
    await sleep_past(soon)

    response = await put_manifest(registry_client, REPO, "v1", image.manifest)

    assert response.status_code == 201
    assert await pulled(registry_client, "v1") == sha256(image.manifest)
    assert len(await history(registry_client, specific_tag="v1")) == 2
