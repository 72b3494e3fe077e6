"""Package URLs in the SBOM, per the purl specification's types."""

from __future__ import annotations

import pytest

from cargohold.scanner.indexer.model import (
    Distribution,
    ImageIndex,
    IndexStatus,
    InstalledPackage,
    PackageKind,
)
from cargohold.scanner.sbom import package_url

DEBIAN = ImageIndex(IndexStatus.INDEXED, Distribution("debian", "12", "bookworm"))


@pytest.mark.parametrize(
    ("package", "purl"),
    [
        (
            InstalledPackage(PackageKind.GO, "golang.org/x/text", "0.3.7", "usr/bin/app"),
            "pkg:golang/golang.org/x/text@v0.3.7",
        ),
        (
            InstalledPackage(
                PackageKind.GO, "github.com/docker/distribution", "2.8.1+incompatible", "app"
            ),
            "pkg:golang/github.com/docker/distribution@v2.8.1%2Bincompatible",
        ),
        (
            InstalledPackage(PackageKind.GO, "stdlib", "1.19.8", "usr/bin/skopeo"),
            "pkg:golang/stdlib@v1.19.8",
        ),
        (
            InstalledPackage(PackageKind.MAVEN, "com.google.guava:guava", "31.1-jre", "a.jar"),
            "pkg:maven/com.google.guava/guava@31.1-jre",
        ),
        (
            InstalledPackage(PackageKind.PYTHON, "Jinja2", "2.10", "site-packages"),
            "pkg:pypi/jinja2@2.10",
        ),
        (
            InstalledPackage(
                PackageKind.DPKG, "libc6", "2.36-9+deb12u1", "status", architecture="amd64"
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u1?arch=amd64&distro=debian-12",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_package_urls(package: InstalledPackage, purl: str) -> None:
    assert package_url(package, DEBIAN) == purl
