"""Paths inside an image: normalising tar member names, whiteouts, symlink targets.

Every path the indexer keeps is relative to the image root, without a leading ``/`` or
``./``, with ``.`` and ``..`` resolved and never above the root: ``usr/lib/os-release``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Final

WHITEOUT_PREFIX: Final = ".wh."
OPAQUE_MARKER: Final = ".wh..wh..opq"
_AUFS_METADATA_PREFIX: Final = ".wh..wh."


def normalize(path: str) -> str:
    """``path`` relative to the root; ``""`` for the root itself. ``..`` stops at the root."""
    resolved = posixpath.normpath("/" + path)
    return resolved.lstrip("/")


def parent(path: str) -> str:
    """The directory holding ``path`` (``""`` for a top-level entry)."""
    return posixpath.dirname(path)


def ancestors(path: str) -> list[str]:
    """Every directory above ``path``, nearest first, the root excluded."""
    found = []
    directory = parent(path)
    while directory:
        found.append(directory)
        directory = parent(directory)
    return found


def symlink_target(link_path: str, target: str) -> str:
    """Where a symlink at ``link_path`` pointing to ``target`` leads, inside the image."""
    if target.startswith("/"):
        return normalize(target)
    return normalize(posixpath.join(parent(link_path), target))


@dataclass(frozen=True)
class Whiteout:
    """A whiteout entry: ``removed`` hides one lower path (and all below it);
    ``opaque`` hides everything below a directory in lower layers."""

    path: str
    opaque: bool


def whiteout_of(path: str) -> Whiteout | None:
    """The whiteout a normalised tar member path stands for, or ``None`` if it is a plain
    entry. aufs bookkeeping entries (``.wh..wh.plnk``) are neither: they return a
    whiteout of nothing, ``Whiteout("", False)``, and must be skipped."""
    name = posixpath.basename(path)
    if not name.startswith(WHITEOUT_PREFIX):
        return None
    if name == OPAQUE_MARKER:
        return Whiteout(parent(path), opaque=True)
    if name.startswith(_AUFS_METADATA_PREFIX):
        return Whiteout("", opaque=False)
    return Whiteout(posixpath.join(parent(path), name[len(WHITEOUT_PREFIX) :]), opaque=False)
