"""End to end on real package databases, built offline by the fixtures
(``support.package_content``): a Debian 12 rootfs from debootstrap (its real dpkg status),
pip-installed urllib3 1.25.8 and jinja2 2.10, npm-installed lodash 4.17.15 and an
rpmdb.sqlite made by rpm. podman pushes an image of all four as layers, skopeo a small one
in which a later layer upgrades urllib3; the workers of a real ``cargohold serve`` scan
them against the fixture feeds (real advisories in the real shapes, served over HTTP), and
the management API's ``/security`` and ``/sbom`` must say what the tools that made the
content say: ``dpkg-query``, ``rpm -qa``, pip's dist-info. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import package_content
from support.clients import ClientSandbox
from support.feeds import FeedServer, settings_for, write_feeds
from support.images import Layer, OciLayout, TestImage, tar_layer, write_image
from support.package_content import DebianRootfs, RpmDatabase
from support.registry import RegistryProcess
from support.scanning import sbom, vulndb, vulnerabilities, wait_for_scan

pytestmark = pytest.mark.clients

SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"
NPM_APP = "srv/app"
RPM_DATABASE = "var/lib/rpm/rpmdb.sqlite"
Findings = dict[str, set[str]]
"""Package name -> the ids of the vulnerabilities the report gives it."""


def directory_files(source: Path, under: str) -> dict[str, bytes]:
    """Every regular file below ``source``, at ``under`` in an image."""
    return {f"{under}/{path.relative_to(source).as_posix()}": path.read_bytes()
            for path in sorted(source.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def debian() -> DebianRootfs:
    return package_content.debian_rootfs()


@pytest.fixture(scope="module")
def rpm_database() -> RpmDatabase:
    return package_content.rpm_database()


@pytest.fixture(scope="module")
def pip_layer() -> Layer:
    site = package_content.pip_site("urllib3==1.25.8", "jinja2==2.10")
    return tar_layer(directory_files(site, SITE_PACKAGES))


@pytest.fixture(scope="module")
def full_image(
    tmp_path_factory: pytest.TempPathFactory, debian: DebianRootfs, pip_layer: Layer,
    rpm_database: RpmDatabase,
) -> TestImage:
    """Debian, then the pip site, then the npm project, then the rpm database."""
    npm = package_content.npm_project("lodash@4.17.15")
    layout = OciLayout.create(tmp_path_factory.mktemp("full-image"))
    layers = [
        debian.layer(),
        pip_layer,
        tar_layer(directory_files(npm, NPM_APP)),
        tar_layer({RPM_DATABASE: rpm_database.sqlite.read_bytes()}),
    ]
    write_image(layout, "full", layers)
    return TestImage(layout, "full")


@pytest.fixture(scope="module")
def upgraded_image(tmp_path_factory: pytest.TempPathFactory, pip_layer: Layer) -> TestImage:
    """The pip site, then a layer in which pip upgraded urllib3 to 1.26.18: the old
    dist-info whited out, the package's files written again."""
    upgrade = package_content.pip_site("urllib3==1.26.18")
    files = directory_files(upgrade, SITE_PACKAGES)
    files[f"{SITE_PACKAGES}/.wh.urllib3-1.25.8.dist-info"] = b""
    layout = OciLayout.create(tmp_path_factory.mktemp("upgraded-image"))
    write_image(layout, "upgraded", [pip_layer, tar_layer(files)])
    return TestImage(layout, "upgraded")


