"""Noticing, on an asyncio loop, that another process has exited.

``serve``'s child processes (its HTTP workers, its background worker process) stop when
the server process is gone, however it went: a SIGKILL, the OOM killer, a container
runtime that kills only the main PID. No signal tells a child that; a pidfd
(``pidfd_open(2)``, Linux 5.3) does: it becomes readable when its process exits.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable


def on_exit(
    loop: asyncio.AbstractEventLoop, pid: int, callback: Callable[[], None]
) -> Callable[[], None]:
    """Call ``callback`` once on ``loop`` when process ``pid`` exits (soon, if it has).

    Return a function that cancels the call and releases the process descriptor; calling
    it after the callback, or twice, does nothing.
    """
    try:
        descriptor = os.pidfd_open(pid)
    except ProcessLookupError:
        return loop.call_soon(callback).cancel
    watching = True

    def release() -> None:
        nonlocal watching
        if watching:
            watching = False
            loop.remove_reader(descriptor)
            os.close(descriptor)

    def exited() -> None:
        # A pidfd stays readable once its process has exited: without this the loop would
        # call back on every turn.
        release()
        callback()

    loop.add_reader(descriptor, exited)
    return release


def on_parent_exit(
    loop: asyncio.AbstractEventLoop, parent_pid: int, callback: Callable[[], None]
) -> Callable[[], None]:
    """``on_exit`` for this process's parent ``parent_pid`` (recorded by the parent before
    it made this process). Also called back soon when the parent is not, or is no longer,
    ``parent_pid``: it exited before this call and this process was handed to another
    (init, a subreaper), so an unrelated process that got the pid since is not watched
    instead of it."""
    cancel = on_exit(loop, parent_pid, callback)
    # Checked after the descriptor is open: a parent that is still ours now is the
    # process it refers to.
    if os.getppid() != parent_pid:
        cancel()
        return loop.call_soon(callback).cancel
    return cancel
