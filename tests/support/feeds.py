"""Advisory feeds served from a local HTTP server, in the real feeds' shapes.

``FeedServer`` serves a directory over HTTP on 127.0.0.1 and a free port (``http.server``
in a thread); ``write_feeds`` fills such a directory from the hand-written fixtures of
``tests/unit/scanner/data`` laid out as the public feeds are:

    debian/json                      the Debian security tracker's JSON
    alpine/<release>/<repo>.json     Alpine secdb documents
    osv/<ecosystem>/all.zip          OSV records zipped per ecosystem

``settings_for(url)`` gives the cargohold settings that point the updaters at it.
"""

from __future__ import annotations

import functools
import io
import json
import shutil
import threading
import zipfile
from collections.abc import Iterable, Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCANNER_DATA = Path(__file__).parent.parent / "unit" / "scanner" / "data"
OSV_BY_ECOSYSTEM = {
    "PyPI": ["GHSA-wqvq-5m8c-6g24.json", "PYSEC-2020-148.json", "GHSA-462w-v97r-4m45.json"],
    "npm": ["GHSA-jf85-cpcp-j695.json", "GHSA-p6mc-m468-83gw.json"],
    "Go": ["GO-2022-1059.json"],
    "Maven": ["GHSA-jfh8-c2jp-5v3q.json"],
}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class FeedServer:
    """An HTTP server of ``directory``'s files; ``url`` ends without a slash."""

    def __init__(self, directory: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.directory = directory

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def osv_zip(records: Iterable[bytes]) -> bytes:
    """A zip of OSV JSON records, as OSV publishes ``<ecosystem>/all.zip``."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for record in records:
            archive.writestr(json.loads(record)["id"] + ".json", record)
    return raw.getvalue()


def write_feeds(
    directory: Path,
    extra_osv: Mapping[str, list[bytes]] | None = None,
    leave_out: Iterable[str] = (),
) -> None:
    """Lay the fixture feeds out under ``directory`` (replacing what is there); each of
    ``extra_osv`` (ecosystem -> records) is added to that ecosystem's zip, and the OSV
    fixture files named in ``leave_out`` are left out."""
    shutil.rmtree(directory, ignore_errors=True)
    (directory / "debian").mkdir(parents=True)
    shutil.copy(SCANNER_DATA / "debian_tracker.json", directory / "debian" / "json")
    (directory / "alpine" / "v3.19").mkdir(parents=True)
    shutil.copy(SCANNER_DATA / "alpine_v3.19_main.json", directory / "alpine/v3.19/main.json")
    for ecosystem, names in OSV_BY_ECOSYSTEM.items():
        records = [(SCANNER_DATA / "osv" / name).read_bytes() for name in names
                   if name not in leave_out]
        records += (extra_osv or {}).get(ecosystem, [])
        (directory / "osv" / ecosystem).mkdir(parents=True)
        (directory / "osv" / ecosystem / "all.zip").write_bytes(osv_zip(records))


def settings_for(url: str) -> dict[str, Any]:
    """cargohold settings that fetch every fixture feed from the server at ``url``."""
    return {
        "vulndb_debian_url": f"{url}/debian/json",
        "vulndb_alpine_url": url + "/alpine/{release}/{repository}.json",
        "vulndb_alpine_releases": ["v3.19"],
        "vulndb_alpine_repositories": ["main"],
        "vulndb_osv_url": url + "/osv/{ecosystem}/all.zip",
        "vulndb_osv_ecosystems": list(OSV_BY_ECOSYSTEM),
    }
