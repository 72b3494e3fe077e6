"""Calling back when a process exits: once, at once for a process already gone, never
after a cancel; and for a parent, at once when the process is not (or no longer) the
parent. (The whole path, a killed server and its children, is in
``tests/clients/test_serve_processes.py``.)"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from subprocess import PIPE

from cargohold.process_exit import on_exit, on_parent_exit


@asynccontextmanager
async def waiting_child() -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process that runs until it is killed (or the block ends)."""
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "input()", stdin=PIPE)
    try:
        yield child
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_on_exit_calls_back_once_when_the_process_exits() -> None:
    loop = asyncio.get_running_loop()
    calls: list[None] = []
    called = asyncio.Event()

    def callback() -> None:
        calls.append(None)
        called.set()

    async with waiting_child() as child:
        on_exit(loop, child.pid, callback)
        await asyncio.sleep(0.1)
        assert calls == []
        child.kill()
        await child.wait()
        await asyncio.wait_for(called.wait(), 10)
        # The exited process's descriptor stays readable: it must no longer be watched.
        await asyncio.sleep(0.1)
    assert len(calls) == 1


async def test_on_exit_of_a_process_already_gone_calls_back_at_once() -> None:
    child = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await child.wait()
    exited = asyncio.Event()
    on_exit(asyncio.get_running_loop(), child.pid, exited.set)
    await asyncio.wait_for(exited.wait(), 1)


async def test_a_cancelled_watch_never_calls_back_and_releases_its_descriptor() -> None:
    loop = asyncio.get_running_loop()
    calls: list[None] = []
    async with waiting_child() as child:
        before = open_descriptors()
        cancel = on_exit(loop, child.pid, lambda: calls.append(None))
        assert open_descriptors() == before + 1
        cancel()
        cancel()  # harmless
        assert open_descriptors() == before
        child.kill()
        await child.wait()
        await asyncio.sleep(0.1)
    assert calls == []


async def test_on_parent_exit_waits_while_the_parent_lives() -> None:
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    cancel = on_parent_exit(loop, os.getppid(), exited.set)
    await asyncio.sleep(0.1)
    cancel()
    assert not exited.is_set()


async def test_on_parent_exit_of_a_process_that_is_not_the_parent_calls_back_at_once() -> None:
    """As for a child whose parent died before it watched: the pid it was given may be
    another process's by now."""
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    async with waiting_child() as child:
        before = open_descriptors()
        on_parent_exit(loop, child.pid, exited.set)
        await asyncio.wait_for(exited.wait(), 1)
        assert child.returncode is None
        assert open_descriptors() == before
