"""Benchmark of garbage collection (not a test): bytes reclaimed per minute of collection,
and push throughput while collection runs against without it.

    python -m bench.gc_speed [--seconds 15] [--pushers 4]
        [--layer-kib 256] [--database-url postgresql://...]

It runs the registry application in process (``create_app``, background workers off) on
a fresh data directory and SQLite (or the PostgreSQL URL given). Pushers push images (a
config, two layers shared by every image, one layer of its own of ``--layer-kib``) through
/v2 and delete each tag right after, so that every image becomes garbage (window zero):

1. ``--seconds`` of pushes without collection: pushes per second; the garbage piles up.
2. Collection of that pile, protections expired: bytes reclaimed per minute.
3. ``--seconds`` of the same pushes while a collector runs continuously (sweeps,
   repository jobs and byte deletions, back to back): pushes per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import update

from bench.pushing import push_image
from cargohold.app import create_app
from cargohold.auth.secrets import TokenKind
from cargohold.config import load_settings
from cargohold.content.gc import GarbageCollector, GcSettings
from cargohold.content.services import Services
from cargohold.db.migrate import upgrade
from cargohold.db.models import Blob, Manifest, Namespace, UploadedBlob, utcnow

MiB = 1 << 20
PROTECTION_SECONDS = 2
SHARED = [os.urandom(64 * 1024), os.urandom(64 * 1024)]


async def push_and_untag(client: httpx.AsyncClient, name: str, tag: str, kib: int) -> int:
    """Push an image as ``name:tag`` and delete the tag; the bytes uploaded."""
    config = json.dumps({"os": "linux", "nonce": os.urandom(8).hex()}).encode()
    layers = [*SHARED, os.urandom(kib * 1024)]
    await push_image(client, name, tag, config, layers)
    deleted = await client.delete(f"/v2/{name}/manifests/{tag}")
    assert deleted.status_code == 202, deleted.text
    return len(config) + sum(map(len, layers))


async def pushes_for(client: httpx.AsyncClient, options: argparse.Namespace, phase: str) -> float:
    """Pushes per second of ``--pushers`` concurrent pushers over ``--seconds``."""
    deadline = time.monotonic() + options.seconds
    count = 0

    async def pusher(number: int) -> None:
        nonlocal count
        while time.monotonic() < deadline:
            await push_and_untag(client, f"bench/{phase}-{number}", f"t{count}", options.layer_kib)
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(pusher(n) for n in range(options.pushers)))
    return count / (time.perf_counter() - started)


async def expire_protections(services: Services) -> None:
    """As if the uploaded-blob protection and every grace had passed."""
    past = utcnow() - timedelta(days=400)
    async with services.blobs.db.write() as session:
        await session.execute(update(UploadedBlob).values(expires_at=past))
        await session.execute(update(Manifest).values(created_at=past))
        await session.execute(update(Blob).values(created_at=past))


async def run(options: argparse.Namespace, data_dir: Path) -> None:
    settings = load_settings(
        data_dir=data_dir,
        database_url=options.database_url,
        access_log=False,
        background_workers=False,
        log_level="warning",
        uploaded_blob_protection_seconds=PROTECTION_SECONDS,
    )
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        auth = app.state.auth
        account_id = await auth.accounts.create_user("bench", superuser=True)
        token = await auth.accounts.create_token(account_id, TokenKind.CLI, "bench")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            scope = [
                f"repository:bench/{p}-{n}:pull,push,delete"
                for p in ("a", "b")
                for n in range(options.pushers)
            ]
            for _ in range(2):  # delete is granted once the repositories exist
                response = await client.get(
                    "/v2/auth", params={"scope": scope}, auth=("bench", token.text)
                )
                client.headers["Authorization"] = f"Bearer {response.json()['token']}"
                for name in scope:
                    await client.post(f"/v2/{name.split(':')[1]}/blobs/uploads/")
            await push_and_untag(client, "bench/a-0", "warm-up", 1)
            async with services.blobs.db.write() as session:
                await session.execute(update(Namespace).values(tag_history_seconds=0))

            without = await pushes_for(client, options, "a")

            await expire_protections(services)
            collector = GarbageCollector(
                services.blobs.db,
                services.blobs.storage,
                GcSettings(protection=timedelta(0), grace=timedelta(0)),
            )
            started = time.perf_counter()
            stats = await collector.settle()
            reclaim_seconds = time.perf_counter() - started
            reclaimed = stats.bytes_reclaimed

            running = GarbageCollector(
                services.blobs.db,
                services.blobs.storage,
                GcSettings(protection=timedelta(seconds=PROTECTION_SECONDS), grace=timedelta(0)),
            )
            stop = asyncio.Event()

            async def collect_continuously() -> None:
                while not stop.is_set():
                    await running.settle()
                    await asyncio.sleep(0)

            collecting = asyncio.create_task(collect_continuously())
            with_gc = await pushes_for(client, options, "b")
            stop.set()
            await collecting
    database = "PostgreSQL" if options.database_url else "SQLite"
    print(
        f"database: {database}; {options.pushers} pushers, images of 2 shared 64 KiB layers "
        f"and one {options.layer_kib} KiB layer, each untagged after its push"
    )
    print(
        f"reclaimed {reclaimed / MiB:.1f} MiB ({stats.manifests} manifests, {stats.blobs} "
        f"blobs) in {reclaim_seconds:.2f} s = "
        f"{reclaimed / MiB / reclaim_seconds * 60:.0f} MiB per minute of collection"
    )
    print(
        f"pushes without collection: {without:.1f}/s; while collection runs: "
        f"{with_gc:.1f}/s ({with_gc / without:.0%}); collected meanwhile: "
        f"{running.stats.manifests} manifests, {running.stats.bytes_reclaimed / MiB:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each push phase")
    parser.add_argument("--pushers", type=int, default=4, help="concurrent pushers")
    parser.add_argument("--layer-kib", type=int, default=256, help="each image's own layer")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cargohold-gc-bench-") as directory:
        asyncio.run(run(options, Path(directory)))


if __name__ == "__main__":
    main()
