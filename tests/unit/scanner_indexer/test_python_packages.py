"""Python: real pip-installed dist-info, upgrades, whiteouts, opaque directories, and
distro-packaged Python that must not be counted twice."""

from __future__ import annotations

from pathlib import Path

from cargohold.scanner.indexer import InstalledPackage, PackageKind, index_image
from cargohold.scanner.indexer.python_packages import parse_metadata

from .conftest import HostDpkg, RpmDatabase
from .layers import LayerBuilder, layer

SITE = "usr/local/lib/python3.11/site-packages"
DIST_PACKAGES = Path("/usr/lib/python3/dist-packages")


def python_packages(packages: list[InstalledPackage]) -> dict[str, InstalledPackage]:
    return {p.name.lower(): p for p in packages if p.kind is PackageKind.PYTHON}


async def test_pip_installed_distributions(pip_site: Path) -> None:
    index = await index_image([layer(LayerBuilder().tree(pip_site, SITE))])

    found = python_packages(index.packages)
    assert found["urllib3"].version == "1.25.8"
    assert found["jinja2"].version == "2.10"
    assert "markupsafe" in found
    assert found["urllib3"].path == f"{SITE}/urllib3-1.25.8.dist-info/METADATA"


async def test_later_layer_upgrades_urllib3(pip_site: Path, pip_site_upgrade: Path) -> None:
    base = layer(LayerBuilder().tree(pip_site, SITE))
    upgrade_tree = LayerBuilder().whiteout(f"{SITE}/urllib3-1.25.8.dist-info")
    upgrade = layer(upgrade_tree.tree(pip_site_upgrade, SITE))

    index = await index_image([base, upgrade])

    found = python_packages(index.packages)
    assert found["urllib3"].version == "1.26.18"
    assert found["urllib3"].layer_digest == upgrade.digest
    assert found["jinja2"].layer_digest == base.digest
    assert sum(p.name == "urllib3" for p in index.packages) == 1


async def test_whiteout_of_a_dist_info_directory_removes_it(pip_site: Path) -> None:
    base = layer(LayerBuilder().tree(pip_site, SITE))
    removal = layer(LayerBuilder().whiteout(f"{SITE}/Jinja2-2.10.dist-info"))

    index = await index_image([base, removal])

    assert "jinja2" not in python_packages(index.packages)
    assert "urllib3" in python_packages(index.packages)


async def test_opaque_directory_hides_lower_layers(pip_site: Path) -> None:
    metadata = b"Metadata-Version: 2.1\nName: fresh\nVersion: 3.0\n\nbody: ignored\n"
    base = layer(LayerBuilder().tree(pip_site, SITE))
    fresh = layer(
        LayerBuilder().opaque(SITE).file(f"{SITE}/fresh-3.0.dist-info/METADATA", metadata)
    )

    index = await index_image([base, fresh])

    assert {(p.name, p.version) for p in index.packages} == {("fresh", "3.0")}


def distro_python_metadata() -> list[Path]:
    return [p for p in DIST_PACKAGES.iterdir() if p.suffix in (".dist-info", ".egg-info")]


async def test_debian_packaged_python_is_not_counted_twice(
    host_dpkg: HostDpkg, pip_site: Path
) -> None:
    """The host's python3-* packages own their metadata per var/lib/dpkg/info/*.list."""
    os_layer = LayerBuilder().file("var/lib/dpkg/status", host_dpkg.status)
    for name, data in host_dpkg.file_lists.items():
        os_layer.file(f"var/lib/dpkg/info/{name}", data)
    os_layer.tree(DIST_PACKAGES, "usr/lib/python3/dist-packages")
    distro_metadata = distro_python_metadata()
    assert distro_metadata, "the host has Debian-packaged Python to test with"

    index = await index_image([layer(os_layer), layer(LayerBuilder().tree(pip_site, SITE))])

    python_paths = {p.path for p in index.packages if p.kind is PackageKind.PYTHON}
    assert python_paths and all(path.startswith(SITE) for path in python_paths)
    assert any(p.name == "python3-yaml" for p in index.packages)


async def test_installer_naming_the_os_is_skipped() -> None:
    metadata = b"Metadata-Version: 2.1\nName: fromrpm\nVersion: 1.0\n"
    tree = (
        LayerBuilder()
        .file(f"{SITE}/fromrpm-1.0.dist-info/METADATA", metadata)
        .file(f"{SITE}/fromrpm-1.0.dist-info/INSTALLER", b"rpm\n")
        .file(f"{SITE}/frompip-1.0.dist-info/METADATA", metadata.replace(b"fromrpm", b"frompip"))
        .file(f"{SITE}/frompip-1.0.dist-info/INSTALLER", b"pip\n")
    )
    index = await index_image([layer(tree)])
    assert [p.name for p in index.packages] == ["frompip"]


async def test_rpm_owned_metadata_is_skipped(rpm_database: RpmDatabase) -> None:
    owned = "usr/lib/python3.11/site-packages/rpmowned-1.0.dist-info/METADATA"
    tree = (
        LayerBuilder()
        .file("var/lib/rpm/rpmdb.sqlite", rpm_database.sqlite.read_bytes())
        .file(owned, b"Metadata-Version: 2.1\nName: rpmowned\nVersion: 1.0\n")
    )
    index = await index_image([layer(tree)])
    assert {p.kind for p in index.packages} == {PackageKind.RPM}


async def test_egg_info_directory_and_file() -> None:
    pkg_info = b"Metadata-Version: 1.1\nName: legacy\nVersion: 0.5\n"
    tree = (
        LayerBuilder()
        .file(f"{SITE}/legacy-0.5-py3.11.egg-info/PKG-INFO", pkg_info)
        .file(
            f"{SITE}/single-1.1-py3.11.egg-info",
            pkg_info.replace(b"legacy", b"single").replace(b"0.5", b"1.1"),
        )
    )
    index = await index_image([layer(tree)])
    assert {(p.name, p.version) for p in index.packages} == {("legacy", "0.5"), ("single", "1.1")}


def test_metadata_without_version_is_a_warning() -> None:
    parsed = parse_metadata(b"Metadata-Version: 2.1\nName: broken\n", "x.dist-info/METADATA")
    assert parsed.packages == []
    assert parsed.warnings == ["x.dist-info/METADATA: Python metadata without Name or Version"]
