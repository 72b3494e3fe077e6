"""Go executables: modules and the standard library from their build info, checked
against ``go version -m`` on real binaries (Debian's, Google Cloud SDK's, and one built
here from a local module proxy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cargohold.scanner.feeds.osv import parse_osv_documents
from cargohold.scanner.image_matching import lookup_key, match_index
from cargohold.scanner.indexer import (
    ImageIndex,
    IndexLimits,
    IndexStatus,
    PackageKind,
    index_image,
)
from cargohold.scanner.indexer.go_buildinfo import INLINE_STRINGS_FLAG, MAGIC

from .go_builds import build_demo_app, go_version, go_version_m, install_released_tool
from .layers import LayerBuilder, layer

EXECUTABLE = 0o755
OSV_DATA = Path(__file__).parents[1] / "scanner" / "data" / "osv"
DEBIAN_SKOPEO = Path("/usr/bin/skopeo")
KUBECTL_WITH_LOCAL_REPLACEMENTS = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.27")
CBT_WITH_VERSIONED_MAIN_MODULE = Path("/usr/lib/google-cloud-sdk/bin/cbt")
GO_COMMAND = Path("/usr/lib/go-1.19/bin/go")
# The Cloud SDK's binaries come with this machine kind, not from install-test-deps (no
# Debian package has a module build with local replacements): checked where present.
needs_cloud_sdk = pytest.mark.skipif(
    not KUBECTL_WITH_LOCAL_REPLACEMENTS.exists() or not CBT_WITH_VERSIONED_MAIN_MODULE.exists(),
    reason="the Google Cloud SDK's kubectl and cbt are not on this machine",
)
DEMO_APP_PACKAGES = {
    ("example.com/greetfork", "1.2.0"),
    ("golang.org/x/text", "0.3.7"),
    ("stdlib", "1.19.8"),
}


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return build_demo_app(tmp_path_factory.mktemp("go")).read_bytes()


def binary_layer(path: str, data: bytes, mode: int = EXECUTABLE) -> LayerBuilder:
    return LayerBuilder().file(path, data, mode)


def host_binary_layer(path: str, host_binary: Path | str) -> LayerBuilder:
    """A layer holding this machine's executable ``host_binary`` at ``path``."""
    return binary_layer(path, Path(host_binary).read_bytes())


def go_packages(index: ImageIndex) -> set[tuple[str, str]]:
    assert all(p.kind is PackageKind.GO for p in index.packages)
    return {(p.name, p.version) for p in index.packages}


def expected_by_go_version_m(binary: Path) -> set[tuple[str, str]]:
    """What ``go version -m`` lists: the main module and deps (replacements applied),
    without local directories and ``(devel)`` versions, and the standard library."""
    modules: list[list[str]] = []
    for fields in go_version_m(binary):
        if fields[0] in ("mod", "dep"):
            modules.append(fields[1:3])
        elif fields[0] == "=>":
            modules[-1] = fields[1:3]
    expected = {
        (path, version.removeprefix("v"))
        for path, version in modules
        if version != "(devel)" and not path.startswith((".", "/"))
    }
    return expected | {("stdlib", go_version(binary).removeprefix("go"))}


@pytest.mark.parametrize(
    "binary",
    [
        pytest.param(DEBIAN_SKOPEO, id="debian-skopeo-gopath-build"),
        pytest.param(
            KUBECTL_WITH_LOCAL_REPLACEMENTS, id="kubectl-local-replacements", marks=needs_cloud_sdk
        ),
        pytest.param(
            CBT_WITH_VERSIONED_MAIN_MODULE, id="cbt-versioned-main", marks=needs_cloud_sdk
        ),
    ],
)
async def test_real_binaries_yield_what_go_version_m_lists(binary: Path) -> None:
    path = "usr/local/bin/" + binary.name
    index = await index_image([layer(host_binary_layer(path, binary), "none")])

    assert index.status is IndexStatus.INDEXED
    assert go_packages(index) == expected_by_go_version_m(binary)
    assert {p.path for p in index.packages} == {path}


async def test_debian_skopeo_is_a_gopath_build_with_the_standard_library_only() -> None:
    index = await index_image([layer(host_binary_layer("usr/bin/skopeo", DEBIAN_SKOPEO))])

    assert go_packages(index) == {("stdlib", "1.19.8")}


@needs_cloud_sdk
async def test_kubectl_main_module_and_local_replacements_are_left_out() -> None:
    binary = KUBECTL_WITH_LOCAL_REPLACEMENTS
    index = await index_image([layer(host_binary_layer("kubectl", binary), "none")])

    names = {name for name, _ in go_packages(index)}
    assert "k8s.io/kubernetes" not in names  # mod k8s.io/kubernetes (devel)
    assert "k8s.io/api" not in names  # => ./staging/src/k8s.io/api (devel)
    assert ("golang.org/x/text", "0.14.0") in go_packages(index)


@pytest.mark.parametrize("goarch", ["amd64", "386", "s390x"])
async def test_a_module_build_with_a_replacement_on_each_elf_flavour(
    goarch: str, tmp_path: Path
) -> None:
    """64- and 32-bit, little- and big-endian ELF."""
    binary = build_demo_app(tmp_path, goarch)
    index = await index_image([layer(binary_layer("app/server", binary.read_bytes()))])

    # example.com/greeting is replaced by greetfork; the (devel) main module is left out.
    assert go_packages(index) == DEMO_APP_PACKAGES == expected_by_go_version_m(binary)
    assert [p.path for p in index.packages] == ["app/server"] * 3


