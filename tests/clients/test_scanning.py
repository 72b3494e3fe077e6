"""End to end on real content: an image with pip-installed urllib3 1.25.8 (real
dist-info from ``pip install --target``) over the host's real dpkg status is pushed with
skopeo to a real ``cargohold serve``, the advisories come from feeds served over HTTP in
the real shapes, the workers scan it, the management API reports it; a later advisory
update is matched without reading any layer again and records a ``vulnerability_found``
event. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.clients import ClientSandbox
from support.feeds import FeedServer, settings_for, write_feeds
from support.images import OciLayout, TestImage, tar_layer, write_image
from support.processes import wait_until
from support.registry import (
    RegistryFactory,
    RegistryProcess,
    cargohold_command,
    server_environment,
)
from support.scanning import SCAN_TIMEOUT, security, vulndb, vulnerabilities

from cargohold.config import async_database_url
from cargohold.content.scan_reports import Event, ScanReports
from cargohold.db.session import Database

pytestmark = pytest.mark.clients

SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"
NEW_ADVISORY = "PYSEC-2020-148.json"


@pytest.fixture(scope="module")
def urllib3_image(tmp_path_factory: pytest.TempPathFactory) -> TestImage:
    """Two layers: the host's os-release and dpkg status; urllib3 1.25.8 as pip installs it."""
    base = tmp_path_factory.mktemp("urllib3-image")
    target = base / "site-packages"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
         "--target", str(target), "urllib3==1.25.8"],
        check=True, timeout=300, capture_output=True,
    )
    assert (target / "urllib3-1.25.8.dist-info" / "METADATA").is_file()
    os_layer = tar_layer({
        "etc/os-release": Path("/etc/os-release").read_bytes(),
        "var/lib/dpkg/status": Path("/var/lib/dpkg/status").read_bytes(),
    })
    pip_layer = tar_layer({
        f"{SITE_PACKAGES}/{path.relative_to(target)}": path.read_bytes()
        for path in sorted(target.rglob("*")) if path.is_file()
    })
    layout = OciLayout.create(base / "layout")
    write_image(layout, "urllib3", [os_layer, pip_layer])
    return TestImage(layout, "urllib3")


def layer_reads(registry: RegistryProcess) -> int:
    """How many layer streams the registry's scanner opened (its log says each)."""
    return registry.logs().count('"message":"scanner reading layer"')


def events(registry: RegistryProcess, repository: str) -> list[Event]:
    async def read() -> list[Event]:
        assert registry.database_url is not None
        db = Database(async_database_url(registry.database_url))
        try:
            return await ScanReports(db).events(repository)
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_pushed_image_is_scanned_then_rematched_without_reading_layers(
    registry: RegistryProcess, client_sandbox: ClientSandbox, urllib3_image: TestImage,
    tmp_path: Path,
) -> None:
    name = "scanning/urllib3"
    feeds = tmp_path / "feeds"
    write_feeds(feeds, leave_out=[NEW_ADVISORY])
    with FeedServer(feeds) as server:
        config = tmp_path / "config.yaml"
        config.write_text(json.dumps(settings_for(server.url)))
        stored = vulndb(registry, config, "update")["stored"]
        assert stored["osv:PyPI"] == 2 and stored["debian-security-tracker"] > 0

        client_sandbox.push(urllib3_image, f"{registry.host}/{name}:1.25.8")
        digest = urllib3_image.digest
        wait_until(lambda: security(registry, name, digest)["status"] != "queued",
                   timeout=SCAN_TIMEOUT, message=lambda: registry.logs()[-3000:])

        report = security(registry, name, digest)
        assert report["status"] == "scanned", report
        assert report["distribution"]["version_codename"] == "bookworm"
        urllib3 = vulnerabilities(report, "urllib3")
        assert urllib3["GHSA-wqvq-5m8c-6g24"]["aliases"] == ["CVE-2020-26137"]
        assert urllib3["GHSA-wqvq-5m8c-6g24"]["fixed_in"] == "1.25.9"
        # The tracker files glibc's issues under the source package; the image has libc6.
        libc6 = vulnerabilities(report, "libc6")
        assert libc6["CVE-2010-4756"]["fixed_in"] is None
        assert libc6["CVE-2010-4756"]["severity"] == "Negligible"
        assert "CVE-2023-4911" not in libc6  # fixed in deb12u3, older than the host's
        reads = layer_reads(registry)
        assert reads == 2

        write_feeds(feeds)  # the same feeds, and one more PyPI advisory
        assert vulndb(registry, config, "update")["stored"]["osv:PyPI"] == 3
        wait_until(
            lambda: "PYSEC-2020-148" in vulnerabilities(security(registry, name, digest),
                                                        "urllib3"),
            timeout=SCAN_TIMEOUT, message=lambda: registry.logs()[-3000:],
        )

    assert layer_reads(registry) == reads
    found = events(registry, name)
    assert [e.kind for e in found] == ["vulnerability_found"]
    assert found[0].manifest_digest == digest
    assert [v["id"] for v in found[0].payload["vulnerabilities"]] == ["PYSEC-2020-148"]


def test_worker_command_scans_for_servers_without_workers(
    registry_factory: RegistryFactory, client_sandbox: ClientSandbox,
    urllib3_image: TestImage, tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"background_workers": False, "worker_poll_seconds": 0.2}))
    server = registry_factory(start=False)
    server.extra_args = ["--config", str(config)]
    server.start()
    name, digest = "scaleout/urllib3", urllib3_image.digest
    client_sandbox.push(urllib3_image, f"{server.host}/{name}:1")
    assert security(server, name, digest)["status"] == "queued"

    argv = [*cargohold_command(), "worker", "--config", str(config),
            "--data-dir", str(server.data_dir)]
    if server.database_url:
        argv += ["--database-url", server.database_url]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                              env=server_environment())
    try:
        wait_until(lambda: security(server, name, digest)["status"] == "scanned",
                   timeout=SCAN_TIMEOUT,
                   message=lambda: (tmp_path / "worker.log").read_text()[-3000:])
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
    assert "urllib3" in {p["name"] for p in security(server, name, digest)["packages"]}
    assert layer_reads(server) == 0
