"""Benchmark of the whole scan pipeline (not a test): images indexed per minute, and the
seconds to scan a ~70 MB image.

    python -m bench.scan_speed [--megabytes 70] [--images 20]
        [--small-megabytes 5] [--database-url postgresql://...] [--layer ROOTFS.tar.gz]

It runs the registry application in process (``create_app``, background workers off) on
a fresh data directory and SQLite (or the PostgreSQL URL given), loads the fixture
advisories of ``tests/unit/scanner/data``, pushes images through /v2 (synthetic gzip
layers of random and text files, the host's ``/var/lib/dpkg/status`` and os-release in
the first), then runs the scan jobs one after the other through the worker runner: each
job streams the layers from the filesystem driver, indexes, matches and stores. It prints
the time of the big image's scan and the rate over the small ones. ``--layer`` makes the
big image one real gzip layer instead, such as the debootstrap'd Debian 12 rootfs the
end-to-end scanning tests cache (``layer.tar.gz`` under the system temp directory's
``cargohold-test-cache``).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import httpx

from bench.index_speed import DPKG_STATUS, MiB, build_layers
from bench.pushing import push_image
from cargohold.app import create_app, create_worker_runner
from cargohold.auth.secrets import TokenKind
from cargohold.auth.services import AuthServices
from cargohold.config import load_settings
from cargohold.content.services import Services
from cargohold.db.migrate import upgrade
from cargohold.scanner.feeds.debian import parse_debian_tracker
from cargohold.scanner.feeds.osv import parse_osv_record
from cargohold.workers.runner import WorkerRunner

FIXTURES = Path(__file__).parent.parent / "tests" / "unit" / "scanner" / "data"


def os_layer() -> bytes:
    """os-release and the host's dpkg status, so that matching has packages to look up."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, source in (
            ("etc/os-release", Path("/etc/os-release")),
            ("var/lib/dpkg/status", DPKG_STATUS),
        ):
            if source.exists():
                data = source.read_bytes()
                info = tarfile.TarInfo(path)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue())


async def superuser(auth: AuthServices) -> tuple[str, str]:
    """Make the superuser ``bench`` (no password); its name and a new CLI token."""
    account_id = await auth.accounts.create_user("bench", superuser=True)
    token = await auth.accounts.create_token(account_id, TokenKind.CLI, "bench")
    return "bench", token.text


async def bearer(client: httpx.AsyncClient, credentials: tuple[str, str], name: str) -> str:
    """A token to push to ``name``, from the token endpoint (Docker token scheme)."""
    response = await client.get(
        "/v2/auth", params={"scope": f"repository:{name}:pull,push"}, auth=credentials
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def push(
    client: httpx.AsyncClient, credentials: tuple[str, str], name: str, layers: list[bytes]
) -> str:
    """Push an image of ``layers`` as ``name:latest``, logged in; its manifest digest."""
    client.headers["Authorization"] = f"Bearer {await bearer(client, credentials, name)}"
    config = json.dumps({"architecture": "amd64", "os": "linux", "name": name}).encode()
    return await push_image(client, name, "latest", config, layers)


async def load_advisories(services: Services) -> None:
    osv = [
        a
        for path in sorted((FIXTURES / "osv").glob("*.json"))
        for a in parse_osv_record(path.read_bytes())
    ]
    await services.advisories.replace_feed("osv", osv)
    debian = parse_debian_tracker((FIXTURES / "debian_tracker.json").read_bytes())
    await services.advisories.replace_feed("debian-security-tracker", debian)


async def drain(runner: WorkerRunner) -> float:
    """Run every due job; the seconds it took."""
    started = time.perf_counter()
    while await runner.run_once():
        pass
    return time.perf_counter() - started


async def run(options: argparse.Namespace, data_dir: Path) -> None:
    settings = load_settings(
        data_dir=data_dir,
        database_url=options.database_url,
        access_log=False,
        background_workers=False,
        log_level="warning",
    )
    await asyncio.to_thread(upgrade, settings.effective_database_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        runner = create_worker_runner(settings, services.scans.db, services, app.state.auth)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            credentials = await superuser(app.state.auth)
            await load_advisories(services)
            await drain(runner)  # the re-match the advisory load queued
            base = os_layer()
            if options.layer:
                big = [options.layer.read_bytes()]
            else:
                big = [base, *build_layers(options.megabytes * MiB)]
            big_digest = await push(client, credentials, "bench/big", big)
            big_seconds = await drain(runner)
            for number in range(options.images):
                layers = [base, *build_layers(options.small_megabytes * MiB, seed=100 + number)]
                await push(client, credentials, f"bench/small-{number}", layers)
            small_seconds = await drain(runner)
            security = f"/api/v1/repository/bench/big/manifest/{big_digest}/security"
            report = (await client.get(security, auth=credentials)).json()
    compressed = sum(len(b) for b in big) / MiB
    uncompressed = sum(len(gzip.decompress(b)) for b in big) / MiB
    database = "PostgreSQL" if options.database_url else "SQLite"
    print(f"database: {database}; big image {uncompressed:.0f} MiB uncompressed "
          f"({compressed:.0f} MiB gzip), {len(report['packages'])} packages, "
          f"{sum(report['counts'].values())} findings")  # fmt: skip
    print(f"scan of the big image: {big_seconds:.2f} s")
    print(
        f"{options.images} images of ~{options.small_megabytes} MiB (+ dpkg layer): "
        f"{small_seconds:.2f} s = {options.images / small_seconds * 60:.0f} images/minute"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=70, help="big image, uncompressed")
    parser.add_argument("--images", type=int, default=20, help="small images to scan")
    parser.add_argument("--small-megabytes", type=int, default=5)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--layer", type=Path, help="the big image: this one gzip layer")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cargohold-scan-bench-") as directory:
        asyncio.run(run(options, Path(directory)))


if __name__ == "__main__":
    sys.exit(main())
