"""Alpine (apk) package version ordering.

No maintained Python library orders apk versions the way apk-tools does: univers treats
them as Gentoo versions and rejects real ones (leading zeros such as ``006``, commit
hashes such as ``1.0~1234``). This module is a small implementation of the format that
apk-tools documents, ``digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}``, and is tested
against apk-tools' own test vectors (``test/unit/version.data``).

A version is a sequence of tokens, each of one kind, and the kinds may only follow one
another in the order of ``TokenKind``: the first number, more dot-separated numbers, one
lowercase letter, suffixes (``_alpha``, ``_beta``, ``_pre``, ``_rc``, ``_cvs``, ``_svn``,
``_git``, ``_hg``, ``_p``) each with an optional number, one ``~`` commit hash, one
``-r`` revision. Two versions are compared token by token while their kinds agree; where
the kinds part, a pre-release suffix (``_alpha`` ... ``_rc``) sorts before anything, and
otherwise the version whose next token comes earlier in the kind order is the greater one
(``1.0.1`` > ``1.0a`` > ``1.0_p1`` > ``1.0-r1`` > ``1.0``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from cargohold.scanner.errors import InvalidVersion

__all__ = ["compare_apk", "parse_apk"]


class TokenKind(enum.IntEnum):
    """The kinds of token, in the only order in which they may follow one another."""

    INITIAL_NUMBER = 0
    NUMBER = 1
    LETTER = 2
    SUFFIX = 3
    SUFFIX_NUMBER = 4
    COMMIT_HASH = 5
    REVISION = 6
    END = 7


# Suffix ranks: the ones below _RELEASE mark pre-releases, which sort before the release.
_SUFFIX_RANKS = {
    "alpha": 0,
    "beta": 1,
    "pre": 2,
    "rc": 3,
    "cvs": 5,
    "svn": 6,
    "git": 7,
    "hg": 8,
    "p": 9,
}
_RELEASE = 4

_DIGITS = re.compile(r"[0-9]+")
_SUFFIX_NAME = re.compile(r"[a-z]*")
_HEX = re.compile(r"[0-9a-f]*")


@dataclass(frozen=True, slots=True)
class Token:
    """One token of an apk version: its kind and its text (digits, letter, suffix, hash)."""

    kind: TokenKind
    text: str


def parse_apk(version: str) -> tuple[Token, ...]:
    """Split ``version`` into tokens; raise ``InvalidVersion`` where apk-tools would refuse it."""
    number = _DIGITS.match(version)
    if number is None:
        raise InvalidVersion("apk", version, "does not start with a digit")
    tokens = [Token(TokenKind.INITIAL_NUMBER, number.group())]
    position = number.end()
    while position < len(version):
        token, position = _next_token(version, position, tokens[-1].kind)
        tokens.append(token)
    return tuple(tokens)


def _next_token(version: str, position: int, previous: TokenKind) -> tuple[Token, int]:
    """Read the token at ``position`` that may follow a token of kind ``previous``."""
    char = version[position]
    if char == "." and previous <= TokenKind.NUMBER:
        return _read(version, position + 1, _DIGITS, TokenKind.NUMBER, "a number after '.'")
    if "a" <= char <= "z" and previous <= TokenKind.NUMBER:
        return Token(TokenKind.LETTER, char), position + 1
    if "0" <= char <= "9" and previous == TokenKind.SUFFIX:
        return _read(version, position, _DIGITS, TokenKind.SUFFIX_NUMBER, "a suffix number")
    if char == "_" and previous <= TokenKind.SUFFIX_NUMBER:
        token, end = _read(version, position + 1, _SUFFIX_NAME, TokenKind.SUFFIX, "a suffix")
        if token.text not in _SUFFIX_RANKS:
            raise InvalidVersion("apk", version, f"unknown suffix _{token.text}")
        return token, end
    if char == "~" and previous < TokenKind.COMMIT_HASH:
        return _read(version, position + 1, _HEX, TokenKind.COMMIT_HASH, "a hex commit hash")
    if version.startswith("-r", position) and previous < TokenKind.REVISION:
        return _read(version, position + 2, _DIGITS, TokenKind.REVISION, "a number after -r")
    raise InvalidVersion("apk", version, f"unexpected {char!r} at offset {position}")


def _read(
    version: str, start: int, pattern: re.Pattern[str], kind: TokenKind, wanted: str
) -> tuple[Token, int]:
    """Read a non-empty run of ``pattern`` at ``start`` as a token of ``kind``."""
    found = pattern.match(version, start)
    if found is None or not found.group():
        raise InvalidVersion("apk", version, f"expected {wanted} at offset {start}")
    return Token(kind, found.group()), found.end()


def compare_apk(a: str, b: str) -> int:
    """Order two apk versions as apk-tools does: -1, 0 or 1.

    Raises ``InvalidVersion`` if either is not a valid apk version.
    """
    tokens_a, tokens_b = parse_apk(a), parse_apk(b)
    for token_a, token_b in zip(tokens_a, tokens_b, strict=False):
        if token_a.kind != token_b.kind:
            return _compare_diverging(token_a, token_b)
        order = _compare_same_kind(token_a, token_b)
        if order:
            return order
    if len(tokens_a) == len(tokens_b):
        return 0
    end = Token(TokenKind.END, "")
    if len(tokens_a) < len(tokens_b):
        return _compare_diverging(end, tokens_b[len(tokens_a)])
    return _compare_diverging(tokens_a[len(tokens_b)], end)


def _compare_same_kind(a: Token, b: Token) -> int:
    """Compare two tokens of one kind."""
    if a.kind == TokenKind.NUMBER and (a.text.startswith("0") or b.text.startswith("0")):
        # A leading zero makes the part a fraction-like string: "01" < "1", "011" < "02".
        return _sign_of_strings(a.text, b.text)
    if a.kind in (
        TokenKind.INITIAL_NUMBER,
        TokenKind.NUMBER,
        TokenKind.SUFFIX_NUMBER,
        TokenKind.REVISION,
    ):
        return _sign(int(a.text) - int(b.text))
    if a.kind == TokenKind.SUFFIX:
        return _sign(_SUFFIX_RANKS[a.text] - _SUFFIX_RANKS[b.text])
    return _sign_of_strings(a.text, b.text)


def _compare_diverging(a: Token, b: Token) -> int:
    """Compare versions equal so far whose next tokens ``a`` and ``b`` differ in kind."""
    if _is_pre_release(a):
        return -1
    if _is_pre_release(b):
        return 1
    return 1 if a.kind < b.kind else -1


def _is_pre_release(token: Token) -> bool:
    return token.kind == TokenKind.SUFFIX and _SUFFIX_RANKS[token.text] < _RELEASE


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _sign_of_strings(a: str, b: str) -> int:
    return (a > b) - (a < b)
