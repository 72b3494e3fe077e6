"""Reading a feed's JSON bytes into objects of the expected shape."""

from __future__ import annotations

import json
from typing import Any

from cargohold.scanner.errors import FeedError

__all__ = ["load_object", "object_field"]


def load_object(feed: str, data: bytes) -> dict[str, Any]:
    """Decode ``data`` as a JSON object; raise ``FeedError`` if it is not one."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(feed, f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise FeedError(feed, f"expected a JSON object, found {type(document).__name__}")
    return document


def object_field(feed: str, parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]`` as an object (empty when absent); ``FeedError`` if it is not one."""
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise FeedError(feed, f"{key!r} is a {type(value).__name__}, not an object")
    return value
