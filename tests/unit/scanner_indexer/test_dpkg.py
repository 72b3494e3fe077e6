"""dpkg: the host's real status database, distroless status.d, upgrades and whiteouts."""

from __future__ import annotations

import re

from cargohold.scanner.indexer import IndexStatus, PackageKind, index_image
from cargohold.scanner.indexer.dpkg import parse_status

from .conftest import HostDpkg
from .layers import LayerBuilder, layer

STATUS = "var/lib/dpkg/status"


def base_layer(host_dpkg: HostDpkg) -> LayerBuilder:
    # As on Debian: etc/os-release is a symlink into usr/lib.
    return (
        LayerBuilder()
        .file("usr/lib/os-release", host_dpkg.os_release)
        .symlink("etc/os-release", "../usr/lib/os-release")
        .file(STATUS, host_dpkg.status)
    )


def paragraph_of(status: bytes, package: str) -> bytes:
    """One package's paragraph of a status file."""
    for paragraph in status.split(b"\n\n"):
        if paragraph.startswith(f"Package: {package}\n".encode()):
            return paragraph + b"\n"
    raise AssertionError(f"{package} is not in the status file")


async def test_host_status_matches_dpkg_query(host_dpkg: HostDpkg) -> None:
    index = await index_image([layer(base_layer(host_dpkg))])

    assert index.status is IndexStatus.INDEXED
    assert index.distribution is not None
    assert index.distribution.id == "debian"
    assert index.distribution.version_codename == "bookworm"
    found = {
        (p.name, p.version, p.source_name, p.source_version, p.architecture)
        for p in index.packages
        if p.kind is PackageKind.DPKG
    }
    assert found == host_dpkg.installed
    assert len(found) > 100
    assert {p.path for p in index.packages} == {STATUS}


async def test_source_with_its_own_version_is_recorded() -> None:
    status = (
        b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n"
        b"Source: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2+b1\n"
        b"Description: x\n continued\n .\n more\n\n"
        b"Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n\n"
        b"Package: held\nStatus: hold ok installed\nVersion: 2\n"
    )
    parsed = parse_status(status, STATUS)
    libssl, held = parsed.packages
    assert (libssl.source_name, libssl.source_version) == ("openssl", "3.0.11-1~deb12u2")
    assert libssl.version == "3.0.11-1~deb12u2+b1"
    assert (held.name, held.source_name, held.source_version) == ("held", "held", "2")


async def test_later_layer_upgrade_is_attributed_to_that_layer(host_dpkg: HostDpkg) -> None:
    old = paragraph_of(host_dpkg.status, "base-files")
    old_version = re.search(rb"\nVersion: (\S+)", old)
    assert old_version is not None
    new = old.replace(b"\nVersion: " + old_version[1], b"\nVersion: 99.0")
    base = layer(base_layer(host_dpkg))
    upgrade = layer(LayerBuilder().file(STATUS, host_dpkg.status.replace(old, new)))

    index = await index_image([base, upgrade])

    by_name = {p.name: p for p in index.packages}
    assert by_name["base-files"].version == "99.0"
    assert by_name["base-files"].layer_digest == upgrade.digest
    assert by_name["dpkg"].layer_digest == base.digest


async def test_whiteout_removes_the_status_file(host_dpkg: HostDpkg) -> None:
    index = await index_image(
        [layer(base_layer(host_dpkg)), layer(LayerBuilder().whiteout(STATUS))]
    )
    assert index.distribution is not None
    assert index.packages == []


async def test_status_in_one_layer_and_status_d_in_the_next(host_dpkg: HostDpkg) -> None:
    """Distroless keeps one file per package in status.d, without a Status field."""
    extra = b"Package: distroless-extra\nVersion: 1.0-1\nArchitecture: all\n"
    libc = paragraph_of(host_dpkg.status, "libc6").replace(b"Status: install ok installed\n", b"")
    base = layer(base_layer(host_dpkg))
    distroless = layer(
        LayerBuilder()
        .file("var/lib/dpkg/status.d/libc6", libc)
        .file("var/lib/dpkg/status.d/libc6.md5sums", b"0123  lib/x\n")
        .file("var/lib/dpkg/status.d/distroless-extra", extra)
    )

    index = await index_image([base, distroless])

    from_status_d = {p.name: p for p in index.packages if p.path.startswith(STATUS + ".d")}
    assert set(from_status_d) == {"libc6", "distroless-extra"}
    assert from_status_d["libc6"].source_name == "glibc"
    assert {p.layer_digest for p in from_status_d.values()} == {distroless.digest}
    assert sum(p.path == STATUS for p in index.packages) == len(host_dpkg.installed)
