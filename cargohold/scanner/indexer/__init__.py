"""The image indexer: what is installed in an image, read from its layers.

Pure: no database, no HTTP. The caller hands ``index_image`` the layers of one image
manifest (each with an async opener of its blob) and stores the returned ``ImageIndex``
per manifest, with ``INDEXER_VERSION``; a stored index of another version is stale.

Formats read: os-release; dpkg (``status``, distroless ``status.d``); apk
(``lib/apk/db/installed``); rpm (``rpmdb.sqlite``; BerkeleyDB and ndb are reported, not
read); Python (``.dist-info``, ``.egg-info``; OS-packaged ones skipped); npm (installed
``package.json`` files, v2/v3 lockfiles); Go (the build info of ELF executables built by
Go 1.18 or later: modules and the standard library; older ones are reported, not read);
Java (``pom.properties`` in ``.jar``/``.war``/``.ear`` archives and the archives nested in
them, one level deep).

Module map::

    image.py            index_image: layers in order -> ImageIndex, layer attribution
    blocking_stream.py  async byte stream -> blocking file object for a worker thread
    decompression.py    which blobs are layers; gzip / zstd / plain by magic bytes
    layer_reader.py     one tar stream -> LayerChanges (records, whiteouts, links)
    records.py          which paths are records and how each is kept
    go_buildinfo.py     Go build info found in an executable as it streams by
    elf.py              where an executable's writable data lies (program headers)
    jar_contents.py     a Java archive, copied aside, reduced to its pom.properties
    paths.py            path normalisation, whiteouts, symlink targets
    filesystem.py       overlay of LayerChanges -> the merged view of records
    extraction.py       runs every format reader over the merged view
    findings.py         what readers report into; per-file-version parse cache
    os_release.py dpkg.py apk.py rpmdb.py rpm_header.py python_packages.py npm.py
    go_binaries.py java_archives.py
"""

from cargohold.scanner.indexer.errors import LayerStreamFailed
from cargohold.scanner.indexer.image import index_image
from cargohold.scanner.indexer.limits import IndexLimits
from cargohold.scanner.indexer.model import (
    INDEXER_VERSION,
    Distribution,
    ImageIndex,
    IndexStatus,
    InstalledPackage,
    LayerOpener,
    LayerSource,
    PackageKind,
)

__all__ = [
    "INDEXER_VERSION",
    "Distribution",
    "ImageIndex",
    "IndexLimits",
    "IndexStatus",
    "InstalledPackage",
    "LayerOpener",
    "LayerSource",
    "LayerStreamFailed",
    "PackageKind",
    "index_image",
]
