"""A per-process cache of values that may be at most a few seconds old, loaded once per
expiry however many requests ask at that moment.

Without the single load, every request in flight when an entry expired ran the same
query at once: 32 requests per HTTP worker under a load of 64 connections, every 5 s, each
taking a pooled connection (on PostgreSQL opening overflow connections that were closed
right after). That herd stalled the workers for 20 to 100 ms and was the 99th percentile
of a manifest GET (bench/, issue 5).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from time import monotonic
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """Values by key, each kept for ``seconds`` from the moment its load began (so a value
    is never older than that, counted from the read that produced it).

    ``get`` answers from the cache, or joins the load of that key already under way, or
    starts one. A load that fails stores nothing and fails every caller that joined it. A
    caller that is cancelled leaves the load to the others. ``forget`` drops a key's value
    and disowns a load under way, whose result then reaches its callers but is not stored.
    Past ``max_entries`` keys the cache starts empty again."""

    def __init__(self, seconds: float, max_entries: int = 100_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._values: dict[K, tuple[V, float]] = {}
        self._loads: dict[K, asyncio.Task[V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        cached = self._values.get(key)
        if cached is not None and monotonic() - cached[1] < self.seconds:
            return cached[0]
        task = self._loads.get(key)
        if task is None:
            task = self._loads[key] = asyncio.create_task(self._load(key, load))
            task.add_done_callback(_retrieve_exception)
        return await asyncio.shield(task)

    def forget(self, key: K) -> None:
        self._values.pop(key, None)
        self._loads.pop(key, None)

    async def _load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        started = monotonic()
        try:
            value = await load()
        finally:
            current = self._loads.get(key) is asyncio.current_task()
            if current:
                del self._loads[key]
        if current:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = (value, started)
        return value


def _retrieve_exception(task: asyncio.Task[object]) -> None:
    """Mark a failed load's exception as seen: its callers may all have been cancelled."""
    if not task.cancelled():
        task.exception()
