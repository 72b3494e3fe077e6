"""Digest parsing, hashing and the OCI digest grammar."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from cargohold.errors import DigestInvalid
from cargohold.spec.digest import ALGORITHMS, Digest, check_algorithm, new_hasher

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
EMPTY_SHA512 = (
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
)
# The digest of "{}", the OCI empty descriptor every artifact without a config uses.
OCI_EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def test_algorithms_table() -> None:
    assert ALGORITHMS == {"sha256": 64, "sha512": 128}


def test_parse_sha256_round_trips() -> None:
    digest = Digest.parse(f"sha256:{EMPTY_SHA256}")
    assert digest.algorithm == "sha256"
    assert digest.hex == EMPTY_SHA256
    assert str(digest) == f"sha256:{EMPTY_SHA256}"


def test_parse_sha512_round_trips() -> None:
    digest = Digest.parse(f"sha512:{EMPTY_SHA512}")
    assert digest == Digest("sha512", EMPTY_SHA512)
    assert str(digest) == f"sha512:{EMPTY_SHA512}"


def test_of_bytes_known_vectors() -> None:
    assert str(Digest.of_bytes(b"{}")) == OCI_EMPTY_DIGEST
    assert Digest.of_bytes(b"").hex == EMPTY_SHA256
    assert Digest.of_bytes(b"", "sha512") == Digest("sha512", EMPTY_SHA512)


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("data", [b"", b"\x00", b"layer bytes" * 1000, bytes(range(256))])
def test_of_bytes_agrees_with_hashlib(algorithm: str, data: bytes) -> None:
    digest = Digest.of_bytes(data, algorithm)
    assert digest.hex == hashlib.new(algorithm, data).hexdigest()
    assert Digest.parse(str(digest)) == digest


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_new_hasher_verifies_streamed_content(algorithm: str) -> None:
    chunks = [b"first chunk ", b"second chunk ", b"last"]
    expected = Digest.of_bytes(b"".join(chunks), algorithm)
    hasher = expected.new_hasher()
    for chunk in chunks:
        hasher.update(chunk)
    assert hasher.hexdigest() == expected.hex


def test_new_hasher_is_fresh_each_time() -> None:
    digest = Digest.of_bytes(b"abc")
    first = digest.new_hasher()
    first.update(b"abc")
    assert digest.new_hasher().hexdigest() == EMPTY_SHA256


def test_module_new_hasher() -> None:
    assert new_hasher("sha512").name == "sha512"
    assert new_hasher("sha256").hexdigest() == EMPTY_SHA256


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256",
        "sha256:",
        ":" + EMPTY_SHA256,
        "SHA256:" + EMPTY_SHA256,
        "sha256::" + EMPTY_SHA256,
        "sha256+:" + EMPTY_SHA256,
        "-sha256:" + EMPTY_SHA256,
        "sha256:" + EMPTY_SHA256 + " ",
        " sha256:" + EMPTY_SHA256,
        "sha256:" + EMPTY_SHA256 + "\n",
        "sha256:ab/cd",
        "sha256:ab cd",
        "sha256:" + EMPTY_SHA256[:32] + ":" + EMPTY_SHA256[33:],
        "latest",
    ],
)
def test_malformed_digest_is_refused(text: str) -> None:
    with pytest.raises(DigestInvalid, match="is not a digest"):
        Digest.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
        "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "sha384:" + "0" * 96,
    ],
)
def test_unsupported_algorithm_names_the_supported_ones(text: str) -> None:
    with pytest.raises(DigestInvalid, match="not supported") as caught:
        Digest.parse(text)
    assert "sha256, sha512" in caught.value.message
    assert repr(text.partition(":")[0]) in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "sha256:abc",
        "sha256:" + EMPTY_SHA256 + "0",
        "sha256:" + EMPTY_SHA256[:-1],
        "sha512:" + EMPTY_SHA256,
        "sha256:" + EMPTY_SHA512,
    ],
)
def test_wrong_hex_length_is_refused(text: str) -> None:
    with pytest.raises(DigestInvalid, match="hex characters") as caught:
        Digest.parse(text)
    algorithm = text.partition(":")[0]
    assert str(ALGORITHMS[algorithm]) in caught.value.message


@pytest.mark.parametrize(
    "text", ["sha256:" + EMPTY_SHA256.upper(), "sha512:" + EMPTY_SHA512.upper()]
)
def test_upper_case_hex_is_refused(text: str) -> None:
    with pytest.raises(DigestInvalid, match="upper-case"):
        Digest.parse(text)


@pytest.mark.parametrize("filler", ["g", "=", "_", "-", "Z"])
def test_non_hex_encoding_is_refused(filler: str) -> None:
    # Allowed by the grammar's "encoded" part, but not hex.
    with pytest.raises(DigestInvalid, match="is not hexadecimal"):
        Digest.parse("sha256:" + filler * 64)


def test_constructor_validates() -> None:
    with pytest.raises(DigestInvalid, match="64 hex characters"):
        Digest("sha256", "abc")
    with pytest.raises(DigestInvalid, match="not supported"):
        Digest("md5", "d41d8cd98f00b204e9800998ecf8427e")


def test_hashing_with_an_unsupported_algorithm_is_refused() -> None:
    with pytest.raises(DigestInvalid, match="'md5' is not supported"):
        Digest.of_bytes(b"", "md5")
    with pytest.raises(DigestInvalid, match="supported algorithms: sha256, sha512"):
        new_hasher("sha1")
    with pytest.raises(DigestInvalid):
        check_algorithm("SHA256")


def test_digest_is_an_immutable_value() -> None:
    digest = Digest.parse(OCI_EMPTY_DIGEST)
    with pytest.raises(dataclasses.FrozenInstanceError):
        digest.hex = EMPTY_SHA256  # type: ignore[misc]
    assert {digest, Digest.of_bytes(b"{}")} == {digest}
    assert digest != Digest.of_bytes(b"{}", "sha512")


def test_digest_invalid_carries_its_error_code() -> None:
    with pytest.raises(DigestInvalid) as caught:
        Digest.parse("nope")
    assert caught.value.code == "DIGEST_INVALID"
