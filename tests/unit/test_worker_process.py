"""``serve``'s background worker process: restarted when it dies, not when it was stopped;
stopped (killed if it must be) with the server. (How it notices that the server is gone:
``test_process_exit.py``.)"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cargohold import worker_process
from cargohold.worker_process import WorkerProcess


def _wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def _runs(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def _crash_once_then_wait(log: Path) -> None:
    """Child body: the first run exits with status 3, the next ones run until stopped."""
    first = not log.exists()
    with log.open("a") as f:
        f.write(f"{os.getpid()}\n")
    if first:
        os._exit(3)
    time.sleep(600)


def _exit_cleanly(log: Path) -> None:
    with log.open("a") as f:
        f.write(f"{os.getpid()}\n")


def _ignore_sigterm(log: Path) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with log.open("a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(600)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(autouse=True)
def quick_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_process, "RESTART_DELAY_SECONDS", 0.05)


def test_a_crashed_child_is_replaced_and_stop_ends_it(tmp_path: Path) -> None:
    log = tmp_path / "runs"
    process = WorkerProcess(lambda: _crash_once_then_wait(log))
    process.start()
    _wait_for(lambda: len(_runs(log)) == 2)
    second = int(_runs(log)[1])
    assert process.pid == second
    process.stop(timeout=10)
    assert _gone(second)
    assert len(_runs(log)) == 2


def test_a_clean_exit_is_not_restarted(tmp_path: Path) -> None:
    log = tmp_path / "runs"
    process = WorkerProcess(lambda: _exit_cleanly(log))
    process.start()
    _wait_for(lambda: len(_runs(log)) == 1)
    time.sleep(0.5)  # ten restart delays: a restart would have run by now
    assert len(_runs(log)) == 1
    process.stop(timeout=10)


def test_a_child_ignoring_sigterm_is_killed_after_the_timeout(tmp_path: Path) -> None:
    log = tmp_path / "runs"
    process = WorkerProcess(lambda: _ignore_sigterm(log))
    process.start()
    _wait_for(lambda: len(_runs(log)) == 1)
    started = time.monotonic()
    process.stop(timeout=0.5)
    assert time.monotonic() - started >= 0.5
    assert _gone(int(_runs(log)[0]))
    assert len(_runs(log)) == 1  # not restarted after the kill