@pytest.fixture(scope="module")
def advisories(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The registry's advisory database holds every fixture feed."""
    directory = tmp_path_factory.mktemp("feeds")
    write_feeds(directory / "feeds")
    with FeedServer(directory / "feeds") as server:
        config = directory / "config.yaml"
        config.write_text(json.dumps(settings_for(server.url)))
        stored = vulndb(registry, config, "update")["stored"]
    assert stored["osv:PyPI"] == 3 and stored["osv:npm"] == 4  # lodash, lodash-es, .pick


@pytest.fixture
def podman_pushed(
    registry: RegistryProcess, client_sandbox: ClientSandbox, full_image: TestImage,
    advisories: None, tmp_path: Path,
) -> Iterator[tuple[str, str]]:
    """``full_image`` loaded into podman's storage and pushed by podman (which compresses
    the layers again, so their digests are the registry's, not the layout's): the
    repository name and the pushed manifest's digest."""
    name = "realcontent/full"
    image_id = client_sandbox.podman("pull", "--quiet", full_image.reference,
                                     timeout=600).stdout.strip()
    digest_file = tmp_path / "digest"
    client_sandbox.podman("push", "--quiet", "--tls-verify=false", "--digestfile", digest_file,
                          image_id, f"docker://{registry.host}/{name}:1", timeout=600)
    yield name, digest_file.read_text().strip()


def pushed_layers(registry: RegistryProcess, name: str, digest: str) -> list[str]:
    """The layer digests of the manifest as the registry serves it."""
    with registry.http() as http:
        response = http.get(f"/v2/{name}/manifests/{digest}", headers={
            "Accept": "application/vnd.oci.image.manifest.v1+json, "
                      "application/vnd.docker.distribution.manifest.v2+json"})
    assert response.status_code == 200, response.text
    return [layer["digest"] for layer in response.json()["layers"]]


def findings_of(report: dict[str, Any], kind: str) -> Findings:
    return {p["name"]: {v["id"] for v in p["vulnerabilities"]}
            for p in report["packages"] if p["kind"] == kind and p["vulnerabilities"]}


def sbom_packages(document: dict[str, Any], kind: str) -> list[dict[str, str]]:
    """The SBOM's components of ``kind``, each with its properties by short name."""
    found = []
    for component in document["components"]:
        properties = {p["name"].rpartition(":")[2]: p["value"] for p in component["properties"]}
        if properties["kind"] == kind:
            found.append({"name": component["name"], "version": component["version"],
                          **properties})
    return found


def test_podman_pushed_debian_image_with_pip_npm_and_rpm_content(
    registry: RegistryProcess, podman_pushed: tuple[str, str], debian: DebianRootfs,
    rpm_database: RpmDatabase,
) -> None:
    name, digest = podman_pushed
    report = wait_for_scan(registry, name, digest)
    assert report["status"] == "scanned", report
    assert report["distribution"] == {
        "id": "debian", "version_id": "12", "version_codename": "bookworm",
        "pretty_name": "Debian GNU/Linux 12 (bookworm)",
    }
    document = sbom(registry, name, digest)

    # dpkg: exactly what dpkg-query says of the rootfs, source packages included.
    installed = debian.installed()
    dpkg = sbom_packages(document, "dpkg")
    assert {(p["name"], p["version"], p["source_name"], p["source_version"]) for p in dpkg} \
        == {(n, v, source, source_version) for n, v, source, source_version, _ in installed}
    assert ("libc6", "glibc") in {(p["name"], p["source_name"]) for p in dpkg}

    # Debian's tracker files issues under the source package, per release.
    by_source: dict[str, set[str]] = defaultdict(set)
    for package, _, source, _, _ in installed:
        by_source[source].add(package)
    assert findings_of(report, "dpkg") == {
        **{package: {"CVE-2010-4756"} for package in by_source["glibc"]},
        **{package: {"CVE-2022-0563"} for package in by_source["util-linux"]},
    }, "CVE-2023-4911 (fixed in bookworm's 2.36-9+deb12u3, in sid's 2.37-12) and " \
       "CVE-2024-3094 (bookworm: fixed_version 0, sid: 5.6.1+really5.4.5-1) are not reported"
    assert "bsdutils" in by_source["util-linux"]
    util_linux = vulnerabilities(report, "bsdutils")["CVE-2022-0563"]
    assert (util_linux["fixed_in"], util_linux["severity"]) == (None, "Negligible")

    # The language packages, with their real advisories.
    urllib3 = vulnerabilities(report, "urllib3")
    assert set(urllib3) == {"GHSA-wqvq-5m8c-6g24", "PYSEC-2020-148"}
    assert urllib3["GHSA-wqvq-5m8c-6g24"]["aliases"] == ["CVE-2020-26137"]
    assert {v["fixed_in"] for v in urllib3.values()} == {"1.25.9"}
    assert findings_of(report, "python") == {
        "urllib3": {"GHSA-wqvq-5m8c-6g24", "PYSEC-2020-148"},
        "Jinja2": {"GHSA-462w-v97r-4m45"},
    }
    jinja2 = vulnerabilities(report, "Jinja2")["GHSA-462w-v97r-4m45"]
    assert (jinja2["aliases"], jinja2["fixed_in"], jinja2["severity"], jinja2["cvss"]) == (
        ["CVE-2019-10906"], "2.10.1", "High", 8.6)
    lodash = vulnerabilities(report, "lodash")
    assert set(lodash) == {"GHSA-p6mc-m468-83gw"}, "CVE-2019-10744 was fixed in 4.17.12"
    assert (lodash["GHSA-p6mc-m468-83gw"]["aliases"], lodash["GHSA-p6mc-m468-83gw"]["fixed_in"]) \
        == (["CVE-2020-8203"], "4.17.19")

    # rpm: what rpm -qa says, source rpm included (rpm -qa leaves the epoch out of it).
    rpm = sbom_packages(document, "rpm")
    assert {(p["name"], p["version"],
             f"{p['source_name']}-{re.sub(r'^[0-9]+:', '', p['source_version'])}.src.rpm")
            for p in rpm} == {(n, v, source) for n, v, source, _ in rpm_database.installed}

    # Each package comes from the layer that introduced it, as the registry stores it.
    layers = pushed_layers(registry, name, digest)
    introduced_by = {"dpkg": layers[0], "python": layers[1], "npm": layers[2], "rpm": layers[3]}
    assert {(p["name"], p["layer"]) for p in report["packages"]} == {
        (p["name"], introduced_by[p["kind"]]) for p in report["packages"]}
    assert {p["kind"] for p in report["packages"]} == set(introduced_by)
    assert {p["digest"] for kind in introduced_by for p in sbom_packages(document, kind)} \
        == set(layers)


def test_skopeo_pushed_upgrade_layer_owns_the_upgraded_package(
    registry: RegistryProcess, client_sandbox: ClientSandbox, upgraded_image: TestImage,
    advisories: None,
) -> None:
    name = "realcontent/upgraded"
    client_sandbox.push(upgraded_image, f"{registry.host}/{name}:1")
    report = wait_for_scan(registry, name, upgraded_image.digest)

    assert report["status"] == "scanned", report
    assert report["distribution"] is None
    base, upgrade = upgraded_image.layer_digests  # skopeo pushed the layers as they are
    packages = {(p["name"], p["version"]): p for p in report["packages"]}
    assert sorted(name for name, _ in packages) == ["Jinja2", "MarkupSafe", "urllib3"]
    assert packages["urllib3", "1.26.18"]["layer"] == upgrade
    assert packages["urllib3", "1.26.18"]["vulnerabilities"] == []
    assert packages["Jinja2", "2.10"]["layer"] == base
    assert {v["id"] for v in packages["Jinja2", "2.10"]["vulnerabilities"]} \
        == {"GHSA-462w-v97r-4m45"}
