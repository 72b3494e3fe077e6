"""The HTTP workers' stop signals (``cargohold.worker_signals``). granian's defect blocks
with the GIL held, so the scenarios run in a child process with a timeout."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cargohold.worker_signals import FirstCallOnly

# A worker's loop with granian's stop handlers, then two SIGTERMs (its group's, then its
# server's) before anything took the first.
TWO_SIGTERMS = """
    import asyncio, os, signal
    import granian._signals, uvloop
    {setup}
    loop = uvloop.new_event_loop()
    granian._signals.set_loop_signals(loop)
    for _ in range(2):
        loop.call_soon(os.kill, os.getpid(), signal.SIGTERM)
        loop.run_until_complete(asyncio.sleep(0.1))
    print("both signals handled")
"""
SHIM = "import cargohold.worker_signals; cargohold.worker_signals.pass_on_first_stop_signal_only()"


def run_two_sigterms(setup: str) -> subprocess.CompletedProcess[str] | None:
    """The scenario's outcome, or None when it hung."""
    script = textwrap.dedent(TWO_SIGTERMS).format(setup=setup)
    try:
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=5
        )
    except subprocess.TimeoutExpired:
        return None


def test_first_call_only() -> None:
    calls: list[int] = []
    once = FirstCallOnly(lambda: calls.append(1))
    once()
    once()
    assert calls == [1]


def test_a_worker_signalled_twice_before_it_serves_does_not_hang() -> None:
    result = run_two_sigterms(SHIM)
    assert result is not None, "the worker hung on its second SIGTERM"
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "both signals handled"


def test_without_the_shim_granian_hangs_on_the_second_sigterm() -> None:
    """The granian defect the shim works around: when this fails, granian fixed it and
    ``pass_on_first_stop_signal_only`` can go."""
    assert run_two_sigterms("") is None
