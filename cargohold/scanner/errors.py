"""The scanner's errors, below ``cargohold.errors.CargoholdError``::

CargoholdError
└── ScannerError                anything the vulnerability scanner refuses
    ├── InvalidVersion          a version string its ecosystem's rules do not allow
    └── FeedError               an advisory feed document that is not in its format's shape
"""

from __future__ import annotations

from cargohold.errors import CargoholdError


class ScannerError(CargoholdError):
    """The root of the vulnerability scanner's errors."""


class InvalidVersion(ScannerError):
    """A version string that the named ecosystem's version rules do not allow."""

    def __init__(self, ecosystem: str, version: str, reason: str) -> None:
        super().__init__(f"invalid {ecosystem} version {version!r}: {reason}")
        self.ecosystem = ecosystem
        self.version = version
        self.reason = reason


class FeedError(ScannerError):
    """An advisory feed document that does not have the shape of its format."""

    def __init__(self, feed: str, reason: str) -> None:
        super().__init__(f"{feed} feed: {reason}")
        self.feed = feed
        self.reason = reason
