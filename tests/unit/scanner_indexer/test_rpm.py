"""rpm: a real rpmdb.sqlite from Debian's rpm, the header reader, legacy databases."""

from __future__ import annotations

import struct

import pytest

from cargohold.scanner.indexer import IndexStatus, PackageKind, index_image
from cargohold.scanner.indexer.errors import RecordInvalid
from cargohold.scanner.indexer.rpm_header import RpmHeader, Tag
from cargohold.scanner.indexer.rpmdb import read_sqlite_headers, split_source_rpm

from .conftest import RpmDatabase
from .layers import LayerBuilder, layer


@pytest.mark.parametrize("place", ["var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"])
async def test_real_database_matches_rpm_query(rpm_database: RpmDatabase, place: str) -> None:
    tree = LayerBuilder().file(place, rpm_database.sqlite.read_bytes())
    index = await index_image([layer(tree)])

    assert index.status is IndexStatus.INDEXED
    found = {
        (p.name, p.version, f"{p.source_name}-{p.source_version}.src.rpm", p.architecture)
        for p in index.packages
    }
    # rpm -qa names the source rpm without the epoch; the index gives it the binary's.
    assert {(n, v, s.replace("2:", ""), a) for n, v, s, a in found} == rpm_database.installed
    demo = next(p for p in index.packages if p.name == "cargohold-demo")
    assert (demo.kind, demo.version, demo.source_version) == (
        PackageKind.RPM,
        "2:1.2.3-4.el9",
        "2:1.2.3-4.el9",
    )
    assert demo.path == place


async def test_berkeleydb_database_makes_the_index_partial() -> None:
    tree = LayerBuilder().file("var/lib/rpm/Packages", b"\0" * 4096)
    index = await index_image([layer(tree)])

    assert index.status is IndexStatus.PARTIAL
    assert index.reasons == [
        "var/lib/rpm/Packages: rpm BerkeleyDB/ndb databases are not read (only rpmdb.sqlite)"
    ]


async def test_a_file_that_is_not_sqlite_makes_the_index_partial() -> None:
    tree = LayerBuilder().file("var/lib/rpm/rpmdb.sqlite", b"not a database" * 100)
    index = await index_image([layer(tree)])
    assert index.status is IndexStatus.PARTIAL
    assert index.reasons[0].startswith("var/lib/rpm/rpmdb.sqlite: not an rpm SQLite database")


def test_header_blobs_of_the_real_database_parse(rpm_database: RpmDatabase) -> None:
    headers = [RpmHeader(blob) for blob in read_sqlite_headers(rpm_database.sqlite)]
    assert sorted(h.string(Tag.NAME) or "" for h in headers) == [
        "cargohold-demo",
        "cargohold-tool",
    ]


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        struct.pack(">ii", 0, 0),
        struct.pack(">ii", 1, 100) + b"\0" * 16,
        struct.pack(">ii", 10**6, 0),
    ],
    ids=["empty", "no-entries", "short-store", "too-many-entries"],
)
def test_malformed_headers_are_refused(blob: bytes) -> None:
    with pytest.raises(RecordInvalid):
        RpmHeader(blob)


def test_string_pointing_outside_the_store_is_refused() -> None:
    entry = struct.pack(">iiii", Tag.NAME, 6, 2, 1)
    header = RpmHeader(struct.pack(">ii", 1, 2) + entry + b"ab")
    with pytest.raises(RecordInvalid):
        header.string(Tag.NAME)


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("bash-5.1.8-6.el9.src.rpm", ("bash", "5.1.8", "6.el9")),
        ("python3-pip-21.3.1-1.fc36.nosrc.rpm", ("python3-pip", "21.3.1", "1.fc36")),
        ("garbage", None),
        ("-1.src.rpm", None),
    ],
)
def test_split_source_rpm(filename: str, expected: tuple[str, str, str] | None) -> None:
    assert split_source_rpm(filename) == expected
