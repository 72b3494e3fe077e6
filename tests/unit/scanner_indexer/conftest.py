"""Real package content for the indexer tests, built offline once and cached.

Contracts (all session-scoped; each fails, never skips, when its tool is missing):

- ``host_dpkg`` (``HostDpkg``): this machine's real dpkg database (``status``, the
  ``info/*.list`` files) and os-release, and what ``dpkg-query`` says is installed.
- ``pip_site``: ``pip install --target`` of urllib3 1.25.8 and jinja2 2.10 (real
  ``.dist-info`` directories); ``pip_site_upgrade``: urllib3 1.26.18 alone.
- ``npm_project``: ``npm install --prefix`` of lodash 4.17.15 (``node_modules`` and
  ``package-lock.json``).
- ``rpm_database`` (``RpmDatabase``): an ``rpmdb.sqlite`` made by Debian's rpm from
  packages built here with rpmbuild, and what ``rpm -qa`` says is in it.

Built content is cached under the system temp directory (``cargohold-test-cache``),
keyed by what was asked for, so later sessions reuse it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

CACHE_ROOT = Path(tempfile.gettempdir()) / "cargohold-test-cache" / "scanner-indexer"

RPM_SPEC = """\
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


def cached_build(key: str, build: Callable[[Path], None]) -> Path:
    """The directory ``build`` fills, built once per ``key`` across sessions."""
    target = CACHE_ROOT / hashlib.sha256(key.encode()).hexdigest()[:16]
    if target.is_dir():
        return target
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=CACHE_ROOT, prefix="building-"))
    try:
        build(work)
        os.replace(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass(frozen=True)
class HostDpkg:
    status: bytes
    os_release: bytes
    file_lists: dict[str, bytes]
    installed: set[tuple[str, str, str, str, str]]
    """(name, version, source name, source version, architecture) per dpkg-query."""


@pytest.fixture(scope="session")
def host_dpkg() -> HostDpkg:
    query = "${db:Status-Status}\t${Package}\t${Version}\t${source:Package}\t"
    query += "${source:Version}\t${Architecture}\n"
    rows = [line.split("\t") for line in run("dpkg-query", "-W", "-f", query).splitlines()]
    info = Path("/var/lib/dpkg/info")
    return HostDpkg(
        status=Path("/var/lib/dpkg/status").read_bytes(),
        os_release=Path("/usr/lib/os-release").read_bytes(),
        file_lists={item.name: item.read_bytes() for item in info.glob("*.list")},
        installed={
            (row[1], row[2], row[3], row[4], row[5]) for row in rows if row[0] == "installed"
        },
    )


def _pip_install(*requirements: str) -> Path:
    def build(target: Path) -> None:
        run(
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-compile", "--target", target, *requirements,
        )  # fmt: skip

    return cached_build("pip " + " ".join(requirements), build)


@pytest.fixture(scope="session")
def pip_site() -> Path:
    return _pip_install("urllib3==1.25.8", "jinja2==2.10")


@pytest.fixture(scope="session")
def pip_site_upgrade() -> Path:
    return _pip_install("urllib3==1.26.18")


@pytest.fixture(scope="session")
def npm_project() -> Path:
    def build(target: Path) -> None:
        run(
            "npm", "install", "--prefix", target, "--no-audit", "--no-fund",
            "--loglevel=error", "lodash@4.17.15",
        )  # fmt: skip

    return cached_build("npm lodash@4.17.15", build)


@dataclass(frozen=True)
class RpmDatabase:
    sqlite: Path
    installed: set[tuple[str, str, str, str]]
    """(name, epoch:version-release or version-release, source rpm, arch) per rpm -qa."""


@pytest.fixture(scope="session")
def rpm_database() -> RpmDatabase:
    directory = cached_build("rpm demo packages v1", _build_rpm_database)
    query = "%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{SOURCERPM}\t%{ARCH}\n"
    output = run("rpm", "-qa", "--dbpath", directory / "db", "--qf", query)
    rows = [line.split("\t") for line in output.splitlines()]
    installed = {(row[0], row[1], row[2], row[3]) for row in rows}
    return RpmDatabase(directory / "db" / "rpmdb.sqlite", installed)


def _build_rpm_database(work: Path) -> None:
    metadata_dir = "/usr/lib/python3.11/site-packages/rpmowned-1.0.dist-info"
    specs = {
        "cargohold-demo": RPM_SPEC.format(
            name="cargohold-demo", version="1.2.3", release="4.el9", epoch="Epoch: 2",
            install=f"mkdir -p %{{buildroot}}{metadata_dir}\n"
            f"printf 'Metadata-Version: 2.1\\nName: rpmowned\\nVersion: 1.0\\n' "
            f"> %{{buildroot}}{metadata_dir}/METADATA",
            files=metadata_dir,
        ),
        "cargohold-tool": RPM_SPEC.format(
            name="cargohold-tool", version="0.9", release="1", epoch="", install="", files=""
        ),
    }  # fmt: skip
    for name, spec in specs.items():
        (work / f"{name}.spec").write_text(spec)
        run(
            "rpmbuild", "-bb", "--define", f"_topdir {work / 'top'}",
            "--define", "__os_install_post %{nil}", "--define", "debug_package %{nil}",
            work / f"{name}.spec",
        )  # fmt: skip
    database = work / "db"
    database.mkdir()
    run("rpm", "--dbpath", database, "--initdb")
    packages = sorted((work / "top" / "RPMS").rglob("*.rpm"))
    run(
        "rpm", "-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos",
        "--dbpath", database, *packages,
    )  # fmt: skip
