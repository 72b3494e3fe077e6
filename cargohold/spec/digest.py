"""Content digests: ``<algorithm>:<hex>``, as the OCI image specification defines them.

The grammar (image-spec ``descriptor.md``, "Digests") is::

    digest                ::= algorithm ":" encoded
    algorithm             ::= algorithm-component (algorithm-separator algorithm-component)*
    algorithm-component   ::= [a-z0-9]+
    algorithm-separator   ::= [+._-]
    encoded               ::= [a-zA-Z0-9=_-]+

Text that does not follow the grammar is *malformed*; text that follows it but names an
algorithm outside :data:`ALGORITHMS` is *unsupported*; for a supported algorithm the
encoded part must be exactly that algorithm's length of lower-case hex. Every failure
raises :class:`~cargohold.errors.DigestInvalid` with a message that says which rule broke.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final

from cargohold.errors import DigestInvalid

ALGORITHMS: Final[dict[str, int]] = {"sha256": 64, "sha512": 128}
"""The digest algorithms cargohold accepts, each with the length of its hex encoding."""

_DIGEST_GRAMMAR: Final = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_LOWER_HEX: Final = re.compile(r"[0-9a-f]+")


def _supported_list() -> str:
    return ", ".join(sorted(ALGORITHMS))


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if cargohold supports it; raise ``DigestInvalid`` naming the
    supported algorithms otherwise."""
    if algorithm not in ALGORITHMS:
        raise DigestInvalid(
            f"digest algorithm {algorithm!r} is not supported; "
            f"supported algorithms: {_supported_list()}"
        )
    return algorithm


def new_hasher(algorithm: str) -> hashlib._Hash:
    """A fresh hashlib object for ``algorithm``; ``DigestInvalid`` if it is not supported."""
    return hashlib.new(check_algorithm(algorithm))


def _check_hex(algorithm: str, hex_part: str) -> None:
    expected = ALGORITHMS[algorithm]
    if len(hex_part) != expected:
        raise DigestInvalid(
            f"a {algorithm} digest has {expected} hex characters, "
            f"but {algorithm}:{hex_part} has {len(hex_part)}"
        )
    if _LOWER_HEX.fullmatch(hex_part):
        return
    if _LOWER_HEX.fullmatch(hex_part.lower()):
        raise DigestInvalid(
            f"digest {algorithm}:{hex_part} uses upper-case hex; digests are lower case"
        )
    raise DigestInvalid(f"digest {algorithm}:{hex_part} is not hexadecimal")


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated digest: a supported ``algorithm`` and its lower-case ``hex`` encoding.

    Constructing one directly validates it just as :meth:`parse` does, so a ``Digest``
    that exists is always well formed. ``str(digest)`` gives the canonical
    ``"sha256:<hex>"`` form used in URLs, headers and JSON.
    """

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        check_algorithm(self.algorithm)
        _check_hex(self.algorithm, self.hex)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``"<algorithm>:<hex>"``.

        Raises ``DigestInvalid`` if ``text`` does not follow the OCI digest grammar, names
        an unsupported algorithm, or its hex part has the wrong length or case.
        """
        if not _DIGEST_GRAMMAR.fullmatch(text):
            raise DigestInvalid(
                f"{text!r} is not a digest; expected <algorithm>:<hex>, "
                f"for example sha256: followed by 64 lower-case hex characters"
            )
        algorithm, _, hex_part = text.partition(":")
        return cls(algorithm, hex_part)

    @classmethod
    def of_bytes(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data`` under ``algorithm``; ``DigestInvalid`` if unsupported."""
        hasher = new_hasher(algorithm)
        hasher.update(data)
        return cls(algorithm, hasher.hexdigest())

    def new_hasher(self) -> hashlib._Hash:
        """A fresh hashlib object for this digest's algorithm, to verify streamed bytes:
        feed it the content, then compare ``hexdigest()`` with :attr:`hex`."""
        return new_hasher(self.algorithm)
