"""Maven version ordering: Maven 3's ``ComparableVersion``, as the OSV ``Maven`` ecosystem
orders versions.

No maintained Python library has it right: univers' ``MavenVersion`` (from pymaven)
misses the ``release`` alias, orders ``1-0.1`` equal to ``1`` and disagrees with Maven on
hundreds of pairs of the test list. This module follows ``ComparableVersion`` of
maven-artifact 3.8 item for item and is tested pair by pair against Maven's own class
(``tests/unit/scanner/reference_orderings.py``).

Parsing (the version lowercased): ``.`` ends an item, ``-`` ends an item and opens a
sub-list, and a change between digits and letters ends an item and opens a sub-list (a
letters item followed by digits first opens one of its own unless its list is empty).
An empty item is ``0``. A one-letter item followed by digits expands (``a1`` is
``alpha-1``, ``b`` beta, ``m`` milestone); ``ga``, ``final`` and ``release`` are the
empty qualifier, ``cr`` is ``rc``. Each list then drops its trailing null items (``0``,
the empty qualifier, an empty list), looking past sub-lists: ``1.0`` is ``1``, ``1-ga``
is ``1``.

Comparing, item by item with a missing item as null: a number beats a list, which
beats a qualifier; numbers by value (Maven sorts them by size class first: up to 9
digits, up to 18, longer, after leading zeros go); qualifiers ``alpha < beta <
milestone < rc < snapshot < "" < sp < any other``, the others alphabetically; lists
recursively. Against a missing item, a number is greater unless 0, a qualifier is
compared with the empty qualifier, a list by its first item that is not null.

Maven accepts any string. Here a version must be 1 to 256 printable ASCII characters
without blanks: released versions are, outside ASCII Java's per-UTF-16-unit digit test
and lowercasing are not worth copying, and the bound keeps numbers small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from cargohold.scanner.errors import InvalidVersion

__all__ = ["canonical_maven", "compare_maven"]

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT_BEFORE_DIGIT = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE = str(_QUALIFIERS.index(""))
_INT_DIGITS = 9
_LONG_DIGITS = 18
_MAX_LENGTH = 256
_WELL_FORMED = re.compile(rf"[!-~]{{1,{_MAX_LENGTH}}}")


@dataclass(frozen=True, slots=True)
class _Number:
    """A numeric item. ``size`` is Maven's class (0 int, 1 long, 2 BigInteger), which it
    compares before the value."""

    size: int
    value: int


_Item: TypeAlias = "_Number | str | list[_Item]"
"""A number, a qualifier (the string, aliases resolved) or a sub-list."""


def compare_maven(a: str, b: str) -> int:
    """Order two Maven versions: -1, 0 or 1. ``InvalidVersion`` for a string that is not
    1 to 256 printable ASCII characters without blanks."""
    return _sign(_compare_lists(_parse(a), _parse(b)))


def canonical_maven(version: str) -> str:
    """Maven's canonical form of ``version`` (``1.0-GA`` is ``1``, ``1.0a1`` is
    ``1-alpha-1``): two versions are equal exactly when their canonical forms are."""
    return _list_text(_parse(version))


def _parse(version: str) -> list[_Item]:
    """Maven's ``parseVersion``, step for step (kept in one piece to read beside it)."""
    if not _WELL_FORMED.fullmatch(version):
        raise InvalidVersion(
            "maven", version, f"expected 1 to {_MAX_LENGTH} printable ASCII characters, no blanks"
        )
    text = version.lower()
    items: list[_Item] = []
    current = items
    stack = [items]

    def open_list() -> None:
        nonlocal current
        sublist: list[_Item] = []
        current.append(sublist)
        current = sublist
        stack.append(sublist)

    is_digit = False
    start = 0
    for index, char in enumerate(text):
        if char in ".-":
            current.append(_Number(0, 0) if index == start else _item(text[start:index], is_digit))
            start = index + 1
            if char == "-":
                open_list()
        elif char.isdigit():
            if not is_digit and index > start:
                if current:
                    open_list()
                current.append(_qualifier(text[start:index], followed_by_digit=True))
                start = index
                open_list()
            is_digit = True
        else:
            if is_digit and index > start:
                current.append(_item(text[start:index], is_digit=True))
                start = index
                open_list()
            is_digit = False
    if len(text) > start:
        if not is_digit and current:
            open_list()
        current.append(_item(text[start:], is_digit))
    for sublist in reversed(stack):
        _drop_trailing_nulls(sublist)
    return items


def _item(text: str, is_digit: bool) -> _Item:
    if not is_digit:
        return _qualifier(text, followed_by_digit=False)
    digits = text.lstrip("0") or text
    size = 0 if len(digits) <= _INT_DIGITS else 1 if len(digits) <= _LONG_DIGITS else 2
    return _Number(size, int(digits))


def _qualifier(text: str, followed_by_digit: bool) -> str:
    if followed_by_digit:
        text = _SHORT_BEFORE_DIGIT.get(text, text)
    return _ALIASES.get(text, text)


def _is_null(item: _Item) -> bool:
    if isinstance(item, _Number):
        return item.value == 0
    if isinstance(item, str):
        return item == ""
    return not item


def _drop_trailing_nulls(items: list[_Item]) -> None:
    for index in range(len(items) - 1, -1, -1):
        if _is_null(items[index]):
            del items[index]
        elif not isinstance(items[index], list):
            break


def _rank(qualifier: str) -> str:
    """Maven's ``comparableQualifier``: compared as strings, as Maven does."""
    if qualifier in _QUALIFIERS:
        return str(_QUALIFIERS.index(qualifier))
    return f"{len(_QUALIFIERS)}-{qualifier}"


def _compare(left: _Item, right: _Item | None) -> int:
    if isinstance(left, _Number):
        return _compare_number(left, right)
    if isinstance(left, str):
        return _compare_qualifier(left, right)
    return _compare_list(left, right)


def _compare_number(left: _Number, right: _Item | None) -> int:
    if right is None:
        return 0 if left.value == 0 else 1
    if isinstance(right, _Number):
        return _sign((left.size - right.size) or (left.value - right.value))
    return 1


def _compare_qualifier(left: str, right: _Item | None) -> int:
    if right is None:
        return _compare_text(_rank(left), _RELEASE)
    if isinstance(right, str):
        return _compare_text(_rank(left), _rank(right))
    return -1


def _compare_list(left: list[_Item], right: _Item | None) -> int:
    if right is None:
        return next((result for item in left if (result := _compare(item, None))), 0)
    if isinstance(right, _Number):
        return -1
    if isinstance(right, str):
        return 1
    return _compare_lists(left, right)


def _compare_lists(left: list[_Item], right: list[_Item]) -> int:
    for index in range(max(len(left), len(right))):
        mine = left[index] if index < len(left) else None
        theirs = right[index] if index < len(right) else None
        if mine is None:
            result = 0 if theirs is None else -_compare(theirs, None)
        else:
            result = _compare(mine, theirs)
        if result:
            return result
    return 0


def _compare_text(left: str, right: str) -> int:
    return (left > right) - (left < right)


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def _list_text(items: list[_Item]) -> str:
    text = ""
    for item in items:
        if text:
            text += "-" if isinstance(item, list) else "."
        text += _item_text(item)
    return text


def _item_text(item: _Item) -> str:
    if isinstance(item, _Number):
        return str(item.value)
    if isinstance(item, str):
        return item
    return _list_text(item)
