"""Java archives: Maven coordinates from the ``pom.properties`` of real jars (Debian's,
from its Maven repository ``/usr/share/maven-repo``, whose layout names each jar's
coordinates), and of archives made by the JDK's ``jar`` tool with jars inside."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cargohold.scanner.advisory import Advisory
from cargohold.scanner.feeds.osv import parse_osv_record
from cargohold.scanner.image_matching import (
    LookupKey,
    lookup_key,
    match_index,
    matchable_packages,
)
from cargohold.scanner.indexer import (
    ImageIndex,
    IndexLimits,
    IndexStatus,
    PackageKind,
    index_image,
)

from .layers import LayerBuilder, layer

MAVEN_REPOSITORY = Path("/usr/share/maven-repo")
REPOSITORY_JARS = [
    "commons-io/commons-io/2.11.0/commons-io-2.11.0.jar",
    "commons-cli/commons-cli/1.5.0/commons-cli-1.5.0.jar",
    "org/apache/commons/commons-lang3/3.12.0/commons-lang3-3.12.0.jar",
    "com/google/guava/guava/31.1-jre/guava-31.1-jre.jar",
]
DEBIAN_JAVA = Path("/usr/share/java")
OSV = Path(__file__).parent.parent / "scanner" / "data" / "osv"


def coordinates_by_layout(repository_path: str) -> tuple[str, str]:
    """``(GROUP:ARTIFACT, VERSION)`` as a Maven repository's directory layout names them:
    ``GROUP/AS/DIRS/ARTIFACT/VERSION/ARTIFACT-VERSION.jar``."""
    *group, artifact, version, _ = repository_path.split("/")
    return f"{'.'.join(group)}:{artifact}", version


def maven_packages(index: ImageIndex) -> set[tuple[str, str, str]]:
    assert all(p.kind is PackageKind.MAVEN for p in index.packages)
    return {(p.name, p.version, p.path) for p in index.packages}


def repository_jars_layer(under: str) -> LayerBuilder:
    tree = LayerBuilder()
    for jar in REPOSITORY_JARS:
        tree.file(f"{under}/{Path(jar).name}", (MAVEN_REPOSITORY / jar).read_bytes())
    return tree


@pytest.fixture(scope="module")
def spring_boot_jar(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A fat jar laid out as Spring Boot's: the application's own Maven metadata, two
    repository jars stored (uncompressed) under ``BOOT-INF/lib``, and a ``pom.properties``
    whose version was never filled in by the build."""
    work = tmp_path_factory.mktemp("fat-jar")
    content = work / "content"
    maven = content / "META-INF" / "maven"
    (maven / "com.example" / "shop").mkdir(parents=True)
    (maven / "com.example" / "shop" / "pom.properties").write_text(
        "#Created by Apache Maven 3.9.6\nartifactId=shop\ngroupId=com.example\nversion=1.4.2\n"
    )
    (maven / "com.example" / "unfiltered").mkdir(parents=True)
    (maven / "com.example" / "unfiltered" / "pom.properties").write_text(
        "groupId=com.example\nartifactId=unfiltered\nversion=${project.version}\n"
    )
    (content / "BOOT-INF" / "lib").mkdir(parents=True)
    for jar in REPOSITORY_JARS[:2]:
        (content / "BOOT-INF" / "lib" / Path(jar).name).write_bytes(
            (MAVEN_REPOSITORY / jar).read_bytes()
        )
    archive = work / "shop.jar"
    subprocess.run(
        ["jar", "--create", "--no-compress", "--file", archive, "-C", content, "."], check=True
    )
    return archive.read_bytes()


