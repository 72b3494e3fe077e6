"""Real installed-package content for the scanner's tests, built offline by the real
tools and cached across sessions (``support.build_cache``). Each builder fails, never
skips, when its tool is missing.

- ``pip_site(*requirements)``: ``pip install --target`` (real ``.dist-info`` directories).
- ``npm_project(*packages)``: ``npm install --prefix`` (``node_modules``,
  ``package.json`` and ``package-lock.json``).
- ``rpm_database()`` (``RpmDatabase``): an ``rpmdb.sqlite`` made by Debian's rpm from two
  noarch packages built here with rpmbuild, and what ``rpm -qa`` says is in it.
- ``debian_rootfs()`` (``DebianRootfs``): ``debootstrap --variant=minbase bookworm`` as one
  gzip image layer, and its dpkg database for ``dpkg-query``.
- ``dpkg_installed(admindir)``: what ``dpkg-query`` says is installed in a dpkg database.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .build_cache import cached_build
from .images import Layer
from .processes import StrPath, run

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP_TIMEOUT = 900.0
DpkgPackage = tuple[str, str, str, str, str]
"""(name, version, source name, source version, architecture), as dpkg-query says."""
RpmPackage = tuple[str, str, str, str]
"""(name, epoch:version-release or version-release, source rpm, arch), as rpm -qa says."""

_DPKG_QUERY_FORMAT = (
    "${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t"
    "${source:Version}\t${Architecture}\n"
)
_RPM_QUERY_FORMAT = (
    "%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{SOURCERPM}\t%{ARCH}\n"
)
_RPM_SPEC = """\
Name: {name}
Version: {version}
Release: {release}
{epoch}
Summary: A package for the cargohold indexer tests
License: MIT
BuildArch: noarch

%description
A package for the cargohold indexer tests.

%install
{install}

%files
{files}
"""


def _output(*command: StrPath, timeout: float = 300) -> str:
    return run(command, timeout=timeout).stdout


def dpkg_installed(admindir: Path | None = None) -> set[DpkgPackage]:
    """The installed packages of the dpkg database in ``admindir`` (the host's if None)."""
    where: list[StrPath] = ["--admindir", admindir] if admindir is not None else []
    rows = [line.split("\t") for line in
            _output("dpkg-query", *where, "-W", "-f", _DPKG_QUERY_FORMAT).splitlines()]
    return {(r[1], r[2], r[3], r[4], r[5]) for r in rows if r[0] == "installed"}


def pip_site(*requirements: str) -> Path:
    """A directory that ``pip install --target`` filled with ``requirements``."""

    def build(target: Path) -> None:
        _output(
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--target", target, *requirements,
        )  # fmt: skip

    return cached_build("pip " + " ".join(requirements), build)


def npm_project(*packages: str) -> Path:
    """A directory that ``npm install --prefix`` filled with ``packages``."""

    def build(target: Path) -> None:
        _output(
            "npm", "install", "--prefix", target, "--no-audit", "--no-fund",
            "--loglevel=error", *packages,
        )  # fmt: skip

    return cached_build("npm " + " ".join(packages), build)


@dataclass(frozen=True)
class RpmDatabase:
    sqlite: Path
    installed: set[RpmPackage]


def rpm_database() -> RpmDatabase:
    """An ``rpmdb.sqlite`` holding cargohold-demo 2:1.2.3-4.el9 (which owns a Python
    distribution's metadata) and cargohold-tool 0.9-1, and what ``rpm -qa`` says of it."""
    directory = cached_build("rpm demo packages v1", _build_rpm_database)
    output = _output("rpm", "-qa", "--dbpath", directory / "db", "--qf", _RPM_QUERY_FORMAT)
    rows = [line.split("\t") for line in output.splitlines()]
    installed = {(row[0], row[1], row[2], row[3]) for row in rows}
    return RpmDatabase(directory / "db" / "rpmdb.sqlite", installed)


def _build_rpm_database(work: Path) -> None:
    metadata_dir = "/usr/lib/python3.11/site-packages/rpmowned-1.0.dist-info"
    specs = {
        "cargohold-demo": _RPM_SPEC.format(
            name="cargohold-demo", version="1.2.3", release="4.el9", epoch="Epoch: 2",
            install=f"mkdir -p %{{buildroot}}{metadata_dir}\n"
            f"printf 'Metadata-Version: 2.1\\nName: rpmowned\\nVersion: 1.0\\n' "
            f"> %{{buildroot}}{metadata_dir}/METADATA",
            files=metadata_dir,
        ),
        "cargohold-tool": _RPM_SPEC.format(
            name="cargohold-tool", version="0.9", release="1", epoch="", install="", files=""
        ),
    }  # fmt: skip
    for name, spec in specs.items():
        (work / f"{name}.spec").write_text(spec)
        _output(
            "rpmbuild", "-bb", "--define", f"_topdir {work / 'top'}",
            "--define", "__os_install_post %{nil}", "--define", "debug_package %{nil}",
            work / f"{name}.spec",
        )  # fmt: skip
    database = work / "db"
    database.mkdir()
    _output("rpm", "--dbpath", database, "--initdb")
    packages = sorted((work / "top" / "RPMS").rglob("*.rpm"))
    _output(
        "rpm", "-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos",
        "--dbpath", database, *packages,
    )  # fmt: skip


@dataclass(frozen=True)
class DebianRootfs:
    """A Debian 12 minbase root filesystem as one image layer.

    ``layer_path`` is the gzip-compressed tar (``./``-relative members, numeric owners,
    without ``/dev`` entries or the downloaded ``.deb`` files, as image builds leave them
    out); ``diff_id`` is the digest of the uncompressed tar; ``admindir`` is a copy of its
    ``var/lib/dpkg`` for ``dpkg-query --admindir``.
    """

    layer_path: Path
    diff_id: str
    admindir: Path

    def layer(self) -> Layer:
        return Layer(self.layer_path.read_bytes(), self.diff_id)

    def installed(self) -> set[DpkgPackage]:
        return dpkg_installed(self.admindir)


def debian_rootfs() -> DebianRootfs:
    """``debootstrap --variant=minbase bookworm`` from the Debian mirror (needs root and
    the network to the mirror; about 200 MB, a minute or two the first time)."""
    directory = cached_build(f"debootstrap minbase bookworm {DEBIAN_MIRROR} v1", _debootstrap)
    return DebianRootfs(
        directory / "layer.tar.gz", (directory / "diff_id").read_text(), directory / "dpkg"
    )


def _debootstrap(work: Path) -> None:
    rootfs = work / "rootfs"
    _output("debootstrap", "--variant=minbase", "bookworm", rootfs, DEBIAN_MIRROR,
            timeout=DEBOOTSTRAP_TIMEOUT)
    for package in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        package.unlink()
    shutil.copytree(rootfs / "var/lib/dpkg", work / "dpkg", symlinks=True)
    tar = work / "layer.tar"
    _output("tar", "--create", "--file", tar, "--numeric-owner", "--sort=name",
            "--exclude=./dev/*", "--directory", rootfs, ".", timeout=DEBOOTSTRAP_TIMEOUT)
    (work / "diff_id").write_text(_sha256_digest(tar))
    _output("gzip", "--no-name", tar, timeout=DEBOOTSTRAP_TIMEOUT)
    shutil.rmtree(rootfs)


def _sha256_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()
