"""A CycloneDX 1.5 SBOM (JSON) of an ``ImageIndex``. Pure.

Written by hand after the CycloneDX 1.5 JSON schema (``bomFormat``, ``specVersion``,
``serialNumber``, ``metadata.component``, ``components`` with ``bom-ref``, ``purl`` and
``properties``): the few fields an image's package list needs do not earn a dependency.
Package URLs follow the purl specification's types (``deb``, ``apk``, ``rpm``, ``pypi``,
``npm``, ``golang``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

from cargohold.scanner.indexer.model import ImageIndex, InstalledPackage, PackageKind

_PURL_TYPES = {
    PackageKind.DPKG: "deb",
    PackageKind.APK: "apk",
    PackageKind.RPM: "rpm",
    PackageKind.PYTHON: "pypi",
    PackageKind.NPM: "npm",
    PackageKind.GO: "golang",
    PackageKind.MAVEN: "maven",
}


def cyclonedx_sbom(index: ImageIndex, image_name: str, digest: str) -> dict[str, Any]:
    """The SBOM of image ``image_name`` (repository) at manifest ``digest``. The serial
    number is derived from the digest, so the same index gives the same document."""
    components = [
        _component(position, package, index) for position, package in enumerate(index.packages)
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, image_name + '@' + digest)}",
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "cargohold"}]},
            "component": {
                "type": "container",
                "bom-ref": digest,
                "name": image_name,
                "version": digest,
            },
        },
        "components": components,
    }


def cyclonedx_bytes(document: dict[str, Any]) -> bytes:
    """The bytes of an SBOM document as the API serves it and a referrer stores it:
    compact UTF-8 JSON, keys in the document's order, so equal documents give equal
    digests."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def package_url(package: InstalledPackage, index: ImageIndex) -> str:
    """The purl of ``package`` (with the distribution as a qualifier for OS packages);
    a Go module's is ``pkg:golang/PATH@vVERSION`` (``stdlib`` for the standard library),
    a Maven package's ``pkg:maven/GROUP/ARTIFACT@VERSION``."""
    kind = _PURL_TYPES[package.kind]
    name = package.name.lower() if package.kind == PackageKind.PYTHON else package.name
    namespace = ""
    qualifiers = []
    if package.kind in (PackageKind.DPKG, PackageKind.APK, PackageKind.RPM) and index.distribution:
        namespace = quote(index.distribution.id, safe="") + "/"
        if package.architecture:
            qualifiers.append(f"arch={quote(package.architecture, safe='')}")
        release = index.distribution.version_id or index.distribution.version_codename
        if release:
            qualifiers.append(f"distro={quote(index.distribution.id + '-' + release, safe='')}")
    if package.kind == PackageKind.MAVEN:
        # OSV's GROUP:ARTIFACT is the purl's namespace GROUP and name ARTIFACT.
        group, _, name = name.rpartition(":")
        namespace = quote(group, safe="") + "/" if group else ""
    # Go module versions are kept as OSV writes them; Go's own spelling has the v.
    version = "v" + package.version if package.kind == PackageKind.GO else package.version
    purl = f"pkg:{kind}/{namespace}{quote(name, safe='@/')}@{quote(version, safe='')}"
    return purl + ("?" + "&".join(qualifiers) if qualifiers else "")


def _component(position: int, package: InstalledPackage, index: ImageIndex) -> dict[str, Any]:
    properties = [
        {"name": "cargohold:package:kind", "value": package.kind.value},
        {"name": "cargohold:package:path", "value": package.path},
        {"name": "cargohold:layer:digest", "value": package.layer_digest},
    ]
    if package.source_name:
        properties.append({"name": "cargohold:package:source_name", "value": package.source_name})
    if package.source_version:
        properties.append(
            {"name": "cargohold:package:source_version", "value": package.source_version}
        )
    return {
        "type": "library",
        "bom-ref": f"pkg-{position}",
        "name": package.name,
        "version": package.version,
        "purl": package_url(package, index),
        "properties": properties,
    }
