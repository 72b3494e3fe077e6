"""How ``serve``'s HTTP workers take SIGTERM and SIGINT, around two traps of granian 2.x.

1. granian forks its workers from the server process with that process's handlers, which
   only set a flag there; its workers install their own after the application factory
   returns. ``stop_at_once_while_starting`` (called first thing by the factory) makes a
   stop signal end a worker at once until then: it has served nothing yet.
2. A worker's ``WorkerSignal.set()`` blocks for ever when called a second time before the
   worker's server has taken the first. A worker starting its application (the ASGI
   lifespan) when both a group-wide SIGTERM (systemd, a terminal's Ctrl-C) and the server
   process's own SIGTERM arrived hung until it was killed, ``workers_kill_timeout`` later.
   ``pass_on_first_stop_signal_only`` (called by the server process before it forks) gives
   the workers handlers that pass on the first signal only.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_at_once_while_starting() -> None:
    """Until granian installs its handlers, SIGTERM and SIGINT end this process at once."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)


def pass_on_first_stop_signal_only() -> None:
    """Make granian's workers pass on only their first SIGTERM or SIGINT (see above)."""
    import granian._signals

    install: Callable[[asyncio.AbstractEventLoop], Any] = granian._signals.set_loop_signals

    def set_loop_signals(loop: asyncio.AbstractEventLoop) -> Any:
        event = install(loop)
        first = FirstCallOnly(event.set)
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, first)
        return event

    granian._signals.set_loop_signals = set_loop_signals


class FirstCallOnly:
    """Calls ``action`` the first time it is called, and does nothing afterwards."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._action: Callable[[], object] | None = action

    def __call__(self) -> None:
        action, self._action = self._action, None
        if action is not None:
            action()
