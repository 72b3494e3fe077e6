"""Garbage collection under load: several clients push images that share layers, push
indexes and referrers, re-tag, move tags back, delete tags and manifests, mount and pull,
for ``CARGOHOLD_STRESS_SECONDS`` (default 10) per database, while the background workers
collect continuously with a window of zero. Every pull of a live tag during the run must
succeed byte for byte, and every push must succeed unless the client took longer than the
upload protection (it is then refused as the blob or child it names unknown, as a real
client that slow would be: see ``Client.push_manifest``). At the end, once collection
settles, storage holds exactly the blobs of the manifests that something keeps, the
database exactly those manifests, usage matches a recount, and ``fsck`` is clean.

Each client owns its tags, so its own model of them is the truth; the content (shared
layers) is shared by all clients and both repositories.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from cargohold.config import Settings
from cargohold.db.models import Manifest, Repository

from .gc_support import (
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
    EMPTY_JSON,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    PushedImage,
    descriptor,
    functional_settings,
    image_manifest,
    index_manifest,
    push_blob,
    put_manifest,
    random_bytes,
    sha256,
)

SECONDS = float(os.environ.get("CARGOHOLD_STRESS_SECONDS", "10"))
PROTECTION_SECONDS = 2
GRACE_SECONDS = 1.0
CLIENTS = 4
REPOSITORIES = ("stress/app", "stress/web")
SHARED = [random_bytes(random.randint(2048, 16384)) for _ in range(8)]
OCCASIONAL = [random_bytes(random.randint(512, 4096)) for _ in range(24)]
"""Layers few images share: they fall out of use and are pushed again, often while their
bytes wait for deletion."""
ACCEPT = f"{OCI_MANIFEST}, {OCI_INDEX}"
LATE_ERRORS = ("MANIFEST_BLOB_UNKNOWN", "MANIFEST_UNKNOWN")
"""How a push is refused when what it names lost its protection before the manifest came."""


@pytest.fixture
def registry_settings(database_url: str, tmp_path: Path) -> Settings:
    return functional_settings(
        database_url,
        tmp_path,
        background_workers=True,
        worker_concurrency=3,
        worker_poll_seconds=0.05,
        gc_interval_seconds=0.2,
        gc_grace_seconds=GRACE_SECONDS,
        uploaded_blob_protection_seconds=PROTECTION_SECONDS,
    )


@dataclass
class Pushed:
    """A manifest pushed by a client, with what it needs to verify a pull."""

    repository: str
    image: PushedImage
    child: PushedImage | None = None


@dataclass
class Client:
    number: int
    http: httpx.AsyncClient
    tags: dict[tuple[str, str], Pushed] = field(default_factory=dict)
    referrers: list[tuple[str, PushedImage]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    late: int = 0
    """Pushes refused because the client took longer than the protection (allowed)."""
    counter: int = 0
    operations: dict[str, int] = field(default_factory=dict)

    def tag_name(self) -> str:
        self.counter += 1
        return f"c{self.number}-{self.counter % 12}"

    def expect(self, response: httpx.Response, statuses: tuple[int, ...], what: str) -> bool:
        if response.status_code in statuses:
            return True
        self.failures.append(f"{what}: {response.status_code} {response.text[:300]}")
        return False

    async def push_manifest(
        self,
        repository: str,
        reference: str,
        manifest: bytes,
        media_type: str,
        started: float,
    ) -> bool:
        """PUT a manifest whose blobs (or child) the client began to push at ``started``
        (monotonic); whether it was stored. The registry guarantees what was pushed for
        ``PROTECTION_SECONDS`` only: a refusal within that time is a failure, a refusal
        after it (the machine was slow) is counted in ``late``."""
        response = await put_manifest(self.http, repository, reference, manifest, media_type)
        elapsed = time.monotonic() - started
        refused_late = (
            response.status_code == 400
            and elapsed >= PROTECTION_SECONDS
            and response.json()["errors"][0]["code"] in LATE_ERRORS
        )
        if refused_late:
            self.late += 1
            return False
        return self.expect(response, (201,), f"push {repository}:{reference} ({elapsed:.2f} s)")

    async def push_image(
        self, repository: str, reference: str | None, started: float | None = None
    ) -> PushedImage | None:
        started = time.monotonic() if started is None else started
        config = json.dumps({"os": "linux", "nonce": random_bytes(8).hex()}).encode()
        layers = [
            *random.sample(SHARED, 2),
            random.choice(OCCASIONAL),
            random_bytes(random.randint(100, 4000)),
        ]
        for blob in [config, *layers]:
            await push_blob(self.http, repository, blob)
        manifest = image_manifest(
            descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER_GZIP, b) for b in layers]
        )
        reference = reference or sha256(manifest)
        if not await self.push_manifest(repository, reference, manifest, OCI_MANIFEST, started):
            return None
        return PushedImage(repository, manifest, OCI_MANIFEST, config, layers)

    async def op_push(self) -> None:
        repository = random.choice(REPOSITORIES)
        tag = self.tag_name()
        image = await self.push_image(repository, tag)
        if image is not None:
            self.tags[(repository, tag)] = Pushed(repository, image)

    async def op_push_index(self) -> None:
        repository = random.choice(REPOSITORIES)
        started = time.monotonic()
        child = await self.push_image(repository, None, started)  # by digest, before its index
        if child is None:
            return
        body = index_manifest([child.descriptor()])
        tag = self.tag_name()
        if await self.push_manifest(repository, tag, body, OCI_INDEX, started):
            index = PushedImage(repository, body, OCI_INDEX, b"", [])
            self.tags[(repository, tag)] = Pushed(repository, index, child)

    async def op_retag(self) -> None:
        if not self.tags:
            return
        (repository, _), pushed = random.choice(list(self.tags.items()))
        tag = self.tag_name()  # a new tag, or one moved (back) onto this manifest
        image = pushed.image
        response = await put_manifest(self.http, repository, tag, image.manifest, image.media_type)
        if self.expect(response, (201,), f"retag {repository}:{tag}"):
            self.tags[(repository, tag)] = pushed

    async def op_delete_tag(self) -> None:
        if not self.tags:
            return
        repository, tag = random.choice(list(self.tags))
        response = await self.http.delete(f"/v2/{repository}/manifests/{tag}")
        if self.expect(response, (202,), f"delete tag {repository}:{tag}"):
            del self.tags[(repository, tag)]

    async def op_delete_manifest(self) -> None:
        plain = [(key, p) for key, p in self.tags.items() if p.child is None]
        if not plain:
            return
        (repository, _), pushed = random.choice(plain)
        response = await self.http.delete(f"/v2/{repository}/manifests/{pushed.image.digest}")
        if self.expect(response, (202,), f"delete manifest {repository}@{pushed.image.digest}"):
            for key in [k for k, p in self.tags.items() if p is pushed]:
                del self.tags[key]

    async def op_referrer(self) -> None:
        plain = [p for p in self.tags.values() if p.child is None]
        if not plain:
            return
        subject = random.choice(plain)
        started = time.monotonic()
        payload = random_bytes(64)
        for blob in (EMPTY_JSON, payload):
            await push_blob(self.http, subject.repository, blob)
        manifest = image_manifest(
            descriptor(OCI_EMPTY, EMPTY_JSON),
            [descriptor("application/octet-stream", payload)],
            artifactType="application/vnd.test.sig",
            subject=subject.image.descriptor(),
        )
        repository, digest = subject.repository, sha256(manifest)
        if await self.push_manifest(repository, digest, manifest, OCI_MANIFEST, started):
            artifact = PushedImage(repository, manifest, OCI_MANIFEST, EMPTY_JSON, [payload])
            self.referrers.append((subject.image.digest, artifact))

    async def op_mount(self) -> None:
        source, target = random.sample(REPOSITORIES, 2)
        digest = sha256(random.choice(SHARED))
        response = await self.http.post(f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}")
        mounted = self.expect(response, (201, 202), f"mount {digest} into {target}")
        if mounted and response.status_code == 202:
            cancel = await self.http.delete(response.headers["location"])
            self.expect(cancel, (204,), "cancel the upload a refused mount started")

    async def op_pull(self) -> None:
        if self.tags:
            (repository, tag), pushed = random.choice(list(self.tags.items()))
            await self.verify(repository, tag, pushed)

    async def verify(self, repository: str, reference: str, pushed: Pushed) -> None:
        response = await self.http.get(
            f"/v2/{repository}/manifests/{reference}", headers={"Accept": ACCEPT}
        )
        if not self.expect(response, (200,), f"pull {repository}:{reference}"):
            return
        if response.content != pushed.image.manifest:
            self.failures.append(f"pull {repository}:{reference}: other manifest bytes")
        image = pushed.image
        if pushed.child is not None:
            await self.verify(repository, pushed.child.digest, Pushed(repository, pushed.child))
            return
        for blob in [image.config, *image.layers]:
            got = await self.http.get(f"/v2/{repository}/blobs/{sha256(blob)}")
            pulled = self.expect(got, (200,), f"pull blob of {repository}:{reference}")
            if pulled and got.content != blob:
                self.failures.append(f"blob {sha256(blob)} of {repository}: other bytes")

    async def run(self, deadline: float) -> None:
        operations = [
            (self.op_push, 30),
            (self.op_push_index, 6),
            (self.op_retag, 14),
            (self.op_delete_tag, 14),
            (self.op_delete_manifest, 6),
            (self.op_referrer, 4),
            (self.op_mount, 6),
            (self.op_pull, 20),
        ]
        functions, weights = zip(*operations, strict=True)
        while time.monotonic() < deadline:
            operation = random.choices(functions, weights)[0]
            await operation()
            name = operation.__name__
            self.operations[name] = self.operations.get(name, 0) + 1


def kept_manifests(clients: list[Client]) -> set[tuple[str, str]]:
    """(repository, digest) of every manifest a live tag keeps, with its referrers."""
    kept: set[tuple[str, str]] = set()
    for client in clients:
        for (repository, _), pushed in client.tags.items():
            kept.add((repository, pushed.image.digest))
            if pushed.child is not None:
                kept.add((repository, pushed.child.digest))
    for client in clients:
        for subject, artifact in client.referrers:
            if (artifact.repository, subject) in kept:
                kept.add((artifact.repository, artifact.digest))
    return kept


async def stored_manifests(app: Starlette) -> set[tuple[str, str]]:
    async with database(app).read() as session:
        rows = await session.execute(
            select(Repository.name, Manifest.digest).join(
                Repository, Repository.id == Manifest.repository_id
            )
        )
        return {(row.name, row.digest) for row in rows}


async def test_collection_never_loses_what_clients_keep(
    registry_app: Starlette, registry_client: httpx.AsyncClient
) -> None:
    for repository in REPOSITORIES:
        await push_blob(registry_client, repository, SHARED[0])
    await set_window(registry_app, "stress", 0)
    clients = [Client(number, registry_client) for number in range(CLIENTS)]
    deadline = time.monotonic() + SECONDS

    await asyncio.gather(*(client.run(deadline) for client in clients))

    failures = [failure for client in clients for failure in client.failures]
    assert failures == [], failures[:20]
    for client in clients:
        for (repository, tag), pushed in client.tags.items():
            await client.verify(repository, tag, pushed)
    failures = [failure for client in clients for failure in client.failures]
    assert failures == [], failures[:20]

    # Settle: protections expire, the background collector and one more catch up.
    await asyncio.sleep(PROTECTION_SECONDS + GRACE_SECONDS + 0.5)
    gc = collector(
        registry_app,
        protection=timedelta(seconds=PROTECTION_SECONDS),
        grace=timedelta(seconds=GRACE_SECONDS),
    )
    kept = kept_manifests(clients)
    for _ in range(40):
        await gc.settle()
        stored, referenced = (
            await stored_digests(registry_app),
            await referenced_digests(registry_app),
        )
        if stored == referenced and await stored_manifests(registry_app) == kept:
            break
        await asyncio.sleep(0.25)

    assert await stored_manifests(registry_app) == kept
    assert await stored_digests(registry_app) == await referenced_digests(registry_app)
    for client in clients:
        for (repository, tag), pushed in client.tags.items():
            await client.verify(repository, tag, pushed)
    assert [f for client in clients for f in client.failures] == []
    kept_usage, actual = await usage(registry_app, "stress")
    assert kept_usage == actual
    assert await stored_uploads(registry_app) == []
    await assert_fsck_clean(registry_app)
    total: dict[str, int] = {}
    for client in clients:
        for name, count in client.operations.items():
            total[name] = total.get(name, 0) + count
    late = sum(client.late for client in clients)
    print(
        f"operations: {total}; pushes refused as late: {late}; kept manifests: {len(kept)}; "
        f"collected: {gc.stats}"
    )
