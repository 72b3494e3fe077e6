"""os-release parsing and the apk database."""

from __future__ import annotations

from cargohold.scanner.indexer import Distribution, index_image
from cargohold.scanner.indexer.apk import parse_installed
from cargohold.scanner.indexer.os_release import distribution_of, parse_os_release

from .layers import LayerBuilder, layer

# The shape apk-tools writes (Alpine 3.19), trimmed to two packages.
APK_INSTALLED = b"""\
C:Q1/BzvxoJ9nbGCC4K0sENyyFQMzXvc=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407541
I:662528
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1702306036
c:6d8f4ef6bc1c1a35fe2d3e8fd3e4a7d0c1b4d2bb
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1ApNn1rH3VfNJvLmUCmmUHYQ2ISU=

C:Q1abc=
P:py3-idna
V:3.6-r0
A:noarch
o:py3-idna
F:usr/lib/python3.11/site-packages/idna-3.6.dist-info
R:METADATA
F:usr/lib/python3.11/site-packages/idna
R:core.py

C:Q1def=
P:libcrypto3
V:3.1.4-r2
A:x86_64
o:openssl
"""


def test_os_release_quoting() -> None:
    text = (
        b'# comment\nNAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.0\n'
        b"PRETTY_NAME='Alpine Linux v3.19'\nHOME_URL=\"https://alpinelinux.org/\"\n"
        b'BROKEN="unterminated\nnot an assignment\n'
    )
    fields = parse_os_release(text)
    assert fields["PRETTY_NAME"] == "Alpine Linux v3.19"
    assert fields["BROKEN"] == "unterminated"
    assert distribution_of(fields) == Distribution("alpine", "3.19.0", None, "Alpine Linux v3.19")
    assert distribution_of({}).id == "linux"


async def test_etc_os_release_wins_over_usr_lib() -> None:
    tree = (
        LayerBuilder()
        .file("usr/lib/os-release", b"ID=debian\n")
        .file("etc/os-release", b"ID=ubuntu\nVERSION_ID=22.04\n")
    )
    index = await index_image([layer(tree)])
    assert index.distribution == Distribution("ubuntu", "22.04")


def test_apk_installed_database() -> None:
    parsed = parse_installed(APK_INSTALLED)
    assert [(p.name, p.version, p.source_name, p.architecture) for p in parsed.packages] == [
        ("musl", "1.2.4_git20230717-r4", "musl", "x86_64"),
        ("py3-idna", "3.6-r0", "py3-idna", "noarch"),
        ("libcrypto3", "3.1.4-r2", "openssl", "x86_64"),
    ]
    assert parsed.os_owned_paths == {
        "usr/lib/python3.11/site-packages/idna-3.6.dist-info",
        "usr/lib/python3.11/site-packages/idna-3.6.dist-info/METADATA",
    }


async def test_apk_image_with_packaged_python() -> None:
    site = "usr/lib/python3.11/site-packages"
    tree = (
        LayerBuilder()
        .file("etc/os-release", b"ID=alpine\nVERSION_ID=3.19.0\n")
        .file("lib/apk/db/installed", APK_INSTALLED)
        .file(f"{site}/idna-3.6.dist-info/METADATA", b"Name: idna\nVersion: 3.6\n")
    )
    index = await index_image([layer(tree)])
    assert [p.name for p in index.packages] == ["musl", "py3-idna", "libcrypto3"]
