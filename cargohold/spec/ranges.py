"""Byte ranges: the ``Content-Range`` of a chunked upload (``PATCH``) and the ``Range`` of
a blob download (``GET``).

Both return inclusive ``(start, end)`` offsets, as HTTP writes them. Numbers are limited
to 19 digits, which covers any blob size and keeps hostile headers cheap to reject.
"""

from __future__ import annotations

import re
from typing import Final

from cargohold.errors import RangeInvalid

_CHUNK_RANGE: Final = re.compile(
    r"\s*(?:bytes[ =]\s*)?([0-9]{1,19})-([0-9]{1,19})(?:/(?:[0-9]{1,19}|\*))?\s*",
    re.IGNORECASE,
)
_BYTES_RANGE: Final = re.compile(r"\s*bytes\s*=\s*([0-9]{0,19})-([0-9]{0,19})\s*", re.IGNORECASE)


def parse_content_range(header: str) -> tuple[int, int]:
    """The inclusive ``(start, end)`` of an upload chunk's ``Content-Range`` header.

    The distribution spec's form is ``<start>-<end>``; ``bytes=<start>-<end>`` and the
    RFC 9110 form ``bytes <start>-<end>/<length or *>`` are accepted too, because clients
    send them. Raises ``RangeInvalid`` when the header has none of these forms or
    ``end < start``.
    """
    match = _CHUNK_RANGE.fullmatch(header)
    if match is None:
        raise RangeInvalid(
            f"Content-Range {header!r} is not of the form <start>-<end>, such as 0-1023"
        )
    start, end = int(match[1]), int(match[2])
    if end < start:
        raise RangeInvalid(f"Content-Range {header!r} ends before it starts")
    return start, end


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive ``(start, end)`` a ``Range`` request header selects from a blob of
    ``size`` bytes, with ``end`` clamped to ``size - 1``.

    Accepts ``bytes=<a>-<b>``, ``bytes=<a>-`` (to the end) and ``bytes=-<n>`` (the last
    ``n`` bytes). Returns None when the header is not one such range (another unit,
    several ranges, or unparseable): RFC 9110 lets a server then send the whole blob.
    Raises ``RangeInvalid`` when the range is unsatisfiable: it starts at or past
    ``size``, or it is a suffix of zero bytes (or of an empty blob).
    """
    match = _BYTES_RANGE.fullmatch(header)
    if match is None:
        return None
    first, last = match[1], match[2]
    if first:
        return _bounded_range(int(first), int(last) if last else None, size, header)
    if last:
        return _suffix_range(int(last), size, header)
    return None


def _bounded_range(start: int, end: int | None, size: int, header: str) -> tuple[int, int] | None:
    if end is not None and end < start:
        return None
    if start >= size:
        raise RangeInvalid(f"Range {header!r} starts past the end of a {size}-byte blob")
    return start, size - 1 if end is None else min(end, size - 1)


def _suffix_range(length: int, size: int, header: str) -> tuple[int, int]:
    if length == 0 or size == 0:
        raise RangeInvalid(f"Range {header!r} selects no bytes of a {size}-byte blob")
    return max(0, size - length), size - 1