@pytest.fixture(scope="module")
def store_war(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A web archive with a repository jar, compressed, under ``WEB-INF/lib``."""
    work = tmp_path_factory.mktemp("war")
    jar = REPOSITORY_JARS[2]
    (work / "content" / "WEB-INF" / "lib").mkdir(parents=True)
    (work / "content" / "WEB-INF" / "lib" / Path(jar).name).write_bytes(
        (MAVEN_REPOSITORY / jar).read_bytes()
    )
    archive = work / "store.war"
    subprocess.run(["jar", "--create", "--file", archive, "-C", work / "content", "."], check=True)
    return archive.read_bytes()


async def test_repository_jars_yield_the_coordinates_of_their_layout() -> None:
    index = await index_image([layer(repository_jars_layer("app/lib"))])

    assert index.status is IndexStatus.INDEXED
    assert maven_packages(index) == {
        (*coordinates_by_layout(jar), f"app/lib/{Path(jar).name}") for jar in REPOSITORY_JARS
    }
    assert index.warnings == []


async def test_debian_jars_are_counted_once_not_once_per_symlink() -> None:
    versioned = "guava-31.1-jre.jar"
    java = (
        LayerBuilder()
        .file(f"usr/share/java/{versioned}", (DEBIAN_JAVA / versioned).read_bytes())
        .symlink("usr/share/java/guava.jar", versioned)
    )
    index = await index_image([layer(java)])

    assert maven_packages(index) == {
        ("com.google.guava:guava", "31.1-jre", f"usr/share/java/{versioned}")
    }


async def test_a_fat_jar_and_the_jars_nested_in_it(spring_boot_jar: bytes) -> None:
    index = await index_image([layer(LayerBuilder().file("app/shop.jar", spring_boot_jar))])

    nested = {
        (*coordinates_by_layout(jar), f"app/shop.jar!/BOOT-INF/lib/{Path(jar).name}")
        for jar in REPOSITORY_JARS[:2]
    }
    assert maven_packages(index) == {("com.example:shop", "1.4.2", "app/shop.jar")} | nested
    assert index.warnings == [
        "app/shop.jar: META-INF/maven/com.example/unfiltered/pom.properties"
        " has no usable Maven coordinates"
    ]


async def test_a_war_with_compressed_jars_inside(store_war: bytes) -> None:
    index = await index_image([layer(LayerBuilder().file("srv/store.war", store_war))])

    jar = REPOSITORY_JARS[2]
    assert maven_packages(index) == {
        (*coordinates_by_layout(jar), f"srv/store.war!/WEB-INF/lib/{Path(jar).name}")
    }


async def test_a_jar_that_is_not_a_zip_is_a_warning() -> None:
    index = await index_image([layer(LayerBuilder().file("app/broken.jar", b"not a zip"))])

    assert index.status is IndexStatus.INDEXED
    assert index.packages == []
    assert index.warnings == ["app/broken.jar: not a zip archive (File is not a zip file)"]


async def test_an_archive_over_the_limit_is_skipped_with_a_warning() -> None:
    tree = repository_jars_layer("lib")
    sizes = {info.name: info.size for info, _ in tree.members}
    limit = sizes["lib/commons-cli-1.5.0.jar"]
    index = await index_image([layer(tree)], IndexLimits(max_java_archive_bytes=limit))

    assert {name for name, _, _ in maven_packages(index)} == {"commons-cli:commons-cli"}
    assert sorted(index.warnings) == sorted(
        f"{path}: {size} bytes, over the limit of {limit} bytes"
        for path, size in sizes.items()
        if size > limit
    )


async def test_a_jar_removed_by_a_later_layer() -> None:
    removed = LayerBuilder().whiteout("app/lib")
    index = await index_image([layer(repository_jars_layer("app/lib")), layer(removed)])

    assert index.packages == []


def log4j_core_jar(work: Path, version: str) -> bytes:
    """A jar as Maven builds log4j-core: its ``pom.properties`` names the coordinates."""
    content = work / version
    pom = content / "META-INF" / "maven" / "org.apache.logging.log4j" / "log4j-core"
    pom.mkdir(parents=True)
    (pom / "pom.properties").write_text(
        f"artifactId=log4j-core\ngroupId=org.apache.logging.log4j\nversion={version}\n"
    )
    archive = work / f"log4j-core-{version}.jar"
    subprocess.run(["jar", "--create", "--file", archive, "-C", content, "."], check=True)
    return archive.read_bytes()


async def test_a_vulnerable_log4j_core_is_found_through_its_jar(tmp_path: Path) -> None:
    jars = LayerBuilder()
    for version in ("2.14.1", "2.0-beta9", "2.15.0", "2.17.1"):
        jars.file(f"opt/app{version}/lib/log4j-core.jar", log4j_core_jar(tmp_path, version))
    index = await index_image([layer(jars), layer(repository_jars_layer("app/lib"))])
    advisories: dict[LookupKey, list[Advisory]] = {}
    for advisory in parse_osv_record((OSV / "GHSA-jfh8-c2jp-5v3q.json").read_bytes()):
        advisories.setdefault(lookup_key(advisory), []).append(advisory)

    findings = match_index(index, advisories)

    assert len(matchable_packages(index)) == 4 + len(REPOSITORY_JARS)
    found = {
        (index.packages[f["package"]].path, f["id"], f["fixed_in"], f["severity"]) for f in findings
    }
    assert found == {
        ("opt/app2.14.1/lib/log4j-core.jar", "GHSA-jfh8-c2jp-5v3q", "2.15.0", "Critical"),
        ("opt/app2.0-beta9/lib/log4j-core.jar", "GHSA-jfh8-c2jp-5v3q", "2.3.1", "Critical"),
    }
