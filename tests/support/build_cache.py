"""Test content that is slow to build (pip and npm installs, an rpm database, a Debian
rootfs), built once and kept across sessions under the system temp directory.

    <tempdir>/cargohold-test-cache/<first 16 hex digits of sha256(key)>/

``cached_build`` fills a fresh directory beside the cache and renames it into place only
when the build succeeded, so an interrupted or failed build leaves nothing a later session
would take for finished. A build holds a lock on its key, so that concurrent sessions (and
pytest-xdist workers) wait for one build instead of each making its own. Change the key
when what a build makes changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE_ROOT = Path(tempfile.gettempdir()) / "cargohold-test-cache"


def cached_build(key: str, build: Callable[[Path], None]) -> Path:
    """The directory ``build`` fills, built once per ``key`` across sessions."""
    target = CACHE_ROOT / hashlib.sha256(key.encode()).hexdigest()[:16]
    if target.is_dir():
        return target
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_dir():  # built while this session waited
            return target
        return _build_into(target, build)


def _build_into(target: Path, build: Callable[[Path], None]) -> Path:
    work = Path(tempfile.mkdtemp(dir=CACHE_ROOT, prefix="building-"))
    try:
        build(work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    try:
        os.replace(work, target)
    except OSError:
        if not target.is_dir():
            raise
        shutil.rmtree(work, ignore_errors=True)  # another session finished it first
    return target