async def test_a_released_main_module_is_reported_at_its_version(tmp_path: Path) -> None:
    binary = install_released_tool(tmp_path)
    index = await index_image([layer(host_binary_layer("usr/bin/tool", binary))])

    assert (
        go_packages(index)
        == expected_by_go_version_m(binary)
        == {
            ("example.com/tool", "1.4.0"),
            ("golang.org/x/text", "0.3.7"),
            ("stdlib", "1.19.8"),
        }
    )


async def test_the_go_command_holding_the_magic_as_data_is_read_once() -> None:
    go_command = host_binary_layer("usr/bin/go", GO_COMMAND)
    assert go_command.tar().count(MAGIC) == 2

    index = await index_image([layer(go_command, "none")])

    assert [(p.name, p.version) for p in index.packages] == [("stdlib", "1.19.8")]


@pytest.mark.parametrize("binary", ["/usr/bin/ls", "/bin/busybox"])
async def test_an_elf_that_is_not_go_yields_nothing(binary: str) -> None:
    index = await index_image([layer(host_binary_layer("bin/tool", binary))])

    assert index.status is IndexStatus.INDEXED
    assert (index.packages, index.warnings) == ([], [])


async def test_a_file_without_an_execute_bit_is_not_read(demo_app: bytes) -> None:
    index = await index_image([layer(binary_layer("opt/app", demo_app, mode=0o644))])

    assert index.packages == []


async def test_truncated_binaries_yield_nothing(demo_app: bytes) -> None:
    magic_at = demo_app.index(MAGIC)
    cuts = {
        "half": demo_app[: len(demo_app) // 2],
        "in-header": demo_app[: magic_at + 20],
        "in-module-info": demo_app[: magic_at + 64],
        "elf-header-only": demo_app[:64],
    }
    tree = LayerBuilder()
    for name, data in cuts.items():
        tree.file(f"bin/{name}", data, EXECUTABLE)
    index = await index_image([layer(tree)])

    assert index.status is IndexStatus.INDEXED
    assert (index.packages, index.warnings) == ([], [])


async def test_a_binary_whited_out_or_replaced_in_a_later_layer(demo_app: bytes) -> None:
    base = binary_layer("usr/bin/app", demo_app).file("usr/bin/other", demo_app, EXECUTABLE)
    removed = LayerBuilder().whiteout("usr/bin/app").file("usr/bin/other", b"#!/bin/sh\n")
    index = await index_image([layer(base), layer(removed)])

    assert index.packages == []


async def test_a_replaced_binary_attributes_what_changed_to_the_upper_layer(
    demo_app: bytes,
) -> None:
    base = layer(host_binary_layer("usr/bin/app", DEBIAN_SKOPEO))
    upper = layer(binary_layer("usr/bin/app", demo_app))
    index = await index_image([base, upper])

    assert {(p.name, p.layer_digest) for p in index.packages} == {
        ("stdlib", base.digest),  # go1.19.8 in both builds
        ("golang.org/x/text", upper.digest),
        ("example.com/greetfork", upper.digest),
    }


async def test_a_hard_link_to_a_go_binary_is_read_at_both_paths(demo_app: bytes) -> None:
    tree = binary_layer("usr/bin/app", demo_app).hard_link("usr/bin/app-alias", "usr/bin/app")
    index = await index_image([layer(tree)])

    assert {p.path for p in index.packages} == {"usr/bin/app", "usr/bin/app-alias"}


async def test_a_binary_built_before_go_1_18_is_reported_not_read(demo_app: bytes) -> None:
    flags_at = demo_app.index(MAGIC) + len(MAGIC) + 1
    old = bytearray(demo_app)
    old[flags_at] &= ~INLINE_STRINGS_FLAG  # strings by pointer, as Go 1.13 to 1.17 wrote
    index = await index_image([layer(binary_layer("usr/bin/old", bytes(old)))])

    assert index.status is IndexStatus.PARTIAL
    assert index.packages == []
    assert index.reasons == [
        "usr/bin/old: Go executable built before Go 1.18 (build info not inline); not read"
    ]


async def test_an_executable_over_the_limit_is_skipped_with_a_warning(demo_app: bytes) -> None:
    limits = IndexLimits(max_executable_bytes=len(demo_app) - 1)
    index = await index_image([layer(binary_layer("usr/bin/app", demo_app))], limits)

    assert index.packages == []
    assert index.warnings == [
        f"usr/bin/app: an executable of {len(demo_app)} bytes, over the limit of "
        f"{len(demo_app) - 1} bytes; not searched for Go build info"
    ]


async def test_a_module_inside_an_osv_go_range_is_found(demo_app: bytes) -> None:
    index = await index_image([layer(binary_layer("usr/bin/app", demo_app))])
    advisories = parse_osv_documents([(OSV_DATA / "GO-2022-1059.json").read_bytes()])
    by_key = {lookup_key(advisory): [advisory] for advisory in advisories}

    findings = match_index(index, by_key)

    assert [(index.packages[f["package"]].name, f["id"], f["fixed_in"]) for f in findings] == [
        ("golang.org/x/text", "GO-2022-1059", "0.3.8")
    ]
