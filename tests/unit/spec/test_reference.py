"""Repository names, tags and manifest references."""

from __future__ import annotations

import pytest

from cargohold.errors import ManifestInvalid, NameInvalid
from cargohold.spec.digest import Digest
from cargohold.spec.reference import (
    MAX_NAME_LENGTH,
    TAG_PATTERN,
    is_tag,
    namespace_of,
    parse_reference,
    validate_repository_name,
)

ALPINE_DIGEST = "sha256:c5b1261d6d3e43071626931fc004f70149baeba2c8ec672bd4f27761f8e1ad6b"


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "0",
        "alpine",
        "library/alpine",
        "team/app/api/v2",
        "my-app",
        "my--app",
        "my---app",
        "my_app",
        "my__app",
        "my.app",
        "k8s.gcr.io/pause",
        "a1/b2/c3",
        "a" * MAX_NAME_LENGTH,
        "/".join(["ab"] * 85),
    ],
)
def test_valid_names_are_returned(name: str) -> None:
    assert validate_repository_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("a" * (MAX_NAME_LENGTH + 1), "256 characters long; the limit is 255"),
        ("Library/alpine", "lower case"),
        ("library/Alpine", "lower case"),
        ("a//b", "empty path component"),
        ("a/", "empty path component"),
        ("library/alpine/", "empty path component"),
        ("/a", "empty path component"),
        ("/", "empty path component"),
        ("..", "relative"),
        (".", "relative"),
        ("a/../b", "relative"),
        ("a/./b", "relative"),
        ("../etc/passwd", "relative"),
        ("-a", "start and end"),
        ("a-", "start and end"),
        ("_a", "start and end"),
        ("a.", "start and end"),
        ("team/-app", "start and end"),
        ("a..b", "consecutive separators"),
        ("a___b", "consecutive separators"),
        ("a.-b", "consecutive separators"),
        ("a_-b", "consecutive separators"),
        ("a b", "contains ' '"),
        ("a:b", "contains ':'"),
        ("a@sha256", "contains '@'"),
        ("a\\b", "contains '\\\\'"),
        ("café", "contains 'é'"),
        ("alpine\n", "contains '\\n'"),
        ("a%2fb", "contains '%'"),
    ],
)
def test_hostile_names_are_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(NameInvalid) as caught:
        validate_repository_name(name)
    assert reason in caught.value.message
    assert repr(name) in caught.value.message
    assert caught.value.code == "NAME_INVALID"


def test_length_limit_counts_the_whole_name() -> None:
    name = "team/" + "a" * (MAX_NAME_LENGTH - 4)
    with pytest.raises(NameInvalid, match="256 characters"):
        validate_repository_name(name)
    assert validate_repository_name(name[:-1]) == name[:-1]


@pytest.mark.parametrize(
    "tag", ["latest", "v1.2.3", "1.0-rc.1", "_private", "A", "UPPER_case", "x" * 128, "3.19"]
)
def test_valid_tags(tag: str) -> None:
    assert is_tag(tag)
    assert TAG_PATTERN.fullmatch(tag)
    assert parse_reference(tag) == tag


@pytest.mark.parametrize(
    "text", ["", ".hidden", "-x", "x" * 129, "a/b", "a:b", "with space", "ünicode", "latest\n"]
)
def test_invalid_tags(text: str) -> None:
    assert not is_tag(text)


def test_parse_reference_gives_a_digest() -> None:
    reference = parse_reference(ALPINE_DIGEST)
    assert isinstance(reference, Digest)
    assert str(reference) == ALPINE_DIGEST


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sha256:abc", "64 hex characters"),
        ("md5:d41d8cd98f00b204e9800998ecf8427e", "not supported"),
        ("latest:", "is not a digest"),
        ("x" * 129, "129 characters long; the limit is 128"),
        (".hidden", "cannot start with '.' or '-'"),
        ("-rc1", "cannot start with '.' or '-'"),
        ("v1 beta", "only A-Z"),
        ("v1/beta", "only A-Z"),
        ("", "empty"),
    ],
)
def test_bad_references_are_named(text: str, reason: str) -> None:
    with pytest.raises(ManifestInvalid) as caught:
        parse_reference(text)
    assert repr(text) in caught.value.message
    assert reason in caught.value.message


@pytest.mark.parametrize(
    ("name", "namespace"),
    [("team/app/api", "team"), ("library/alpine", "library"), ("alpine", "alpine")],
)
def test_namespace_of(name: str, namespace: str) -> None:
    assert namespace_of(name) == namespace
