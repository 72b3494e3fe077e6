"""npm packages: each installed package's ``node_modules/[@scope/]name/package.json``,
and ``package-lock.json``/``npm-shrinkwrap.json`` (lockfile versions 2 and 3) for
packages that a lockfile names but whose ``package.json`` is not in the image.

A project's own ``package.json`` (outside ``node_modules``) is not a package installed
in the image and is not read. Lockfile entries marked ``dev`` or ``link`` are skipped:
production images are built without dev dependencies, and links point at local sources.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from cargohold.scanner.indexer.filesystem import MergedFilesystem
from cargohold.scanner.indexer.findings import Findings, ParseCache, ParsedRecords
from cargohold.scanner.indexer.model import InstalledPackage, PackageKind
from cargohold.scanner.indexer.records import RecordKind

_NODE_MODULES = "node_modules/"


def parse_package_json(data: bytes, path: str) -> ParsedRecords:
    """The package an installed ``package.json`` describes; a warning if it is not JSON.
    Manifests without a string ``name`` and ``version`` yield nothing (some packages
    ship placeholder manifests)."""
    document = _load_json(data)
    if not isinstance(document, Mapping):
        return ParsedRecords(warnings=[f"{path}: not a JSON object"])
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
        return ParsedRecords()
    return ParsedRecords(packages=[_package(name, version, path)])


def parse_lockfile(data: bytes, path: str) -> dict[str, InstalledPackage]:
    """The packages a v2/v3 lockfile lists, by their ``node_modules/...`` location
    relative to the lockfile's directory. v1 lockfiles (no ``packages``) yield nothing."""
    document = _load_json(data)
    entries = document.get("packages") if isinstance(document, Mapping) else None
    if not isinstance(entries, Mapping):
        return {}
    return {
        location: _package(_locked_name(location, entry), entry["version"], path)
        for location, entry in entries.items()
        if _is_installed_entry(location, entry)
    }


def _is_installed_entry(location: str, entry: Any) -> bool:
    return (
        isinstance(entry, Mapping)
        and _NODE_MODULES in "/" + location
        and isinstance(entry.get("version"), str)
        and not entry.get("dev")
        and not entry.get("link")
    )


def _locked_name(location: str, entry: Mapping[str, Any]) -> str:
    name = entry.get("name")
    if isinstance(name, str) and name:
        return name
    return location.rpartition(_NODE_MODULES)[2]


def _package(name: str, version: str, path: str) -> InstalledPackage:
    return InstalledPackage(kind=PackageKind.NPM, name=name, version=version, path=path)


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def collect(filesystem: MergedFilesystem, cache: ParseCache, findings: Findings) -> None:
    """Adds installed npm packages, then lockfile packages not installed in the image."""
    for path in filesystem.paths_of(RecordKind.NPM_PACKAGE_JSON):
        _collect_package_json(filesystem, cache, findings, path)
    for path in filesystem.paths_of(RecordKind.NPM_LOCKFILE):
        _collect_lockfile(filesystem, cache, findings, path)


def _collect_package_json(
    filesystem: MergedFilesystem, cache: ParseCache, findings: Findings, path: str
) -> None:
    file = filesystem.read(path)
    if file is not None:
        findings.add(cache.parse(file, ("npm", path), lambda f: parse_package_json(f.data, path)))


def _collect_lockfile(
    filesystem: MergedFilesystem, cache: ParseCache, findings: Findings, path: str
) -> None:
    file = filesystem.read(path)
    if file is None:
        return
    locked = cache.parse(file, ("npm-lock", path), lambda f: parse_lockfile(f.data, path))
    project_dir = posixpath.dirname(path)
    for location, package in locked.items():
        if not filesystem.exists(posixpath.join(project_dir, location, "package.json")):
            findings.packages.append(package)
