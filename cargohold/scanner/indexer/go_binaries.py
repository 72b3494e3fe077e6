"""Go modules compiled into executables, from their build info (``go version -m``).

Each executable yields its main module (when it has a real version, not ``(devel)``),
every ``dep`` line with its ``=>`` replacement applied, and the standard library as the
package ``stdlib`` at the toolchain's version, as OSV's Go ecosystem names them.
Versions drop Go's leading ``v`` (``v0.3.7`` -> ``0.3.7``, ``go1.19.8`` -> ``1.19.8``), as
OSV writes them. Modules replaced by a local directory have no version and are left out.
A pre-1.18 executable is found but not read, which makes the index ``partial``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from cargohold.scanner.indexer import go_buildinfo
from cargohold.scanner.indexer.errors import RecordInvalid
from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import RecordKind

STDLIB: Final = "stdlib"
DEVEL_VERSION: Final = "(devel)"
_LOCAL_PATH_PREFIXES: Final = ("./", "../", "/")
_GO_RELEASE: Final = re.compile(r"go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?")


@dataclass(frozen=True)
class Module:
    """A module as the build info names it: ``path`` and ``version`` (Go's spelling)."""

    path: str
    version: str


@dataclass(frozen=True)
class ModuleList:
    """The modules of one build: ``main`` (``None`` outside module mode) and ``deps``,
    each already replaced by its ``=>`` replacement, if any."""

    main: Module | None = None
    deps: list[Module] = field(default_factory=list)


@dataclass(frozen=True)
class GoBinary:
    """What one executable yields: packages, warnings, or the reason it was not read."""

    packages: list[InstalledPackage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unread_reason: str | None = None


def parse_module_info(module_info: str) -> ModuleList:
    """The ``mod``, ``dep`` and ``=>`` lines of a build's module info (tab-separated:
    ``dep PATH VERSION SUM``); a ``=>`` line replaces the module on the line before it.
    Other lines (``path``, ``build``) and malformed ones are ignored."""
    main: Module | None = None
    deps: list[Module] = []
    for line in module_info.splitlines():
        key, _, rest = line.partition("\t")
        fields = rest.split("\t")
        module = Module(fields[0], fields[1] if len(fields) > 1 else "")
        if not module.path:
            continue
        if key == "mod":
            main = module
        elif key == "dep":
            deps.append(module)
        elif key == "=>" and deps:
            deps[-1] = module
    return ModuleList(main, deps)


def stdlib_version(go_version: str) -> str | None:
    """The SemVer OSV gives a Go release (``go1.19.8`` -> ``1.19.8``, ``go1.19`` ->
    ``1.19.0``, ``go1.21rc2`` -> ``1.21.0-rc.2``); experiment flags after a space are
    ignored. ``None`` for toolchains that are not a release (``devel ...``)."""
    release = _GO_RELEASE.fullmatch(go_version.split(" ", 1)[0])
    if release is None:
        return None
    major, minor, patch, stage, number = release.groups()
    version = f"{major}.{minor}.{patch or 0}"
    return f"{version}-{stage}.{number}" if stage else version


def read_go_binary(blob: bytes, path: str) -> GoBinary:
    """The packages the build info ``blob`` (from ``go_buildinfo.find_build_info``) of
    the executable at ``path`` names."""
    try:
        info = go_buildinfo.decode_build_info(blob)
    except RecordInvalid as exc:
        return GoBinary(unread_reason=f"{path}: Go executable {exc}")
    modules = parse_module_info(info.module_info)
    packages = [
        _package(module.path, module.version.removeprefix("v"), path)
        for module in _versioned([modules.main] if modules.main else []) + _versioned(modules.deps)
    ]
    stdlib = stdlib_version(info.go_version)
    if stdlib is None:
        warning = f"{path}: Go toolchain {info.go_version!r} is not a release; stdlib left out"
        return GoBinary(packages, warnings=[warning])
    return GoBinary([*packages, _package(STDLIB, stdlib, path)])


def _versioned(modules: list[Module]) -> list[Module]:
    return [
        module
        for module in modules
        if module.version not in ("", DEVEL_VERSION)
        and not module.path.startswith(_LOCAL_PATH_PREFIXES)
    ]


def _package(name: str, version: str, path: str) -> InstalledPackage:
    return InstalledPackage(kind=PackageKind.GO, name=name, version=version, path=path)


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds the Go modules of every Go executable; a pre-1.18 one is a reason."""
    for path in filesystem.paths_of(RecordKind.GO_BINARY):
        _collect_binary(filesystem, cache, findings, path)


def _collect_binary(
    filesystem: MergedFilesystem, cache: ParseCache, findings: Findings, path: str
) -> None:
    file = filesystem.read(path)
    if file is None:
        return
    binary = cache.parse(file, ("go", path), lambda f: read_go_binary(f.data, path))
    findings.packages += binary.packages
    findings.warnings += binary.warnings
    if binary.unread_reason:
        findings.reasons.append(binary.unread_reason)
