"""Tokens that stand in for passwords: CLI tokens, robot tokens, API tokens, sessions.

A token reads ``ch<kind>_<lookup><secret>``: a kind letter, 16 hex characters that find
its row, and 43 characters holding 256 random bits. Only the SHA-256 of the secret part is
stored. 256 random bits need no slow hash: nobody can guess them, and the SHA-256 of a
leaked database row does not give the token back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum


class TokenKind(StrEnum):
    """The kinds of credential rows; the value is what ``credential.kind`` stores."""

    CLI = "cli_token"
    ROBOT = "robot_token"
    API = "api_token"
    SESSION = "session"


_LETTERS = {
    TokenKind.CLI: "c",
    TokenKind.ROBOT: "r",
    TokenKind.API: "a",
    TokenKind.SESSION: "s",
}
_KINDS = {letter: kind for kind, letter in _LETTERS.items()}
_TOKEN = re.compile(r"ch([cras])_([0-9a-f]{16})([A-Za-z0-9_-]{43})")


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: ``text`` is shown once to its owner, the rest is stored."""

    text: str
    kind: TokenKind
    lookup: str
    secret_hash: str


@dataclass(frozen=True, slots=True)
class PresentedToken:
    """A string that has the shape of a token; whether it is valid is for the database."""

    kind: TokenKind
    lookup: str
    secret: str


def new_token(kind: TokenKind) -> NewToken:
    lookup = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return NewToken(f"ch{_LETTERS[kind]}_{lookup}{secret}", kind, lookup, hash_secret(secret))


def parse_token(text: str) -> PresentedToken | None:
    """The parts of ``text`` when it has a token's shape, else None (it may be a password)."""
    match = _TOKEN.fullmatch(text)
    if match is None:
        return None
    letter, lookup, secret = match.groups()
    return PresentedToken(_KINDS[letter], lookup, secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
