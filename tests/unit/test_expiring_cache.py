"""``ExpiringCache``: one load per key and expiry however many ask, values no older than
``seconds`` from their load's start, failures and cancellations contained."""

from __future__ import annotations

import asyncio

import pytest

from cargohold import expiring_cache
from cargohold.expiring_cache import ExpiringCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(expiring_cache, "monotonic", clock.monotonic)
    return clock


class Source:
    """A load that counts its calls and answers when ``release`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.release.set()
        self.error: Exception | None = None

    async def load(self) -> int:
        self.calls += 1
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return self.calls


async def test_concurrent_misses_share_one_load() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(5)
    source = Source()
    source.release.clear()
    waiting = [asyncio.create_task(cache.get("k", source.load)) for _ in range(32)]
    await asyncio.sleep(0)
    source.release.set()

    assert await asyncio.gather(*waiting) == [1] * 32
    assert source.calls == 1


async def test_a_value_lives_seconds_from_the_start_of_its_load(clock: Clock) -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(5)
    source = Source()

    async def slow_load() -> int:
        clock.now += 4  # the read took 4 s: the value is 4 s old when it arrives
        return await source.load()

    assert await cache.get("k", slow_load) == 1
    clock.now += 0.9
    assert await cache.get("k", source.load) == 1
    clock.now += 0.1
    assert await cache.get("k", source.load) == 2
    assert source.calls == 2


async def test_keys_are_cached_apart() -> None:
    cache: ExpiringCache[str, str] = ExpiringCache(5)

    async def load_a() -> str:
        return "a"

    async def load_b() -> str:
        return "b"

    assert [await cache.get("a", load_a), await cache.get("b", load_b)] == ["a", "b"]
    assert await cache.get("a", load_b) == "a"


async def test_a_failed_load_fails_its_callers_and_stores_nothing() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(5)
    source = Source()
    source.release.clear()
    source.error = RuntimeError("database gone")
    waiting = [asyncio.create_task(cache.get("k", source.load)) for _ in range(3)]
    await asyncio.sleep(0)
    source.release.set()

    results = await asyncio.gather(*waiting, return_exceptions=True)

    assert [str(result) for result in results] == ["database gone"] * 3
    source.error = None
    assert await cache.get("k", source.load) == 2


async def test_a_cancelled_caller_leaves_the_load_to_the_others() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(5)
    source = Source()
    source.release.clear()
    first = asyncio.create_task(cache.get("k", source.load))
    second = asyncio.create_task(cache.get("k", source.load))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    source.release.set()

    assert await second == 1
    assert first.cancelled()
    assert await cache.get("k", source.load) == 1


async def test_forget_drops_the_value_and_disowns_a_load_under_way() -> None:
    cache: ExpiringCache[str, int] = ExpiringCache(5)
    source = Source()
    assert await cache.get("k", source.load) == 1
    cache.forget("k")
    source.release.clear()
    before_the_change = asyncio.create_task(cache.get("k", source.load))
    await asyncio.sleep(0)
    cache.forget("k")  # e.g. the policy changed while that read was under way
    source.release.set()

    assert await before_the_change == 2
    assert await cache.get("k", source.load) == 3


async def test_past_max_entries_the_cache_starts_empty() -> None:
    cache: ExpiringCache[int, int] = ExpiringCache(5, max_entries=2)
    source = Source()
    for key in (1, 2, 3):
        await cache.get(key, source.load)

    assert await cache.get(3, source.load) == 3
    assert await cache.get(1, source.load) == 4
